/*
 * spool.h - the message store.  A message is durable before the final 250
 * (DESIGN.md principle 6): one file (data, envelope, trailer with a CRC)
 * written in tmp/, fsync'ed once, renamed into input/.  A crash at any
 * point leaves a complete message (in input/, or in tmp/ where the next
 * queue run's recovery finds it) or nothing that is ever delivered.
 *
 * Layout under spool_directory (docs/spool.md):
 *   tmp/          files being written (removed on abort; old litter by spool_clean)
 *   input/ID-D    the message data (headers and body, CRLF line ends, no
 *                 dot-stuffing, the Received: header first), then the
 *                 envelope at receipt and the trailer (spool_file.c); or,
 *                 in the two-file form (queuefile copies), the data alone
 *   input/ID-H    the envelope once rewritten after a delivery attempt (or
 *                 of a two-file form message); it overrides the trailer's
 *   msglog/ID     per-message delivery log lines
 *   free/ID       the file of a delivered message, kept to be written over by
 *                 a message received later (spool_free.c); never a message
 *   ids           test-mode id counter (flock'ed)
 * A message exists while input/ID-D exists.
 */
#ifndef REFMTA_SPOOL_H
#define REFMTA_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dsn_param.h" /* DSN_NOTIFY_*, enum dsn_ret */
#include "err.h"
#include "retry.h"

struct strlist;

struct spool_rcpt {
	char *address; /* "user@domain" as given in RCPT TO (no brackets) */
	char *orcpt;   /* RFC 3461 4.2 ORCPT value as received ("rfc822;x@y", xtext decoded) or NULL
	                */
	unsigned notify;          /* DSN_NOTIFY_* */
	int done;                 /* delivered or failed: no further attempts */
	struct retry_state retry; /* deferrals so far (server/retry.h); zero = none */
	char *last_error; /* the last deferral's reason, for the log and a later bounce; or NULL */
};

struct envelope {
	char id[32];  /* set by spool_message_commit */
	char *sender; /* "" for the null sender */
	struct spool_rcpt *rcpts;
	size_t nrcpts;
	enum dsn_ret ret;
	char *envid;   /* RFC 3461 4.4, xtext decoded, or NULL */
	char *body;    /* "7BIT" | "8BITMIME" | NULL (not given) */
	uint64_t size; /* bytes in the data file */
	time_t received_at;
	/* Where it came from, for logs and bounces. */
	char *helo;         /* as the client gave it */
	char *host_address; /* client IP */
	unsigned host_port;
	char *protocol;    /* "smtp" | "esmtp" | "esmtps" | ... (RFC 3848) */
	char *tls_version; /* NULL when not over TLS */
	char *tls_cipher;
};

struct spool_message; /* a message being received */

/* Initialise the spool's directories (mkdir -p).  Call once at start. */
int spool_init(const char *spool_dir, struct err *e) MUST_CHECK;

/* Start a message: a file in tmp/ (one from free/, or a new one).  Caller
 * ends it with commit or abort. */
struct spool_message *spool_message_begin(const char *spool_dir, struct err *e);
int spool_message_write(struct spool_message *m, const void *buf, size_t len,
                        struct err *e) MUST_CHECK;
/* Make it durable (see above): assigns env->id and env->size, frees `m`. */
int spool_message_commit(struct spool_message *m, struct envelope *env, struct err *e) MUST_CHECK;
void spool_message_abort(struct spool_message *m); /* accepts NULL; removes the temp file */

/* Message ids: "YYYYMMDD-HHMMSS-XXXXXX" from the clock and a random part,
 * or, in test mode, "T-000001", "T-000002", ... from the spool's counter. */
void spool_set_test_ids(int on);

/* Read, rewrite (after delivery attempts) and free envelopes. */
int spool_envelope_read(const char *spool_dir, const char *id, struct envelope *env,
                        struct err *e) MUST_CHECK;
