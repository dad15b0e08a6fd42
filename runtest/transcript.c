/*
 * transcript.c - building and normalising transcripts (transcript.h).
 */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transcript.h"

/* Replace every match of `re` in *s by `rep` ("\0" style groups not supported). */
static void
replace_all(char **s, const char *re_text, const char *rep)
{
	regex_t re;
	regmatch_t m;
	size_t off = 0;

	if (regcomp(&re, re_text, REG_EXTENDED) != 0)
		return;
	while ((*s)[off] != '\0' && regexec(&re, *s + off, 1, &m, off ? REG_NOTBOL : 0) == 0) {
		size_t a = off + (size_t)m.rm_so, b = off + (size_t)m.rm_eo;
		size_t rl = strlen(rep), tail = strlen(*s + b);
		char *out = malloc(a + rl + tail + 1);

		if (out == NULL)
			break;
		memcpy(out, *s, a);
		memcpy(out + a, rep, rl);
		memcpy(out + a + rl, *s + b, tail + 1);
		free(*s);
		*s = out;
		off = a + rl + (m.rm_eo == m.rm_so ? 1 : 0);
		if (off > strlen(*s))
			break;
	}
	regfree(&re);
}

char *
transcript_normalize(const char *line, const struct strlist *declared)
{
	char *s = strdup(line);

	if (s == NULL)
		return NULL;
	/* The built-in list (docs/scenario-format.md "Normalisation"). */
	replace_all(&s, "\\]:[0-9]+", "]:PORT");
	replace_all(&s, "refmta [0-9]+\\.[0-9]+\\.[0-9]+", "refmta VERSION");
	for (size_t i = 0; declared != NULL && i < declared->n; i++) {
		const char *arrow = strstr(declared->v[i], " => ");
		char *re = strndup(declared->v[i], (size_t)(arrow - declared->v[i]));
		if (re != NULL)
			replace_all(&s, re, arrow + 4);
		free(re);
	}
	return s;
}

static void
append(struct transcript *t, const char *s, size_t n)
{
	buf_add(&t->text, s, n);
}

/* `text` with every `dir` in it written "@WORK@"; caller frees. */
static char *
replace_workdir(const char *text, const char *dir)
{
	size_t dl = strlen(dir), n = 0;
	const char *p;
	char *out, *o;

	for (p = text; (p = strstr(p, dir)) != NULL; p += dl)
		n++;
	if ((out = malloc(strlen(text) + n * 6 + 1)) == NULL)
		return NULL;
	for (o = out, p = text; *p;) {
		if (strncmp(p, dir, dl) == 0) {
			memcpy(o, "@WORK@", 6);
			o += 6;
			p += dl;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

void
transcript_add(struct transcript *t, char prefix, const char *text)
{
	char head[3] = { prefix, ':', ' ' };
	char *unworked = t->workdir && *t->workdir && strstr(text, t->workdir)
	                         ? replace_workdir(text, t->workdir)
	                         : NULL;
	char *norm;

	if (unworked != NULL)
		text = unworked;
	norm = transcript_normalize(text, t->normalize);
	const char *s = norm != NULL ? norm : text;
	size_t n = strlen(s), shown = n;

	/* Past the display limit a line is cut where a marker says so, never
	 * silently; the cut does not split a UTF-8 sequence. */
	if (n > TRANSCRIPT_LINE_MAX) {
		shown = TRANSCRIPT_LINE_MAX;
		while (shown > 0 && ((unsigned char)s[shown] & 0xc0) == 0x80)
			shown--;
	}
	append(t, head, text[0] ? 3 : 2);
	for (const char *p = s; p < s + shown; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[8];
		if (c == '\t' || (c >= 32 && c < 127) || c >= 128) {
			append(t, p, 1);
		} else {
			snprintf(esc, sizeof esc, "\\x%02x", c);
			append(t, esc, strlen(esc));
		}
	}
	if (shown < n) {
		char marker[64];
		snprintf(marker, sizeof marker, TRANSCRIPT_CUT_MARKER, n - shown);
		append(t, marker, strlen(marker));
	}
	append(t, "\n", 1);
	free(norm);
	free(unworked);
}

void
transcript_addf(struct transcript *t, char prefix, const char *fmt, ...)
{
	char *buf = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (n < 0) {
		transcript_add(t, '!', "(out of memory formatting a line)");
		return;
	}
	transcript_add(t, prefix, buf);
	free(buf);
}

void
transcript_add_raw(struct transcript *t, char prefix, const char *data, size_t n)
{
	size_t cap = n * 4 + 1, o = 0;
	char *buf = malloc(cap);

	if (buf == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '\r') {
			memcpy(buf + o, "\\r", 2);
			o += 2;
		} else if (c == '\n') {
			memcpy(buf + o, "\\n", 2);
			o += 2;
		} else if (c == '\\') {
			memcpy(buf + o, "\\\\", 2);
			o += 2;
		} else if (c < 32 || c >= 127) {
			/* Octets beyond ASCII too: raw input is binary (a PROXY v2
			 * header), and the transcript stays plain ASCII text. */
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	transcript_add(t, prefix, buf);
	free(buf);
}

void
transcript_free(struct transcript *t)
{
	buf_free(&t->text);
}
