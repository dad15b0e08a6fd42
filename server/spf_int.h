/*
 * spf_int.h - what the SPF module's files share (spf.c, the libspf2
 * owner; spf_text.c, text rules; spf_acl.c, the session side).  Not for
 * use outside server/spf*.c and tests/spf_test.c.
 */
#ifndef REFMTA_SPF_INT_H
#define REFMTA_SPF_INT_H

#include <stddef.h>

#include "buf.h"

/* RFC 1035 2.3.4, RFC 7208 4.3: labels of 1 to 63 octets, 253 in all. */
int dns_name_valid(const char *name);
/* RFC 7208 7.1 domain-end: two labels or more, a valid toplabel last. */
int spf_domain_end_valid(const char *name);
/* RFC 7208 7.1 on a record as published: 0 when a domain-spec of a:, mx:,
 * ptr:, exists:, include:, redirect= or exp= is neither macro-ended nor a
 * valid domain-end; 1 otherwise (and for text that is not an SPF record). */
int spf_record_targets_valid(const char *rec);
/* The RFC 7208 syntax rules libspf2 lets pass, on a record of `len`
 * octets as published: US-ASCII without NUL (3.1), known mechanisms
 * (4.6.1), macro-strings (7.1), ip4 CIDR lengths (5.6), exp= and
 * redirect= at most once (6).  0 when one is broken; 1 otherwise (and for
 * text that is not an SPF record). */
int spf_record_lint(const char *rec, size_t len);
/* An SPF record as libspf2 can take it, the same by RFC 7208 6: its
 * mechanisms in order, then redirect= and exp= (modifiers may stand
 * anywhere), unknown modifiers left out (they are ignored).  Into `out`;
 * -1 when `rec` is not an SPF record or does not fit (use it as it is).
 * A CIDR length of 0 (libspf2 refuses it) is rewritten for the client's
 * family (`client_v6`) where the same can be said: "a/0" is
 * "exists:%{d}" for an IPv4 client, the other family's "/0" is dropped. */
int spf_record_normalize(const char *rec, char *out, size_t len, int client_v6);
/* `name` in presentation form (\DDD for odd octets, no final dot) into
 * `out`; -1 when it does not fit `len`. */
int dns_name_escape(const char *name, char *out, size_t len);
/* Upper-case the hex digits of each %XX escape in `s`. */
void hex_upper(char *s);
/* Append " key=value;" (value quoted unless a plain token) to `b`. */
void kv_add(struct buf *b, const char *key, const char *val);

#endif
