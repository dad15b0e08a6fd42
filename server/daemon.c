/*
 * daemon.c - the master and its prefork workers (daemon.h).
 *
 * The master binds, drops privileges, builds the TLS context
 * (smtpd_tls_ctx_new), forks `worker_processes` workers and then only
 * grows, shrinks, reaps and restarts them and handles signals.  A worker
 * inherits that context (loading the certificates and keys once per
 * generation, not once per worker: with OpenSSL 3 that costs ~10 ms, and
 * the pool grows a worker per concurrent session, docs/bench.md), accepts
 * one connection at a time and runs the session (smtpd.h); worker_serve() is
 * all a worker does with one connection, apart from the accept loop around
 * it.  Per-host and total connection limits are checked against a small
 * shared table (one slot per worker) so they hold across processes.  The
 * listening socket and addresses are daemon_listen.c's.
 *
 * The pool grows on demand (DESIGN.md principle 5, Postfix's model): a
 * worker that starts a session tells the master (SIGUSR1), which keeps one
 * worker idle while fewer than smtp_accept_max + 1 run, so up to
 * smtp_accept_max sessions run at once and there is always a worker to
 * answer the next connection, with its 421 when over a limit.  A worker
 * idle for worker_idle_timeout seconds leaves while another is idle and more
 * than worker_processes run.  Nothing here may block the master on a client.
 */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "bio.h"
#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "match.h"
#include "privs.h"
#include "queue.h"
#include "setup.h"
#include "smtpd.h"
#include "spool.h"
#include "tls.h"

#define MAX_WORKERS 2048           /* the shared slot table */
#define POOL_MAX (MAX_WORKERS / 2) /* one generation's workers: room for a SIGHUP */
#define DRAIN_CUT_GRACE_MS 2000    /* after the drain timeout: for the sessions' 421 */

struct worker_slot {
	pid_t pid;
	int busy;       /* in a session */
	int generation; /* config generation it runs with */
	char ip[64];    /* client address while busy */
};

static volatile sig_atomic_t got_term, got_hup, got_chld, got_alrm, got_usr1;
static struct worker_slot *slots;    /* shared (MAP_SHARED) with the workers */
static volatile int session_fd = -1; /* in a worker: the session's socket, or -1 */
static unsigned nslots;

static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGALRM)
		got_alrm = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
}

/* In a worker, SIGUSR2 from the master at the drain timeout: end the session
 * now, with its 421 (smtpd.h smtpd_drain_cut).  shutdown(2) is
 * async-signal-safe and wakes a read blocked on the socket. */
static void
on_drain_cut(int sig)
{
	(void)sig;
	smtpd_drain_cut = 1;
	if (session_fd >= 0)
		shutdown(session_fd, SHUT_RD);
}

void
daemon_set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: accept() and sleep must wake up */
	sigaction(sig, &sa, NULL);
}

enum daemon_admit
daemon_admit(const struct config *cfg, unsigned busy, unsigned same)
{
	if (busy >= cfg->smtp_accept_max)
		return DAEMON_REFUSE_TOTAL;
	if (same >= cfg->smtp_accept_max_per_host)
		return DAEMON_REFUSE_PER_HOST;
	return DAEMON_ADMIT;
}

