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
	static const char *const types[] = {
		"A", "AAAA", "MX", "TLSA", "TXT", "PTR", "CNAME", "NS"
	};
	char type[16] = "", name[512] = "", extra[8] = "";
	int n = sscanf(arg, "%15s %511s %7s", type, name, extra);

	(void)s;
	for (size_t i = 0; n == 2 && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(type, types[i]) == 0)
			return 0;
	err_set(e, 1, "resolve TYPE NAME, TYPE one of A AAAA MX TLSA TXT PTR CNAME NS");
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

/* A path inside the work directory: relative, no ".." component. */
static int
inside_work(const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || path[0] == '/' || strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 ||
	    strstr(path, "/../") != NULL || (n >= 3 && strcmp(path + n - 3, "/..") == 0))
		return 0;
	return 1;
}

/* "write NAME PATH": a [file NAME] section, a path inside the work directory. */
static int
check_write(const struct scenario *s, const char *arg, struct err *e)
{
	char name[256] = "", path[1024] = "", extra[8] = "";

	if (sscanf(arg, "%255s %1023s %7s", name, path, extra) != 2 || !inside_work(path)) {
		err_set(e, 1,
		        "write NAME PATH (PATH relative to the work directory, without \"..\")");
		return -1;
	}
	if (scenario_section(s->files, s->nfiles, name) == NULL) {
		err_set(e, 1, "write: no [file %s] section", name);
		return -1;
	}
	return 0;
}

/* "move FROM TO": two paths inside the work directory. */
static int
check_move(const struct scenario *s, const char *arg, struct err *e)
{
	char from[1024] = "", to[1024] = "", extra[8] = "";

	(void)s;
	if (sscanf(arg, "%1023s %1023s %7s", from, to, extra) != 2 || !inside_work(from) ||
	    !inside_work(to)) {
		err_set(e, 1,
		        "move FROM TO (paths relative to the work directory, without \"..\")");
		return -1;
	}
	return 0;
}

/* "reconfigure NAME": a [config NAME] section. */
static int
check_reconfigure(const struct scenario *s, const char *arg, struct err *e)
{
	if (scenario_section(s->configs, s->nconfigs, arg) != NULL)
		return 0;
	err_set(e, 1, "reconfigure NAME: no [config %s] section", arg);
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
	{ "send-dkim", STEP_NEEDS_CONNECTION, NULL, step_send_dkim }, /* run_dkim.c */
	/* refmta's side (run_steps.c). */
	{ "sleep", 0, NULL, step_sleep },
	{ "queue-run", 0, NULL, step_queue_run },
	{ "mail", 0, NULL, step_mail },
	{ "log", 0, NULL, step_log },
	{ "wait-log", 0, NULL, step_wait_log },
	{ "write", 0, check_write, step_write },
	{ "move", 0, check_move, step_move },
	{ "reconfigure", 0, check_reconfigure, step_reconfigure },
	{ "expand", 0, NULL, step_expand }, /* run_services.c */
	{ "expand-vars", 0, NULL, step_expand_vars },
	{ "redis", 0, NULL, step_redis },
	/* A live OCSP responder and refmta ocsp-fetch (run_ocsp.c). */
	{ "ocsp-serve", 0, NULL, step_ocsp_serve },
	{ "ocsp-stop", 0, NULL, step_ocsp_stop },
	{ "ocsp-fetch", 0, NULL, step_ocsp_fetch },
	/* DNS (run_dns.c). */
	{ "resolve", STEP_NEEDS_ZONES, check_resolve, step_resolve },
	{ "dane-check", STEP_NEEDS_ZONES, NULL, step_dane_check },
};

const struct step_verb *
step_verb_find(const char *name)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}
