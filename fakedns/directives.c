/*
 * directives.c - parse ";@fakedns MODE [name=NAME] [delay=MS]" lines.
 *
 * The mode table below is the list of failure modes; docs/fakedns.md says
 * what a validator sees for each.  Never opens anything but the zone file,
 * never accepts an unknown word silently.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directives.h"
#include "strutil.h"

static const struct {
	const char *word;
	enum fd_mode mode;
	int zone_only;
} modes[] = {
	{ "insecure", FD_MODE_INSECURE, 1 },
	{ "bogus", FD_MODE_BOGUS, 0 },
	{ "expired", FD_MODE_EXPIRED, 1 },
	{ "not-yet-valid", FD_MODE_NOT_YET_VALID, 1 },
	{ "missing-dnskey", FD_MODE_MISSING_DNSKEY, 1 },
	{ "wrong-ds", FD_MODE_WRONG_DS, 1 },
	{ "servfail", FD_MODE_SERVFAIL, 0 },
	{ "refused", FD_MODE_REFUSED, 0 },
	{ "timeout", FD_MODE_TIMEOUT, 0 },
	{ "delay", FD_MODE_DELAY, 0 },
	{ "truncate", FD_MODE_TRUNCATE, 0 },
	{ "nsec3", FD_MODE_NSEC3, 1 },
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

const char *
directive_mode_name(enum fd_mode m)
{
	for (size_t i = 0; i < NMODES; i++)
		if (modes[i].mode == m)
			return modes[i].word;
	return "?";
}

int
directive_mode_zone_only(enum fd_mode m)
{
	for (size_t i = 0; i < NMODES; i++)
		if (modes[i].mode == m)
			return modes[i].zone_only;
	return 1;
}

/* Copy the next space-separated word of *p into buf; 0 when none left. */
static int
next_word(const char **p, char *buf, size_t size)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '\n' || *s == '\r')
		return 0;
	while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
		if (n + 1 < size)
			buf[n++] = *s;
		s++;
	}
	buf[n] = '\0';
	*p = s;
	return 1;
}

static int
parse_option(const char *word, struct fd_directive *out, struct err *e)
{
	if (strncmp(word, "name=", 5) == 0) {
		if (strlen(word + 5) + 2 > sizeof(out->name)) {
			err_set(e, 1, "name too long");
			return -1;
		}
		snprintf(out->name, sizeof(out->name), "%s", word + 5);
		if (name_normalise(out->name, sizeof(out->name)) != 0) {
			err_set(e, 1, "bad name \"%s\"", word + 5);
			return -1;
		}
		return 0;
	}
	if (strncmp(word, "delay=", 6) == 0 && out->mode == FD_MODE_DELAY) {
		uint64_t ms;

		/* bounded: a test server must not hang a test run for minutes */
		if (str_parse_u64(word + 6, strlen(word + 6), 60000, &ms) != STR_NUM_OK) {
			err_set(e, 1, "delay wants milliseconds from 0 to 60000, not \"%s\"",
			        word + 6);
			return -1;
		}
		out->delay_ms = (unsigned)ms;
		return 0;
	}
	err_set(e, 1, "unknown option \"%s\"", word);
	return -1;
}

enum fd_parse
directive_parse_line(const char *line, struct fd_directive *out, struct err *e)
{
	const char *p = line;
	char word[FD_NAME_MAX + 8];
	size_t i;
	int have_delay = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, FD_DIRECTIVE_PREFIX, strlen(FD_DIRECTIVE_PREFIX)) != 0)
		return FD_PARSE_NONE;
	p += strlen(FD_DIRECTIVE_PREFIX);
	if (*p != ' ' && *p != '\t') {
		err_set(e, 1, "%s wants a space and a mode", FD_DIRECTIVE_PREFIX);
		return FD_PARSE_ERROR;
	}
	memset(out, 0, sizeof(*out));
	if (!next_word(&p, word, sizeof(word))) {
		err_set(e, 1, "%s without a mode", FD_DIRECTIVE_PREFIX);
		return FD_PARSE_ERROR;
	}
	/* "delay=MS" is both the mode and its argument */
	if (strncmp(word, "delay=", 6) == 0) {
		out->mode = FD_MODE_DELAY;
		if (parse_option(word, out, e) != 0)
			return FD_PARSE_ERROR;
		have_delay = 1;
	} else {
		for (i = 0; i < NMODES; i++)
			if (strcmp(word, modes[i].word) == 0)
				break;
		if (i == NMODES) {
			err_set(e, 1, "unknown fakedns mode \"%s\"", word);
			return FD_PARSE_ERROR;
		}
		out->mode = modes[i].mode;
	}
	while (next_word(&p, word, sizeof(word))) {
		if (parse_option(word, out, e) != 0)
			return FD_PARSE_ERROR;
		if (strncmp(word, "delay=", 6) == 0)
			have_delay = 1;
	}
	if (out->mode == FD_MODE_DELAY && !have_delay) {
		err_set(e, 1, "delay wants delay=MS");
		return FD_PARSE_ERROR;
	}
	if (out->name[0] != '\0' && directive_mode_zone_only(out->mode)) {
		err_set(e, 1,
		        "%s applies to a whole zone, not to name=", directive_mode_name(out->mode));
		return FD_PARSE_ERROR;
	}
	return FD_PARSE_OK;
}

int
directives_read_file(const char *path, struct fd_directives *out, struct err *e)
{
	FILE *fp;
	char line[1024];
	int lineno = 0, rc = -1;
	struct fd_directive d;
	struct err pe = { 0 };

	memset(out, 0, sizeof(*out));
	fp = fopen(path, "r");
	if (fp == NULL) {
		err_set(e, 1, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* bounded by the file; long lines are read in pieces, only a piece
	 * starting a line can be a directive */
	int at_start = 1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		int starts = at_start;

		at_start = strchr(line, '\n') != NULL;
		if (!starts)
			continue;
		lineno++;
		switch (directive_parse_line(line, &d, &pe)) {
		case FD_PARSE_NONE:
			continue;
		case FD_PARSE_ERROR:
			err_set(e, 1, "%s:%d: %s", path, lineno, pe.text);
			goto out;
		case FD_PARSE_OK:
			break;
		}
		if (out->n == FD_DIRECTIVES_MAX) {
			err_set(e, 1, "%s:%d: more than %d directives", path, lineno,
			        FD_DIRECTIVES_MAX);
			goto out;
		}
		d.line = lineno;
		out->d[out->n++] = d;
	}
	rc = 0;
out:
	fclose(fp);
	return rc;
}

const struct fd_directive *
directives_find(const struct fd_directives *ds, enum fd_mode m, const char *name)
{
	for (size_t i = 0; i < ds->n; i++) {
		const struct fd_directive *d = &ds->d[i];

		if (d->mode != m)
			continue;
		if (d->name[0] == '\0' || (name != NULL && name_equal(d->name, name)))
			return d;
	}
	return NULL;
}
