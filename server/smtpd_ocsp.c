/*
 * smtpd_ocsp.c - the staple the server sends (smtpd_ocsp.h).
 *
 * The seed: tls_ocsp_file is expanded on each connection ($tls_in_sni can
 * pick a file) and read again, so a file replaced atomically is used from
 * the next handshake on, without a restart.  One response per certificate,
 * in tls_certificate's order: the backend says which certificate it chose
 * and the file of that place is read.  One behaviour on both backends: a
 * response is stapled when it decodes, names the certificate being served,
 * and is inside its validity window (lib/tls_ocsp.c's rule, signature not
 * checked: the server has no trust anchors for it); its status (good,
 * revoked, unknown) is the client's to judge, so it is stapled as it is.
 * Anything else is not stapled and logged with its verdict word.  Never
 * names a TLS library.
 *
 * An item written "PEM FILE" (Exim's prefix) holds one response per chain
 * element, leaf first; in TLS 1.3 a backend that can (TLS_CAP_STAPLE_CHAIN)
 * asks for the elements above the leaf too (RFC 8446 4.4.2.1), and each is
 * judged like the leaf's against its own certificate; docs/ocsp.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "expand.h"
#include "log.h"
#include "smtpd_int.h"
#include "smtpd_ocsp.h"
#include "tls_ocsp.h"

#define OCSP_FILE_MAX (64 * 1024) /* far above any real response (RFC 6960 has no limit) */

struct ocsp_vars {
	const struct session *s;
	const char *sni;
};

/* During the handshake the session has no TLS facts yet: the SNI comes
 * from the query; every other variable from the session's table. */
