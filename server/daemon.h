/*
 * daemon.h - `refmta serve`: the listening socket, prefork workers, limits,
 * signals.  Postfix's model: each worker runs one session at a time with
 * blocking I/O; the master only forks (growing the pool on demand up to
 * smtp_accept_max), reaps and restarts.
 *
 *   SIGTERM  stop accepting at once (the listening socket is shut down),
 *            let running sessions finish within smtp_drain_timeout, exit 0
 *   SIGHUP   re-read the configuration; if it is good, new workers take
 *            over and the old ones finish their sessions; if not, the error
 *            is logged and the old configuration stays
 */
#ifndef REFMTA_DAEMON_H
#define REFMTA_DAEMON_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"

/*
 * Serve until SIGTERM.  `cfg` is loaded from `config_path` (kept for
 * SIGHUP) and owned by the daemon from here on (freed before returning,
 * also on failure); `listen_override` replaces cfg->listen when not NULL.  Prints
 * "refmta: listening on ADDR:PORT ..." on stdout once accepting (port 0 in
 * the listen address picks a free port: the line tells which).
 */
int daemon_serve(const char *config_path, struct config *cfg, const char *listen_override,
                 const char *backend_override, struct err *e) MUST_CHECK;

/* Split "ADDR:PORT" / "[v6]:PORT" into a socket address.  0 or -1. */
struct sockaddr_storage;
int daemon_parse_listen(const char *spec, struct sockaddr_storage *ss, unsigned *len,
                        struct err *e) MUST_CHECK;

/* daemon_listen.c: the listening socket for `spec`, non-blocking and
 * close-on-exec; "ADDR:PORT" it is bound to (port 0 picks one) into
 * `bound`.  The descriptor (caller closes it), or -1 with e set. */
int daemon_listen_open(const char *spec, char *bound, size_t boundlen, struct err *e) MUST_CHECK;
/* daemon_listen.c: connections waiting in `lfd`'s accept queue now (0 when
 * the kernel cannot say). */
unsigned daemon_listen_pending(int lfd);

/* daemon_runner.c, the master's queue runners.  daemon_runner_spawn: start
 * one pass in a child (it closes `lfd` and waits with `waitmask`) unless
 * queue_run_max already run; daemon_runner_signal: how many run (sig 0),
 * or send `sig` to each and say to how many it went; daemon_runner_forget:
 * 1 if `pid` was a runner's (now forgotten). */
void daemon_runner_spawn(int lfd, const struct config *cfg, const char *backend,
                         const sigset_t *waitmask);
unsigned daemon_runner_signal(int sig);
int daemon_runner_forget(pid_t pid);

/* A signal handler without SA_RESTART (accept() and sleeps must wake up). */
void daemon_set_handler(int sig, void (*fn)(int));

/* A socket address as the text address and the port. */
void daemon_addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, unsigned *port);

/* The number of workers a configuration asks for (worker_processes, at
 * least 1, at most half the slot table): the pool's size when idle. */
unsigned daemon_worker_count(const struct config *cfg);

/* The most workers one generation grows to on demand: smtp_accept_max
 * sessions and one more to answer the next connection (421), at most half
 * the slot table (1024), at least daemon_worker_count(). */
unsigned daemon_pool_max(const struct config *cfg);

/* Connection limits, given the sessions other workers run now (`busy`)
 * and those among them from the same client address (`same`). */
enum daemon_admit {
	DAEMON_ADMIT,
	DAEMON_REFUSE_TOTAL,    /* smtp_accept_max: 421 4.3.2 */
	DAEMON_REFUSE_PER_HOST, /* smtp_accept_max_per_host: 421 4.7.0 */
};
enum daemon_admit daemon_admit(const struct config *cfg, unsigned busy, unsigned same);

#endif
