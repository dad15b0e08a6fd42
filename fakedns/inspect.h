/*
 * inspect.h - read a DNS response back, for tests: counts of records by
 * section, type and owner, a record's fields, and the denial-of-existence
 * checks (NSEC coverage, NSEC3 matching and covering, ldns's own NSEC3
 * denial verifier) that show fakedns's proofs are right.
 *
 * ldns stays behind this header (ci/layering.txt: only fakedns's sources include
 * it); nothing here is on fakedns's answer path.
 */
#ifndef FAKEDNS_INSPECT_H
#define FAKEDNS_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct inspect;

enum inspect_section {
	INSPECT_ANSWER,
	INSPECT_AUTHORITY,
};

/* Parse `len` octets of a response; NULL when it does not parse. */
MUST_CHECK struct inspect *inspect_parse(const uint8_t *wire, size_t len);
void inspect_free(struct inspect *p);
/* The rcode (0 NOERROR, 3 NXDOMAIN, ...); 1 when AA is set. */
int inspect_rcode(const struct inspect *p);
int inspect_aa(const struct inspect *p);
/* Records of `type` ("A", "NSEC3", ...) in section `sec` owned by `owner`
 * ("x.wild.test."; NULL: any owner). */
size_t inspect_count(const struct inspect *p, enum inspect_section sec, const char *type,
                     const char *owner);
/* The first RDATA field of the first `type` record at `owner` in `sec`, as
 * text, into buf; -1 when there is none. */
MUST_CHECK int inspect_rdata(const struct inspect *p, enum inspect_section sec, const char *type,
                             const char *owner, char *buf, size_t size);
/* The labels field of the RRSIG at `owner` covering `covered` in `sec`;
 * -1 when there is none. */
int inspect_rrsig_labels(const struct inspect *p, enum inspect_section sec, const char *covered,
                         const char *owner);
/* The owner of the n-th record of `type` in `sec` into buf; -1 when none. */
MUST_CHECK int inspect_owner(const struct inspect *p, enum inspect_section sec, const char *type,
                             size_t n, char *buf, size_t size);
/* 1 when an NSEC in the authority section covers `name` (owner < name < next). */
int inspect_nsec_covers(const struct inspect *p, const char *name);
/* 1 when an NSEC3 in the authority section matches (match = 1) or covers
 * (match = 0) the hash of `name`, hashed with that NSEC3's parameters. */
int inspect_nsec3_for(const struct inspect *p, const char *name, int match);
/* ldns_dnssec_verify_denial_nsec3() on the question and the authority
 * section's NSEC3s: 1 when it accepts the proof (NXDOMAIN, or NODATA when
 * `nodata`). */
int inspect_nsec3_denial_ok(const struct inspect *p, int nodata);

#endif
