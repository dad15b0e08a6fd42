/*
 * smtp_args_fuzz.c - libFuzzer target: the SMTP argument grammar
 * (server/smtp_parse.h).  The input up to its first LF is the argument
 * string of a command: MAIL FROM:, RCPT TO:, BDAT, EHLO and an xtext value
 * all get it (NUL-terminated copy in a buffer of exactly that size, so an
 * over-read is caught).  The whole input is then fed to the DATA state
 * machine, one LF-terminated line at a time.  docs/fuzz.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
dup_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
args(const char *a)
{
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	char why[128], local[SMTP_PATH_MAX + 1], domain[SMTP_PATH_MAX + 1];
	char unq[SMTP_LOCAL_PART_MAX + 1], xt[SMTP_ENVID_MAX + 1];
	uint64_t size;
	int last;

	if (smtp_parse_mail(a, &m, why, sizeof why) == 0 && m.path[0] != '\0' &&
	    smtp_split_mailbox(m.path, local, sizeof local, domain, sizeof domain) == 0)
		(void)smtp_unquote_local_part(local, unq, sizeof unq);
	if (smtp_parse_rcpt(a, &r, why, sizeof why) == 0 &&
	    smtp_split_mailbox(r.path, local, sizeof local, domain, sizeof domain) == 0)
		(void)smtp_unquote_local_part(local, unq, sizeof unq);
	(void)smtp_parse_bdat(a, &size, &last);
	(void)smtp_valid_helo(a);
	(void)dsn_param_xtext_decode(a, xt, sizeof xt);
	(void)smtp_unquote_local_part(a, unq, sizeof unq);
	/* A tiny heap output buffer: a write past outlen is an ASan report. */
	{
		char *small = malloc(4);

		if (small == NULL)
			abort();
		(void)dsn_param_xtext_decode(a, small, 4);
		(void)smtp_unquote_local_part(a, small, 4);
		free(small);
	}
}

static void
data_lines(const uint8_t *data, size_t size)
{
	struct smtp_data_state st;
	size_t off = 0;

	smtp_data_begin(&st);
	while (off < size) {
		const uint8_t *lf = memchr(data + off, '\n', size - off);
		size_t len = lf != NULL ? (size_t)(lf - (data + off)) + 1 : size - off;
		char *line = malloc(len ? len : 1); /* exact size, no NUL: over-reads show */
		const char *out;
		size_t outlen;
		int end;

		if (line == NULL)
			abort();
		memcpy(line, data + off, len);
		end = smtp_data_line(&st, line, len, len > SMTP_TEXT_LINE_MAX, &out, &outlen);
		if (!end && outlen > 0) {
			/* what to keep must lie inside the line */
			if (out < line || outlen > len || (size_t)(out - line) > len - outlen)
				abort();
		}
		free(line);
		off += len;
		if (end)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *lf = memchr(data, '\n', size);
	size_t alen = lf != NULL ? (size_t)(lf - data) : size;
	char *a = dup_n(data, alen);

	args(a);
	free(a);
	data_lines(data, size);
	return 0;
}
