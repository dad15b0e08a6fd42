/*
 * retry.h - when a deferred recipient is tried again, and when refmta gives
 * up on it.  Pure arithmetic: no clock, no I/O (the caller passes `now`).
 *
 * A schedule uses Exim's retry-rule syntax, rules separated by ";":
 *
 *   F,CUTOFF,INTERVAL         fixed: try every INTERVAL until CUTOFF after
 *                             the first failure
 *   G,CUTOFF,INTERVAL,MULT    geometric: INTERVAL first, then the previous
 *                             interval times MULT (> 1.0), until CUTOFF
 *
 * Times are a number and a unit, units s m h d w, and may be combined
 * ("1h30m").  CUTOFFs must rise from rule to rule.  The default,
 * RETRY_DEFAULT_SCHEDULE, is Exim's: every 15 minutes for 2 hours, then
 * geometric from 1 hour (x1.5) up to 16 hours, then every 6 hours up to
 * 4 days; after the last CUTOFF the recipient fails ("retry time exceeded").
 * A CUTOFF of 0 ("F,0s,0s") gives up at the first deferral (for tests).
 */
#ifndef REFMTA_RETRY_H
#define REFMTA_RETRY_H

#include <stddef.h>
#include <time.h>

#include "err.h"

#define RETRY_DEFAULT_SCHEDULE "F,2h,15m; G,16h,1h,1.5; F,4d,6h"
#define RETRY_MAX_RULES 8

struct retry_rule {
	char kind;         /* 'F' or 'G' */
	unsigned cutoff;   /* seconds after the first failure */
	unsigned interval; /* seconds */
	double mult;       /* G only; 1.0 for F */
};

struct retry_schedule {
	struct retry_rule rules[RETRY_MAX_RULES];
	size_t n;
};

/* Per recipient, kept in the envelope (server/spool.h).  All zero = never deferred. */
struct retry_state {
	unsigned tries;       /* deferrals so far */
	time_t first_failure; /* time of the first deferral */
	time_t next_try;      /* not before this time (0 = at once) */
	unsigned interval;    /* the interval used for next_try (geometric rules grow it) */
};

enum retry_verdict {
	RETRY_LATER,   /* st->next_try is set */
	RETRY_GIVE_UP, /* past the last CUTOFF: the recipient fails */
};

/* Parse `text` (NULL = the default).  On error -1 with e->text like
 * "retry rule 2 \"G,16h,1h\": geometric rule needs a multiplier". */
int retry_schedule_parse(const char *text, struct retry_schedule *out, struct err *e) MUST_CHECK;

/* A deferral happened at `now`: count it, set first_failure on the first
 * one, and work out next_try from the rule whose CUTOFF has not yet passed
 * (measured from first_failure).  GIVE_UP when now - first_failure >= the
 * last CUTOFF. */
enum retry_verdict retry_after_defer(const struct retry_schedule *s, struct retry_state *st,
                                     time_t now);

/* May the recipient be tried at `now`?  1 yes (never deferred, or
 * next_try <= now), 0 not yet. */
int retry_is_due(const struct retry_state *st, time_t now);

/* "2026-01-01 00:15:00" style rendering is the caller's; this formats a
 * duration the way the schedule syntax does ("15m", "1h30m", "0s"). */
void retry_format_duration(unsigned seconds, char *buf, size_t len);

#endif
