/*
 * txtlookup.h - the one question DKIM key retrieval (RFC 6376 3.6.2) and
 * DMARC record discovery (RFC 7489 6.6.3) ask the DNS: the TXT records at a
 * name.  A small function type, so the session answers it through refmta's
 * validating resolver (txtlookup_resolver) and the DMARC suite and unit
 * tests answer it from zone data in memory, with the same outcomes.
 */
#ifndef REFMTA_TXTLOOKUP_H
#define REFMTA_TXTLOOKUP_H

#include "strlist.h"

struct resolver;

enum txtlookup_status {
	TXTLOOKUP_FOUND,    /* records in `out` (at least one) */
	TXTLOOKUP_NONE,     /* NXDOMAIN or NODATA: no records */
	TXTLOOKUP_TEMPFAIL, /* server failure, timeout, bogus (RFC 7489 6.6.3: temperror) */
};

/*
 * Fill `out` (empty on entry; the caller frees it with strlist_free) with
 * the text of each TXT record at `name` (character-strings concatenated,
 * RFC 7208 3.3 / RFC 6376 3.6.2.2).
 */
typedef enum txtlookup_status (*txtlookup_fn)(void *arg, const char *name, struct strlist *out);

/* A txtlookup_fn over lib/resolver: `arg` is a struct resolver * (not
 * owned).  Bogus answers count as temporary failures (RFC 7489 6.6.3
 * treats every DNS error alike); out of memory likewise. */
enum txtlookup_status txtlookup_resolver(void *arg, const char *name, struct strlist *out);

const char *txtlookup_status_word(enum txtlookup_status s); /* "found", "none", "tempfail" */

#endif