/* Peak memory of this worker process so far, in kB (getrusage(2) ru_maxrss). */
static long
worker_peak_kb(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Sessions the other workers run now: all of them, and those from `ip`. */
static void
count_sessions(unsigned self, const char *ip, unsigned *busy, unsigned *same)
{
	*busy = *same = 0;
	for (unsigned i = 0; i < nslots; i++) {
		if (i == self || !slots[i].busy)
			continue;
		(*busy)++;
		if (strcmp(slots[i].ip, ip) == 0)
			(*same)++;
	}
}

/* Another worker of this one's generation is waiting for a connection. */
static int
other_idle_worker(unsigned self)
{
	for (unsigned i = 0; i < nslots; i++)
		if (i != self && slots[i].pid != 0 &&
		    slots[i].generation == slots[self].generation &&
		    !__atomic_load_n(&slots[i].busy, __ATOMIC_SEQ_CST))
			return 1;
	return 0;
}

/* One accepted connection: check the limits, run the session (or refuse). */
static void
worker_serve(unsigned slot, int fd, const struct config *cfg, struct tls_ctx *tls,
             const struct sockaddr_storage *peer_ss)
{
	struct sockaddr_storage local_ss;
	socklen_t ll = sizeof local_ss;
	struct smtpd_peer peer = { 0 };
	unsigned busy, same;
	enum daemon_admit verdict;
	int via_proxy;

	getsockname(fd, (struct sockaddr *)&local_ss, &ll);
	daemon_addr_text(peer_ss, peer.ip, sizeof peer.ip, &peer.port);
	daemon_addr_text(&local_ss, peer.local_ip, sizeof peer.local_ip, &peer.local_port);
	/* Busy before counting the others: two workers accepting at the same
	 * instant may both refuse, never both admit over a limit. */
	snprintf(slots[slot].ip, sizeof slots[slot].ip, "%s", peer.ip);
	__atomic_store_n(&slots[slot].busy, 1, __ATOMIC_SEQ_CST);
	count_sessions(slot, peer.ip, &busy, &same);
	/* A proxy's connections count towards smtp_accept_max only: the
	 * per-host limit is for the client it relays, counted once its PROXY
	 * header has named it (docs/proxy.md). */
	via_proxy = match_host(cfg->proxy_required_hosts, peer.ip);
	verdict = daemon_admit(cfg, busy, via_proxy ? 0 : same);
	if (verdict == DAEMON_ADMIT && smtpd_proxy_negotiate(cfg, fd, &peer) &&
	    peer.proxy_host_ip[0] != '\0') {
		snprintf(slots[slot].ip, sizeof slots[slot].ip, "%s", peer.ip);
		count_sessions(slot, peer.ip, &busy, &same);
		verdict = daemon_admit(cfg, busy,
		                       strcmp(peer.ip, peer.proxy_host_ip) == 0 ? 0 : same);
	}
	switch (verdict) {
	case DAEMON_REFUSE_TOTAL:
		dprintf(fd, "421 4.3.2 %s Too many concurrent SMTP connections; try later\r\n",
		        cfg->primary_hostname);
		log_write("Connection from [%s]:%u refused: too many connections (%u)", peer.ip,
		          peer.port, busy);
		break;
	case DAEMON_REFUSE_PER_HOST:
		dprintf(fd, "421 4.7.0 %s Too many connections from your host\r\n",
		        cfg->primary_hostname);
		log_write("Connection from [%s]:%u refused: too many connections from that IP "
		          "address (%u)",
		          peer.ip, peer.port, same);
		break;
	case DAEMON_ADMIT:
		/* The master keeps a worker idle for the next connection: tell it
		 * only when this was the last idle one (busy is set above, so of
		 * two workers admitting at once at least one sees the other busy
		 * and tells), sparing it a wake-up per session. */
		if (!other_idle_worker(slot))
			kill(getppid(), SIGUSR1);
		session_fd = fd;
		smtpd_session(cfg, tls, fd, &peer);
		session_fd = -1;
		/* Memory per session: a line of its own, so the session's lines stay
		 * as they are; not in test mode, whose log must be deterministic. */
		if (!cfg->test_clock_set && !cfg->test_ids)
			log_write("SMTP session [%s]:%u: worker %d peak memory %ld kB", peer.ip,
			          peer.port, (int)getpid(), worker_peak_kb());
		break;
	}
	__atomic_store_n(&slots[slot].busy, 0, __ATOMIC_SEQ_CST);
}

/* An extra worker idle too long leaves: another of its generation is idle
 * and more than worker_processes run. */
static int
worker_may_leave(unsigned self, const struct config *cfg)
{
	unsigned live = 0, idle = 0;

	for (unsigned i = 0; i < nslots; i++) {
		if (slots[i].pid <= 0 || slots[i].generation != slots[self].generation)
			continue;
		live++;
		if (i != self && !__atomic_load_n(&slots[i].busy, __ATOMIC_SEQ_CST))
			idle++;
	}
	return idle > 0 && live > daemon_worker_count(cfg);
}

/*
 * The idle workers' wait for a connection wakes one of them per connection,
 * not all: each worker's own epoll instance watches the listening socket
 * with EPOLLEXCLUSIVE.  With poll() every idle worker woke on every
 * connection and all but one found accept() empty: after a burst had grown
 * the pool to 200, each later session cost 200 wake-ups, and since every
 * wake-up restarted the idle workers' worker_idle_timeout, the pool never
 * shrank while connections kept coming (docs/bench.md).  The kernel wakes
 * the first idle worker in its queue, so the others really are idle and
 * leave.  -1 (epoll unavailable) falls back to ppoll().
 */
static int
accept_wait_open(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = lfd };
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) != 0) {
		int saved = errno;
		close(epfd);
		epfd = -1;
		errno = saved;
	}
	if (epfd < 0)
		log_write("worker %d: epoll: %s; waiting with poll(), every idle worker woken "
		          "by each connection",
		          (int)getpid(), strerror(errno));
	return epfd;
}

