/*
 * queue.c - one queue run, and the queue listing.
 *
 * For each message: take its lock, read the envelope, try each recipient
 * not yet done, record outcomes in the main log and msglog/ID, write the
 * envelope back, and remove the message once every recipient is done.
 *
 * The lock is flock(LOCK_EX|LOCK_NB) on input/ID-D, not -H: the envelope is
 * replaced by rename at every rewrite, so a lock on the -H inode would not
 * survive the first rewrite, while -D is never replaced (docs/spool.md).
 *
 * Each run starts with the spool recovery (complete messages a crash left
 * in tmp/, spool_file.c) and the spool cleaner (spool_clean.c): old litter
 * from crashes, never a message.
 *
 * Order, so that a crash loses nothing: deliver (fsync'ed in the mailbox)
 * -> mark done -> rewrite the envelope (fsync'ed) -> remove.  A crash in
 * between repeats a delivery; it never drops one.  Must never: mark a
 * recipient done before its delivery is durable, or touch a message
 * another runner holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "deliver.h"
#include "deliver_local.h"
#include "log.h"
#include "queue.h"
#include "spool.h"
#include "strlist.h"

struct queue_ctx {
	const struct config *cfg;
	const char *spool_dir;
	struct delivery_config dc;
	struct delivery_run run;
};

/* One message, under its lock.  Problems are logged; the run goes on. */
static void
queue_run_one(struct queue_ctx *q, const char *id)
{
	struct envelope env = { 0 };
	struct err e = { 0 };
	struct stat st, named;
	char *data = NULL;
	int fd = -1, changed = 0, pending = 0;

	if (asprintf(&data, "%s/input/%s-D", q->spool_dir, id) < 0) {
		data = NULL;
		log_write("%s spool error: out of memory", id);
		goto out;
	}
	fd = open(data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) /* ENOENT: another runner just finished it */
			log_write("%s spool error: cannot open %s: %s", id, data, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) /* EWOULDBLOCK: another runner has it */
			log_write("%s spool error: cannot lock %s: %s", id, data, strerror(errno));
		goto out;
	}
	/* Another runner may have completed and removed the message between our
	 * open and our lock: the -D we hold is then unlinked, or in free/ or
	 * already written over by a new message (spool_free.c), and input/ID-D
	 * no longer names it.  It must not go again. */
	if (fstat(fd, &st) != 0 || stat(data, &named) != 0 || named.st_ino != st.st_ino ||
	    named.st_dev != st.st_dev)
		goto out;
	/* Read under the lock, so it is the latest envelope. */
	if (spool_envelope_read(q->spool_dir, id, &env, &e) != 0) {
		if (e.code != ENOENT) /* removed between listing and locking */
			log_write("%s spool error: %s", id, e.text);
		goto out;
	}
	changed = deliver_message(&q->run, &env, data);
	for (size_t i = 0; i < env.nrcpts; i++)
		pending += !env.rcpts[i].done;
	/* Every recipient done: the message goes at once, without first
	 * rewriting its envelope to say so (one fsync and a rename fewer per
	 * message, docs/bench.md "fsync").  A crash before the removal is
	 * durable repeats the deliveries, as a crash before the rewrite did;
	 * a removal that fails falls back to the rewrite, so that the next
	 * run only removes the message (docs/spool.md). */
	if (pending == 0) {
		deliver_log(q->cfg->message_logs ? q->spool_dir : NULL, id, "Completed");
		if (spool_message_remove(q->spool_dir, id, &e) == 0)
			goto out;
		log_write("%s spool error: %s", id, e.text);
		e = (struct err){ 0 };
	}
	if (changed && spool_envelope_rewrite(q->spool_dir, &env, &e) != 0)
		/* The deliveries stand; the next run repeats them (duplicates, no loss). */
		log_write("%s spool error: %s", id, e.text);
out:
	if (fd >= 0)
		(void)close(fd); /* releases the lock; nothing was written through it */
	envelope_free(&env);
	free(data);
}

/* The spool cleaner, once per run: litter a crash left (docs/spool.md
 * "Litter"), removed and logged.  A failure is logged; the run goes on. */
