/*
 * deliver_test.c - server/deliver.c: one delivery attempt for one message,
 * over real spool files with a frozen clock and test ids.  Recipients
 * grouped by transport and by host list (one connection per group), each
 * outcome as its exact main-log line, the retry state a deferral leaves,
 * a deferral past the retry schedule turned into a failure, and the bounce
 * and success report spooled as new messages.  No network: remote hosts
 * are loopback ports where nothing listens.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "deliver.h"
#include "dsn.h"
#include "log.h"
#include "spool.h"
#include "strlist.h"

#define T_2026 ((time_t)1795310625)
#define L "2026-11-22 01:23:45 "
#define DATA "Received: from client.example by mx.example.test\r\nSubject: t\r\n\r\nhi\r\n"

struct fixture {
	char dir[64];
	char spool[128], mail[128], log[128], qa[128], qb[128];
	struct config_kv to_a[2], to_b[2];
	struct config_block blocks[7];
	struct config cfg;
	struct delivery_config dc;
	struct delivery_run run;
};

static struct config_kv router_qa[] = { { "driver", "accept", 2 },
	                                { "domains", "qa.test", 3 },
	                                { "transport", "to_a", 4 } };
static struct config_kv router_qb[] = { { "driver", "accept", 6 },
	                                { "domains", "qb.test", 7 },
	                                { "transport", "to_b", 8 } };
/* one.test and two.test share a host; three.test has another. */
static struct config_kv router_near[] = {
	{ "driver", "manualroute", 10 },
	{ "domains", "one.test : two.test", 11 },
	{ "route_list", "one.test 127.0.0.1:1 ; two.test 127.0.0.1:1", 12 },
	{ "transport", "remote", 13 },
};
static struct config_kv router_far[] = {
	{ "driver", "manualroute", 15 },
	{ "domains", "three.test", 16 },
	{ "route_list", "three.test 127.0.0.1:2", 17 },
	{ "transport", "remote", 18 },
};
static struct config_kv transport_remote[] = { { "driver", "smtp", 20 },
	                                       { "connect_timeout", "5s", 21 } };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct err e = { 0 };

	assert_non_null(f);
	strcpy(f->dir, "/tmp/deliver_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
	snprintf(f->mail, sizeof f->mail, "%s/mail", f->dir);
	snprintf(f->log, sizeof f->log, "%s/main.log", f->dir);
	snprintf(f->qa, sizeof f->qa, "%s/qa", f->dir);
	snprintf(f->qb, sizeof f->qb, "%s/qb", f->dir);
	assert_int_equal(mkdir(f->qa, 0700), 0);
	assert_int_equal(mkdir(f->qb, 0700), 0);
	f->to_a[0] = (struct config_kv){ "driver", "queuefile", 23 };
	f->to_a[1] = (struct config_kv){ "directory", f->qa, 24 };
	f->to_b[0] = (struct config_kv){ "driver", "queuefile", 26 };
	f->to_b[1] = (struct config_kv){ "directory", f->qb, 27 };
	f->blocks[0] = (struct config_block){ "router", "qa", 1, router_qa, N(router_qa) };
	f->blocks[1] = (struct config_block){ "router", "qb", 5, router_qb, N(router_qb) };
	f->blocks[2] = (struct config_block){ "router", "near", 9, router_near, N(router_near) };
	f->blocks[3] = (struct config_block){ "router", "far", 14, router_far, N(router_far) };
	f->blocks[4] = (struct config_block){ "transport", "remote", 19, transport_remote,
		                              N(transport_remote) };
	f->blocks[5] = (struct config_block){ "transport", "to_a", 22, f->to_a, 2 };
	f->blocks[6] = (struct config_block){ "transport", "to_b", 25, f->to_b, 2 };
	f->cfg.spool_directory = f->spool;
	f->cfg.mailbox_directory = f->mail;
	f->cfg.mailbox_format = "maildir";
	f->cfg.primary_hostname = "mx.example.test";
	f->cfg.log_file = f->log;
	f->cfg.test_ids = 1;
	f->cfg.test_clock_set = 1;
	f->cfg.test_clock = T_2026;
	f->cfg.file = "deliver_test.conf";
	f->cfg.dir = f->dir;
	f->cfg.blocks = f->blocks;
	f->cfg.nblocks = N(f->blocks);
	assert_int_equal(strlist_push(&f->cfg.local_domains, "example.test"), 0);
	assert_int_equal(spool_init(f->spool, &e), 0);
	assert_int_equal(log_open(f->log, &e), 0);
	spool_set_test_ids(1);
	clock_freeze(T_2026);
	if (delivery_config_load(&f->cfg, &f->dc, &e) != 0)
		fail_msg("delivery_config_load: %s", e.text);
	assert_int_equal(delivery_run_init(&f->run, &f->cfg, &f->dc, "openssl", 0, &e), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	delivery_run_end(&f->run);
	delivery_config_free(&f->dc);
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

/* Spool a message as smtpd would and read its envelope back (env, data path). */
static void
submit(const struct fixture *f, const char *sender, const char *const *rcpts, size_t n,
       unsigned notify, struct envelope *env, char *data_path, size_t len)
{
	struct spool_rcpt r[8] = { 0 };
	struct envelope in = { 0 };
	struct err e = { 0 };
	struct spool_message *m = spool_message_begin(f->spool, &e);

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		r[i].address = (char *)rcpts[i];
		r[i].notify = notify;
	}
	in.sender = (char *)sender;
	in.rcpts = r;
	in.nrcpts = n;
	assert_non_null(m);
	assert_int_equal(spool_message_write(m, DATA, strlen(DATA), &e), 0);
	assert_int_equal(spool_message_commit(m, &in, &e), 0);
	assert_int_equal(spool_envelope_read(f->spool, in.id, env, &e), 0);
	snprintf(data_path, len, "%s/input/%s-D", f->spool, in.id);
}

static void
test_group_by_transport(void **state)
{
	struct fixture *f = *state;
	static const char *const rcpts[] = { "a1@qa.test", "b1@qb.test", "a2@qa.test" };
	struct envelope env;
	char data[256], path[256];
	struct stat st;

	submit(f, "alice@client.example", rcpts, 3, 0, &env, data, sizeof data);
	assert_int_equal(deliver_message(&f->run, &env, data), 1);
	/* a2 goes with a1 (one copy for to_a), before b1. */
	assert_log(f, L "T-000001 => a1@qa.test R=qa T=to_a\n" L
	                "T-000001 => a2@qa.test R=qa T=to_a\n" L
	                "T-000001 => b1@qb.test R=qb T=to_b\n");
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(env.rcpts[i].done, 1);
	snprintf(path, sizeof path, "%s/T-000001-H", f->qa);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof path, "%s/T-000001-H", f->qb);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(f->run.bounces.n, 0);
	envelope_free(&env);
}