/* Wait up to `secs` for a connection, with `mask` as the signal mask while
 * waiting: >0 one may be there, 0 timed out, <0 interrupted (EINTR). */
static int
accept_wait(int epfd, int lfd, int secs, const sigset_t *mask)
{
	if (epfd >= 0) {
		struct epoll_event ev;
		int ms = secs > INT_MAX / 1000 ? INT_MAX : secs * 1000;
		return epoll_pwait(epfd, &ev, 1, ms, mask);
	}
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct timespec idle = { secs, 0 };
	return ppoll(&pfd, 1, &idle, mask);
}

/* One worker's life: accept, serve, repeat. */
static void __attribute__((noreturn))
worker_main(unsigned slot, int lfd, const struct config *cfg, struct tls_ctx *tls)
{
	sigset_t open_mask;
	int epfd;

	/*
	 * SIGTERM stays blocked except inside the wait, which unblocks it
	 * atomically: a SIGTERM can neither slip in between the check and the
	 * wait (and leave us blocked in accept) nor interrupt a session, which
	 * always runs to its end (draining).
	 */
	daemon_set_handler(SIGHUP, SIG_IGN);
	daemon_set_handler(SIGCHLD, SIG_DFL);
	daemon_set_handler(SIGUSR2, on_drain_cut);
	sigemptyset(&open_mask);
	epfd = accept_wait_open(lfd);
	while (!got_term) {
		struct sockaddr_storage peer_ss;
		socklen_t pl = sizeof peer_ss;
		int fd, pr;

		pr = accept_wait(epfd, lfd,
		                 cfg->worker_idle_timeout > 0 ? cfg->worker_idle_timeout : 30,
		                 &open_mask);
		if (pr == 0 && worker_may_leave(slot, cfg))
			break;
		if (pr <= 0)
			continue; /* EINTR: SIGTERM, seen by the loop condition */
		/* Non-blocking: another worker may have taken this connection. */
		fd = accept4(lfd, (struct sockaddr *)&peer_ss, &pl, SOCK_CLOEXEC);
		if (fd < 0 && errno == EINVAL)
			break; /* SIGTERM: the master shut the listening socket down */
		if (fd < 0)
			continue;
		/* No Nagle: every reply leaves in one write already (bio), but a
		 * TLS library may write a handshake flight or a ticket record by
		 * record, and with Nagle each later record waits for the client's
		 * delayed ACK of the first (40 ms a handshake with GnuTLS,
		 * docs/bench.md). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		worker_serve(slot, fd, cfg, tls, &peer_ss);
		close(fd);
	}
	if (epfd >= 0)
		close(epfd);
	tls_ctx_free(tls); /* this process's copy */
	_exit(0);
}

static pid_t
spawn_worker(unsigned slot, int lfd, const struct config *cfg, struct tls_ctx *tls, int generation)
{
	pid_t pid;

	/* Before the fork: the child may mark itself busy at once. */
	slots[slot].busy = 0;
	slots[slot].generation = generation;
	slots[slot].pid = -1; /* taken; its pid follows */
	pid = fork();
	if (pid == 0)
		worker_main(slot, lfd, cfg, tls);
	slots[slot].pid = pid > 0 ? pid : 0;
	return pid;
}

/* Stop the workers of one generation (or all with -1): they finish their session. */
static void
stop_workers(int generation)
{
	for (unsigned i = 0; i < nslots; i++)
		if (slots[i].pid > 0 && (generation < 0 || slots[i].generation == generation))
			kill(slots[i].pid, SIGTERM);
}

/* Kill what is left after the drain timeout; how many. */
static unsigned
kill_workers(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nslots; i++)
		if (slots[i].pid > 0 && kill(slots[i].pid, SIGKILL) == 0)
			n++;
	return n;
}

