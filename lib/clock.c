/*
 * clock.c - the one source of "now", and the two timestamp formats.
 *
 * Everything is UTC and locale-free (day and month names are spelled here,
 * not taken from strftime's %a/%b), so a frozen clock gives byte-identical
 * output on every machine.  Must never call time() except in clock_now().
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "strutil.h"

static int clock_frozen;
static time_t clock_frozen_at;

static const char *const clock_days[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const clock_months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

time_t
clock_now(void)
{
	if (clock_frozen)
		return clock_frozen_at;
	return time(NULL);
}

void
clock_freeze(time_t t)
{
	clock_frozen = 1;
	clock_frozen_at = t;
}

void
clock_unfreeze(void)
{
	clock_frozen = 0;
}

int
clock_is_frozen(void)
{
	return clock_frozen;
}

/* gmtime_r, with an empty output string when `t` is out of range. */
static int
clock_utc(time_t t, struct tm *tm, char *buf, size_t len)
{
	if (gmtime_r(&t, tm) == NULL) {
		if (len > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

void
clock_format_log(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (clock_utc(t, &tm, buf, len) != 0)
		return;
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
clock_format_rfc5322(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (clock_utc(t, &tm, buf, len) != 0)
		return;
	/* RFC 5322 3.3: day-name "," day month year time zone; we are always UTC. */
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", clock_days[tm.tm_wday],
	         tm.tm_mday, clock_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec);
}

/* `n` decimal digits at `s`, nothing else. */
static int
clock_digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ", exactly; the date must exist (no Feb 30). */
static int
clock_parse_iso(const char *s, time_t *out)
{
	struct tm tm, back;
	int y, mo, d, h, mi, sec;
	time_t t;

	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z')
		return -1;
	if (clock_digits(s, 4, &y) != 0 || clock_digits(s + 5, 2, &mo) != 0 ||
	    clock_digits(s + 8, 2, &d) != 0 || clock_digits(s + 11, 2, &h) != 0 ||
	    clock_digits(s + 14, 2, &mi) != 0 || clock_digits(s + 17, 2, &sec) != 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 2026-02-30 to March 2nd: refuse what moved. */
	if (gmtime_r(&t, &back) == NULL || back.tm_year != y - 1900 || back.tm_mon != mo - 1 ||
	    back.tm_mday != d)
		return -1;
	*out = t;
	return 0;
}

/* A non-negative decimal epoch: digits only, no sign, no overflow. */
static int
clock_parse_epoch(const char *s, time_t *out)
{
	uint64_t v;

	if (str_parse_u64(s, strlen(s), INT64_MAX, &v) != STR_NUM_OK || (uint64_t)(time_t)v != v)
		return -1;
	*out = (time_t)v;
	return 0;
}

int
clock_parse(const char *s, time_t *out)
{
	if (s == NULL || out == NULL)
		return -1;
	if (strchr(s, 'T') != NULL)
		return clock_parse_iso(s, out);
	return clock_parse_epoch(s, out);
}
