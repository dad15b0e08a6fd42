/*
 * smtp_reply.c - reading SMTP replies, EHLO keywords and xtext for the
 * client side (smtp_reply.h).  It never decides what a reply means for a
 * delivery: that is server/deliver_smtp.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bio.h"
#include "smtp_reply.h"

void
smtp_reply_clear(struct smtp_reply *r)
{
	free(r->text);
	r->text = NULL;
	r->code = 0;
	r->status[0] = '\0';
}

/* RFC 3463 2: "class.subject.detail" right after the code, the class the
 * reply's own, subject and detail 1 to 3 digits. */
static void
reply_status(struct smtp_reply *r)
{
	const char *p = r->text + 4;
	char cls = (char)('0' + r->code / 100);
	size_t n1, n2;
	char end;

	snprintf(r->status, sizeof r->status, "%c.0.0", cls);
	if (r->text[3] == '\0' || p[0] != cls || p[1] != '.')
		return;
	n1 = strspn(p + 2, "0123456789");
	if (n1 < 1 || n1 > 3 || p[2 + n1] != '.')
		return;
	n2 = strspn(p + 3 + n1, "0123456789");
	end = p[3 + n1 + n2];
	if (n2 < 1 || n2 > 3 || (end != ' ' && end != '\0' && end != '\n'))
		return;
	snprintf(r->status, sizeof r->status, "%.*s", (int)(3 + n1 + n2), p);
}

enum smtp_reply_read
smtp_reply_read(struct bio *b, struct smtp_reply *r, struct err *e)
{
	char line[SMTP_REPLY_LINE_MAX];
	size_t len, used = 0;
	int too_long;

	smtp_reply_clear(r);
	for (int n = 0; n < SMTP_REPLY_MAX_LINES; n++) {
		enum bio_status st = bio_read_line(b, line, sizeof line - 1, &len, &too_long, e);
		int code;
		char *t;

		if (st != BIO_OK) {
			smtp_reply_clear(r);
			if (st == BIO_EOF)
				return SMTP_REPLY_EOF;
			return st == BIO_TIMEOUT ? SMTP_REPLY_TIMEOUT : SMTP_REPLY_IO;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		/* RFC 5321 4.2: Reply-code [ SP / "-" text ], 2yz..5yz. */
		if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' ||
		    (len > 3 && line[3] != ' ' && line[3] != '-')) {
			err_set(e, 0, "malformed reply \"%.80s\"", line);
			smtp_reply_clear(r);
			return SMTP_REPLY_MALFORMED;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (n > 0 && code != r->code) {
			err_set(e, 0, "reply code changed within a reply: \"%.80s\"", line);
			smtp_reply_clear(r);
			return SMTP_REPLY_MALFORMED;
		}
		r->code = code;
		t = realloc(r->text, used + len + 2);
		if (t == NULL) {
			err_set(e, ENOMEM, "out of memory");
			smtp_reply_clear(r);
			return SMTP_REPLY_IO;
		}
		r->text = t;
		if (used > 0)
			r->text[used++] = '\n';
		memcpy(r->text + used, line, len + 1);
		used += len;
		if (len == 3 || line[3] == ' ') {
			reply_status(r);
			return SMTP_REPLY_OK;
		}
	}
	err_set(e, 0, "reply longer than %d lines", SMTP_REPLY_MAX_LINES);
	smtp_reply_clear(r);
	return SMTP_REPLY_MALFORMED;
}

void
smtp_ehlo_parse(const char *text, struct smtp_ehlo *out)
{
	static const struct {
		const char *kw;
		unsigned ext;
	} kws[] = {
		{ "PIPELINING", SMTP_EXT_PIPELINING },
		{ "SIZE", SMTP_EXT_SIZE },
		{ "8BITMIME", SMTP_EXT_8BITMIME },
		{ "DSN", SMTP_EXT_DSN },
		{ "CHUNKING", SMTP_EXT_CHUNKING },
		{ "STARTTLS", SMTP_EXT_STARTTLS },
		{ "PRDR", SMTP_EXT_PRDR },
	};
	const char *p = text != NULL ? strchr(text, '\n') : NULL;

	out->ext = 0;
	out->size_limit = 0;
	/* The first line greets; each further one is "250-KEYWORD [PARAMS]". */
	while (p != NULL) {
		const char *line = p + 1, *kw = line + 4;
		const char *end = strchr(line, '\n');
		size_t linelen = end != NULL ? (size_t)(end - line) : strlen(line);
		size_t kwlen;

		p = end;
		if (linelen < 5)
			continue;
		kwlen = strcspn(kw, " \n");
		for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
			if (kwlen != strlen(kws[i].kw) || strncasecmp(kw, kws[i].kw, kwlen) != 0)
				continue;
			out->ext |= kws[i].ext;
			/* RFC 1870 4: "SIZE" [SP number]; 0 or none: no fixed limit. */
			if (kws[i].ext == SMTP_EXT_SIZE && kw[kwlen] == ' ')
				out->size_limit = strtoull(kw + kwlen + 1, NULL, 10);
		}
	}
}
