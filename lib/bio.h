/*
 * bio.h - buffered line I/O for protocol sessions, over a plain socket or a
 * TLS connection (lib/tls.h), with the caller's socket timeouts.
 *
 * SMTP needs three things a plain stdio stream cannot give: knowing whether
 * the peer has sent more than we read (pipelining synchronization, RFC 2920
 * 3.1), throwing away buffered plaintext when TLS starts (RFC 3207 4.2, the
 * CVE-2011-0411 command injection), and reading lines with a hard length
 * limit without losing the stream position.
 */
#ifndef REFMTA_BIO_H
#define REFMTA_BIO_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct tls_conn;

enum bio_status {
	BIO_OK = 0,
	BIO_EOF,     /* the peer closed; nothing (more) to read */
	BIO_TIMEOUT, /* SO_RCVTIMEO / SO_SNDTIMEO expired */
	BIO_ERROR,   /* I/O or TLS error (see struct err) */
};

#define BIO_BUFSIZE 16384

struct bio {
	int fd;
	struct tls_conn *tls; /* NULL: plain */
	unsigned char rbuf[BIO_BUFSIZE];
	size_t rpos, rlen; /* unread input is rbuf[rpos..rlen) */
	unsigned char wbuf[BIO_BUFSIZE];
	size_t wlen;
	unsigned long long bytes_in, bytes_out;
	unsigned idle_ms;               /* the socket's own receive timeout (bio_set_idle) */
	unsigned long long deadline_ms; /* CLOCK_MONOTONIC ms I/O must end by; 0 = none */
	unsigned long long limit_ms;    /* the same for the rest of the connection; 0 = none */
	int deadline_passed;            /* the last BIO_TIMEOUT was a deadline, not idleness */
	int armed;                      /* the socket's timeouts were cut for a deadline */
};

void bio_init(struct bio *b, int fd);

/*
 * Deadlines (DESIGN.md principle 5): the receive timeout restarts with every
 * octet, so a client trickling one octet at a time would never end.  A
 * deadline bounds the total time of every read and write until it is
 * cleared: each waits at most the idle timeout and at most until the
 * deadline, and one once it has passed returns BIO_TIMEOUT with
 * deadline_passed set.  Under TLS the deadline bounds every socket call the
 * library makes (tls_conn_set_deadline()), not only the first.
 * bio_set_idle() records (and sets, as SO_RCVTIMEO and SO_SNDTIMEO) the idle
 * timeout; bio_set_deadline(b, 0) clears the deadline.  bio_set_limit() is
 * a second deadline that stays until cleared (a whole session's time);
 * the nearer of the two is in force.  bio_now_ms() is the monotonic clock
 * deadlines are measured on.
 *
 * Writes: one bio_flush() (or large bio_write()) must also end within the
 * idle timeout in total, not per send(2), when an idle timeout is set: a
 * peer that reads one octet at a time, or never, cannot hold the writer
 * longer (BIO_TIMEOUT, deadline_passed not set unless a deadline was
 * nearer).
 */
void bio_set_idle(struct bio *b, unsigned ms);
void bio_set_deadline(struct bio *b, unsigned long long at_ms);
void bio_set_limit(struct bio *b, unsigned long long at_ms);
unsigned long long bio_now_ms(void);

/*
 * Read one line ending in LF into `line` (NUL-terminated, the line ending
 * kept; `line` must hold max + 1 octets).  At most `max` octets are stored
 * before the NUL; a longer line is consumed up to
 * and including its LF and reported with *too_long set (the stored part is
 * its beginning, with its last two octets replaced by the line's last two,
 * so the caller still sees whether it ended in CRLF).  *len is the number
 * of octets stored.  On EOF, timeout or error the octets of an unfinished
 * line are stored the same way and returned with the status.
 */
enum bio_status bio_read_line(struct bio *b, char *line, size_t max, size_t *len, int *too_long,
                              struct err *e);
/* Read exactly `n` octets into `buf` (BDAT chunks). */
enum bio_status bio_read_exact(struct bio *b, void *buf, size_t n, struct err *e);
/* Octets already read from the socket but not yet consumed. */
size_t bio_buffered(const struct bio *b);
/* Is a whole line (up to LF) already buffered? */
int bio_has_line(const struct bio *b);
/* Is there input now: buffered, or readable on the socket within `ms`? */
int bio_input_pending(struct bio *b, int ms);
/* Forget every buffered octet (returns how many were dropped). */
size_t bio_discard_input(struct bio *b);

/* Buffered output; bio_flush() sends it. */
enum bio_status bio_write(struct bio *b, const void *buf, size_t n, struct err *e);
enum bio_status bio_printf(struct bio *b, struct err *e, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
enum bio_status bio_flush(struct bio *b, struct err *e);

/* From now on, read and write through `tls` (already handshaken). */
void bio_use_tls(struct bio *b, struct tls_conn *tls);

#endif