static void
queue_clean(struct queue_ctx *q)
{
	struct strlist removed = { 0 }, failed = { 0 };
	struct err e = { 0 };
	unsigned age = q->cfg->spool_cleanup_age ? q->cfg->spool_cleanup_age : 24 * 3600;

	/* Recovery first: a complete message a crash left in tmp/ is mail. */
	if (spool_recover(q->spool_dir, &removed, &failed, &e) != 0)
		log_write("spool recovery: %s", e.text);
	for (size_t i = 0; i < removed.n; i++)
		log_write("spool recovery: %s (complete and fsync'ed; its rename into input/ was "
		          "lost)",
		          removed.v[i]);
	for (size_t i = 0; i < failed.n; i++)
		log_write("spool recovery: %s", failed.v[i]);
	strlist_free(&removed);
	strlist_free(&failed);
	e = (struct err){ 0 };
	if (spool_clean(q->spool_dir, clock_now(), age, &removed, &failed, &e) != 0)
		log_write("spool cleaner: %s", e.text);
	for (size_t i = 0; i < removed.n; i++)
		log_write("spool cleaner: removed %s (unchanged for over %us, no message refers to "
		          "it)",
		          removed.v[i], age);
	for (size_t i = 0; i < failed.n; i++)
		log_write("spool cleaner: %s", failed.v[i]);
	strlist_free(&removed);
	strlist_free(&failed);
}

static int
queue_ctx_init(struct queue_ctx *q, const struct config *cfg, struct err *e)
{
	enum deliver_local_format format;

	memset(q, 0, sizeof *q);
	q->cfg = cfg;
	q->spool_dir = cfg->spool_directory != NULL ? cfg->spool_directory : "spool";
	if (deliver_local_format_parse(cfg->mailbox_format, &format) != 0) {
		err_set(e, EINVAL, "mailbox_format \"%s\": expected maildir or mbox",
		        cfg->mailbox_format);
		return -1;
	}
	return 0;
}

static int
queue_stopped(const struct queue_run_opts *opts)
{
	return opts != NULL && opts->stop != NULL && *opts->stop;
}

/* One share of a pass: every listed message, starting at `first` and
 * wrapping round (so that parallel runners start apart and meet only at
 * the end), then the bounces this share made (they cannot bounce again:
 * their sender is the null sender).  A message another runner holds is
 * skipped at its lock (queue_run_one). */
static void
queue_run_share(struct queue_ctx *q, const struct strlist *ids, size_t first,
                const struct queue_run_opts *opts)
{
	for (size_t k = 0; k < ids->n && !queue_stopped(opts); k++)
		queue_run_one(q, ids->v[(first + k) % ids->n]);
	for (size_t i = 0; i < q->run.bounces.n && !queue_stopped(opts); i++)
		queue_run_one(q, q->run.bounces.v[i]);
}

/* queue_run_max runners over one listing (docs/config.md "queue_run_max"):
 * `n` child processes, each its own delivery run (connections, caches),
 * the i-th starting i/n of the way down the list.  No message goes twice:
 * each is delivered under its lock, and a runner that gets the lock after
 * another removed the message sees it unlinked (queue_run_one).  Returns
 * when every child has ended; -1 when one failed to start its run. */
