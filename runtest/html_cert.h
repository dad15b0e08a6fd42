/*
 * html_cert.h - the TLS facts a handshake of the harness client leaves for
 * the teaching report (runtest --html, docs/teaching.md): version, suite,
 * group, SNI, verdict and the peer's chain as subject / issuer / validity /
 * DNS names, read from the DER with a small parser of our own (runtest
 * owns no TLS library: lib/tls.h hands it the chain as DER).
 *
 * The facts go to WORK/tls-facts.txt, one block per handshake, in the order
 * of the transcript's T: lines:
 *
 *   handshake client=gnutls version=TLSv1.3 cipher=... group=X25519 sni=...
 *             verify=ok detail=...            (one line)
 *   cert 0 subject=CN=mx.example.test issuer=CN=... notbefore=... notafter=...
 *        dns=mx.example.test,...             (one line per chain element)
 */
#ifndef RUNTEST_HTML_CERT_H
#define RUNTEST_HTML_CERT_H

#include <stddef.h>

#include "buf.h"

struct tls_info;

/* One "cert N ..." line of tls-facts.txt, split (values may hold spaces). */
struct html_cert_fields {
	char subject[256], issuer[256], notbefore[32], notafter[32], dns[512];
};
/* Its depth N, or -1 when the line is not a cert line.  An unparsed
 * certificate has its text in `subject` and the rest empty. */
int html_cert_parse(const char *line, size_t n, struct html_cert_fields *f);

/* One DER certificate as "subject=... issuer=... notbefore=... notafter=...
 * dns=..." appended to `out`; "unparsed (N octets)" when the DER is not a
 * certificate this parser understands.  Never reads past der+len. */
void html_cert_describe(const unsigned char *der, size_t len, struct buf *out);

/* Append the handshake's facts to WORK/tls-facts.txt (`client`: the
 * harness's TLS library; `info` may be NULL for a handshake that never got
 * far enough to have any).  Best effort: the report is not the test. */
void html_cert_record(const char *workdir, const char *client, int ok, const struct tls_info *info);

/*
 * The certificates each scripted peer presents (its "tls = CERT KEY [CERT
 * KEY]" line, @PKI@ and @WORK@ replaced by `pki` and `workdir`), as text:
 * "peer NAME FILE" then a "cert N ..." line per certificate of the PEM
 * chain.  NULL when no peer serves TLS.  Caller frees.  Read while the run's
 * files still exist: these are what the peer was given, not what a client
 * saw (refmta's log line says what it concluded).
 */
struct scenario;
char *html_cert_peer_chains(const struct scenario *s, const char *pki, const char *workdir);

#endif
