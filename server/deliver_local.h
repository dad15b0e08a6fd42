/*
 * deliver_local.h - deliver one spooled message to one local mailbox,
 * maildir or mbox, under mailbox_directory/<local part>.
 *
 * The mailbox name is the recipient's local part lowercased (ASCII only):
 * "Joe@example.test" and "joe@example.test" share a mailbox.  A local part
 * that could leave the directory or name something odd (empty, longer than
 * 64 octets, containing "/" or "..", starting with ".", control characters)
 * is refused as a permanent failure.
 *
 * The delivered message is: "Return-Path: <SENDER>" (RFC 5321 4.4),
 * "Delivered-To: RCPT", then the spooled data with CRLF turned into LF.
 * mbox adds the "From " separator line first and quotes body lines the
 * mboxrd way (">*From " gets one more ">"), then a blank line after it.
 * Nothing here logs: the outcome and its reason go back to the caller.
 */
#ifndef REFMTA_DELIVER_LOCAL_H
#define REFMTA_DELIVER_LOCAL_H

#include "err.h"

enum deliver_local_format {
	DELIVER_LOCAL_MAILDIR = 0,
	DELIVER_LOCAL_MBOX,
};

enum deliver_local_result {
	DELIVER_LOCAL_OK = 0, /* in the mailbox, fsync'ed */
	DELIVER_LOCAL_DEFER,  /* temporary: e->code is the errno, try again later */
	DELIVER_LOCAL_FAIL,   /* permanent (bad local part): e->text says why */
};

struct deliver_local_request {
	const char *mailbox_directory; /* created (mkdir -p) when missing */
	enum deliver_local_format format;
	const char *data_path; /* the spool's input/ID-D: CRLF, Received: first */
	const char *sender;    /* "" for the null sender */
	const char *rcpt;      /* "local@domain" as given in RCPT TO */
	const char *hostname;  /* maildir file names; NULL = "localhost" */
	int deterministic;     /* test mode: maildir names without the pid */
};

/* "maildir" (also for NULL) or "mbox" -> *out; -1 for anything else. */
int deliver_local_format_parse(const char *s, enum deliver_local_format *out) MUST_CHECK;
/* "maildir" | "mbox": the T= of the log line. */
const char *deliver_local_format_name(enum deliver_local_format f);

/* Check a local part (already split from the domain).  0 ok; -1 with the
 * reason in `e` (as for DELIVER_LOCAL_FAIL). */
int deliver_local_check_local_part(const char *lp, struct err *e) MUST_CHECK;

/* Deliver.  On DEFER and FAIL, `e` holds the reason; nothing partial is
 * left in the mailbox (a maildir tmp/ file is removed, an mbox is truncated
 * back to where it was). */
enum deliver_local_result deliver_local(const struct deliver_local_request *req,
                                        struct err *e) MUST_CHECK;

#endif
