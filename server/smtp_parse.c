/*
 * smtp_parse.c - the SMTP argument grammar (smtp_parse.h).  Strict where the
 * RFC is strict, with one deliberate leniency: spaces between "FROM:" and
 * the path, which many real clients send.  Never accepts what a later stage
 * could misread: no 8-bit octets (SMTPUTF8 is not offered), no controls.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsn_param.h"
#include "smtp_parse.h"
#include "strutil.h"

static int
fail(char *why, size_t whylen, int code, const char *text)
{
	snprintf(why, whylen, "%s", text);
	return code;
}

/* A bad address: RFC 3463 3.2, X.1.7 for the sender (MAIL), X.1.3 for a
 * recipient. */
static int
fail_addr(char *why, size_t whylen, int sender, const char *text)
{
	snprintf(why, whylen, "%s %s", sender ? "5.1.7" : "5.1.3", text);
	return 501;
}

/* RFC 5321 4.1.2 atext (RFC 5322 3.2.3). */
static int
is_atext(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]. */
static size_t
scan_domain(const char *s)
{
	size_t i = 0, label = 0;

	for (;;) {
		if (!isalnum((unsigned char)s[i]))
			return 0;
		label = 0;
		while (isalnum((unsigned char)s[i]) || s[i] == '-') {
			i++;
			if (++label > 63)
				return 0;
		}
		if (s[i - 1] == '-')
			return 0;
		if (s[i] != '.' || !isalnum((unsigned char)s[i + 1]))
			break;
		i++;
	}
	return i > SMTP_DOMAIN_MAX ? 0 : i;
}

/* "[" ( IPv4 / "IPv6:" addr / General ) "]": printable, no brackets inside. */
static size_t
scan_address_literal(const char *s)
{
	size_t i = 1;

	if (s[0] != '[')
		return 0;
	while (s[i] != ']') {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == '[' || c == '\\')
			return 0;
		i++;
	}
	return i > 1 ? i + 1 : 0;
}

/* Local-part = Dot-string / Quoted-string. */
static size_t
scan_local_part(const char *s)
{
	size_t i = 0;

	if (s[0] == '"') {
		for (i = 1; s[i] != '"'; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '\\') {
				unsigned char n = (unsigned char)s[i + 1];
				if (n < 32 || n > 126)
					return 0;
				i++;
			} else if (c < 32 || c > 126) {
				return 0;
			}
		}
		return i + 1;
	}
	for (;;) {
		size_t start = i;
		while (is_atext((unsigned char)s[i]))
			i++;
		if (i == start)
			return 0; /* empty atom: leading, trailing or double dot */
		if (s[i] != '.')
			return i;
		i++;
	}
}

/*
 * Parse "<...>" at *p: an optional source route (accepted and dropped,
 * RFC 5321 4.1.2 / C), then a Mailbox; "<>" when allow_null.  On success the
 * mailbox is copied to out and *p moves past ">".
 */
static int
parse_path(const char **p, char *out, size_t outlen, int allow_null, int allow_bare_postmaster,
           char *why, size_t whylen)
{
	const char *s = *p;
	const char *start = s;
	size_t n;

	if (*s != '<')
		return fail(why, whylen, 501,
		            "5.5.4 Syntax error: the path must be in angle brackets");
	s++;
	if (allow_null && *s == '>') {
		out[0] = '\0';
		*p = s + 1;
		return 0;
	}
	if (*s == '@') {
		/* A-d-l ":" : obsolete source route, ignored. */
		while (*s == '@') {
			n = scan_domain(s + 1);
			if (n == 0)
				return fail_addr(why, whylen, allow_null, "Bad source route");
			s += 1 + n;
			if (*s == ',')
				s++;
		}
		if (*s != ':')
			return fail_addr(why, whylen, allow_null, "Bad source route");
		s++;
	}
	const char *mbox = s;
	if (allow_bare_postmaster && strncasecmp(s, "postmaster>", 11) == 0) {
		s += 10;
	} else {
		n = scan_local_part(s);
		if (n == 0)
			return fail_addr(why, whylen, allow_null, "Bad local part in the address");
		if (n > SMTP_LOCAL_PART_MAX + (s[0] == '"' ? 2u : 0u))
			return fail_addr(why, whylen, allow_null,
			                 "Local part longer than 64 octets");
		s += n;
		if (*s != '@')
			return fail_addr(why, whylen, allow_null, "The address has no domain");
		s++;
		n = *s == '[' ? scan_address_literal(s) : scan_domain(s);
		if (n == 0)
			return fail_addr(why, whylen, allow_null, "Bad domain in the address");
		s += n;
	}
	if (*s != '>')
		return fail_addr(why, whylen, allow_null, "Unexpected character in the address");
	n = (size_t)(s - mbox);
	if ((size_t)(s + 1 - start) > SMTP_PATH_MAX || n >= outlen)
		return fail_addr(why, whylen, allow_null, "Path longer than 256 octets");
	memcpy(out, mbox, n);
	out[n] = '\0';
	*p = s + 1;
	return 0;
}

