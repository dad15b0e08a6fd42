/*
 * ocsp_fetch.c - `refmta ocsp-fetch` (ocsp_fetch.h): for each certificate
 * with a tls_ocsp_file item, ask the responder (the URL the certificate
 * names, or --url) over HTTP POST (RFC 6960 appendix A.1), judge the answer
 * with tls_ocsp_check() exactly as a client judges a staple (signature
 * included: the seed's helper script missed an expired signer), and only a
 * valid "good" answer replaces the file: written aside, fsync'ed, renamed
 * over it, directory fsync'ed, so the server reads the old bytes or the new
 * (smtpd_ocsp.c).  Never names a TLS library.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fsutil.h"
#include "net.h"
#include "ocsp_fetch.h"
#include "smtpd_ocsp.h"
#include "strutil.h"
#include "tls_ocsp.h"

#define FETCH_MAX (64 * 1024) /* an answer larger than this is refused */

/* "http://HOST[:PORT][/PATH]" -> parts; 0 or -1. */
static int
url_split(const char *url, char *host, size_t hlen, char *port, size_t plen, const char **path)
{
	const char *h, *end, *colon;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	h = url + 7;
	end = h + strcspn(h, "/");
	*path = *end ? end : "/";
	colon = memchr(h, ':', (size_t)(end - h));
	if (colon == NULL)
		colon = end;
	if (colon == h || (size_t)(colon - h) >= hlen)
		return -1;
	snprintf(host, hlen, "%.*s", (int)(colon - h), h);
	if (colon < end)
		snprintf(port, plen, "%.*s", (int)(end - colon - 1), colon + 1);
	else
		snprintf(port, plen, "80");
	return port[0] ? 0 : -1;
}

/* POST the request, read the whole answer; the body in *body (caller frees).
 * 0, or -1 with `why`. */
