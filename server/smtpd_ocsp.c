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
 */
#include <errno.h>
#include <fcntl.h>
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

void
smtpd_ocsp_staple(void *arg, const struct tls_staple_query *q, const unsigned char **staple,
                  size_t *len)
{
	struct smtpd_ocsp *o = arg;
	const struct session *s = o->s;
	const struct config *cfg = s->cfg;
	struct ocsp_vars vars = { .s = s, .sni = q->sni };
	struct expand_env env = { .var = ocsp_var, .arg = &vars };
	struct tls_ocsp_facts facts;
	enum tls_ocsp_verdict v;
	char *path;

	if (q->index >= cfg->tls_ocsp_file.n)
		return; /* no response configured for this certificate */
	path = expand_string(cfg->tls_ocsp_file.v[q->index], &env);
	if (path == NULL)
		return;
	if (path[0] == '\0') /* expanded to nothing: no staple, on purpose */
		goto out;
	smtpd_ocsp_release(o);
	if (ocsp_read_file(path, &o->der, &o->len) != 0) {
		log_write("H=%s [%s]:%u OCSP: not stapling %s: %s", smtpd_helo_or_none(s),
		          s->peer->ip, s->peer->port, path, strerror(errno));
		goto out;
	}
	/* Real time, as the libraries judge the certificates the response is
	 * about (test_clock freezes only logs and ids). */
	v = tls_ocsp_check(tls_ctx_backend(s->tls_ctx), o->der, o->len, q->leaf, q->issuer, 0,
	                   time(NULL), &facts);
	if (v == TLS_OCSP_GOOD || v == TLS_OCSP_REVOKED || v == TLS_OCSP_UNKNOWN) {
		*staple = o->der;
		*len = o->len;
	} else {
		log_write("H=%s [%s]:%u OCSP: not stapling %s: %s", smtpd_helo_or_none(s),
		          s->peer->ip, s->peer->port, path, tls_ocsp_word(v));
	}
out:
	free(path);
}

void
smtpd_ocsp_release(struct smtpd_ocsp *o)
{
	free(o->der);
	o->der = NULL;
	o->len = 0;
}