static void
test_group_by_hosts_and_retry_state(void **state)
{
	struct fixture *f = *state;
	static const char *const rcpts[] = { "x@one.test", "z@three.test", "y@two.test" };
	struct envelope env;
	char data[256];

	submit(f, "alice@client.example", rcpts, 3, 0, &env, data, sizeof data);
	assert_int_equal(deliver_message(&f->run, &env, data), 1);
	/* One attempt for the host x and y share, one for z's. */
	assert_log(f, L "T-000001 H=127.0.0.1 [127.0.0.1]:1: Connection refused\n" L
	                "T-000001 == x@one.test R=near T=remote defer (retry 1 at 2026-11-22 "
	                "01:38:45): H=127.0.0.1 [127.0.0.1]:1: Connection refused\n" L
	                "T-000001 == y@two.test R=near T=remote defer (retry 1 at 2026-11-22 "
	                "01:38:45): H=127.0.0.1 [127.0.0.1]:1: Connection refused\n" L
	                "T-000001 H=127.0.0.1 [127.0.0.1]:2: Connection refused\n" L
	                "T-000001 == z@three.test R=far T=remote defer (retry 1 at 2026-11-22 "
	                "01:38:45): H=127.0.0.1 [127.0.0.1]:2: Connection refused\n");
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(env.rcpts[i].done, 0);
		assert_int_equal(env.rcpts[i].retry.tries, 1);
		assert_int_equal(env.rcpts[i].retry.next_try, T_2026 + 15 * 60);
		assert_non_null(strstr(env.rcpts[i].last_error, "Connection refused"));
	}
	/* Not due yet: nothing is tried, nothing changes. */
	assert_int_equal(deliver_message(&f->run, &env, data), 0);
	assert_log(f, "");
	envelope_free(&env);
}

