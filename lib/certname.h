/*
 * certname.h - does a certificate's presented identifier name this host?
 *
 * One implementation for both TLS backends (the backends only decode the
 * names; see tls.h cert_names).  The rules are the seed's "Certificate name
 * checking" and RFC 6125 section 6.4:
 *   - dNSName subjectAltNames when there are any, the subject CN only when
 *     there are none (RFC 6125 6.4.4);
 *   - comparison is case-insensitive (ASCII), a trailing dot is ignored;
 *   - a wildcard is only the whole left-most label ("*."), matches exactly one
 *     non-empty label, and only in a pattern of three or more labels
 *     ("*.example.com" yes, "*.com" never); no partial-label wildcards
 *     ("f*.example.com" never matches) (RFC 6125 6.4.3, seed: "a single
 *     wildcard being the initial component of a 3-or-more component FQDN").
 * It must never match on a malformed name: empty labels, embedded NUL
 * (checked by the decoder), or a host that is itself a wildcard.
 */
#ifndef REFMTA_CERTNAME_H
#define REFMTA_CERTNAME_H

#include <stddef.h>

enum certname_result { CERTNAME_MISMATCH = 0, CERTNAME_MATCH = 1 };

/* One presented identifier (a SAN dNSName or the CN) against a reference host. */
enum certname_result certname_match_one(const char *presented, const char *host);

/* The full rule: SANs when ndns > 0, else the CN (may be NULL). */
enum certname_result certname_match(char *const *dns, size_t ndns, const char *cn,
                                    const char *host);

#endif