/* At the drain timeout: SIGUSR2 to every worker in a session; how many. */
static unsigned
cut_sessions(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nslots; i++)
		if (slots[i].pid > 0 && __atomic_load_n(&slots[i].busy, __ATOMIC_SEQ_CST) &&
		    kill(slots[i].pid, SIGUSR2) == 0)
			n++;
	return n;
}

static int
live_workers(void)
{
	int n = 0;

	for (unsigned i = 0; i < nslots; i++)
		n += slots[i].pid > 0;
	return n;
}

unsigned
daemon_worker_count(const struct config *cfg)
{
	unsigned n = cfg->worker_processes ? cfg->worker_processes : 1;

	/* Twice the slots: old workers drain while new ones start (SIGHUP). */
	return n > POOL_MAX ? POOL_MAX : n;
}

unsigned
daemon_pool_max(const struct config *cfg)
{
	unsigned n = cfg->smtp_accept_max < POOL_MAX ? cfg->smtp_accept_max + 1 : POOL_MAX;
	unsigned min = daemon_worker_count(cfg);

	return n < min ? min : n;
}

/* What the master keeps from one signal to the next. */
struct master {
	const char *config_path;
	const char *backend_override;
	struct config *cfg; /* the generation new workers start with */
	struct config *old; /* the one before: its workers are gone or going */
	const char *backend;
	struct tls_ctx *tls; /* the server context the current generation inherits, or NULL */
	int generation;
	int lfd;
	sigset_t waitmask; /* the mask sigsuspend() waits with */
};

/* Spool, log, listening socket, privileges, the shared slot table. */
static int
master_setup(struct master *m, const char *listen_spec, char *bound, size_t boundlen, struct err *e)
{
	if (spool_init(m->cfg->spool_directory, e) != 0 || log_open(m->cfg->log_file, e) != 0)
		return -1;
	m->lfd = daemon_listen_open(listen_spec, bound, boundlen, e);
	if (m->lfd < 0)
		return -1;
	if (privs_drop(m->cfg, e) != 0) {
		close(m->lfd);
		return -1;
	}
	nslots = MAX_WORKERS;
	slots = mmap(NULL, nslots * sizeof *slots, PROT_READ | PROT_WRITE,
	             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		err_set(e, 1, "mmap: %s", strerror(errno));
		close(m->lfd);
		return -1;
	}
	memset(slots, 0, nslots * sizeof *slots);
	/* Before any fork: every worker shares the "ratelimit" table. */
	if (acl_ratelimit_init() != 0) {
		err_set(e, 1, "ratelimit table: mmap: %s", strerror(errno));
		close(m->lfd);
		return -1;
	}
	return 0;
}

/* The server TLS context for the current generation's workers, made after
 * the privileges are dropped (as a worker would read the keys); a failure
 * is logged and the generation offers no STARTTLS. */
static void
master_tls(struct master *m)
{
	struct err e = { 0 };

	tls_ctx_free(m->tls); /* the old generation's workers hold their own copies */
	m->tls = smtpd_tls_ctx_new(m->cfg, m->backend, &e);
	if (m->cfg->tls_certificate.n > 0 && m->tls == NULL)
		log_write("TLS set-up failed, STARTTLS not offered: %s", e.text);
}

