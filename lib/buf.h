/*
 * buf.h - a growable text buffer: append bytes, strings and formatted text,
 * check for failure once at the end.  The one implementation for the
 * envelope writer, the bounce builder and whoever else assembles text.
 *
 * Out of memory sticks: after a failed growth every append does nothing
 * and `oom` stays set, so a builder appends freely and looks once.
 */
#ifndef REFMTA_BUF_H
#define REFMTA_BUF_H

#include <stddef.h>

struct buf {
	char *p;    /* NUL-terminated once anything ("" too) was appended; NULL before.
	             * Owned by the buffer: release with buf_free() or buf_take(). */
	size_t len; /* octets in p, the NUL not counted */
	size_t cap;
	int oom; /* an append failed; the content is incomplete */
};

/* Zero-initialise a struct buf ({0}) before the first append. */
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The text ("" when nothing was appended), which the caller now owns and
 * frees; NULL when an append failed (the text is freed then).  The buffer
 * is left empty. */
char *buf_take(struct buf *b);

/* Free the text and leave the buffer empty; accepts an empty buffer. */
void buf_free(struct buf *b);

#endif
