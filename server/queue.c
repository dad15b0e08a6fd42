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
#include <unistd.h>

#include "clock.h"
#include "deliver_local.h"
#include "log.h"
#include "queue.h"
#include "spool.h"
#include "strlist.h"

#define QUEUE_ROUTER_LOCAL "local_delivery"

struct queue_ctx {
	const struct config *cfg;
	const char *spool_dir;
	const char *mailbox_dir;
	enum deliver_local_format format;
};

/* Append "YYYY-MM-DD HH:MM:SS TEXT\n" to msglog/ID in one write.  The
 * msglog is a convenience copy (the main log is the record), so a failure
 * here is not a delivery failure. */
static void
queue_msglog(const char *spool_dir, const char *id, const char *text)
{
	char stamp[32], *path = NULL, *line = NULL;
	int fd = -1, len;

	clock_format_log(clock_now(), stamp, sizeof stamp);
	if (asprintf(&path, "%s/msglog/%s", spool_dir, id) < 0) {
		path = NULL;
		goto out;
	}
	len = asprintf(&line, "%s %s\n", stamp, text);
	if (len < 0) {
		line = NULL;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		goto out;
	if (write(fd, line, (size_t)len) != len)
		goto out; /* advisory copy: the main log line stands */
out:
	if (fd >= 0)
		(void)close(fd);
	free(path);
	free(line);
}

/* "ID TEXT" to the main log, "TEXT" to the message's msglog. */
static void queue_log(const struct queue_ctx *q, const char *id, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
queue_log(const struct queue_ctx *q, const char *id, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	log_write("%s %s", id, text);
	queue_msglog(q->spool_dir, id, text);
}

/* Is the recipient's domain one of local_domains (case-insensitively)?
 * A bare local part ("postmaster", RFC 5321 4.5.1) is local. */
static int
queue_rcpt_is_local(const struct config *cfg, const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL)
		return 1;
	for (size_t i = 0; i < cfg->local_domains.n; i++)
		if (strcasecmp(at + 1, cfg->local_domains.v[i]) == 0)
			return 1;
	return 0;
}

/* Deliver one recipient; returns 1 when it reached a final outcome. */
static int
queue_deliver_local(const struct queue_ctx *q, const struct envelope *env, const char *data,
                    const struct spool_rcpt *r)
{
	struct err e = {0};
	struct deliver_local_request req = {
	        .mailbox_directory = q->mailbox_dir,
	        .format = q->format,
	        .data_path = data,
	        .sender = env->sender,
	        .rcpt = r->address,
	        .hostname = q->cfg->primary_hostname,
	        .deterministic = q->cfg->test_ids || q->cfg->test_clock_set,
	};

	switch (deliver_local(&req, &e)) {
	case DELIVER_LOCAL_OK:
		queue_log(q, env->id, "=> %s R=%s T=%s", r->address, QUEUE_ROUTER_LOCAL,
		          deliver_local_format_name(q->format));
		return 1;
	case DELIVER_LOCAL_FAIL:
		queue_log(q, env->id, "** %s R=%s: %s", r->address, QUEUE_ROUTER_LOCAL, e.text);
		return 1;
	case DELIVER_LOCAL_DEFER:
		break;
	}
	queue_log(q, env->id, "== %s R=%s defer (errno %d): %s", r->address, QUEUE_ROUTER_LOCAL,
	          e.code, e.text);
	return 0;
}

/* One message, under its lock.  Problems are logged; the run goes on. */
static void
queue_run_one(const struct queue_ctx *q, const char *id)
{
	struct envelope env = {0};
	struct err e = {0};
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
	/* Read under the lock, so it is the latest envelope. */
	if (spool_envelope_read(q->spool_dir, id, &env, &e) != 0) {
		if (e.code != ENOENT) /* removed between listing and locking */
			log_write("%s spool error: %s", id, e.text);
		goto out;
	}
	for (size_t i = 0; i < env.nrcpts; i++) {
		struct spool_rcpt *r = &env.rcpts[i];
		if (r->done)
			continue;
		if (!queue_rcpt_is_local(q->cfg, r->address)) {
			queue_log(q, id, "== %s defer: no remote delivery yet (delivery issue)",
			          r->address);
			pending++;
			continue;
		}
		if (queue_deliver_local(q, &env, data, r)) {
			r->done = 1; /* the delivery is durable: now it may say so */
			changed = 1;
		} else {
			pending++;
		}
	}
	if (changed && spool_envelope_rewrite(q->spool_dir, &env, &e) != 0) {
		/* The deliveries stand; the next run repeats them (duplicates, no loss). */
		log_write("%s spool error: %s", id, e.text);
		goto out;
	}
	if (pending == 0) {
		queue_log(q, id, "Completed");
		if (spool_message_remove(q->spool_dir, id, &e) != 0)
			log_write("%s spool error: %s", id, e.text);
	}
out:
	if (fd >= 0)
		(void)close(fd); /* releases the lock; nothing was written through it */
	envelope_free(&env);
	free(data);
}

static int
queue_ctx_init(struct queue_ctx *q, const struct config *cfg, struct err *e)
{
	q->cfg = cfg;
	q->spool_dir = cfg->spool_directory != NULL ? cfg->spool_directory : "spool";
	q->mailbox_dir = cfg->mailbox_directory != NULL ? cfg->mailbox_directory : "mail";
	if (deliver_local_format_parse(cfg->mailbox_format, &q->format) != 0) {
		err_set(e, EINVAL, "mailbox_format \"%s\": expected maildir or mbox",
		        cfg->mailbox_format);
		return -1;
	}
	return 0;
}

int
queue_run(const struct config *cfg, struct err *e)
{
	struct strlist ids = {0};
	struct queue_ctx q;

	if (queue_ctx_init(&q, cfg, e) != 0)
		return -1;
	if (spool_list(q.spool_dir, &ids, e) != 0)
		return -1;
	for (size_t i = 0; i < ids.n; i++)
		queue_run_one(&q, ids.v[i]);
	strlist_free(&ids);
	return 0;
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
	struct strlist ids = {0};
	struct queue_ctx q;
	time_t now = clock_now();
	int rc = -1;

	if (queue_ctx_init(&q, cfg, e) != 0)
		return -1;
	if (spool_list(q.spool_dir, &ids, e) != 0)
		return -1;
	for (size_t i = 0; i < ids.n; i++) {
		struct envelope env;
		struct err re = {0};
		char age[32];

		if (spool_envelope_read(q.spool_dir, ids.v[i], &env, &re) != 0) {
			if (re.code != ENOENT) /* ENOENT: delivered since the listing */
				printf("%s  (unreadable: %s)\n", ids.v[i], re.text);
			continue;
		}
		queue_format_age(now - env.received_at, age, sizeof age);
		printf("%s  %s  %" PRIu64 "  <%s>\n", env.id, age, env.size, env.sender);
		for (size_t k = 0; k < env.nrcpts; k++)
			printf("  %s%s\n", env.rcpts[k].done ? "D " : "", env.rcpts[k].address);
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
