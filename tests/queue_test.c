/*
 * queue_test.c - server/queue.c: one queue run over real spool files with a
 * frozen clock and test ids; every outcome checked as the exact main-log
 * line (docs/log.md), messages removed only when every recipient is done,
 * a locked message skipped, the queue listing, the spool cleaner, and
 * parallel runners (queue_run_max) delivering each message once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "queue.h"
#include "spool.h"
#include "strlist.h"

#define T_2026 ((time_t)1795310625)
#define L "2026-11-22 01:23:45 "
#define DATA "Received: from client.example by mx.example.test\r\nSubject: t\r\n\r\nhi\r\n"

struct fixture {
	char dir[64];
	char spool[128], mail[128], log[128];
	struct config cfg;
};

/* remote.test goes to a port where nothing listens (connection refused at
 * once, loopback only): a deferral without any network wait. */
static struct config_kv router_opts[] = {
	{ "driver", "manualroute", 2 },
	{ "domains", "remote.test", 3 },
	{ "route_list", "remote.test 127.0.0.1:1", 4 },
	{ "transport", "remote_smtp", 5 },
};
static struct config_kv transport_opts[] = {
	{ "driver", "smtp", 7 },
	{ "connect_timeout", "5s", 8 },
};
static struct config_block blocks[] = {
	{ "router", "remote", 1, router_opts, sizeof router_opts / sizeof router_opts[0] },
	{ "transport", "remote_smtp", 6, transport_opts,
	  sizeof transport_opts / sizeof transport_opts[0] },
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct err e = { 0 };

	assert_non_null(f);
	strcpy(f->dir, "/tmp/queue_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
	snprintf(f->mail, sizeof f->mail, "%s/mail", f->dir);
	snprintf(f->log, sizeof f->log, "%s/log/main.log", f->dir);
	f->cfg.spool_directory = f->spool;
	f->cfg.mailbox_directory = f->mail;
	f->cfg.mailbox_format = "maildir";
	f->cfg.primary_hostname = "mx.example.test";
	f->cfg.log_file = f->log;
	f->cfg.test_ids = 1;
	f->cfg.message_logs = 1; /* the default */
	f->cfg.test_clock_set = 1;
	f->cfg.test_clock = T_2026;
	f->cfg.file = "queue_test.conf";
	f->cfg.dir = f->dir;
	f->cfg.blocks = blocks;
	f->cfg.nblocks = sizeof blocks / sizeof blocks[0];
	assert_int_equal(strlist_push(&f->cfg.local_domains, "example.test"), 0);
	assert_int_equal(strlist_push(&f->cfg.local_domains, "other.test"), 0);
	assert_int_equal(spool_init(f->spool, &e), 0);
	assert_int_equal(log_open(f->log, &e), 0);
	spool_set_test_ids(1);
	clock_freeze(T_2026);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	log_close();
	spool_set_test_ids(0);
	clock_unfreeze();
	strlist_free(&f->cfg.local_domains);
	test_remove_tree(f->dir);
	free(f);
	return 0;
}

/* The main log so far, then emptied for the next step. */
static void
assert_log(const struct fixture *f, const char *want)
{
	char *got = test_slurp(f->log);

	assert_string_equal(got, want);
	free(got);
	assert_int_equal(truncate(f->log, 0), 0);
}

/* Receive a message as smtpd would: data, then commit with these rcpts. */
static void
submit(const struct fixture *f, const char *sender, const char *const *rcpts, size_t n,
       char *id_out)
{
	struct spool_rcpt r[8] = { 0 };
	struct envelope env = { 0 };
	struct err e = { 0 };
	struct spool_message *m = spool_message_begin(f->spool, &e);

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		r[i].address = (char *)rcpts[i];
	env.sender = (char *)sender;
	env.rcpts = r;
	env.nrcpts = n;
	assert_non_null(m);
	assert_int_equal(spool_message_write(m, DATA, strlen(DATA), &e), 0);
	assert_int_equal(spool_message_commit(m, &env, &e), 0);
	if (id_out != NULL)
		strcpy(id_out, env.id);
}

static int
count_files(const struct fixture *f, const char *sub)
{
	char path[256];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof path, "%s/%s", f->mail, sub);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static size_t
queued(const struct fixture *f, struct strlist *ids)
{
	struct err e = { 0 };

	strlist_free(ids);
	assert_int_equal(spool_list(f->spool, ids, &e), 0);
	return ids->n;
}

static void
test_local_and_remote_recipients(void **state)
{
	struct fixture *f = *state;
	static const char *const r1[] = { "joe@example.test", "bob@remote.test", "Ann@Other.TEST" };
	static const char *const r2[] = { "ann@EXAMPLE.TEST" };
	struct strlist ids = { 0 };
	struct envelope env;
	struct err e = { 0 };

	submit(f, "alice@client.example", r1, 3, NULL);
	submit(f, "", r2, 1, NULL);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, L "T-000001 => joe@example.test R=local_delivery T=maildir\n" L
	                "T-000001 H=127.0.0.1 [127.0.0.1]:1: Connection refused\n" L
	                "T-000001 == bob@remote.test R=remote T=remote_smtp defer (retry 1 at "
	                "2026-11-22 01:38:45): H=127.0.0.1 [127.0.0.1]:1: Connection refused\n" L
	                "T-000001 => Ann@Other.TEST R=local_delivery T=maildir\n" L
	                "T-000002 => ann@EXAMPLE.TEST R=local_delivery T=maildir\n" L
	                "T-000002 Completed\n");
	assert_int_equal(count_files(f, "joe/new"), 1);
	assert_int_equal(count_files(f, "ann/new"), 2); /* both to the lowercased "ann" */

