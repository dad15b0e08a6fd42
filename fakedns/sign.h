/*
 * sign.h - DNSSEC for the zone set: one key per zone, DS in the parent,
 * NSEC or NSEC3 denial, and the key/signature failure modes of directives.h.
 *
 * Signature validity follows the clock passed in (inception now-1h,
 * expiration now+30d) so nothing on disk ever expires.  Never writes keys
 * to disk; the trust anchor file is the only output.
 */
#ifndef FAKEDNS_SIGN_H
#define FAKEDNS_SIGN_H

#include <time.h>

#include "err.h"
#include "zone.h"

enum sign_algorithm {
	SIGN_ALG_ECDSAP256, /* the default */
	SIGN_ALG_RSASHA256,
	SIGN_ALG_ED25519,
};

/* "ecdsap256" | "rsasha256" | "ed25519" -> 0 and *out; -1 unknown. */
MUST_CHECK int sign_algorithm_parse(const char *s, enum sign_algorithm *out);
/* Generate keys, publish DNSKEY and DS, sign every zone (children's DS go
 * into parents first), then apply the signature failure modes. */
MUST_CHECK int sign_zoneset(struct fd_zoneset *set, enum sign_algorithm alg, time_t now,
                            struct err *e);
/* Write the root's DS and DNSKEY in presentation format to `path`. */
MUST_CHECK int sign_write_trust_anchor(const struct fd_zoneset *set, const char *path,
                                       struct err *e);

#endif
