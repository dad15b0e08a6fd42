/*
 * smtpd_ocsp.h - the staple the server sends (seed "OCSP Stapling support",
 * RFC 6066 8): tls_ocsp_file expanded and read for each handshake that asks,
 * judged by lib/tls_ocsp.h, stapled or refused with a log line.
 */
#ifndef REFMTA_SMTPD_OCSP_H
#define REFMTA_SMTPD_OCSP_H

#include <stddef.h>

#include "tls.h"

struct session;

/* One handshake's staples; lives on the STARTTLS caller's stack, from before
 * tls_conn_new() until smtpd_ocsp_release().  The file is read once, when
 * the leaf's staple is asked for (depth 0); the chain elements above it
 * (TLS 1.3, TLS_CAP_STAPLE_CHAIN) take theirs from the same bytes. */
struct smtpd_ocsp {
	const struct session *s; /* not owned */
	unsigned char *der;      /* owned: the file's bytes as read */
	size_t len;
	char *path; /* owned: the expanded file name, for log lines */
	/* the responses in it, by chain depth: a DER file holds the leaf's
	 * alone; a PEM file one per element (into `der` or `pem`, owned) */
	const unsigned char *resp[TLS_MAX_CHAIN];
	size_t resp_len[TLS_MAX_CHAIN];
	size_t nresp;
	unsigned char *pem; /* owned: the decoded PEM blocks */
};

/* tls_conn_opts.staple_for: `arg` is a struct smtpd_ocsp. */
void smtpd_ocsp_staple(void *arg, const struct tls_staple_query *q, const unsigned char **staple,
                       size_t *len);
/*
 * Item `index` of tls_ocsp_file as written, after its format prefix (Exim's:
 * "PEM " or "DER ", which sets the format of this item and of those after it
 * until the next prefix; the first items are DER).  *pem: 1 for PEM.  A
 * pointer into `items`, not a copy.
 */
const char *smtpd_ocsp_item(const char *const *items, size_t index, int *pem);
/* Free what one handshake read (accepts a zeroed struct). */
void smtpd_ocsp_release(struct smtpd_ocsp *o);

#endif