	/* T-000002 is gone, T-000001 waits with two recipients done. */
	assert_int_equal(queued(f, &ids), 1);
	assert_string_equal(ids.v[0], "T-000001");
	assert_int_equal(spool_envelope_read(f->spool, "T-000001", &env, &e), 0);
	assert_int_equal(env.rcpts[0].done, 1);
	assert_int_equal(env.rcpts[1].done, 0);
	assert_int_equal(env.rcpts[2].done, 1);
	envelope_free(&env);

	/* A minute later: not yet due (retry_rule's first 15 minutes), nothing happens. */
	clock_freeze(T_2026 + 60);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, "");
	/* At the retry time: only the remote one again, nothing delivered twice. */
	clock_freeze(T_2026 + 900);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f,
	           "2026-11-22 01:38:45 T-000001 H=127.0.0.1 [127.0.0.1]:1: Connection refused\n"
	           "2026-11-22 01:38:45 T-000001 == bob@remote.test R=remote T=remote_smtp defer "
	           "(retry 2 at 2026-11-22 01:53:45): H=127.0.0.1 [127.0.0.1]:1: Connection "
	           "refused\n");
	assert_int_equal(count_files(f, "joe/new"), 1);
	strlist_free(&ids);
}

/* A permanent failure completes the message and bounces to the sender
 * (a local one here, so the bounce is delivered in the same run); a
 * bounce that fails is not bounced again (null sender). */
