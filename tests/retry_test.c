/*
 * retry_test.c - server/retry.c: the schedule syntax and its errors, and the
 * default schedule walked through a recipient's whole life (each deferral
 * at the previous next_try) with the figures worked out by hand from
 * RETRY_DEFAULT_SCHEDULE, G growth, every cutoff boundary, and give-up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "retry.h"

#define T0 ((time_t)1795310625) /* 2026-11-22 01:23:45 UTC */

static void
parse_ok(const char *text, struct retry_schedule *s)
{
	struct err e = { 0 };

	if (retry_schedule_parse(text, s, &e) != 0)
		fail_msg("parse \"%s\": %s", text ? text : "(default)", e.text);
}

static void
parse_bad(const char *text, const char *want)
{
	struct retry_schedule s;
	struct err e = { 0 };

	assert_int_equal(retry_schedule_parse(text, &s, &e), -1);
	assert_string_equal(e.text, want);
}

static void
test_parse_default(void **state)
{
	struct retry_schedule s;

	(void)state;
	parse_ok(NULL, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.rules[0].kind, 'F');
	assert_int_equal(s.rules[0].cutoff, 7200);
	assert_int_equal(s.rules[0].interval, 900);
	assert_true(s.rules[0].mult == 1.0);
	assert_int_equal(s.rules[1].kind, 'G');
	assert_int_equal(s.rules[1].cutoff, 16 * 3600);
	assert_int_equal(s.rules[1].interval, 3600);
	assert_true(s.rules[1].mult == 1.5);
	assert_int_equal(s.rules[2].kind, 'F');
	assert_int_equal(s.rules[2].cutoff, 4 * 86400);
	assert_int_equal(s.rules[2].interval, 6 * 3600);
}

