/*
 * steps.h - the scenario step verbs, in one table used by both the parser
 * (scenario.c: is the verb known, is its argument well-formed) and the
 * runner (run.c: what playing it does).  A new step is one row here and
 * one function; docs/scenario-format.md "[steps]" lists them all.
 */
#ifndef RUNTEST_STEPS_H
#define RUNTEST_STEPS_H

#include <stddef.h>

#include "err.h"

struct run;
struct scenario;
struct step;

enum step_flag {
	STEP_NEEDS_CONNECTION = 1 << 0, /* played on the client's open connection */
	STEP_NEEDS_ZONES = 1 << 1,      /* asks the run's fakedns: needs a [zone] */
};

struct step_verb {
	const char *name;
	unsigned flags; /* enum step_flag */
	/* At parse time, once the whole file is read (so sections named by the
	 * argument may come later): 0, or -1 with `e` saying what is wrong (the
	 * caller adds file:line).  NULL: any argument. */
	int (*check)(const struct scenario *s, const char *arg, struct err *e);
	/* At run time (run_int.h). */
	int (*play)(struct run *r, const struct step *st, struct err *e);
};

/* The row for `name`, or NULL for an unknown verb.  Static storage. */
const struct step_verb *step_verb_find(const char *name);

#endif