static void
test_permanent_failure_completes_message(void **state)
{
	struct fixture *f = *state;
	static const char *const r[] = { ".profile@example.test", "joe@example.test" };
	static const char *const r2[] = { "nobody@nowhere.test" };
	struct strlist ids = { 0 };
	struct err e = { 0 };
	char path[512], *got;
	DIR *d;
	struct dirent *de;

	submit(f, "alice@example.test", r, 2, NULL);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f,
	           L "T-000001 ** .profile@example.test R=local_delivery: local part starts "
	             "with \".\"\n" L "T-000001 => joe@example.test R=local_delivery T=maildir\n" L
	             "T-000002 <= <> R=T-000001 P=local S=1349 for alice@example.test\n" L
	             "T-000001 Completed\n" L
	             "T-000002 => alice@example.test R=local_delivery T=maildir\n" L
	             "T-000002 Completed\n");
	assert_int_equal(queued(f, &ids), 0);
	assert_int_equal(count_files(f, "alice/new"), 1);
	snprintf(path, sizeof path, "%s/alice/new", f->mail);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
		;
	assert_non_null(de);
	snprintf(path, sizeof path, "%s/alice/new/%s", f->mail, de->d_name);
	closedir(d);
	got = test_slurp(path);
	assert_non_null(strstr(got, "Return-Path: <>\n"));
	assert_non_null(strstr(got, "report-type=delivery-status"));
	assert_non_null(strstr(got, "Final-Recipient: rfc822;.profile@example.test\n"));
	assert_non_null(strstr(got, "Action: failed\n"));
	assert_null(strstr(got, "Final-Recipient: rfc822;joe@example.test")); /* delivered */
	free(got);

	/* From the null sender: the failure is final, and no bounce is made. */
	submit(f, "", r2, 1, NULL);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, L "T-000003 ** nobody@nowhere.test: Unrouteable address (5.4.4)\n" L
	                "T-000003 Completed\n");
	assert_int_equal(queued(f, &ids), 0);
	strlist_free(&ids);
}

/* The mailbox directory cannot be made: a temporary failure, with errno. */
static void
test_temporary_failure_defers(void **state)
{
	struct fixture *f = *state;
	static const char *const r[] = { "joe@example.test" };
	struct strlist ids = { 0 };
	struct envelope env;
	struct err e = { 0 };
	char plain[256], mail[256], want[1024];
	FILE *fp;

	snprintf(plain, sizeof plain, "%s/plain", f->dir);
	fp = fopen(plain, "wb");
	assert_non_null(fp);
	fclose(fp);
	snprintf(mail, sizeof mail, "%s/mail", plain);
	f->cfg.mailbox_directory = mail;
	submit(f, "alice@client.example", r, 1, NULL);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	snprintf(want, sizeof want,
	         L "T-000001 == joe@example.test R=local_delivery defer (retry 1 at 2026-11-22 "
	           "01:38:45): cannot create %s: Not a directory (errno %d)\n",
	         mail, ENOTDIR);
	assert_log(f, want);
	assert_int_equal(queued(f, &ids), 1);
	assert_int_equal(spool_envelope_read(f->spool, "T-000001", &env, &e), 0);
	assert_int_equal(env.rcpts[0].done, 0);
	envelope_free(&env);

	/* Fixed: the run at the retry time delivers and completes. */
	f->cfg.mailbox_directory = f->mail;
	clock_freeze(T_2026 + 900);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, "2026-11-22 01:38:45 T-000001 => joe@example.test R=local_delivery "
	              "T=maildir\n2026-11-22 01:38:45 T-000001 Completed\n");
	assert_int_equal(queued(f, &ids), 0);
	strlist_free(&ids);
}

static void
test_locked_message_skipped(void **state)
{
	struct fixture *f = *state;
	static const char *const r[] = { "joe@example.test" };
	struct strlist ids = { 0 };
	struct err e = { 0 };
	char path[256];
	int fd;

	submit(f, "alice@client.example", r, 1, NULL);
	submit(f, "alice@client.example", r, 1, NULL);
	/* Another runner holds T-000001 (its own open file description). */
	snprintf(path, sizeof path, "%s/input/T-000001-D", f->spool);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, L "T-000002 => joe@example.test R=local_delivery T=maildir\n" L
	                "T-000002 Completed\n");
	assert_int_equal(queued(f, &ids), 1);
	assert_int_equal(count_files(f, "joe/new"), 1);

	close(fd);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, L "T-000001 => joe@example.test R=local_delivery T=maildir\n" L
	                "T-000001 Completed\n");
	assert_int_equal(queued(f, &ids), 0);
	assert_int_equal(count_files(f, "joe/new"), 2);
	strlist_free(&ids);
}