/* Signals are taken only inside sigsuspend(), so none is lost between
 * checking the flags and waiting. */
static void
master_signals(struct master *m)
{
	sigset_t block;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &m->waitmask);
	daemon_set_handler(SIGTERM, on_signal);
	daemon_set_handler(SIGINT, on_signal);
	daemon_set_handler(SIGHUP, on_signal);
	daemon_set_handler(SIGCHLD, on_signal);
	daemon_set_handler(SIGALRM, on_signal);
	daemon_set_handler(SIGUSR1, on_signal);
}

/*
 * Grow the pool of the current generation: at least worker_processes
 * workers, and one idle while fewer than daemon_pool_max() run, so a
 * connection is always accepted at once (and answered 421 when over a
 * limit), plus one for each connection already waiting in the accept
 * queue: a burst of N clients gets its workers in one go, not one fork
 * per signal from the worker before (a chain of N wake-ups, each waiting
 * for the CPU under load, docs/bench.md).  Called when a worker starts a
 * session (SIGUSR1) or ends.
 */
static void
master_grow(struct master *m)
{
	unsigned live = 0, idle = 0, want = daemon_worker_count(m->cfg);
	unsigned max = daemon_pool_max(m->cfg), spare = 1 + daemon_listen_pending(m->lfd);

	got_usr1 = 0;
	if (got_term)
		return;
	for (unsigned i = 0; i < nslots; i++) {
		if (slots[i].pid == 0 || slots[i].generation != m->generation)
			continue;
		live++;
		idle += !__atomic_load_n(&slots[i].busy, __ATOMIC_SEQ_CST);
	}
	for (unsigned i = 0; i < nslots && live < max && (live < want || idle < spare); i++) {
		if (slots[i].pid != 0)
			continue;
		if (spawn_worker(i, m->lfd, m->cfg, m->tls, m->generation) <= 0) {
			log_write("worker: fork failed: %s", strerror(errno));
			return;
		}
		live++;
		idle++;
	}
}

/* Reap ended children; restart the workers of the current generation. */
static void
master_reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (daemon_runner_forget(pid)) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				log_write("queue runner %d ended (status 0x%x)", (int)pid, status);
			continue;
		}
		for (unsigned i = 0; i < nslots; i++) {
			if (slots[i].pid != pid)
				continue;
			slots[i].pid = 0;
			slots[i].busy = 0;
			/* Exit 0 is an idle worker leaving; anything else is replaced. */
			if (slots[i].generation == m->generation && !got_term &&
			    (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
				log_write("worker %d ended (status 0x%x): restarting", (int)pid,
				          status);
				/* A worker that dies at once every time must not spin. */
				struct timespec ts = { 0, 100 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
		}
	}
	got_chld = 0;
	master_grow(m);
}

/* SIGHUP: a good configuration starts a new generation of workers; a bad
 * one is logged and the old one stays. */
static void
master_reload(struct master *m)
{
	struct config *fresh = NULL;
	struct err he = { 0 };

	got_hup = 0;
	if (setup_load_config(m->config_path, &fresh, &he) != 0) {
		log_write("SIGHUP: configuration not reloaded, keeping the old one: %s", he.text);
		return;
	}
	/* The old generation is told to stop before the line that says the
	 * reload happened: a client that waits for that line (runtest's
	 * reconfigure) never reaches an old worker still waiting. */
	stop_workers(m->generation);
	log_write("SIGHUP: configuration reloaded from %s", m->config_path);
	setup_apply_test_mode(fresh);
	config_free(m->old); /* the generation before: its workers are gone or going */
	m->old = m->cfg;
	m->cfg = fresh;
	m->generation++;
	log_close();
	if (log_open(m->cfg->log_file, &he) != 0)
		fprintf(stderr, "refmta: %s\n", he.text);
	m->backend = m->backend_override ? m->backend_override : m->cfg->tls_backend;
	master_tls(m);
	master_grow(m);
	/* The runner in flight keeps the old configuration; the next uses this one. */
	alarm(m->cfg->queue_run_interval);
}

/*
 * SIGTERM: stop accepting at once, let sessions (and the queue runner's
 * message in hand) finish for at most smtp_drain_timeout, then kill what
 * is left (nothing acknowledged is lost: 250 follows the fsync).
 * shutdown(2) stops the listening socket itself, which every worker shares:
 * the kernel refuses new connections and resets those waiting in the
 * backlog, so no client is left connected without a greeting.
 */
static void
master_drain(struct master *m)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned long long end = bio_now_ms() + 1000ULL * m->cfg->smtp_drain_timeout;
	unsigned cut = 0, killed = 0;
	int phase = 0, runner_killed = 0; /* 0 draining, 1 sessions cut, 2 the rest killed */

	alarm(0);
	shutdown(m->lfd, SHUT_RDWR);
	close(m->lfd);
	stop_workers(-1);
	(void)daemon_runner_signal(SIGTERM);
	while (live_workers() > 0 || daemon_runner_signal(0) > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, phase == 2 ? 0 : WNOHANG);
		if (pid < 0 && errno == ECHILD)
			break;
		if (pid == 0) {
			if (bio_now_ms() < end) {
				nanosleep(&tick, NULL);
				continue;
			}
			if (phase == 0) {
				/* Sessions still running are told to end with 421
				 * 4.3.2 (on_drain_cut), and have a moment to say it. */
				cut = cut_sessions();
				end = bio_now_ms() + DRAIN_CUT_GRACE_MS;
				phase = 1;
				continue;
			}
			killed = kill_workers();
			runner_killed = daemon_runner_signal(SIGKILL) > 0;
			phase = 2;
			continue;
		}
		(void)daemon_runner_forget(pid);
		for (unsigned i = 0; i < nslots; i++)
			if (pid > 0 && slots[i].pid == pid)
				slots[i].pid = 0;
	}
	if (phase > 0)
		log_write("SIGTERM: drain timeout (%us): %u sessions cut, %u workers killed%s",
		          m->cfg->smtp_drain_timeout, cut, killed,
		          runner_killed ? ", and the queue runner" : "");
}