static void
test_parse_units(void **state)
{
	struct retry_schedule s;

	(void)state;
	parse_ok("  F , 1h30m , 90s ;G,1w2d3h4m5s,1m,2.25", &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.rules[0].cutoff, 5400);
	assert_int_equal(s.rules[0].interval, 90);
	assert_int_equal(s.rules[1].cutoff, 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
	assert_int_equal(s.rules[1].interval, 60);
	assert_true(s.rules[1].mult == 2.25);
	parse_ok("F,0s,0s", &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.rules[0].cutoff, 0);
	parse_ok("F,1h,1m;F,2h,1m;F,3h,1m;F,4h,1m;F,5h,1m;F,6h,1m;F,7h,1m;F,8h,1m", &s);
	assert_int_equal(s.n, RETRY_MAX_RULES);
}

static void
test_parse_errors(void **state)
{
	(void)state;
	parse_bad("F,2h,15m; G,16h,1h",
	          "retry rule 2 \"G,16h,1h\": geometric rule needs a multiplier");
	parse_bad("F,2h,15m,2", "retry rule 1 \"F,2h,15m,2\": fixed rule takes no multiplier");
	parse_bad("H,2h,15m", "retry rule 1 \"H,2h,15m\": unknown rule kind (use F or G)");
	parse_bad("f,2h,15m", "retry rule 1 \"f,2h,15m\": unknown rule kind (use F or G)");
	parse_bad("F,2h",
	          "retry rule 1 \"F,2h\": expected F,CUTOFF,INTERVAL or G,CUTOFF,INTERVAL,MULT");
	parse_bad("F,2,15m", "retry rule 1 \"F,2,15m\": bad cutoff time (a number and a unit s m h "
	                     "d w, e.g. 2h or 1h30m)");
	parse_bad("F,2h,15x", "retry rule 1 \"F,2h,15x\": bad interval (a number and a unit s m h "
	                      "d w, e.g. 15m)");
	parse_bad(
	        "F,2h,h",
	        "retry rule 1 \"F,2h,h\": bad interval (a number and a unit s m h d w, e.g. 15m)");
	parse_bad("F,2h,",
	          "retry rule 1 \"F,2h,\": bad interval (a number and a unit s m h d w, e.g. 15m)");
	parse_bad("F,99999999999s,1m", "retry rule 1 \"F,99999999999s,1m\": bad cutoff time (a "
	                               "number and a unit s m h d w, e.g. 2h or 1h30m)");
	parse_bad("F,9999999w,1m", "retry rule 1 \"F,9999999w,1m\": bad cutoff time (a number and "
	                           "a unit s m h d w, e.g. 2h or 1h30m)");
	parse_bad("F,2h,15m; F,2h,1h",
	          "retry rule 2 \"F,2h,1h\": cutoff must be later than the previous rule's");
	parse_bad("F,2h,15m; F,1h,1h",
	          "retry rule 2 \"F,1h,1h\": cutoff must be later than the previous rule's");
	parse_bad("G,1h,1m,1.0", "retry rule 1 \"G,1h,1m,1.0\": multiplier must be a number "
	                         "greater than 1.0 (at most 100)");
	parse_bad("G,1h,1m,x", "retry rule 1 \"G,1h,1m,x\": multiplier must be a number greater "
	                       "than 1.0 (at most 100)");
	parse_bad("G,1h,1m,nan", "retry rule 1 \"G,1h,1m,nan\": multiplier must be a number "
	                         "greater than 1.0 (at most 100)");
	parse_bad("G,1h,1m,2,3", "retry rule 1 \"G,1h,1m,2,3\": too many fields (F,CUTOFF,INTERVAL "
	                         "or G,CUTOFF,INTERVAL,MULT)");
	parse_bad("F,2h,0s", "retry rule 1 \"F,2h,0s\": interval must be at least 1s");
	parse_bad("F,2h,15m;", "retry rule 2 \"\": empty rule");
	parse_bad("", "retry rule 1 \"\": empty rule");
	parse_bad("F,1h,1m;F,2h,1m;F,3h,1m;F,4h,1m;F,5h,1m;F,6h,1m;F,7h,1m;F,8h,1m;F,9h,1m",
	          "retry rule 9 \"F,9h,1m\": more than 8 rules");
}

/* The default schedule from the first deferral to the give-up, each
 * deferral happening exactly at the previous next_try.  Offsets from the
 * first failure, by hand: F,2h,15m gives 15m steps while under 2h; the
 * deferral at 2h starts G,16h,1h,1.5 at 1h (the previous deferral was under
 * the F rule), then 1.5h, 2.25h, 3.375h, 5.0625h, 7.59375h (27337.5 s,
 * rounded to 27338); the deferral at 82013 s is past 16h: F,4d,6h, every
 * 21600 s; the deferral at 82013 + 13 * 21600 = 362813 s is past 4d = 345600 s. */
static void
test_default_whole_life(void **state)
{
	static const long long want[] = {
		900,    1800,   2700,   3600,   4500,   5400,   6300,   7200, /* F,2h,15m */
		10800,  16200,  24300,  36450,  54675,  82013,                /* G,16h,1h,1.5 */
		103613, 125213, 146813, 168413, 190013, 211613, 233213,       /* F,4d,6h */
		254813, 276413, 298013, 319613, 341213, 362813,
	};
	static const unsigned want_interval[] = {
		900,   900,   900,   900,   900,   900,   900,   900,   3600,
		5400,  8100,  12150, 18225, 27338, 21600, 21600, 21600, 21600,
		21600, 21600, 21600, 21600, 21600, 21600, 21600, 21600, 21600,
	};
	struct retry_schedule s;
	struct retry_state st = { 0 };
	time_t now = T0;
	size_t i;

	(void)state;
	parse_ok(NULL, &s);
	assert_true(retry_is_due(&st, now));
	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_int_equal(retry_after_defer(&s, &st, now), RETRY_LATER);
		assert_int_equal(st.tries, i + 1);
		assert_int_equal(st.first_failure, T0);
		assert_int_equal((long long)(st.next_try - T0), want[i]);
		assert_int_equal(st.interval, want_interval[i]);
		assert_false(retry_is_due(&st, now));
		assert_false(retry_is_due(&st, st.next_try - 1));
		assert_true(retry_is_due(&st, st.next_try));
		now = st.next_try;
	}
	assert_int_equal(now - T0, 362813);
	assert_int_equal(retry_after_defer(&s, &st, now), RETRY_GIVE_UP);
	assert_int_equal(st.tries, 28);
}

