/*
 * retry.c - retry schedules (Exim's F and G rules) and the arithmetic that
 * turns a deferral into the next try time or a give-up.  Interface and
 * syntax: retry.h.
 *
 * Pure: no clock, no I/O, no global state.  Everything needed to place the
 * next try is in struct retry_state, so a queue runner that restarts (or
 * another process) continues the same schedule from the envelope.
 * Must never: return RETRY_LATER with a next_try before `now`, or grow an
 * interval past what an unsigned holds.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retry.h"

#define RETRY_RULE_TEXT_MAX 64 /* how much of a bad rule the error quotes */
#define RETRY_MULT_MAX 100.0   /* a sanity bound: beyond this a G rule is a typo */

static const struct {
	char unit;
	unsigned seconds;
} retry_units[] = {
	{ 'w', 7u * 24 * 3600 }, { 'd', 24u * 3600 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
};

#define RETRY_NUNITS (sizeof retry_units / sizeof retry_units[0])

/* "1h30m" -> 5400.  Every number needs a unit; 0 ok, -1 bad or too big. */
static int
retry_parse_time(const char *s, unsigned *out)
{
	unsigned long long total = 0;

	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		unsigned long long n = 0;
		const char *start = s;
		size_t u;

		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (unsigned)(*s - '0');
			if (n > UINT_MAX)
				return -1;
			s++;
		}
		if (s == start)
			return -1;
		for (u = 0; u < RETRY_NUNITS; u++)
			if (*s == retry_units[u].unit)
				break;
		if (u == RETRY_NUNITS)
			return -1;
		s++;
		total += n * retry_units[u].seconds;
		if (total > UINT_MAX)
			return -1;
	}
	*out = (unsigned)total;
	return 0;
}