static int
http_post(const char *url, unsigned timeout, const struct tls_der *req, unsigned char **body,
          size_t *blen, char *why, size_t wlen)
{
	char host[256], port[16], head[1024];
	const char *path;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	unsigned char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd = -1, rc = -1, hl;

	if (url_split(url, host, sizeof host, port, sizeof port, &path) != 0) {
		snprintf(why, wlen, "bad URL \"%s\" (use http://HOST[:PORT]/PATH)", url);
		return -1;
	}
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
		snprintf(why, wlen, "%s: cannot resolve %s", url, host);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* SO_SNDTIMEO bounds connect() too on Linux; SO_RCVTIMEO each read. */
	if (fd < 0 || net_set_timeouts(fd, timeout * 1000) != 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(why, wlen, "%s: cannot connect: %s", url,
		         errno == EINPROGRESS || errno == EAGAIN ? "timed out" : strerror(errno));
		goto out;
	}
	hl = snprintf(head, sizeof head,
	              "POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/ocsp-request\r\n"
	              "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	              path, host, req->len);
	if (hl < 0 || (size_t)hl >= sizeof head || fs_write_all(fd, head, (size_t)hl) != 0 ||
	    fs_write_all(fd, req->data, req->len) != 0) {
		snprintf(why, wlen, "%s: cannot send the request: %s", url, strerror(errno));
		goto out;
	}
	if ((buf = malloc(FETCH_MAX + 1)) == NULL)
		goto out;
	while (n <= FETCH_MAX && (r = read(fd, buf + n, FETCH_MAX + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, wlen, "%s: %s", url,
			         errno == EAGAIN ? "no answer in time" : strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	if (n > FETCH_MAX) {
		snprintf(why, wlen, "%s: answer larger than %d octets", url, FETCH_MAX);
		goto out;
	}
	buf[n] = '\0';
	unsigned char *sep = memmem(buf, n, "\r\n\r\n", 4);
	if (n == 0 || sep == NULL || strncmp((char *)buf, "HTTP/1.", 7) != 0 || n < 12 ||
	    memcmp(buf + 8, " 200", 4) != 0) {
		snprintf(why, wlen, "%s: %s", url,
		         n == 0 ? "connection closed without an answer" : "not an HTTP 200 answer");
		goto out;
	}
	*blen = n - (size_t)(sep + 4 - buf);
	memmove(buf, sep + 4, *blen);
	*body = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

/* Write aside, fsync, rename over `path`, fsync the directory. */
static int
replace_atomically(const char *path, const unsigned char *data, size_t len, char *why, size_t wlen)
{
	char tmp[4200], dir[4200];
	struct err e = { 0 };
	int fd;

	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fs_write_all(fd, data, len) != 0 || fsync(fd) != 0 || close(fd) != 0) {
		snprintf(why, wlen, "cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		snprintf(why, wlen, "cannot rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	if (fs_fsync_dir(dir, &e) != 0) {
		snprintf(why, wlen, "%s", e.text);
		return -1;
	}
	return 0;
}

/* One certificate and its file: the exit code for it. */
static enum ocsp_fetch_exit
fetch_one(const struct tls_backend *be, const char *chain, const char *out, const char *url,
          unsigned timeout)
{
	struct tls_ocsp_query q;
	struct tls_ocsp_facts facts;
	struct err e = { 0 };
	unsigned char *body = NULL;
	size_t blen = 0;
	char why[600], when[64];
	enum tls_ocsp_verdict v;
	enum ocsp_fetch_exit rc;

	if (tls_ocsp_query_new(be, chain, &q, &e) != 0) {
		fprintf(stderr, "ocsp-fetch: %s: kept: %s\n", out, e.text);
		return OCSP_FETCH_USAGE;
	}
	if (url == NULL)
		url = q.url;
	if (url[0] == '\0') {
		fprintf(stderr, "ocsp-fetch: %s: kept: %s names no OCSP responder (give --url)\n",
		        out, chain);
		rc = OCSP_FETCH_USAGE;
		goto out;
	}
	if (http_post(url, timeout, &q.request, &body, &blen, why, sizeof why) != 0) {
		fprintf(stderr, "ocsp-fetch: %s: kept: responder %s\n", out, why);
		rc = OCSP_FETCH_UNREACHABLE;
		goto out;
	}
	/* The real clock, as a client judging the staple uses. */
	v = tls_ocsp_check(be, body, blen, &q.leaf, &q.issuer, 1, time(NULL), &facts);
	if (v != TLS_OCSP_GOOD) {
		fprintf(stderr, "ocsp-fetch: %s: kept: the answer from %s is %s%s%s\n", out, url,
		        tls_ocsp_word(v), facts.detail[0] ? ": " : "", facts.detail);
		rc = v == TLS_OCSP_REVOKED || v == TLS_OCSP_UNKNOWN ? OCSP_FETCH_REVOKED
		                                                    : OCSP_FETCH_INVALID;
		goto out;
	}
	if (replace_atomically(out, body, blen, why, sizeof why) != 0) {
		fprintf(stderr, "ocsp-fetch: %s: kept: %s\n", out, why);
		rc = OCSP_FETCH_USAGE;
		goto out;
	}
	clock_format_log(facts.next_update, when, sizeof when);
	printf("ocsp-fetch: %s: replaced: good, next update %s UTC\n", out, when);
	rc = OCSP_FETCH_REPLACED;
out:
	free(body);
	tls_ocsp_query_free(&q);
	return rc;
}

/* Which outcome a cron job must hear first. */
static int
worse(enum ocsp_fetch_exit a, enum ocsp_fetch_exit b)
{
	static const int rank[] = { [OCSP_FETCH_REPLACED] = 0,
		                    [OCSP_FETCH_UNREACHABLE] = 1,
		                    [OCSP_FETCH_INVALID] = 2,
		                    [OCSP_FETCH_REVOKED] = 3 };
	int ra = a == OCSP_FETCH_USAGE ? 4 : rank[a], rb = b == OCSP_FETCH_USAGE ? 4 : rank[b];

	return ra >= rb ? (int)a : (int)b;
}

int
ocsp_fetch_main(const struct config *cfg, const char *backend, int argc, char **argv)
{
	const char *url = NULL;
	unsigned timeout = 10;
	const struct tls_backend *be = tls_backend_by_name(backend ? backend : cfg->tls_backend);
	int rc = OCSP_FETCH_REPLACED;
	uint64_t secs;

	for (int i = 0; i < argc; i += 2) {
		if (i + 1 >= argc)
			goto usage;
		if (strcmp(argv[i], "--url") == 0)
			url = argv[i + 1];
		else if (strcmp(argv[i], "--timeout") == 0 &&
		         str_parse_u64(argv[i + 1], strlen(argv[i + 1]), 600, &secs) ==
		                 STR_NUM_OK &&
		         secs > 0)
			timeout = (unsigned)secs;
		else
			goto usage;
	}
	if (be == NULL || cfg->tls_ocsp_file.n == 0) {
		fprintf(stderr, "ocsp-fetch: the configuration has no tls_ocsp_file\n");
		return OCSP_FETCH_USAGE;
	}
	for (size_t i = 0; i < cfg->tls_ocsp_file.n; i++) {
		int pem;
		const char *out =
		        smtpd_ocsp_item((const char *const *)cfg->tls_ocsp_file.v, i, &pem);
		if (pem) { /* one response per chain element: the leaf's alone would lose them */
			fprintf(stderr,
			        "ocsp-fetch: %s: kept: a PEM item holds the responses of the whole "
			        "chain; fetch only DER items\n",
			        out);
			rc = worse((enum ocsp_fetch_exit)rc, OCSP_FETCH_USAGE);
			continue;
		}
		if (strchr(out, '$') != NULL || out[0] == '\0') {
			fprintf(stderr,
			        "ocsp-fetch: %s: kept: a name with $variables is chosen per "
			        "connection; fetch it with a configuration of its own\n",
			        out);
			rc = worse((enum ocsp_fetch_exit)rc, OCSP_FETCH_USAGE);
			continue;
		}
		rc = worse((enum ocsp_fetch_exit)rc,
		           fetch_one(be, cfg->tls_certificate.v[i], out, url, timeout));
	}
	return rc;
usage:
	fprintf(stderr, "usage: refmta -c FILE [--backend B] ocsp-fetch [--url URL] "
	                "[--timeout SECS]\n");
	return OCSP_FETCH_USAGE;
}
