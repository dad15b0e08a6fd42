/*
 * directives.h - the named failure modes written in zone files as
 * ";@fakedns MODE [name=NAME]" lines (docs/fakedns.md), and the one
 * zone option written the same way (";@fakedns nsec3").
 *
 * The line is a comment to ldns; only this parser gives it meaning.  Parsing
 * never touches ldns and never changes the zone file.
 */
#ifndef FAKEDNS_DIRECTIVES_H
#define FAKEDNS_DIRECTIVES_H

#include <stddef.h>

#include "err.h"
#include "names.h"

#define FD_DIRECTIVES_MAX 32
#define FD_DIRECTIVE_PREFIX ";@fakedns"

enum fd_mode {
	FD_MODE_INSECURE,       /* no DS at the parent */
	FD_MODE_BOGUS,          /* RRSIGs corrupted (zone or one name) */
	FD_MODE_EXPIRED,        /* signatures expired yesterday */
	FD_MODE_NOT_YET_VALID,  /* signatures valid from tomorrow */
	FD_MODE_MISSING_DNSKEY, /* signed, DS published, DNSKEY RRset absent */
	FD_MODE_WRONG_DS,       /* the parent's DS digest does not match */
	FD_MODE_SERVFAIL,       /* answer SERVFAIL */
	FD_MODE_REFUSED,        /* answer REFUSED */
	FD_MODE_TIMEOUT,        /* never answer */
	FD_MODE_DELAY,          /* answer after delay=MS */
	FD_MODE_TRUNCATE,       /* TC over UDP, whatever the size */
	FD_MODE_NSEC3,          /* not a failure: deny with NSEC3 instead of NSEC */
};

struct fd_directive {
	enum fd_mode mode;
	char name[FD_NAME_MAX]; /* normalised; "" = the whole zone */
	unsigned delay_ms;      /* FD_MODE_DELAY only */
	int line;               /* line in the zone file */
};

struct fd_directives {
	struct fd_directive d[FD_DIRECTIVES_MAX];
	size_t n;
};

enum fd_parse {
	FD_PARSE_NONE,  /* not a directive line */
	FD_PARSE_OK,    /* *out filled */
	FD_PARSE_ERROR, /* a directive line, but wrong: e says why */
};

/* Parse one zone-file line (without or with its newline). */
MUST_CHECK enum fd_parse directive_parse_line(const char *line, struct fd_directive *out,
                                              struct err *e);
/* Every directive of a zone file; errors read "FILE:LINE: message".  0 ok, -1 error. */
MUST_CHECK int directives_read_file(const char *path, struct fd_directives *out, struct err *e);
/* "bogus", "delay", ... */
const char *directive_mode_name(enum fd_mode m);
/* 1 when the mode can only apply to a whole zone (it changes keys, DS or validity). */
int directive_mode_zone_only(enum fd_mode m);
/* The first directive with mode `m` that applies to `name` (zone-wide or the
 * same name); NULL when none.  `name` may be NULL: zone-wide ones only. */
const struct fd_directive *directives_find(const struct fd_directives *ds, enum fd_mode m,
                                           const char *name);

#endif