static void
test_retry_exceeded_bounces(void **state)
{
	struct fixture *f = *state;
	static const char *const rcpts[] = { "x@one.test" };
	struct envelope env, bounce;
	struct err e = { 0 };
	char data[256], *log;

	submit(f, "alice@client.example", rcpts, 1, 0, &env, data, sizeof data);
	assert_int_equal(deliver_message(&f->run, &env, data), 1);
	assert_int_equal(truncate(f->log, 0), 0);
	/* Five days on, past the default schedule's 4d: the deferral fails. */
	clock_freeze(T_2026 + 5 * 86400);
	assert_int_equal(deliver_message(&f->run, &env, data), 1);
	assert_int_equal(env.rcpts[0].done, 1);
	log = test_slurp(f->log);
	assert_non_null(strstr(log, "T-000001 ** x@one.test R=near T=remote: retry time exceeded; "
	                            "last error: H=127.0.0.1 [127.0.0.1]:1: Connection refused\n"));
	assert_non_null(strstr(log, "T-000002 <= <> R=T-000001 P=local S="));
	free(log);
	assert_int_equal(f->run.bounces.n, 1);
	assert_string_equal(f->run.bounces.v[0], "T-000002");
	assert_int_equal(spool_envelope_read(f->spool, "T-000002", &bounce, &e), 0);
	assert_string_equal(bounce.sender, "");
	assert_int_equal(bounce.nrcpts, 1);
	assert_string_equal(bounce.rcpts[0].address, "alice@client.example");
	envelope_free(&bounce);
	envelope_free(&env);
}

static void
test_unrouteable_fails_and_bounces(void **state)
{
	struct fixture *f = *state;
	static const char *const rcpts[] = { "nobody@nowhere.test", "joe@example.test" };
	struct envelope env;
	char data[256], *text;

	submit(f, "alice@client.example", rcpts, 2, 0, &env, data, sizeof data);
	assert_int_equal(deliver_message(&f->run, &env, data), 1);
	assert_log(f, L "T-000001 ** nobody@nowhere.test: Unrouteable address (5.4.4)\n" L
	                "T-000001 => joe@example.test R=local_delivery T=maildir\n" L
	                "T-000002 <= <> R=T-000001 P=local S=1340 for alice@client.example\n");
	assert_int_equal(env.rcpts[0].done, 1);
	assert_int_equal(env.rcpts[1].done, 1);
	assert_int_equal(f->run.bounces.n, 1);
	/* The bounce reports the failed recipient only (RFC 3464). */
	snprintf(data, sizeof data, "%s/input/T-000002-D", f->spool);
	text = test_slurp(data);
	assert_non_null(text);
	assert_non_null(strstr(text, "Final-Recipient: rfc822;nobody@nowhere.test\r\n"));
	assert_non_null(strstr(text, "Action: failed\r\nStatus: 5.4.4\r\n"));
	assert_null(strstr(text, "joe@example.test"));
	free(text);
	envelope_free(&env);
}

static void
test_null_sender_never_bounced(void **state)
{
	struct fixture *f = *state;
	static const char *const rcpts[] = { "nobody@nowhere.test" };
	struct envelope env;
	char data[256];

	submit(f, "", rcpts, 1, 0, &env, data, sizeof data);
	assert_int_equal(deliver_message(&f->run, &env, data), 1);
	assert_log(f, L "T-000001 ** nobody@nowhere.test: Unrouteable address (5.4.4)\n");
	assert_int_equal(f->run.bounces.n, 0);
	envelope_free(&env);
}

static void
test_success_report(void **state)
{
	struct fixture *f = *state;
	static const char *const rcpts[] = { "joe@example.test" };
	struct envelope env;
	char data[256], *log;

	submit(f, "alice@client.example", rcpts, 1, DSN_NOTIFY_SUCCESS, &env, data, sizeof data);
	assert_int_equal(deliver_message(&f->run, &env, data), 1);
	log = test_slurp(f->log);
	assert_non_null(strstr(log, "T-000001 => joe@example.test R=local_delivery T=maildir\n"));
	assert_non_null(strstr(log, "T-000002 <= <> R=T-000001 P=local"));
	free(log);
	assert_int_equal(f->run.bounces.n, 1);
	envelope_free(&env);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group_by_transport, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_by_hosts_and_retry_state, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_retry_exceeded_bounces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrouteable_fails_and_bounces, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_null_sender_never_bounced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_success_report, setup, teardown),
	};

	return cmocka_run_group_tests_name("deliver", tests, NULL, NULL);
}
