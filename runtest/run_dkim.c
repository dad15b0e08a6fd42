/*
 * run_dkim.c - DKIM in scenarios (docs/scenario-format.md "DKIM"): keys
 * minted once per run beside the PKI (pki_dkim_mint()), published in
 * [zone] sections by a pseudo record
 *
 *   sel._domainkey IN DKIM @PKI@/dkim-rsa2048.key
 *
 * that becomes the TXT key record (RFC 6376 3.6.1), and the step
 *
 *   send-dkim FILE [sent=FILE2] d=DOMAIN s=SELECTOR key=PATH [a=ALGO] [x=SECS] [l]
 *
 * which signs [file FILE] at run time with server/dkim.c's signer
 * (dkimv_sign(), libopendkim) at the test clock, then sends the
 * DKIM-Signature line and FILE2's lines (FILE's without sent=) as DATA
 * lines.  sent= is how a scenario alters a message after signing.  The
 * scenario still sends the final ".".  No key or signature is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dkim.h"
#include "pki.h"
#include "run_int.h"

#define DKIM_TEST_CLOCK 1767225600L /* run.c's TEST_CLOCK, 2026-01-01T00:00:00Z */

/* One line: "OWNER [TTL] [IN] DKIM /PATH" as a TXT record of 250-octet
 * strings (RFC 1035 3.3.14); any other line copied. */
static int
dkim_line(struct buf *out, const char *line, size_t len, struct err *e)
{
	char *copy = strndup(line, len), *w[6] = { 0 }, *save = NULL, *rec;
	size_t n = 0, i, k;

	if (copy == NULL)
		return -1;
	for (char *t = strtok_r(copy, " \t", &save); t && n < 6; t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	for (k = 1; k < n && strcasecmp(w[k], "DKIM") != 0; k++)
		;
	if (k >= n || k + 2 != n || w[k + 1][0] != '/') {
		buf_add(out, line, len);
		free(copy);
		return 0;
	}
	rec = pki_dkim_record(w[k + 1], e);
	if (rec == NULL) {
		free(copy);
		return -1;
	}
	for (i = 0; i < k; i++)
		buf_addf(out, "%s ", w[i]);
	buf_addf(out, "TXT (");
	for (i = 0; i < strlen(rec); i += 250)
		buf_addf(out, " \"%.250s\"", rec + i);
	buf_addf(out, " )");
	free(rec);
	free(copy);
	return 0;
}

char *
run_zone_dkim(const char *text, struct err *e)
{
	struct buf out = { 0 };

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (dkim_line(&out, p, len, e) != 0) {
			buf_free(&out);
			return NULL;
		}
		if (nl)
			buf_add(&out, "\n", 1);
		p += len + (nl != NULL);
	}
	return buf_take(&out);
}

/* [file NAME], substituted, with CRLF line ends and without the blank
 * lines at its end (they separate sections); caller frees. */
static char *
file_crlf(struct run *r, const char *name)
{
	const struct text_section *f = scenario_section(r->s->files, r->s->nfiles, name);
	char *text = f != NULL ? run_substitute(f->text, r) : NULL;
	struct buf out = { 0 };

	if (text == NULL)
		return NULL;
	for (size_t n = strlen(text); n > 1 && text[n - 1] == '\n' && text[n - 2] == '\n'; n--)
		text[n - 1] = '\0';
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			buf_add(&out, "\r", 1);
		buf_add(&out, p, 1);
	}
	free(text);
	return buf_take(&out);
}

/* Each CRLF line of `text` as a send step (dot-stuffed, RFC 5321 4.5.2). */
static int
send_lines(struct run *r, const struct step *st, const char *text, struct err *e)
{
	int rc = 0;

	for (const char *p = text; rc == 0 && *p;) {
		const char *end = strstr(p, "\r\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *line = malloc(len + 2);
		struct step one = *st;
		if (line == NULL)
			return -1;
		snprintf(line, len + 2, "%s%.*s", p[0] == '.' ? "." : "", (int)len, p);
		one.arg = line;
		rc = step_send(r, &one, e);
		free(line);
		p += len + (end ? 2 : 0);
	}
	return rc;
}

int
step_send_dkim(struct run *r, const struct step *st, struct err *e)
{
	char *copy = strdup(st->arg), *save = NULL, *w, *msg = NULL, *sent = NULL, *sig = NULL;
	const char *file = NULL, *sentname = NULL, *keyfile = NULL;
	struct dkimv_sign_opts o = { .now = DKIM_TEST_CLOCK };
	char *key = NULL;
	size_t keylen = 0;
	int rc = -1;

	for (w = copy ? strtok_r(copy, " \t", &save) : NULL; w; w = strtok_r(NULL, " \t", &save)) {
		if (strncmp(w, "sent=", 5) == 0)
			sentname = w + 5;
		else if (strncmp(w, "d=", 2) == 0)
			o.domain = w + 2;
		else if (strncmp(w, "s=", 2) == 0)
			o.selector = w + 2;
		else if (strncmp(w, "key=", 4) == 0)
			keyfile = w + 4;
		else if (strncmp(w, "a=", 2) == 0)
			o.algo = w + 2;
		else if (strncmp(w, "x=", 2) == 0)
			o.expire_after = strtol(w + 2, NULL, 10);
		else if (strcmp(w, "l") == 0)
			o.body_length = 1;
		else if (file == NULL)
			file = w;
	}
	if (file == NULL || o.domain == NULL || o.selector == NULL || keyfile == NULL) {
		err_set(e, 1, "%s:%d: send-dkim FILE [sent=FILE2] d=D s=S key=PATH [a=] [x=] [l]",
		        r->s->path, st->line);
		goto out;
	}
	msg = file_crlf(r, file);
	sent = sentname ? file_crlf(r, sentname) : NULL;
	if (msg == NULL || (sentname != NULL && sent == NULL)) {
		err_set(e, 1, "%s:%d: send-dkim: no [file %s]", r->s->path, st->line,
		        msg == NULL ? file : sentname);
		goto out;
	}
	FILE *kf = fopen(keyfile, "r");
	if (kf == NULL || getdelim(&key, &keylen, '\0', kf) < 0) {
		if (kf != NULL)
			fclose(kf);
		err_set(e, 1, "%s:%d: send-dkim: cannot read %s", r->s->path, st->line, keyfile);
		goto out;
	}
	fclose(kf);
	o.key_pem = key;
	if ((sig = dkimv_sign(msg, strlen(msg), &o, e)) == NULL)
		goto out;
	rc = send_lines(r, st, sig, e);
	if (rc == 0)
		rc = send_lines(r, st, sent ? sent : msg, e);
out:
	free(copy);
	free(msg);
	free(sent);
	free(sig);
	free(key);
	return rc;
}