int spool_envelope_rewrite(const char *spool_dir, const struct envelope *env,
                           struct err *e) MUST_CHECK;
void envelope_free(struct envelope *env); /* members only; accepts NULL */
/* The envelope file's text (docs/spool.md), malloc'd; NULL when out of memory. */
char *spool_envelope_text(const struct envelope *env);
/* Parse envelope text (the format above) into `env` (zeroed first; free
 * with envelope_free).  `text` is modified; `what` names it in errors. */
int spool_envelope_parse_text(char *text, size_t len, struct envelope *env, const char *what,
                              struct err *e) MUST_CHECK;

/* ---- the one-file form (spool_file.c) ---- */
#define SPOOL_TRAILER_LEN 56
struct spool_trailer {
	uint64_t size; /* data octets at the start of the file */
	size_t envlen; /* envelope octets after them */
	uint32_t crc;  /* CRC-32 of data and envelope */
};
uint32_t spool_crc32(uint32_t crc, const void *buf, size_t len);
void spool_trailer_format(char out[SPOOL_TRAILER_LEN + 1], uint64_t size, size_t envlen,
                          uint32_t crc);
/* 0 and *t when the file `fd` of st_size `fsize` ends in a trailer; else -1. */
int spool_trailer_read(int fd, uint64_t fsize, struct spool_trailer *t) MUST_CHECK;
/* How many octets of the data file `fd` are the message: the trailer's
 * size, or the whole file in the two-file form.  Every reader of an
 * input/ID-D reads this many octets and no more. */
int spool_data_length(int fd, uint64_t *len, struct err *e) MUST_CHECK;
/* The envelope text stored in the data file `fd` (malloc'd, NUL-ended). */
int spool_file_envelope(int fd, char **text, size_t *len, struct err *e) MUST_CHECK;
/* Recovery: every tmp/<pid>-<n>-D of a dead process that is complete (its
 * trailer's CRC matches) is renamed to input/ID-D, then input/ fsync'ed.
 * Reports as spool_clean's ("tmp/NAME is message ID"). */
int spool_recover(const char *spool_dir, struct strlist *recovered, struct strlist *failed,
                  struct err *e) MUST_CHECK;

/* ---- the free list (spool_free.c, docs/spool.md "Reused files") ---- */
#define SPOOL_FREE_MAX 4096             /* files free/ holds at most */
#define SPOOL_FREE_MAX_SIZE (32 * 1024) /* a larger delivered file is unlinked, not kept */
/* A delivered message's file taken from free/, renamed to `to` (a tmp/
 * name), open for writing at offset 0, its old trailer zeroed; -1 when
 * free/ has none to give (the caller creates a file). */
int spool_free_claim(const char *spool_dir, const char *to);
/* 1 when `data` (input/ID-D of a message whose recipients are all done)
 * was renamed to free/ID; 0 when the caller must unlink it. */
int spool_free_put(const char *spool_dir, const char *data, const char *id);

/* Remove a message (all its files; the -D goes to free/ when it can). */
int spool_message_remove(const char *spool_dir, const char *id, struct err *e) MUST_CHECK;
/* Ids of every message in input/, sorted; caller frees with strlist_free. */
int spool_list(const char *spool_dir, struct strlist *ids, struct err *e) MUST_CHECK;

/* The spool cleaner (spool_clean.c, docs/spool.md "Litter"): remove the
 * regular files in tmp/ and free/ and the input/ID-D files without an
 * input/ID-H that were last changed more than `age` seconds before `now`
 * (and before the real time), except tmp/ files of a process still alive.
 * Each removed name ("tmp/NAME", "input/ID-D", "free/ID") is pushed on `removed`, each failure's
 * text on `failed` (caller frees both with strlist_free; the caller logs).
 * -1 only when tmp/, input/ or an existing free/ cannot be read. */
int spool_clean(const char *spool_dir, time_t now, unsigned age, struct strlist *removed,
                struct strlist *failed, struct err *e) MUST_CHECK;

#endif
