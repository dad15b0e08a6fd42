/*
 * fsutil.h - small file-system helpers shared by the log, the spool and the
 * tests.  No policy: callers say which modes and report the errors.
 */
#ifndef REFMTA_FSUTIL_H
#define REFMTA_FSUTIL_H

#include <sys/types.h>

#include "err.h"

/* mkdir -p: create `path` and any missing parents with `mode`.  0, or -1
 * with e->code = errno and a message naming the directory. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *e) MUST_CHECK;

#endif
