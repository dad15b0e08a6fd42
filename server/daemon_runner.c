/*
 * daemon_runner.c - the daemon's queue runners (daemon.h): a queue pass in
 * a child process every queue_run_interval seconds, at most queue_run_max
 * at once; the master (daemon.c) starts them on SIGALRM, reaps them, and
 * signals them when it drains.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "queue.h"

static volatile sig_atomic_t runner_stop;      /* in the queue runner: SIGTERM seen */
static pid_t runner_pids[QUEUE_RUN_MAX_LIMIT]; /* the queue runners now running (0: free) */

static void
on_runner_term(int sig)
{
	(void)sig;
	runner_stop = 1;
}

unsigned
daemon_runner_signal(int sig)
{
	unsigned n = 0;

	for (unsigned i = 0; i < QUEUE_RUN_MAX_LIMIT; i++)
		n += runner_pids[i] > 0 && (sig == 0 || kill(runner_pids[i], sig) == 0);
	return n;
}

int
daemon_runner_forget(pid_t pid)
{
	for (unsigned i = 0; i < QUEUE_RUN_MAX_LIMIT; i++)
		if (pid > 0 && runner_pids[i] == pid) {
			runner_pids[i] = 0;
			return 1;
		}
	return 0;
}

/*
 * The queue runners: one queue pass in a child process every
 * queue_run_interval seconds, at most queue_run_max at once (Exim's rule:
 * a tick that finds that many still running starts none).  Runners that
 * overlap share the queue through its per-message locks (queue.c), so no
 * message goes twice.  SIGTERM makes a runner stop after the message in
 * hand (a blocked network read is interrupted and that delivery
 * deferred), so a mailbox is never left half-written.
 */
void
daemon_runner_spawn(int lfd, const struct config *cfg, const char *backend,
                    const sigset_t *waitmask)
{
	unsigned max = cfg->queue_run_max ? cfg->queue_run_max : 1, slot = 0;
	pid_t pid;

	if (daemon_runner_signal(0) >= max)
		return; /* as many passes as allowed are still running: skip this one */
	while (runner_pids[slot] > 0)
		slot++; /* a free slot exists: daemon_runner_signal(0) < max <= QUEUE_RUN_MAX_LIMIT
		         */
	pid = fork();
	if (pid < 0) {
		log_write("queue runner: fork failed: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		struct queue_run_opts opts = { .backend = backend, .stop = &runner_stop };
		struct err e = { 0 };
		close(lfd);
		daemon_set_handler(SIGTERM, on_runner_term);
		daemon_set_handler(SIGINT, on_runner_term);
		daemon_set_handler(SIGHUP, SIG_IGN);
		daemon_set_handler(SIGCHLD, SIG_DFL);
		daemon_set_handler(SIGALRM, SIG_DFL);
		sigprocmask(SIG_SETMASK, waitmask, NULL);
		if (queue_run_with(cfg, &opts, &e) != 0) {
			log_write("queue runner: %s", e.text);
			_exit(1);
		}
		_exit(0);
	}
	runner_pids[slot] = pid;
}
