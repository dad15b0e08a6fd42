/*
 * err.c - filling in a struct err.  Never logs: the caller decides.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

void
err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
}

void
err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->text[0] = '\0';
}