int
smtp_unquote_local_part(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in), o = 0;

	if (n < 2 || in[0] != '"' || in[n - 1] != '"') {
		if (n >= outlen)
			return -1;
		memcpy(out, in, n + 1);
		return 0;
	}
	for (size_t i = 1; i + 1 < n; i++) {
		if (in[i] == '\\' && i + 2 < n)
			i++; /* quoted-pair: the next octet stands for itself */
		if (o + 1 >= outlen)
			return -1;
		out[o++] = in[i];
	}
	out[o] = '\0';
	return 0;
}

/* MAIL's SIZE=: `n` digits; one above 2^64 - 1 saturates (RFC 1870 allows
 * 20 digits; any such size is over the limit anyway).  -1 when empty or not
 * all digits.  BDAT's size does not saturate: smtp_parse_bdat. */
static int
parse_size(const char *s, size_t n, uint64_t *out)
{
	switch (str_parse_u64(s, n, UINT64_MAX, out)) {
	case STR_NUM_OK:
		return 0;
	case STR_NUM_RANGE:
		*out = UINT64_MAX;
		return 0;
	case STR_NUM_SYNTAX:
		break;
	}
	return -1;
}

/* Next "KEY[=VALUE]" parameter; returns 0 at the end, 1 with one, -1 on bad syntax. */
static int
next_param(const char **p, char *key, size_t klen, char *val, size_t vlen, int *has_val)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ')
		s++;
	if (*s == '\0' || *s == '\r' || *s == '\n')
		return 0;
	if (!isalnum((unsigned char)*s))
		return -1;
	while (isalnum((unsigned char)*s) || *s == '-') {
		if (n + 1 >= klen)
			return -1;
		key[n++] = *s++;
	}
	key[n] = '\0';
	*has_val = 0;
	val[0] = '\0';
	if (*s == '=') {
		s++;
		n = 0;
		/* esmtp-value = 1*(%d33-60 / %d62-126) */
		while ((unsigned char)*s >= 33 && (unsigned char)*s <= 126 && *s != '=') {
			if (n + 1 >= vlen)
				return -1;
			val[n++] = *s++;
		}
		if (n == 0)
			return -1;
		val[n] = '\0';
		*has_val = 1;
	}
	if (*s != ' ' && *s != '\0' && *s != '\r' && *s != '\n')
		return -1;
	*p = s;
	return 1;
}

