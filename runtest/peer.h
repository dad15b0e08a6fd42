/*
 * peer.h - a scripted SMTP server ("peer") for a scenario: it plays the
 * receiving MTA so that refmta's client side (the smtp transport) can be
 * tested, replying to each command as the scenario's [peer NAME] section
 * says, including on purpose wrong ones: delays, drops, refusals, STARTTLS
 * with a chosen chain and staple.
 *
 * A peer is a child process of the run (so in its process group), listening
 * on its loopback address ("address =", default 127.0.0.1) and the port all
 * peers of the run share, or its own ("port ="); what it receives and sends
 * is written to a file the run turns into P: lines.
 */
#ifndef RUNTEST_PEER_H
#define RUNTEST_PEER_H

#include <sys/types.h>

#include "err.h"
#include "scenario.h"

struct peer {
	const struct peer_spec *spec;
	const char *address; /* "127.0.0.N" */
	int lfd;             /* the listening socket until peer_start(); -1 after */
	pid_t pid;
	unsigned port;
	char logfile[4200];
};

/* struct err.code of a peer_listen() that failed with EADDRINUSE. */
#define PEER_ADDR_IN_USE 98

/*
 * Listen on address:port (port 0: a free one).  0 with *fd and *bound (the
 * port), or -1 with `e` (e->code PEER_ADDR_IN_USE when the port is taken).
 */
int peer_listen(const char *address, unsigned port, int *fd, unsigned *bound,
                struct err *e) MUST_CHECK;

/*
 * Start `spec`'s peer on p->lfd (from peer_listen(), closed here).  `backend` is the TLS library it
 * serves STARTTLS with; `subst` turns "@PKI@"-style values into paths (caller's, result freed by
 * the caller... here: by the peer).  0, or -1 with `e`.
 */
int peer_start(struct peer *p, const char *backend, const char *workdir,
               char *(*subst)(const char *text, void *arg), void *arg, struct err *e) MUST_CHECK;
/*
 * The TLS library to start `spec`'s peer with: `preferred` (the one refmta
 * is not using), unless the peer asks for what only another backend can do
 * (session tickets: TLS_CAP_TICKETS), then that one.  NULL with `e` when
 * none can: the scenario is refused, never run without the knob.  The
 * result is a static string.
 */
const char *peer_backend(const struct peer_spec *spec, const char *preferred,
                         struct err *e) MUST_CHECK;
/* Stop it (SIGTERM, then reap); closes p->lfd if it was never started. */
void peer_stop(struct peer *p);

#endif
