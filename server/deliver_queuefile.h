/*
 * deliver_queuefile.h - the queuefile transport (seed: "Queuefile
 * transport"): copy the message's spool files, in the spool format, into
 * another directory and count the recipients as delivered.  An outside
 * process may read them there, and copying them back into a spool's
 * input/ hands them to refmta again.
 *
 * Option (the only one): directory = ABSOLUTE PATH, which must exist.
 *
 * The copy: DIR/ID-D, then DIR/ID-H, each written under a temporary name,
 * fsync'ed and renamed, then DIR fsync'ed; -H last, so a reader that waits
 * for ID-H sees a complete pair.  An existing ID-D/ID-H in DIR is replaced.
 */
#ifndef REFMTA_DELIVER_QUEUEFILE_H
#define REFMTA_DELIVER_QUEUEFILE_H

#include "config.h"
#include "err.h"

struct queuefile_transport {
	char *name;
	int line;
	char *directory;    /* as configured: checked at delivery time, not at load */
	char *event_action; /* msg:delivery per recipient (docs/events.md); NULL = none */
};

/* Read a transport block whose driver is queuefile (unknown option, missing
 * directory).  -1 with e->text = "FILE:LINE: transport NAME: ...". */
int queuefile_transport_parse(const struct config *cfg, const struct config_block *b,
                              struct queuefile_transport *out, struct err *e) MUST_CHECK;
void queuefile_transport_free(struct queuefile_transport *t);

/* Copy message `id` from `spool_dir`.  `envelope_text` is what to write as
 * DIR/ID-H (server/deliver.c passes the envelope with only this
 * transport's recipients still to do, so that a copy put back delivers
 * them and nobody else twice); NULL writes the message's current envelope
 * (input/ID-H, or the one its data file carries).  DIR/ID-D is the data
 * alone (docs/spool.md's two-file form).
 * 0 = delivered; -1 = defer, with the
 * reason in `e` ("directory \"rel/q\" is not absolute", "directory
 * \"/x/q\" does not exist", or the failing system call). */
int deliver_queuefile(const struct queuefile_transport *t, const char *spool_dir, const char *id,
                      const char *envelope_text, struct err *e) MUST_CHECK;

#endif
