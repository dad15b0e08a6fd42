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

/* One handshake's staple; lives on the STARTTLS caller's stack, from before
 * tls_conn_new() until smtpd_ocsp_release(). */
struct smtpd_ocsp {
	const struct session *s; /* not owned */
	unsigned char *der;      /* owned: the file's bytes as read */
	size_t len;
};

/* tls_conn_opts.staple_for: `arg` is a struct smtpd_ocsp. */
void smtpd_ocsp_staple(void *arg, const struct tls_staple_query *q, const unsigned char **staple,
                       size_t *len);
/* Free what one handshake read (accepts a zeroed struct). */
void smtpd_ocsp_release(struct smtpd_ocsp *o);

#endif
