/*
 * fsutil.h - small file-system helpers shared by the log, the spool and the
 * tests.  No policy: callers say which modes and report the errors.
 */
#ifndef REFMTA_FSUTIL_H
#define REFMTA_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* mkdir -p: create `path` and any missing parents with `mode`.  0, or -1
 * with e->code = errno and a message naming the directory. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *e) MUST_CHECK;

/* fsync a directory, so that entries just created, renamed or removed in it
 * survive a crash (rename(2) alone only orders them in the page cache).
 * 0, or -1 with e->code = errno ("cannot open DIR: ..." / "cannot fsync
 * DIR: ..."). */
int fs_fsync_dir(const char *path, struct err *e) MUST_CHECK;

/* write(2) all `len` octets, again after EINTR and short writes.  0, or -1
 * with errno set (the caller words the error: it knows the file's name). */
int fs_write_all(int fd, const void *buf, size_t len) MUST_CHECK;

#endif