/* Deferrals later than next_try (a late queue run) still grow G from the
 * interval that was used, and a second G rule starts from its own interval. */
static void
test_geometric(void **state)
{
	struct retry_schedule s;
	struct retry_state st = { 0 };

	(void)state;
	parse_ok("G,1h,10m,2; G,1d,1h,3", &s);
	assert_int_equal(retry_after_defer(&s, &st, T0), RETRY_LATER);
	assert_int_equal(st.next_try - T0, 600);
	assert_int_equal(retry_after_defer(&s, &st, T0 + 700), RETRY_LATER); /* 100 s late */
	assert_int_equal(st.interval, 1200);
	assert_int_equal(st.next_try - T0, 1900);
	assert_int_equal(retry_after_defer(&s, &st, T0 + 1900), RETRY_LATER);
	assert_int_equal(st.interval, 2400);
	assert_int_equal(st.next_try - T0, 4300); /* past 1h: the next deferral is under rule 2 */
	assert_int_equal(retry_after_defer(&s, &st, T0 + 4300), RETRY_LATER);
	assert_int_equal(st.interval, 3600);
	assert_int_equal(st.next_try - T0, 7900);
	assert_int_equal(retry_after_defer(&s, &st, T0 + 7900), RETRY_LATER);
	assert_int_equal(st.interval, 10800);
	assert_int_equal(retry_after_defer(&s, &st, st.next_try), RETRY_LATER);
	assert_int_equal(st.interval, 32400);
	assert_int_equal(st.next_try - T0, 7900 + 10800 + 32400);
	assert_int_equal(st.tries, 6);
	assert_int_equal(st.first_failure, T0);
}

/* A huge multiplier is capped rather than wrapping round. */
static void
test_geometric_cap(void **state)
{
	struct retry_schedule s;
	struct retry_state st = { 0 };
	int i;

	(void)state;
	parse_ok("G,7000w,1w,100", &s);
	for (i = 0; i < 6; i++) {
		assert_int_equal(retry_after_defer(&s, &st, T0 + i), RETRY_LATER);
		assert_true(st.next_try >= T0 + i);
	}
	assert_int_equal(st.interval, 4294967295u);
}

/* Each cutoff: one second before it the earlier rule applies; at it the next. */
static void
test_cutoff_boundaries(void **state)
{
	struct retry_schedule s;
	struct retry_state st;

	(void)state;
	parse_ok(NULL, &s);

	st = (struct retry_state){
		.tries = 3, .first_failure = T0, .next_try = T0 + 7199, .interval = 900
	};
	assert_int_equal(retry_after_defer(&s, &st, T0 + 7199), RETRY_LATER);
	assert_int_equal(st.interval, 900);
	assert_int_equal(st.next_try, T0 + 7199 + 900);

	st = (struct retry_state){
		.tries = 3, .first_failure = T0, .next_try = T0 + 7200, .interval = 900
	};
	assert_int_equal(retry_after_defer(&s, &st, T0 + 7200), RETRY_LATER);
	assert_int_equal(st.interval, 3600);

	/* Previous deferral at 16h - 1 - 5400 (under G): grows. */
	st = (struct retry_state){
		.tries = 9, .first_failure = T0, .next_try = T0 + 57599, .interval = 5400
	};
	assert_int_equal(retry_after_defer(&s, &st, T0 + 57599), RETRY_LATER);
	assert_int_equal(st.interval, 8100);

	st = (struct retry_state){
		.tries = 9, .first_failure = T0, .next_try = T0 + 57600, .interval = 5400
	};
	assert_int_equal(retry_after_defer(&s, &st, T0 + 57600), RETRY_LATER);
	assert_int_equal(st.interval, 21600);
	assert_int_equal(st.next_try, T0 + 57600 + 21600);

	st = (struct retry_state){
		.tries = 20, .first_failure = T0, .next_try = T0 + 345599, .interval = 21600
	};
	assert_int_equal(retry_after_defer(&s, &st, T0 + 345599), RETRY_LATER);
	assert_int_equal(st.next_try, T0 + 345599 + 21600);
	assert_int_equal(st.tries, 21);

	st = (struct retry_state){
		.tries = 20, .first_failure = T0, .next_try = T0 + 345600, .interval = 21600
	};
	assert_int_equal(retry_after_defer(&s, &st, T0 + 345600), RETRY_GIVE_UP);
	assert_int_equal(st.tries, 21);
}

