/*
 * resolver.h - the validating DNS resolver: the one owner of libunbound
 * (DESIGN.md principles 2 and 3).
 *
 * A lookup returns the records decoded into plain structs and one DNSSEC
 * outcome named as unbound names it: secure, insecure, bogus (with the
 * validator's reason), nxdomain, nodata, tempfail.  A bogus answer never
 * reaches the caller as data: its record list is always empty.
 *
 * Configuration (server/config.h): `dns_server` forwards every query to one
 * server ("ADDR@PORT", fakedns in tests) and makes the special-use zones
 * (test., example., invalid., localhost.) resolvable; `dns_trust_anchor`
 * names the trust anchor file.  Without them the system resolver
 * configuration (/etc/resolv.conf) and the system's root anchor
 * (/usr/share/dns/root.key, when present) are used.  See docs/resolver.md.
 *
 * A resolver is not shared between processes or threads; each lookup blocks.
 * There is no cache flush: make a new resolver where answers must not come
 * from an earlier lookup (one per test).
 */
#ifndef REFMTA_RESOLVER_H
#define REFMTA_RESOLVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

/* Return values of fallible calls (also stored in struct err.code). */
enum resolver_error {
	RESOLVER_OK = 0,
	RESOLVER_ERR_CONFIG, /* bad dns_server, unreadable anchor, rejected option */
	RESOLVER_ERR_LOOKUP, /* bad name, out of memory, libunbound failed */
};

/* The outcome of one lookup; one word each (resolver_status_word()). */
enum resolver_status {
	RESOLVER_SECURE,   /* "secure": data, validated to a trust anchor */
	RESOLVER_INSECURE, /* "insecure": data, provably unsigned (or no anchor) */
	RESOLVER_BOGUS,    /* "bogus": validation failed; why_bogus says why; no data */
	RESOLVER_NXDOMAIN, /* "nxdomain": the name does not exist */
	RESOLVER_NODATA,   /* "nodata": the name exists, the type does not */
	RESOLVER_TEMPFAIL, /* "tempfail": server failure, timeout, refused */
};

enum resolver_type {
	RESOLVER_A,
	RESOLVER_AAAA,
	RESOLVER_MX,
	RESOLVER_TLSA,
	RESOLVER_TXT,
	RESOLVER_PTR,
	RESOLVER_CNAME, /* the alias's target itself: no chain is followed */
	RESOLVER_NS,
};

/* Names are in presentation form without the trailing dot ("mx.example.test";
 * the root is "."), odd bytes escaped as \DDD or \c (RFC 1035 5.1). */
struct resolver_mx {
	unsigned preference;
	char *exchange;
};

struct resolver_tlsa {
	uint8_t usage, selector, mtype; /* RFC 6698 2.1 */
	unsigned char *data;            /* the certificate association data */
	size_t len;
};

struct resolver_txt {
	char *text; /* the character-strings concatenated, NUL-terminated */
	size_t len; /* bytes in text (it may hold a NUL itself) */
};

struct resolver_rr {
	enum resolver_type type;
	union {
		char *addr;            /* A, AAAA: "192.0.2.1", "2001:db8::1" */
		struct resolver_mx mx; /* MX */
		struct resolver_tlsa tlsa;
		struct resolver_txt txt;
		char *name; /* PTR, CNAME, NS: the target name */
	} u;
};

struct resolver_answer {
	enum resolver_status status;
	int secure;              /* 1 when validated: SECURE, and secure NXDOMAIN / NODATA */
	char *why_bogus;         /* BOGUS only: the validator's reason; else NULL */
	unsigned ttl;            /* of the data or of the denial */
	struct resolver_rr *rrs; /* SECURE / INSECURE only; in answer order */
	size_t nrrs;
	char *canonname; /* SECURE / INSECURE: the CNAME chain's final target when
	                  * the name was an alias (no trailing dot); else NULL */
};

struct resolver;

/*
 * Make a resolver.  `dns_server` ("ADDR@PORT", or NULL) and
 * `trust_anchor_file` (or NULL) as described above.  Returns NULL with `e`
 * filled (RESOLVER_ERR_CONFIG).  Caller frees with resolver_free().
 */
struct resolver *resolver_new(const char *dns_server, const char *trust_anchor_file,
                              struct err *e) MUST_CHECK;

/*
 * Validate signatures as if the time were `when` (unbound's
 * val-override-date), for tests with a frozen clock.  Before the first
 * lookup only; -1 with `e` filled otherwise.
 */
int resolver_set_validation_time(struct resolver *r, time_t when, struct err *e) MUST_CHECK;

void resolver_free(struct resolver *r); /* accepts NULL */

/*
 * Look `name` up.  Every DNS outcome, tempfail included, returns 0 with
 * `out` filled.  -1 (with `e` filled, RESOLVER_ERR_LOOKUP) when the lookup
 * could not be made or an answer could not be decoded; `out->status` is then
 * RESOLVER_TEMPFAIL too, so a caller may treat both alike.  The caller frees
 * `out` with resolver_answer_free() in both cases.
 */
int resolver_lookup(struct resolver *r, const char *name, enum resolver_type type,
                    struct resolver_answer *out, struct err *e) MUST_CHECK;

void resolver_answer_free(struct resolver_answer *a); /* accepts NULL; zeroes *a */

const char *resolver_status_word(enum resolver_status s);

/*
 * One line for logs and transcripts (runtest's D: lines, refmta's "DNS"
 * log lines): "TYPE NAME STATUS: DATA", e.g.
 *   MX partner.test secure: 10 mx1.partner.test, 20 mx2.partner.test
 *   A mx1.partner.test insecure: 127.0.0.2
 *   AAAA mx1.partner.test nodata (secure)
 *   MX bad.test bogus: validation failure <bad.test. MX IN>: ...
 *   TLSA _25._tcp.mx.partner.test secure: 3 1 1 8a9f...   (hex)
 *   TXT example.test insecure: "v=spf1 -all"              (\DDD for odd bytes)
 * A null MX's exchange (the root) prints as ".".  Cut to fit `len`.
 */
void resolver_answer_format(const struct resolver_answer *a, enum resolver_type type,
                            const char *name, char *buf, size_t len);
const char *resolver_type_word(enum resolver_type t); /* "A", "MX", ... */

#endif
