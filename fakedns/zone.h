/*
 * zone.h - the zones fakedns serves: loaded from master files, completed
 * up to a synthetic root, then signed by sign.c.
 *
 * This header stays free of ldns (tests include it): ldns objects appear as
 * opaque struct pointers.  The zone set owns every zone and every ldns
 * object in it; zoneset_free() releases them all.
 */
#ifndef FAKEDNS_ZONE_H
#define FAKEDNS_ZONE_H

#include <stddef.h>

#include "directives.h"
#include "err.h"
#include "names.h"

#define FD_ZONES_MAX 64

struct ldns_struct_rdf;
struct ldns_struct_rr;
struct ldns_struct_rr_list;
struct ldns_struct_key_list;

struct fd_zone {
	char name[FD_NAME_MAX]; /* normalised origin, "example.test." */
	char file[FD_NAME_MAX]; /* where it came from; "" when synthesised */
	struct ldns_struct_rdf *origin;
	struct ldns_struct_rr_list *rrs;   /* every record; signed ones after sign_zoneset() */
	struct ldns_struct_key_list *keys; /* the zone's signing key (one CSK) */
	struct ldns_struct_rr *dnskey;     /* its DNSKEY record */
	struct ldns_struct_rr *ds;         /* the DS the parent publishes, NULL if none */
	struct fd_zone *parent;            /* NULL for the root */
	int nsec3;                         /* denial by NSEC3 (set by sign_zoneset) */
	struct fd_directives dir;
};

struct fd_zoneset {
	struct fd_zone *zones[FD_ZONES_MAX];
	size_t n;
	int nsec3; /* --nsec3: every zone denies with NSEC3 */
	int ad;    /* --ad: also answer as a resolver: RA, and AD on secure data */
};

/* Load one master file (directives first, then ldns).  Errors read
 * "FILE:LINE: message".  0 ok, -1 error. */
MUST_CHECK int zoneset_load_file(struct fd_zoneset *set, const char *path, struct err *e);
/* Add the root and every missing zone between it and a loaded zone, with
 * SOA, NS and the NS delegations in each parent; link parents. */
MUST_CHECK int zoneset_complete(struct fd_zoneset *set, struct err *e);
/* The deepest zone `name` is at or below; NULL when none (never after
 * zoneset_complete, which adds the root). */
struct fd_zone *zoneset_find(const struct fd_zoneset *set, const char *name);
/* The zone named exactly `name`, or NULL. */
struct fd_zone *zoneset_get(const struct fd_zoneset *set, const char *name);
/* Free every zone; accepts NULL and an empty set. */
void zoneset_free(struct fd_zoneset *set);

#endif