static void
test_mbox_and_msglog(void **state)
{
	struct fixture *f = *state;
	static const char *const r[] = { "joe@example.test", "bob@remote.test" };
	struct err e = { 0 };
	char path[256], *got;

	f->cfg.mailbox_format = "mbox";
	submit(f, "alice@client.example", r, 2, NULL);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, L "T-000001 => joe@example.test R=local_delivery T=mbox\n" L
	                "T-000001 H=127.0.0.1 [127.0.0.1]:1: Connection refused\n" L
	                "T-000001 == bob@remote.test R=remote T=remote_smtp defer (retry 1 at "
	                "2026-11-22 01:38:45): H=127.0.0.1 [127.0.0.1]:1: Connection refused\n");
	snprintf(path, sizeof path, "%s/joe", f->mail);
	got = test_slurp(path);
	assert_memory_equal(got, "From alice@client.example Sun Nov 22 01:23:45 2026\n", 51);
	free(got);
	/* The per-message log holds the same lines without the id. */
	snprintf(path, sizeof path, "%s/msglog/T-000001", f->spool);
	got = test_slurp(path);
	assert_string_equal(got, L "=> joe@example.test R=local_delivery T=mbox\n" L
	                           "== bob@remote.test R=remote T=remote_smtp defer (retry 1 at "
	                           "2026-11-22 01:38:45): H=127.0.0.1 [127.0.0.1]:1: Connection "
	                           "refused\n");
	free(got);
}

/* message_logs = false: the main log has every line, no msglog/ID is made. */
static void
test_message_logs_false(void **state)
{
	struct fixture *f = *state;
	static const char *const r[] = { "joe@example.test", "bob@remote.test" };
	struct err e = { 0 };

	char path[256];

	f->cfg.message_logs = 0;
	submit(f, "alice@client.example", r, 2, NULL);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, L "T-000001 => joe@example.test R=local_delivery T=maildir\n" L
	                "T-000001 H=127.0.0.1 [127.0.0.1]:1: Connection refused\n" L
	                "T-000001 == bob@remote.test R=remote T=remote_smtp defer (retry 1 at "
	                "2026-11-22 01:38:45): H=127.0.0.1 [127.0.0.1]:1: Connection refused\n");
	/* The message stays (bob deferred): with message_logs it has a msglog. */
	snprintf(path, sizeof path, "%s/msglog/T-000001", f->spool);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_empty_queue_and_bad_format(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };

	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, "");
	f->cfg.mailbox_format = "mh";
	assert_int_equal(queue_run(&f->cfg, &e), -1);
	assert_string_equal(e.text, "mailbox_format \"mh\": expected maildir or mbox");
	f->cfg.mailbox_format = NULL; /* the default: maildir */
	f->cfg.spool_directory = "/nonexistent/spool";
	assert_int_equal(queue_run(&f->cfg, &e), -1);
	assert_int_equal(e.code, ENOENT);
}

/* A damaged envelope is reported and left alone; the others still run. */
static void
test_damaged_envelope_reported(void **state)
{
	struct fixture *f = *state;
	static const char *const r[] = { "joe@example.test" };
	struct err e = { 0 };
	char path[256], want[512];
	FILE *fp;

	submit(f, "alice@client.example", r, 1, NULL);
	submit(f, "alice@client.example", r, 1, NULL);
	snprintf(path, sizeof path, "%s/input/T-000001-H", f->spool);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("garbage\n", fp);
	fclose(fp);
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	snprintf(want, sizeof want,
	         L "T-000001 spool error: %s: not a version 1 or 2 envelope\n" L
	           "T-000002 => joe@example.test R=local_delivery T=maildir\n" L
	           "T-000002 Completed\n",
	         path);
	assert_log(f, want);
}

