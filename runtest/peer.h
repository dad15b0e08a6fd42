/*
 * peer.h - a scripted SMTP server ("peer") for a scenario: it plays the
 * receiving MTA so that refmta's client side (the smtp transport) can be
 * tested, replying to each command as the scenario's [peer NAME] section
 * says, including on purpose wrong ones: delays, drops, refusals, STARTTLS
 * with a chosen chain and staple.
 *
 * A peer is a child process of the run (so in its process group), listening
 * on a free 127.0.0.1 port; what it receives and sends is written to a file
 * the run turns into P: lines.
 */
#ifndef RUNTEST_PEER_H
#define RUNTEST_PEER_H

#include <sys/types.h>

#include "err.h"
#include "scenario.h"

struct peer {
	const struct peer_spec *spec;
	pid_t pid;
	unsigned port;
	char logfile[4200];
};

/*
 * Start `spec`'s peer.  `backend` is the TLS library it serves STARTTLS with;
 * `subst` turns "@PKI@"-style values into paths (caller's, result freed by
 * the caller... here: by the peer).  0, or -1 with `e`.
 */
int peer_start(struct peer *p, const char *backend, const char *workdir,
               char *(*subst)(const char *text, void *arg), void *arg, struct err *e) MUST_CHECK;
/* Stop it (SIGTERM, then reap). */
void peer_stop(struct peer *p);

#endif
