/*
 * http.h - fakeocsp's tiny HTTP/1.0 and 1.1 server for OCSP (RFC 6960
 * appendix A): POST application/ocsp-request, GET with the base64 request
 * in the path, keep-alive, one process per connection.
 *
 * Loopback addresses only.  Never exits on bad input: every read is bounded
 * in size and time, every connection in requests; the number of connections
 * served at once is bounded too.  Names no TLS library (ocsp.h signs).
 */
#ifndef FAKEOCSP_HTTP_H
#define FAKEOCSP_HTTP_H

#include <stddef.h>

#include "err.h"
#include "ocsp.h"

#define HTTP_MAX_BODY (64u * 1024)  /* larger: 413 */
#define HTTP_MAX_HEADER (8u * 1024) /* request line + headers; larger: 431 */
#define HTTP_MAX_REQUESTS 10000     /* per keep-alive connection */
#define HTTP_MAX_CLIENTS 64         /* connections served at once */

struct http_config {
	const struct ocsp_responder *responder;
	const struct ocsp_index *index;
	const struct ocsp_faults *faults;
	int log_fd;          /* one line per request, written with one write() */
	unsigned timeout_ms; /* a whole request must arrive within this (default 5000) */
};

/* Bind and listen on "ADDR:PORT" or "[ADDR]:PORT" (loopback only, port 0 =
   any free one).  *fd is the socket; `bound` receives "ADDR:PORT" as bound. */
int http_listen(const char *addr_port, int *fd, char *bound, size_t boundlen,
                struct err *e) MUST_CHECK;

/* Accept and serve until SIGTERM or SIGINT, then stop the connection
   processes (by PID) and return 0.  -1 only if the server could not run. */
int http_serve(int fd, const struct http_config *cfg, struct err *e) MUST_CHECK;

/* Decode RFC 3986 percent-escapes in place ('+' stays '+': it is base64).
   -1 on a bad escape or an escaped NUL. */
int http_url_decode(char *s) MUST_CHECK;

/* Decode base64 (standard or URL-safe alphabet, padding optional) into out;
   the length, or -1 on bad input or when it does not fit. */
long http_base64_decode(const char *in, unsigned char *out, size_t outlen) MUST_CHECK;

#endif