static const char *
ocsp_var(void *arg, const char *name)
{
	const struct ocsp_vars *v = arg;
	const struct expand_var *row;
	static char buf[256];

	if (strcmp(name, "tls_in_sni") == 0 || strcmp(name, "tls_sni") == 0) {
		/* The client's bytes go into a path: only a host name (RFC 6066 3:
		 * letters, digits, '-', '.'; no leading '.') may, so "../x" cannot
		 * walk out of the directory. */
		if (v->sni == NULL || v->sni[0] == '.' ||
		    strspn(v->sni,
		           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
		            strlen(v->sni) ||
		    strstr(v->sni, "..") != NULL)
			return "";
		return v->sni;
	}
	row = expand_var_find(smtpd_vars, smtpd_nvars, name);
	return row != NULL ? row->get(v->s, buf, sizeof buf) : NULL;
}

/* The whole file, or -1 with errno (EFBIG past OCSP_FILE_MAX). */
static int
ocsp_read_file(const char *path, unsigned char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *buf = NULL;
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	buf = malloc(OCSP_FILE_MAX + 1);
	if (buf == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	/* One open file: an atomic rename() gives the old bytes or the new, whole. */
	while (n <= OCSP_FILE_MAX && (r = read(fd, buf + n, OCSP_FILE_MAX + 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n > OCSP_FILE_MAX) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

const char *
smtpd_ocsp_item(const char *const *items, size_t index, int *pem)
{
	const char *it = items[0];

	*pem = 0;
	for (size_t i = 0; i <= index; i++) {
		it = items[i];
		if (strncmp(it, "PEM ", 4) == 0 || strncmp(it, "DER ", 4) == 0) {
			*pem = it[0] == 'P';
			it += 4 + strspn(it + 4, " ");
		}
	}
	return it;
}

static int
b64_value(int ch)
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = ch != 0 ? strchr(alphabet, ch) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

/* Base64 (RFC 4648 4) from `p` to `end`, line breaks skipped, into `out`;
 * the octets written, or 0 for anything else (a response is never empty). */
static size_t
b64_decode(const char *p, const char *end, unsigned char *out)
{
	unsigned acc = 0, bits = 0;
	size_t n = 0;

	for (; p < end && *p != '='; p++) {
		int v = b64_value((unsigned char)*p);
		if (*p == '\n' || *p == '\r')
			continue;
		if (v < 0)
			return 0;
		acc = acc << 6 | (unsigned)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

/*
 * The "-----BEGIN OCSP RESPONSE-----" blocks of o->der (RFC 7468's form;
 * GnuTLS's label, which Exim's PEM files use), in order: block k is for chain
 * depth k.  A block that does not decode is kept empty: its depth gets the
 * `malformed` word.
 */
static int
ocsp_split_pem(struct smtpd_ocsp *o)
{
	static const char begin[] = "-----BEGIN OCSP RESPONSE-----";
	static const char endl[] = "-----END OCSP RESPONSE-----";
	const char *p = (const char *)o->der, *end = p + o->len;
	size_t used = 0;

	o->pem = malloc(o->len + 1);
	if (o->pem == NULL)
		return -1;
	while (o->nresp < TLS_MAX_CHAIN) {
		const char *b = memmem(p, (size_t)(end - p), begin, sizeof begin - 1), *e;
		if (b == NULL)
			break;
		b += sizeof begin - 1;
		e = memmem(b, (size_t)(end - b), endl, sizeof endl - 1);
		if (e == NULL)
			break;
		o->resp[o->nresp] = o->pem + used;
		o->resp_len[o->nresp] = b64_decode(b, e, o->pem + used);
		used += o->resp_len[o->nresp++];
		p = e + sizeof endl - 1;
	}
	if (o->nresp == 0) { /* no block at all: the leaf's is malformed, and logged */
		o->resp[0] = NULL;
		o->resp_len[0] = 0;
		o->nresp = 1;
	}
	return 0;
}

/* Depth 0: expand this certificate's item and read its file (o->path,
 * o->der, o->resp[]).  0, or -1 when there is nothing to staple (logged when
 * that is a failure). */
static int
ocsp_load(struct smtpd_ocsp *o, const struct tls_staple_query *q)
{
	const struct session *s = o->s;
	const struct config *cfg = s->cfg;
	struct ocsp_vars vars = { .s = s, .sni = q->sni };
	struct expand_env env = { .var = ocsp_var, .arg = &vars };
	const char *item;
	int pem;

	smtpd_ocsp_release(o);
	if (q->index >= cfg->tls_ocsp_file.n)
		return -1; /* no response configured for this certificate */
	item = smtpd_ocsp_item((const char *const *)cfg->tls_ocsp_file.v, q->index, &pem);
	o->path = expand_string(item, &env);
	if (o->path == NULL || o->path[0] == '\0') /* nothing: no staple, on purpose */
		return -1;
	if (ocsp_read_file(o->path, &o->der, &o->len) != 0) {
		log_write("H=%s [%s]:%u OCSP: not stapling %s: %s", smtpd_helo_or_none(s),
		          s->peer->ip, s->peer->port, o->path, strerror(errno));
		return -1;
	}
	if (!pem) {
		o->resp[0] = o->der;
		o->resp_len[0] = o->len;
		o->nresp = 1;
	} else if (ocsp_split_pem(o) != 0) {
		log_write("H=%s [%s]:%u OCSP: not stapling %s: %s", smtpd_helo_or_none(s),
		          s->peer->ip, s->peer->port, o->path, strerror(ENOMEM));
		return -1;
	}
	return 0;
}

void
smtpd_ocsp_staple(void *arg, const struct tls_staple_query *q, const unsigned char **staple,
                  size_t *len)
{
	struct smtpd_ocsp *o = arg;
	const struct session *s = o->s;
	struct tls_ocsp_facts facts;
	enum tls_ocsp_verdict v;
	char where[32] = "";

	/* One read per handshake: the elements above the leaf come from the
	 * bytes read for it, so a replaced file is never half old, half new. */
	if (q->depth == 0 && ocsp_load(o, q) != 0)
		return;
	if (o->path == NULL || o->der == NULL || q->depth >= o->nresp)
		return; /* no response for this element */
	if (q->depth > 0)
		snprintf(where, sizeof where, " at depth %zu", q->depth);
	/* Each element's response is judged as the leaf's is: for that
	 * element's certificate (and its issuer, when the chain has it), inside
	 * its window.  Real time, as the libraries judge the certificates the
	 * response is about (test_clock freezes only logs and ids). */
	v = tls_ocsp_check(tls_ctx_backend(s->tls_ctx), o->resp[q->depth], o->resp_len[q->depth],
	                   q->leaf, q->issuer, 0, time(NULL), &facts);
	if (v == TLS_OCSP_GOOD || v == TLS_OCSP_REVOKED || v == TLS_OCSP_UNKNOWN) {
		*staple = o->resp[q->depth];
		*len = o->resp_len[q->depth];
	} else {
		log_write("H=%s [%s]:%u OCSP: not stapling %s%s: %s", smtpd_helo_or_none(s),
		          s->peer->ip, s->peer->port, o->path, where, tls_ocsp_word(v));
	}
}

void
smtpd_ocsp_release(struct smtpd_ocsp *o)
{
	free(o->der);
	free(o->pem);
	free(o->path);
	o->der = o->pem = NULL;
	o->path = NULL;
	o->len = o->nresp = 0;
}
