/*
 * run.h - one scenario on one refmta backend, in its own work directory:
 * mint the scenario's own certificates, start the scripted peers (on one
 * shared port, or their own) and fakedns (when the scenario has zones),
 * write the configuration, start refmta on a free port, play the steps
 * (steps.h), stop everything, and produce the transcript.
 *
 * Called in a child process of the scheduler that leads its own process
 * group: everything it starts is in that group, so the scheduler can end
 * the whole run at a timeout or Ctrl-C with one kill().
 */
#ifndef RUNTEST_RUN_H
#define RUNTEST_RUN_H

#include "err.h"
#include "scenario.h"

struct run_env {
	const char *refmta;  /* path of bin/refmta */
	const char *fakedns; /* path of bin/fakedns (for scenarios with [zone] sections) */
	const char *pki;     /* the run's minted PKI directory */
	const char *workdir; /* this run's directory (exists, empty) */
	const char *backend; /* refmta's TLS backend: "openssl" | "gnutls" */
};

/*
 * Run it.  0 with *transcript (caller frees) when the scenario could be
 * played (whatever it showed); -1 with `e` when the harness could not run
 * it at all (refmta did not start, a step is malformed).
 */
int run_scenario(const struct scenario *s, const struct run_env *env, char **transcript,
                 struct err *e) MUST_CHECK;

#endif
