/*
 * buf.c - a growable text buffer (buf.h).  Grows by doubling; never
 * overflows a size computation (a request that would is out of memory).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (n > SIZE_MAX / 2 - b->len - 1) {
		b->oom = 1;
		return;
	}
	if (b->p == NULL || b->len + n + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 256;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		grown = realloc(b->p, cap);
		if (grown == NULL) {
			b->oom = 1;
			return;
		}
		b->p = grown;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof small) {
		buf_add(b, small, (size_t)n);
		return;
	}
	/* Longer than the stack buffer: format once more, on the heap. */
	va_start(ap, fmt);
	n = n < 0 ? -1 : vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	buf_add(b, big, (size_t)n);
	free(big);
}

char *
buf_take(struct buf *b)
{
	char *p;

	if (!b->oom && b->p == NULL)
		buf_add(b, "", 0);
	if (b->oom) {
		buf_free(b);
		return NULL;
	}
	p = b->p;
	*b = (struct buf){ 0 };
	return p;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	*b = (struct buf){ 0 };
}
