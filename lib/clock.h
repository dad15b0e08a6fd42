/*
 * clock.h - the one source of "now" for every program.
 *
 * Nothing else calls time(): in test mode the clock is frozen at a chosen
 * instant so logs, Received: headers and message ids are byte-identical
 * on every run (DESIGN.md principle 4).
 */
#ifndef REFMTA_CLOCK_H
#define REFMTA_CLOCK_H

#include <stddef.h>
#include <time.h>

time_t clock_now(void);
/* Freeze the clock at `t` (test mode).  clock_unfreeze() returns to real time. */
void clock_freeze(time_t t);
void clock_unfreeze(void);
int clock_is_frozen(void);
/* "2026-11-22 01:23:45" (UTC), the main log's timestamp. */
void clock_format_log(time_t t, char *buf, size_t len);
/* "Sun, 22 Nov 2026 01:23:45 +0000", RFC 5322 3.3 (UTC). */
void clock_format_rfc5322(time_t t, char *buf, size_t len);
/* Parse "2026-11-22T01:23:45Z" or a decimal epoch.  0 ok, -1 bad. */
int clock_parse(const char *s, time_t *out);

#endif
