/*
 * setup.h - the whole configuration, loaded the same way by `check`,
 * `serve`, a SIGHUP reload and every other command: the main section,
 * ACLs, and every router and transport block checked (so a daemon with a
 * broken transport block refuses to start, and a reload with one keeps the
 * old configuration), then the configuration's test mode applied.
 */
#ifndef REFMTA_SETUP_H
#define REFMTA_SETUP_H

#include "config.h"
#include "err.h"

/* The file refused unless owned by root or the real user and not
 * world-writable (privs_check_config_file), then config_load() and
 * delivery_config_load() (which is freed again: queue
 * runs load their own).  -1 with e->text = "FILE:LINE: ..."; on success the
 * caller frees *out with config_free(). */
int setup_load_config(const char *path, struct config **out, struct err *e) MUST_CHECK;

/* Make the process follow cfg's test mode (docs/config.md "Test mode"):
 * the clock frozen at test_clock or running, message ids sequential or
 * not.  Applied at start and again after each reload, so a reloaded
 * configuration's values are the ones in force. */
void setup_apply_test_mode(const struct config *cfg);

#endif
