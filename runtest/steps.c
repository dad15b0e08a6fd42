/*
 * steps.c - the table of step verbs (steps.h) and the checks the parser
 * makes of their arguments.  What a step does is in run_client.c,
 * run_steps.c and run_dns.c.
 */
#include <stdio.h>
#include <string.h>

#include "run_int.h"
#include "scenario.h"
#include "steps.h"

/* "resolve TYPE NAME" */
static int
check_resolve(const struct scenario *s, const char *arg, struct err *e)
{
	static const char *const types[] = { "A", "AAAA", "MX", "TLSA", "TXT", "PTR" };
	char type[16] = "", name[512] = "", extra[8] = "";
	int n = sscanf(arg, "%15s %511s %7s", type, name, extra);

	(void)s;
	for (size_t i = 0; n == 2 && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(type, types[i]) == 0)
			return 0;
	err_set(e, 1, "resolve TYPE NAME, TYPE one of A AAAA MX TLSA TXT PTR");
	return -1;
}

/* "submit FROM TO...": a sender and at least one recipient. */
static int
check_submit(const struct scenario *s, const char *arg, struct err *e)
{
	char from[512] = "", to[512] = "";

	(void)s;
	if (sscanf(arg, "%511s %511s", from, to) == 2)
		return 0;
	err_set(e, 1, "submit FROM TO... (a sender, \"<>\" for none, and at least one recipient)");
	return -1;
}

static const struct step_verb verbs[] = {
	/* The scripted client (run_client.c). */
	{ "connect", 0, NULL, step_connect },
	{ "send", STEP_NEEDS_CONNECTION, NULL, step_send },
	{ "raw", STEP_NEEDS_CONNECTION, NULL, step_raw },
	{ "repeat", STEP_NEEDS_CONNECTION, NULL, step_repeat },
	{ "expect", STEP_NEEDS_CONNECTION, NULL, step_expect },
	{ "starttls", STEP_NEEDS_CONNECTION, NULL, step_starttls },
	{ "wait-close", STEP_NEEDS_CONNECTION, NULL, step_wait_close },
	{ "close", STEP_NEEDS_CONNECTION, NULL, step_close },
	{ "submit", STEP_NEEDS_CONNECTION, check_submit, step_submit },
	/* refmta's side (run_steps.c). */
	{ "sleep", 0, NULL, step_sleep },
	{ "queue-run", 0, NULL, step_queue_run },
	{ "mail", 0, NULL, step_mail },
	{ "log", 0, NULL, step_log },
	{ "wait-log", 0, NULL, step_wait_log },
	/* DNS (run_dns.c). */
	{ "resolve", STEP_NEEDS_ZONES, check_resolve, step_resolve },
};

const struct step_verb *
step_verb_find(const char *name)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}