/* Copy [s, s+n) without surrounding white space into buf. */
static void
retry_trim_copy(const char *s, size_t n, char *buf, size_t len)
{
	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* One rule "F,2h,15m" (already trimmed).  NULL ok, else the reason. */
static const char *
retry_parse_rule(char *text, struct retry_rule *r)
{
	char *field[5];
	size_t nf = 0;
	char *p = text;

	for (;;) {
		char *comma = strchr(p, ',');
		char tmp[RETRY_RULE_TEXT_MAX * 4];

		if (nf == 5)
			return "too many fields (F,CUTOFF,INTERVAL or G,CUTOFF,INTERVAL,MULT)";
		if (comma != NULL)
			*comma = '\0';
		retry_trim_copy(p, strlen(p), tmp, sizeof tmp);
		memmove(p, tmp, strlen(tmp) + 1); /* trimmed copy is never longer */
		field[nf++] = p;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (nf > 4)
		return "too many fields (F,CUTOFF,INTERVAL or G,CUTOFF,INTERVAL,MULT)";
	if (strcmp(field[0], "F") == 0)
		r->kind = 'F';
	else if (strcmp(field[0], "G") == 0)
		r->kind = 'G';
	else
		return "unknown rule kind (use F or G)";
	if (nf < 3)
		return "expected F,CUTOFF,INTERVAL or G,CUTOFF,INTERVAL,MULT";
	if (retry_parse_time(field[1], &r->cutoff) != 0)
		return "bad cutoff time (a number and a unit s m h d w, e.g. 2h or 1h30m)";
	if (retry_parse_time(field[2], &r->interval) != 0)
		return "bad interval (a number and a unit s m h d w, e.g. 15m)";
	if (r->kind == 'F') {
		if (nf != 3)
			return "fixed rule takes no multiplier";
		r->mult = 1.0;
	} else {
		char *end;

		if (nf != 4)
			return "geometric rule needs a multiplier";
		r->mult = strtod(field[3], &end);
		if (end == field[3] || *end != '\0' || !isfinite(r->mult) || r->mult <= 1.0 ||
		    r->mult > RETRY_MULT_MAX)
			return "multiplier must be a number greater than 1.0 (at most 100)";
	}
	/* An interval of 0 would retry on every queue run: only a rule that
	 * gives up at once (cutoff 0) may have it. */
	if (r->interval == 0 && r->cutoff != 0)
		return "interval must be at least 1s";
	return NULL;
}

int
retry_schedule_parse(const char *text, struct retry_schedule *out, struct err *e)
{
	const char *p;
	size_t i = 0;

	if (text == NULL)
		text = RETRY_DEFAULT_SCHEDULE;
	memset(out, 0, sizeof *out);
	p = text;
	for (;;) {
		const char *semi = strchr(p, ';');
		size_t n = semi != NULL ? (size_t)(semi - p) : strlen(p);
		char rule[RETRY_RULE_TEXT_MAX * 4];
		char quoted[RETRY_RULE_TEXT_MAX + 4];
		const char *why;

		i++;
		retry_trim_copy(p, n, rule, sizeof rule);
		snprintf(quoted, sizeof quoted, "%.*s%s", RETRY_RULE_TEXT_MAX, rule,
		         strlen(rule) > RETRY_RULE_TEXT_MAX ? "..." : "");
		if (i > RETRY_MAX_RULES) {
			err_set(e, 0, "retry rule %zu \"%s\": more than %d rules", i, quoted,
			        RETRY_MAX_RULES);
			return -1;
		}
		if (rule[0] == '\0') {
			err_set(e, 0, "retry rule %zu \"\": empty rule", i);
			return -1;
		}
		why = retry_parse_rule(rule, &out->rules[i - 1]);
		if (why == NULL && i > 1 && out->rules[i - 1].cutoff <= out->rules[i - 2].cutoff)
			why = "cutoff must be later than the previous rule's";
		if (why != NULL) {
			err_set(e, 0, "retry rule %zu \"%s\": %s", i, quoted, why);
			return -1;
		}
		out->n = i;
		if (semi == NULL)
			break;
		p = semi + 1;
	}
	return 0;
}

/* The rule in force `elapsed` seconds after the first failure, or s->n. */
static size_t
retry_rule_at(const struct retry_schedule *s, long long elapsed)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (elapsed < (long long)s->rules[i].cutoff)
			break;
	return i;
}

enum retry_verdict
retry_after_defer(const struct retry_schedule *s, struct retry_state *st, time_t now)
{
	long long elapsed;
	size_t i, prev = SIZE_MAX;
	const struct retry_rule *r;
	unsigned interval;

	if (st->tries == 0) {
		st->first_failure = now;
	} else if (st->interval <= st->next_try) {
		/* The previous deferral happened at next_try - interval: which
		 * rule placed it tells whether a G rule carries on growing. */
		prev = retry_rule_at(s, (long long)st->next_try - st->interval -
		                                (long long)st->first_failure);
	}
	if (st->tries < UINT_MAX)
		st->tries++;
	elapsed = (long long)now - (long long)st->first_failure;
	if (elapsed < 0)
		elapsed = 0; /* the clock went back: measure from now */
	i = retry_rule_at(s, elapsed);
	if (i == s->n) /* past the last cutoff (cutoff 0: at once) */
		return RETRY_GIVE_UP;
	r = &s->rules[i];
	interval = r->interval;
	if (r->kind == 'G' && prev == i && st->interval > 0) {
		/* Rounded to the nearest second, capped so it stays an unsigned. */
		double grown = floor((double)st->interval * r->mult + 0.5);
		interval = grown >= (double)UINT_MAX ? UINT_MAX : (unsigned)grown;
	}
	st->interval = interval;
	st->next_try = now + (time_t)interval;
	return RETRY_LATER;
}

int
retry_is_due(const struct retry_state *st, time_t now)
{
	return st->next_try <= now;
}

void
retry_format_duration(unsigned seconds, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (seconds == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t u = 0; u < RETRY_NUNITS && seconds > 0; u++) {
		unsigned n = seconds / retry_units[u].seconds;
		int w;

		if (n == 0)
			continue;
		seconds -= n * retry_units[u].seconds;
		w = snprintf(buf + used, len - used, "%u%c", n, retry_units[u].unit);
		if (w < 0 || (size_t)w >= len - used) {
			buf[used] = '\0'; /* whole units only, never "1h3" */
			return;
		}
		used += (size_t)w;
	}
}
