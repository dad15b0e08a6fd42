/*
 * privs.h - who refmta runs as, and which files it trusts and gives away
 * (docs/config.md "user", "run_as_root"; docs/spool.md "Ownership").
 *
 *  - A configuration file that anyone may write, or that belongs to a user
 *    other than root or the one running refmta, is refused: whoever can
 *    change it can run commands as refmta (like Exim's and Postfix's checks).
 *  - As root, `user` must be set (or `run_as_root = true`, for tests):
 *    serve, queue-run and send then give up root for that user.
 *  - Before giving up root, refmta hands to the user what it owns and needs
 *    to write: the spool (every level refmta creates), the log file only if
 *    refmta created it, and the mailbox directory only if it creates it.
 */
#ifndef REFMTA_PRIVS_H
#define REFMTA_PRIVS_H

#include <sys/types.h>

#include "config.h"
#include "err.h"

/* -1 with e->text "PATH: ..." when the file at `path` is world-writable
 * or owned by neither root nor the real user. */
int privs_check_config_file(const char *path, struct err *e) MUST_CHECK;

/* -1 when running as root with neither `user` nor `run_as_root`. */
int privs_check_root(const struct config *cfg, struct err *e) MUST_CHECK;

/* As root with `user` set: chown the spool tree and what refmta created
 * (see above), create the mailbox directory for the user, then become the
 * user (groups, gid, uid).  Otherwise nothing.  Call after spool_init()
 * and log_open(). */
int privs_drop(const struct config *cfg, struct err *e) MUST_CHECK;

/* chown `dir` (the spool directory), its entries, and the entries of its
 * subdirectories (tmp/, input/, msglog/) to uid:gid.  Symbolic links and
 * anything not a regular file or directory are left alone. */
int privs_chown_spool(const char *dir, uid_t uid, gid_t gid, struct err *e) MUST_CHECK;

#endif
