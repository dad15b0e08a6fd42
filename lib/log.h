/*
 * log.h - the main log: one line per event, timestamp first, each line one
 * write(2) on an O_APPEND descriptor so that worker processes never
 * interleave.  The line formats are documented in docs/log.md; the log
 * layer adds only the timestamp and the newline.
 */
#ifndef REFMTA_LOG_H
#define REFMTA_LOG_H

#include <sys/types.h>

#include "err.h"

/* Open (create, append) the log file; NULL or "-" means stderr.  Never
 * follows a symbolic link in the last component (refused: ELOOP). */
int log_open(const char *path, struct err *e) MUST_CHECK;
/* Give the open log file to uid:gid, but only if log_open() created it:
 * a file that already existed keeps its owner (docs/log.md).  0 when there
 * is nothing to do. */
int log_chown_created(uid_t uid, gid_t gid, struct err *e) MUST_CHECK;
/* "YYYY-MM-DD HH:MM:SS <text>\n", time from clock_now(). */
void log_write(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_close(void);

#endif