static void
test_queue_list(void **state)
{
	struct fixture *f = *state;
	static const char *const r1[] = { "joe@example.test", "bob@remote.test" };
	static const char *const r2[] = { "carol@remote.test" };
	struct err e = { 0 };
	char out[256], *got;
	int saved, fd;

	submit(f, "alice@client.example", r1, 2, NULL);
	assert_int_equal(queue_run(&f->cfg, &e), 0); /* joe done, bob waits */
	clock_freeze(T_2026 + 3 * 86400 - 2 * 3600);
	submit(f, "", r2, 1, NULL);
	clock_freeze(T_2026 + 3 * 86400);

	snprintf(out, sizeof out, "%s/list.out", f->dir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	close(fd);
	int rc = queue_list(&f->cfg, &e);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	assert_int_equal(rc, 0);
	got = test_slurp(out);
	assert_string_equal(got,
	                    "T-000001  3d  68  <alice@client.example>\n"
	                    "  D joe@example.test\n"
	                    "  bob@remote.test  (deferred 1 time, next try 2026-11-22 01:38:45: "
	                    "H=127.0.0.1 [127.0.0.1]:1: Connection refused)\n"
	                    "T-000002  2h  68  <>\n"
	                    "  carol@remote.test\n");
	free(got);
}

/* Make `sub/name` under the spool, last written `ago` seconds before the
 * frozen clock. */
static void
make_litter(const struct fixture *f, const char *sub, const char *name, time_t ago)
{
	char path[256];
	struct timespec ts[2] = { { .tv_sec = T_2026 - ago }, { .tv_sec = T_2026 - ago } };
	int fd;

	snprintf(path, sizeof path, "%s/%s/%s", f->spool, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int
spool_has(const struct fixture *f, const char *sub, const char *name)
{
	char path[256];

	snprintf(path, sizeof path, "%s/%s/%s", f->spool, sub, name);
	return access(path, F_OK) == 0;
}

/* The spool cleaner (docs/spool.md "Litter"): old litter removed and
 * logged before the messages are run; messages, young files and a live
 * process's tmp/ files kept. */
static void
test_spool_cleaner(void **state)
{
	struct fixture *f = *state;
	static const char *const r[] = { "joe@example.test" };
	struct err e = { 0 };
	char id[32], mine[64], name[64];

	submit(f, "alice@client.example", r, 1, id);
	snprintf(name, sizeof name, "%s-D", id);
	make_litter(f, "input", "T-000042-D", 2 * 86400);        /* orphan data: removed */
	make_litter(f, "input", "T-000043-D", 3600);             /* orphan, too young: kept */
	make_litter(f, "input", "T-000045-H", 2 * 86400);        /* a removal that died: removed */
	make_litter(f, "input", "T-000046-H", 3600);             /* the same, too young: kept */
	make_litter(f, "tmp", "4194305-1-D", 2 * 86400);         /* dead pid: removed */
	make_litter(f, "tmp", "T-000044-H.4194305", 86401 + 60); /* dead pid: removed */
	make_litter(f, "free", "T-000047", 2 * 86400);           /* a delivered file: removed */
	make_litter(f, "free", "T-000048", 3600);                /* the same, too young: kept */
	snprintf(mine, sizeof mine, "%ld-99-D", (long)getpid());
	make_litter(f, "tmp", mine, 2 * 86400); /* a live process's: kept */
	/* The real message's data is as old as the litter: its trailer (the
	 * one-file form, docs/spool.md) keeps it. */
	{
		char path[256];
		struct timespec ts[2] = { { .tv_sec = T_2026 - 2 * 86400 },
			                  { .tv_sec = T_2026 - 2 * 86400 } };
		snprintf(path, sizeof path, "%s/input/%s", f->spool, name);
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
	f->cfg.spool_cleanup_age = 86400;
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f,
	           L "spool cleaner: removed free/T-000047 (unchanged for over 86400s, no "
	             "message refers to it)\n" L
	             "spool cleaner: removed input/T-000042-D (unchanged for over 86400s, no "
	             "message refers to it)\n" L
	             "spool cleaner: removed input/T-000045-H (unchanged for over 86400s, no "
	             "message refers to it)\n" L
	             "spool cleaner: removed tmp/4194305-1-D (unchanged for over 86400s, no "
	             "message refers to it)\n" L
	             "spool cleaner: removed tmp/T-000044-H.4194305 (unchanged for over 86400s, no "
	             "message refers to it)\n" L "T-000001 => joe@example.test R=local_delivery "
	             "T=maildir\n" L "T-000001 Completed\n");
	assert_false(spool_has(f, "input", "T-000042-D"));
	assert_true(spool_has(f, "input", "T-000043-D"));
	assert_false(spool_has(f, "input", "T-000045-H"));
	assert_true(spool_has(f, "input", "T-000046-H"));
	assert_false(spool_has(f, "tmp", "4194305-1-D"));
	assert_false(spool_has(f, "free", "T-000047"));
	assert_true(spool_has(f, "free", "T-000048"));
	assert_true(spool_has(f, "free", id)); /* delivered: kept for reuse */
	assert_true(spool_has(f, "tmp", mine));
	assert_int_equal(count_files(f, "joe/new"), 1);

	/* A longer age keeps what is younger than it. */
	make_litter(f, "tmp", "4194305-2-D", 2 * 86400);
	f->cfg.spool_cleanup_age = 3 * 86400;
	assert_int_equal(queue_run(&f->cfg, &e), 0);
	assert_log(f, "");
	assert_true(spool_has(f, "tmp", "4194305-2-D"));
}

#define PAR_MSGS 120

/* queue_run_max (docs/config.md): two passes at once, each of three runner
 * processes, over one queue.  Every message is delivered exactly once (one
 * mailbox file, one "=>" and one "Completed" line per id), none is left:
 * the per-message lock and the unlinked-after-lock check (queue.c) keep a
 * runner off a message another holds or has just completed. */
static void
test_parallel_runners_deliver_once(void **state)
{
	struct fixture *f = *state;
	static const char *const r[] = { "joe@example.test" };
	static unsigned seen[PAR_MSGS + 1], done[PAR_MSGS + 1];
	struct strlist ids = { 0 };
	pid_t pids[2];
	char *log, *line, *save = NULL;

	for (int i = 0; i < PAR_MSGS; i++)
		submit(f, "alice@client.example", r, 1, NULL);
	for (int k = 0; k < 2; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			struct queue_run_opts o = { .parallel = 3 };
			struct err ce = { 0 };
			_exit(queue_run_with(&f->cfg, &o, &ce) == 0 ? 0 : 1);
		}
	}
	for (int k = 0; k < 2; k++) {
		int status;
		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(count_files(f, "joe/new"), PAR_MSGS);
	assert_int_equal(queued(f, &ids), 0);
	log = test_slurp(f->log);
	for (line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		unsigned n;
		char what[64];
		if (sscanf(line + strlen(L), "T-%6u %63s", &n, what) != 2 || n == 0 || n > PAR_MSGS)
			fail_msg("unexpected log line: %s", line);
		if (strcmp(what, "=>") == 0)
			seen[n]++;
		else if (strcmp(what, "Completed") == 0)
			done[n]++;
		else
			fail_msg("unexpected log line: %s", line);
	}
	for (int i = 1; i <= PAR_MSGS; i++)
		if (seen[i] != 1 || done[i] != 1)
			fail_msg("T-%06d delivered %u times, completed %u times", i, seen[i],
			         done[i]);
	free(log);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_local_and_remote_recipients),
		T(test_permanent_failure_completes_message),
		T(test_temporary_failure_defers),
		T(test_locked_message_skipped),
		T(test_mbox_and_msglog),
		T(test_message_logs_false),
		T(test_empty_queue_and_bad_format),
		T(test_spool_cleaner),
		T(test_damaged_envelope_reported),
		T(test_queue_list),
		T(test_parallel_runners_deliver_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