int
daemon_serve(const char *config_path, struct config *cfg, const char *listen_override,
             const char *backend_override, struct err *e)
{
	char bound[160];
	unsigned nworkers;
	const char *listen_spec = listen_override ? listen_override : cfg->listen;
	struct master m = {
		.config_path = config_path,
		.backend_override = backend_override,
		.cfg = cfg,
		.backend = backend_override ? backend_override : cfg->tls_backend,
		.lfd = -1,
	};

	if (master_setup(&m, listen_spec, bound, sizeof bound, e) != 0) {
		config_free(cfg);
		return -1;
	}
	master_signals(&m);
	nworkers = daemon_worker_count(cfg);
	master_tls(&m);
	master_grow(&m);
	log_write("refmta daemon started (pid %d): listening on %s, %u workers, TLS backend %s",
	          (int)getpid(), bound, nworkers, m.backend);
	printf("refmta: listening on %s (%u workers, TLS backend %s)\n", bound, nworkers,
	       m.backend);
	fflush(stdout);
	if (cfg->queue_run_interval > 0) {
		daemon_runner_spawn(m.lfd, cfg, m.backend, &m.waitmask);
		alarm(cfg->queue_run_interval);
	}

	while (!got_term) {
		sigsuspend(&m.waitmask);
		master_reap(&m);
		if (got_usr1)
			master_grow(&m);
		if (got_alrm) {
			got_alrm = 0;
			if (m.cfg->queue_run_interval > 0) {
				daemon_runner_spawn(m.lfd, m.cfg, m.backend, &m.waitmask);
				alarm(m.cfg->queue_run_interval);
			}
		}
		if (got_hup)
			master_reload(&m);
	}
	master_drain(&m);
	log_write("refmta daemon stopped (SIGTERM)");
	tls_ctx_free(m.tls);
	config_free(m.old);
	config_free(m.cfg);
	munmap(slots, nslots * sizeof *slots);
	sigprocmask(SIG_SETMASK, &m.waitmask, NULL);
	return 0;
}