static const char *
skip_spaces(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

/* The start of MAIL/RCPT arguments: the path, then a space or the end. */
static int
parse_path_then_space(const char **p, char *path, size_t len, int sender, char *why, size_t whylen)
{
	int code;

	*p = skip_spaces(*p);
	code = parse_path(p, path, len, sender, !sender, why, whylen);
	if (code != 0)
		return code;
	if (**p != '\0' && **p != ' ')
		return fail(why, whylen, 501, "5.5.4 Syntax error: a space must follow the path");
	return 0;
}

int
smtp_parse_mail(const char *args, struct smtp_mail_args *out, char *why, size_t whylen)
{
	const char *p = args;
	char key[32], val[600];
	int has_val, r, code;

	memset(out, 0, sizeof *out);
	code = parse_path_then_space(&p, out->path, sizeof out->path, 1, why, whylen);
	if (code != 0)
		return code;
	while ((r = next_param(&p, key, sizeof key, val, sizeof val, &has_val)) == 1) {
		if (strcasecmp(key, "SIZE") == 0) {
			/* RFC 1870 6: size-value = 1*20DIGIT; one above 2^64 - 1 is
			 * still a size, too large for anyone (552 later). */
			if (out->has_size || !has_val || strlen(val) > 20 ||
			    parse_size(val, strlen(val), &out->size) != 0)
				return fail(why, whylen, 501, "5.5.4 Bad SIZE parameter");
			out->has_size = 1;
		} else if (strcasecmp(key, "BODY") == 0) {
			if (out->body[0] || !has_val ||
			    (strcasecmp(val, "7BIT") != 0 && strcasecmp(val, "8BITMIME") != 0))
				return fail(why, whylen, 501,
				            "5.5.4 Bad BODY parameter (7BIT or 8BITMIME)");
			for (size_t i = 0; val[i] && i < sizeof out->body - 1; i++)
				out->body[i] = (char)toupper((unsigned char)val[i]);
		} else if (strcasecmp(key, "RET") == 0) {
			enum dsn_ret ret;
			if (out->ret[0] || !has_val || dsn_param_ret_parse(val, &ret) != 0)
				return fail(why, whylen, 501,
				            "5.5.4 Bad RET parameter (FULL or HDRS)");
			snprintf(out->ret, sizeof out->ret, "%s", dsn_param_ret_name(ret));
		} else if (strcasecmp(key, "ENVID") == 0) {
			if (out->has_envid || !has_val ||
			    dsn_param_xtext_decode(val, out->envid, sizeof out->envid) != 0)
				return fail(why, whylen, 501, "5.5.4 Bad ENVID parameter");
			out->has_envid = 1;
		} else if (strcasecmp(key, "PRDR") == 0) {
			/* draft-hall-prdr-00 3: "PRDR" takes no value */
			if (out->prdr || has_val)
				return fail(why, whylen, 501,
				            "5.5.4 Bad PRDR parameter (no value)");
			out->prdr = 1;
		} else {
			/* RFC 5321 4.1.1.11: 555 for parameters not recognised */
			snprintf(why, whylen, "5.5.4 Unsupported parameter %s", key);
			return 555;
		}
	}
	if (r < 0)
		return fail(why, whylen, 501, "5.5.4 Syntax error in parameters");
	return 0;
}

int
smtp_parse_rcpt(const char *args, struct smtp_rcpt_args *out, char *why, size_t whylen)
{
	const char *p = args;
	char key[32], val[600];
	int has_val, r, code;

	memset(out, 0, sizeof *out);
	code = parse_path_then_space(&p, out->path, sizeof out->path, 0, why, whylen);
	if (code != 0)
		return code;
	while ((r = next_param(&p, key, sizeof key, val, sizeof val, &has_val)) == 1) {
		if (strcasecmp(key, "NOTIFY") == 0) {
			if (out->notify || !has_val ||
			    dsn_param_notify_parse(val, &out->notify) != 0)
				return fail(why, whylen, 501, "5.5.4 Bad NOTIFY parameter");
		} else if (strcasecmp(key, "ORCPT") == 0) {
			/* RFC 3461 4.2: addr-type ";" xtext */
			char *semi = has_val ? strchr(val, ';') : NULL;
			size_t tlen;
			if (out->orcpt[0] || semi == NULL || semi == val)
				return fail(why, whylen, 501, "5.5.4 Bad ORCPT parameter");
			tlen = (size_t)(semi - val);
			/* Room for the type, ";", one octet and the NUL (found by fuzz/smtp_args).
			 */
			if (tlen + 3 > sizeof out->orcpt)
				return fail(why, whylen, 501, "5.5.4 ORCPT address type too long");
			for (size_t i = 0; i < tlen; i++)
				if (!is_atext((unsigned char)val[i]))
					return fail(why, whylen, 501,
					            "5.5.4 Bad ORCPT address type");
			memcpy(out->orcpt, val, tlen + 1);
			if (dsn_param_xtext_decode(semi + 1, out->orcpt + tlen + 1,
			                           sizeof out->orcpt - tlen - 1) != 0 ||
			    out->orcpt[tlen + 1] == '\0')
				return fail(why, whylen, 501, "5.5.4 Bad ORCPT parameter");
		} else {
			snprintf(why, whylen, "5.5.4 Unsupported parameter %s", key);
			return 555;
		}
	}
	if (r < 0)
		return fail(why, whylen, 501, "5.5.4 Syntax error in parameters");
	return 0;
}

int
smtp_split_mailbox(const char *mailbox, char *local, size_t llen, char *domain, size_t dlen)
{
	const char *at = strrchr(mailbox, '@');

	if (at == NULL || (size_t)(at - mailbox) >= llen || strlen(at + 1) >= dlen)
		return -1;
	memcpy(local, mailbox, (size_t)(at - mailbox));
	local[at - mailbox] = '\0';
	snprintf(domain, dlen, "%s", at + 1);
	return 0;
}

int
smtp_parse_bdat(const char *args, uint64_t *size, int *last)
{
	const char *p = args;
	size_t n;

	p = skip_spaces(p);
	/* RFC 3030 2: chunk-size = 1*DIGIT; like SIZE, at most 20 of them.
	 * Unlike SIZE, a value above 2^64 - 1 is a syntax error: the server
	 * must read exactly that many octets, and cannot. */
	n = strspn(p, "0123456789");
	if (n > 20 || str_parse_u64(p, n, UINT64_MAX, size) != STR_NUM_OK)
		return -1;
	p = skip_spaces(p + n);
	*last = 0;
	if (strncasecmp(p, "LAST", 4) == 0) {
		*last = 1;
		p += 4;
	}
	p = skip_spaces(p);
	return (*p == '\0' || *p == '\r' || *p == '\n') ? 0 : -1;
}

int
smtp_valid_helo(const char *name)
{
	size_t n;

	if (name[0] == '[')
		n = scan_address_literal(name);
	else
		n = scan_domain(name);
	/* A trailing dot on a domain is tolerated (absolute name). */
	return n > 0 &&
	       (name[n] == '\0' || (name[n] == '.' && name[n + 1] == '\0' && name[0] != '['));
}

void
smtp_data_begin(struct smtp_data_state *st)
{
	st->prev_crlf = 1;
	st->bare = 0;
	st->nul = 0;
	st->long_line = 0;
}

int
smtp_data_line(struct smtp_data_state *st, const char *line, size_t len, int too_long,
               const char **out, size_t *outlen)
{
	int crlf = len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n';

	/* Only CRLF "." CRLF ends the data: "\n.\n" and "\r.\r" are content. */
	if (st->prev_crlf && crlf && len == 3 && line[0] == '.')
		return 1;
	if (too_long || len > SMTP_TEXT_LINE_MAX)
		st->long_line = 1;
	if (!crlf || memchr(line, '\r', len - (crlf ? 2 : 0)) != NULL)
		st->bare = 1;
	/* RFC 5322 2.1, RFC 6152 / RFC 2045 2.8: no NUL in a message (BINARYMIME
	 * is not offered). */
	if (memchr(line, '\0', len) != NULL)
		st->nul = 1;
	st->prev_crlf = crlf;
	/* RFC 5321 4.5.2: the sender added a dot to lines starting with one. */
	if (len > 0 && line[0] == '.') {
		*out = line + 1;
		*outlen = len - 1;
	} else {
		*out = line;
		*outlen = len;
	}
	return 0;
}

void
smtp_chunk_begin(struct smtp_chunk_state *st)
{
	st->prev_cr = 0;
	st->bare = 0;
	st->nul = 0;
	st->line_len = 0;
	st->long_line = 0;
}

/* RFC 5321 2.3.8: CR and LF only as CRLF, whatever the framing. */
void
smtp_chunk_scan(struct smtp_chunk_state *st, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if ((st->prev_cr && c != '\n') || (!st->prev_cr && c == '\n'))
			st->bare = 1;
		if (c == '\0')
			st->nul = 1;
		st->prev_cr = c == '\r';
		/* RFC 5321 4.5.3.1.6: 1000 octets, CRLF included. */
		if (++st->line_len > SMTP_TEXT_LINE_MAX)
			st->long_line = 1;
		if (c == '\n')
			st->line_len = 0;
	}
}

void
smtp_chunk_end(struct smtp_chunk_state *st)
{
	if (st->prev_cr)
		st->bare = 1;
	st->prev_cr = 0;
}
