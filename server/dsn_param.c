/*
 * dsn_param.c - RFC 3461 xtext, NOTIFY and RET, parsed and formatted
 * (dsn_param.h).  The one implementation: smtp_parse.c, spool.c and the
 * smtp transport all come here, so what is accepted from a client, what is
 * stored and what is sent on can never disagree.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dsn_param.h"

/* RFC 3461 4: hexchar = "+" 2(%x30-39 / %x41-46), upper case only. */
static int
dsn_param_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
dsn_param_xtext_encode(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (len == 0)
		return -1;
	for (; *in != '\0'; in++) {
		unsigned char ch = (unsigned char)*in;
		/* RFC 3461 4: xchar is "!" to "~" but "+" and "="; the rest "+HH". */
		int plain = ch >= '!' && ch <= '~' && ch != '+' && ch != '=';

		if (n + (plain ? 1 : 3) >= len) {
			out[0] = '\0';
			return -1;
		}
		if (plain) {
			out[n++] = (char)ch;
		} else {
			out[n++] = '+';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 0xf];
		}
	}
	out[n] = '\0';
	return 0;
}

int
dsn_param_xtext_decode(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return -1;
	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '+') {
			int hi = dsn_param_hexval(in[1]),
			    lo = hi < 0 ? -1 : dsn_param_hexval(in[2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			in += 2;
		} else if (c < '!' || c > '~' || c == '=') {
			return -1;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* In the order dsn_param_notify_format writes them. */
static const struct {
	unsigned bit;
	const char *name;
} dsn_param_notify_names[] = {
	{ DSN_NOTIFY_NEVER, "NEVER" },
	{ DSN_NOTIFY_SUCCESS, "SUCCESS" },
	{ DSN_NOTIFY_FAILURE, "FAILURE" },
	{ DSN_NOTIFY_DELAY, "DELAY" },
};
#define DSN_PARAM_NNOTIFY (sizeof dsn_param_notify_names / sizeof dsn_param_notify_names[0])
#define DSN_NOTIFY_ALL                                                                             \
	(DSN_NOTIFY_NEVER | DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY)

int
dsn_param_notify_parse(const char *val, unsigned *out)
{
	unsigned bits = 0;
	const char *p = val;

	*out = 0;
	for (;;) {
		size_t len = strcspn(p, ","), k;

		for (k = 0; k < DSN_PARAM_NNOTIFY; k++)
			if (strlen(dsn_param_notify_names[k].name) == len &&
			    strncasecmp(p, dsn_param_notify_names[k].name, len) == 0)
				break;
		if (k == DSN_PARAM_NNOTIFY || (bits & dsn_param_notify_names[k].bit) != 0)
			return -1; /* unknown, empty or repeated */
		bits |= dsn_param_notify_names[k].bit;
		p += len;
		if (*p == '\0')
			break;
		p++; /* the comma */
	}
	/* RFC 3461 4.1: NEVER stands alone. */
	if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
		return -1;
	*out = bits;
	return 0;
}

int
dsn_param_notify_format(unsigned notify, char *out, size_t len)
{
	size_t n = 0;

	if (len == 0 || (notify & ~DSN_NOTIFY_ALL) != 0) {
		if (len > 0)
			out[0] = '\0';
		return -1;
	}
	out[0] = '\0';
	for (size_t k = 0; k < DSN_PARAM_NNOTIFY; k++) {
		const char *name = dsn_param_notify_names[k].name;
		size_t need = strlen(name) + (n > 0);

		if ((notify & dsn_param_notify_names[k].bit) == 0)
			continue;
		if (n + need >= len) {
			out[0] = '\0';
			return -1;
		}
		n += (size_t)snprintf(out + n, len - n, "%s%s", n > 0 ? "," : "", name);
	}
	return 0;
}

int
dsn_param_ret_parse(const char *val, enum dsn_ret *out)
{
	if (strcasecmp(val, "FULL") == 0)
		*out = DSN_RET_FULL;
	else if (strcasecmp(val, "HDRS") == 0)
		*out = DSN_RET_HDRS;
	else
		return -1;
	return 0;
}

const char *
dsn_param_ret_name(enum dsn_ret ret)
{
	switch (ret) {
	case DSN_RET_FULL:
		return "FULL";
	case DSN_RET_HDRS:
		return "HDRS";
	case DSN_RET_UNSET:
		break;
	}
	return NULL;
}