static void
test_give_up_at_once(void **state)
{
	struct retry_schedule s;
	struct retry_state st = { 0 };

	(void)state;
	parse_ok("F,0s,0s", &s);
	assert_int_equal(retry_after_defer(&s, &st, T0), RETRY_GIVE_UP);
	assert_int_equal(st.tries, 1);
	assert_int_equal(st.first_failure, T0);

	/* A later first rule takes over when the first one has cutoff 0. */
	st = (struct retry_state){ 0 };
	parse_ok("F,0s,0s; F,1m,10s", &s);
	assert_int_equal(retry_after_defer(&s, &st, T0), RETRY_LATER);
	assert_int_equal(st.next_try, T0 + 10);
	st.next_try = T0 + 60;
	assert_int_equal(retry_after_defer(&s, &st, T0 + 60), RETRY_GIVE_UP);
}

/* A clock that went back counts as no time elapsed, never as a give-up. */
static void
test_clock_back(void **state)
{
	struct retry_schedule s;
	struct retry_state st = {
		.tries = 1, .first_failure = T0, .next_try = T0 + 900, .interval = 900
	};

	(void)state;
	parse_ok(NULL, &s);
	assert_int_equal(retry_after_defer(&s, &st, T0 - 5000), RETRY_LATER);
	assert_int_equal(st.next_try, T0 - 5000 + 900);
}

static void
test_format_duration(void **state)
{
	static const struct {
		unsigned secs;
		const char *text;
	} cases[] = {
		{ 0, "0s" },
		{ 1, "1s" },
		{ 59, "59s" },
		{ 60, "1m" },
		{ 90, "1m30s" },
		{ 900, "15m" },
		{ 3600, "1h" },
		{ 5400, "1h30m" },
		{ 27338, "7h35m38s" },
		{ 86400, "1d" },
		{ 345600, "4d" },
		{ 604800, "1w" },
		{ 694861, "1w1d1h1m1s" },
		{ 4294967295u, "7101w3d6h28m15s" },
	};
	char buf[64], small[4];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct retry_schedule s;
		char rule[96];

		retry_format_duration(cases[i].secs, buf, sizeof buf);
		assert_string_equal(buf, cases[i].text);
		/* The output reads back as the same number of seconds. */
		snprintf(rule, sizeof rule, "F,%s,1s", buf);
		if (cases[i].secs > 0) {
			parse_ok(rule, &s);
			assert_int_equal(s.rules[0].cutoff, cases[i].secs);
		}
	}
	retry_format_duration(5400, small, sizeof small);
	assert_string_equal(small, "1h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_default),     cmocka_unit_test(test_parse_units),
		cmocka_unit_test(test_parse_errors),      cmocka_unit_test(test_default_whole_life),
		cmocka_unit_test(test_geometric),         cmocka_unit_test(test_geometric_cap),
		cmocka_unit_test(test_cutoff_boundaries), cmocka_unit_test(test_give_up_at_once),
		cmocka_unit_test(test_clock_back),        cmocka_unit_test(test_format_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