static int
queue_run_parallel(struct queue_ctx *q, const struct queue_run_opts *opts,
                   const struct strlist *ids, unsigned n, struct err *e)
{
	pid_t pids[QUEUE_RUN_MAX_LIMIT];
	unsigned started = 0, failed = 0;

	for (unsigned i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			log_write("queue runner: fork failed: %s", strerror(errno));
			break;
		}
		if (pid == 0) {
			struct err ce = { 0 };
			int ok = delivery_run_init(&q->run, q->cfg, &q->dc, opts->backend,
			                           opts->force, &ce) == 0;
			if (ok)
				queue_run_share(q, ids, ids->n * i / n, opts);
			else
				log_write("queue runner: %s", ce.text);
			delivery_run_end(&q->run);
			_exit(ok ? 0 : 1);
		}
		pids[started++] = pid;
	}
	if (started == 0) { /* no child at all: this process does the pass */
		if (delivery_run_init(&q->run, q->cfg, &q->dc, opts->backend, opts->force, e) !=
		    0) {
			delivery_run_end(&q->run);
			return -1;
		}
		queue_run_share(q, ids, 0, opts);
		delivery_run_end(&q->run);
		return 0;
	}
	for (unsigned i = 0; i < started; i++) {
		int status;
		while (waitpid(pids[i], &status, 0) < 0)
			if (errno != EINTR) {
				status = -1;
				break;
			}
		failed += !(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (failed > 0) {
		err_set(e, EIO, "%u of %u queue runners failed (see the log)", failed, started);
		return -1;
	}
	return 0;
}

int
queue_run_with(const struct config *cfg, const struct queue_run_opts *opts, struct err *e)
{
	static const struct queue_run_opts defaults = { 0 };
	struct strlist ids = { 0 };
	struct queue_ctx q;
	unsigned n;
	int rc = -1;

	if (opts == NULL)
		opts = &defaults;
	if (queue_ctx_init(&q, cfg, e) != 0)
		return -1;
	if (delivery_config_load(cfg, &q.dc, e) != 0)
		return -1;
	n = opts->parallel > 1 ? opts->parallel : 1;
	if (n > QUEUE_RUN_MAX_LIMIT)
		n = QUEUE_RUN_MAX_LIMIT;
	if (n == 1 && delivery_run_init(&q.run, cfg, &q.dc, opts->backend, opts->force, e) != 0)
		goto out;
	/* Recovery and cleaning once per pass, before any runner starts. */
	queue_clean(&q);
	if (spool_list(q.spool_dir, &ids, e) != 0)
		goto out;
	if (n > 1) {
		rc = queue_run_parallel(&q, opts, &ids, n < ids.n ? n : (unsigned)ids.n, e);
		goto out_parallel;
	}
	queue_run_share(&q, &ids, 0, opts);
	rc = 0;
out:
	if (n == 1)
		delivery_run_end(&q.run);
out_parallel:
	delivery_config_free(&q.dc);
	strlist_free(&ids);
	return rc;
}

int
queue_run(const struct config *cfg, struct err *e)
{
	return queue_run_with(cfg, NULL, e);
}

/* Exim's mailq style: minutes up to an hour, hours up to two days, then days. */
static void
queue_format_age(time_t age, char *buf, size_t len)
{
	if (age < 0)
		age = 0;
	if (age < 3600)
		snprintf(buf, len, "%lldm", (long long)(age / 60));
	else if (age < 48 * 3600)
		snprintf(buf, len, "%lldh", (long long)(age / 3600));
	else
		snprintf(buf, len, "%lldd", (long long)(age / 86400));
}

int
queue_list(const struct config *cfg, struct err *e)
{
	struct strlist ids = { 0 };
	struct queue_ctx q;
	time_t now = clock_now();
	int rc = -1;

	if (queue_ctx_init(&q, cfg, e) != 0)
		return -1;
	if (spool_list(q.spool_dir, &ids, e) != 0)
		return -1;
	for (size_t i = 0; i < ids.n; i++) {
		struct envelope env;
		struct err re = { 0 };
		char age[32];

		if (spool_envelope_read(q.spool_dir, ids.v[i], &env, &re) != 0) {
			if (re.code != ENOENT) /* ENOENT: delivered since the listing */
				printf("%s  (unreadable: %s)\n", ids.v[i], re.text);
			continue;
		}
		queue_format_age(now - env.received_at, age, sizeof age);
		printf("%s  %s  %" PRIu64 "  <%s>\n", env.id, age, env.size, env.sender);
		for (size_t k = 0; k < env.nrcpts; k++) {
			const struct spool_rcpt *r = &env.rcpts[k];
			char when[32];
			if (r->done || r->retry.tries == 0) {
				printf("  %s%s\n", r->done ? "D " : "", r->address);
				continue;
			}
			clock_format_log(r->retry.next_try, when, sizeof when);
			printf("  %s  (deferred %u time%s, next try %s: %s)\n", r->address,
			       r->retry.tries, r->retry.tries == 1 ? "" : "s", when,
			       r->last_error ? r->last_error : "");
		}
		envelope_free(&env);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		err_set(e, errno, "cannot write the listing: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	strlist_free(&ids);
	return rc;
}
