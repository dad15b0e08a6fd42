/*
 * answer.h - one DNS query in, one response (or deliberate silence) out,
 * for the signed zone set.
 *
 * Pure: no sockets, no sleeping, no logging; the caller sends, waits
 * delay_ms and writes the log line.  Never trusts a byte of the query.
 */
#ifndef FAKEDNS_ANSWER_H
#define FAKEDNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "zone.h"

#define ANSWER_LOG_MAX 640

struct answer_result {
	uint8_t *wire; /* the response; NULL when dropped.  Freed by answer_result_free() */
	size_t len;
	int drop;                 /* 1: send nothing (timeout mode, a response, too short) */
	unsigned delay_ms;        /* wait this long before sending */
	char log[ANSWER_LOG_MAX]; /* "QNAME QTYPE -> RCODE ANCOUNT WHAT", "" when nothing to log */
};

/* Answer `q` (`qlen` octets).  `over_tcp` lifts the size limit (no TC).
 * 0 ok (out filled), -1 out of memory (e says so). */
MUST_CHECK int answer_query(const struct fd_zoneset *set, const uint8_t *q, size_t qlen,
                            int over_tcp, struct answer_result *out, struct err *e);
void answer_result_free(struct answer_result *r);

#endif
