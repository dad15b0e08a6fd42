/*
 * spool_test.c - server/spool.c: begin/write/commit/abort, the envelope
 * file format (exact text, round trip with hostile values, rejection of
 * damaged files), message ids (test counter across processes, real
 * format), a commit that fails midway, listing and removal; the one-file
 * form (trailer, CRC, data length), the two-file form, recovery; the free
 * list (spool_free.c: reuse, links never written through, bounds).
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "spool.h"
#include "strlist.h"

#define T_2026 ((time_t)1795310625)

struct fixture {
	char dir[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct err e = { 0 };

	assert_non_null(f);
	strcpy(f->dir, "/tmp/spool_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(spool_init(f->dir, &e), 0);
	spool_set_test_ids(1);
	clock_freeze(T_2026);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	spool_set_test_ids(0);
	clock_unfreeze();
	test_remove_tree(f->dir);
	free(f);
	return 0;
}

/* Names in DIR/sub, sorted, joined with " " (empty string for none). */
static void
ls(const struct fixture *f, const char *sub, char *out, size_t len)
{
	char path[256];
	struct dirent **names;
	int n;

	snprintf(path, sizeof path, "%s/%s", f->dir, sub);
	n = scandir(path, &names, NULL, alphasort);
	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			if (out[0] != '\0')
				strncat(out, " ", len - strlen(out) - 1);
			strncat(out, names[i]->d_name, len - strlen(out) - 1);
		}
		free(names[i]);
	}
	free(names);
}

/* A plain one-recipient envelope (strings borrowed; not for envelope_free). */
static struct envelope
simple_env(struct spool_rcpt *r)
{
	struct envelope env = { 0 };

	*r = (struct spool_rcpt){ .address = "joe@example.test" };
	env.sender = "sender@example.org";
	env.rcpts = r;
	env.nrcpts = 1;
	return env;
}

static int
submit(const struct fixture *f, const char *data, struct envelope *env, struct err *e)
{
	struct spool_message *m = spool_message_begin(f->dir, e);

	if (m == NULL)
		return -1;
	if (spool_message_write(m, data, strlen(data), e) != 0) {
		spool_message_abort(m);
		return -1;
	}
	return spool_message_commit(m, env, e);
}

static void
test_init_creates_directories(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char names[256], deep[128];
	struct stat st;

	ls(f, "", names, sizeof names);
	assert_string_equal(names, "free input msglog tmp");
	snprintf(deep, sizeof deep, "%s/a/b/c", f->dir);
	assert_int_equal(spool_init(deep, &e), 0);
	assert_int_equal(spool_init(deep, &e), 0); /* again: fine */
	snprintf(deep, sizeof deep, "%s/a/b/c/input", f->dir);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void
test_commit_makes_data_and_envelope(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r);
	struct spool_message *m;
	char names[256], path[256], *got;

	m = spool_message_begin(f->dir, &e);
	assert_non_null(m);
	assert_int_equal(spool_message_write(m, "Received: x\r\n", 13, &e), 0);
	assert_int_equal(spool_message_write(m, "\r\nbody\r\n", 8, &e), 0);
	ls(f, "tmp", names, sizeof names);
	snprintf(path, sizeof path, "%ld-", (long)getpid());
	assert_memory_equal(names, path, strlen(path));
	assert_string_equal(names + strlen(names) - 2, "-D");
	ls(f, "input", names, sizeof names);
	assert_string_equal(names, "");

	assert_int_equal(spool_message_commit(m, &env, &e), 0);
	assert_string_equal(env.id, "T-000001");
	assert_int_equal(env.size, 21);
	assert_int_equal(env.received_at, T_2026);
	/* One file: the data, the envelope at receipt, the trailer. */
	ls(f, "input", names, sizeof names);
	assert_string_equal(names, "T-000001-D");
	ls(f, "tmp", names, sizeof names);
	assert_string_equal(names, "");
	snprintf(path, sizeof path, "%s/input/T-000001-D", f->dir);
	got = test_slurp(path);
	{
		static const char data[] = "Received: x\r\n\r\nbody\r\n";
		static const char envtext[] = "refmta-envelope 2\n"
		                              "id T-000001\n"
		                              "sender sender@example.org\n"
		                              "size 21\n"
		                              "received-at 1795310625\n"
		                              "host-port 0\n"
		                              "rcpt joe@example.test\n"
		                              "end\n";
		char want[512], trailer[SPOOL_TRAILER_LEN + 1];
		uint32_t crc = spool_crc32(spool_crc32(0, data, 21), envtext, strlen(envtext));
		snprintf(trailer, sizeof trailer, "refmta-trailer %020d %010zu %08x\n", 21,
		         strlen(envtext), (unsigned)crc);
		snprintf(want, sizeof want, "%s%s%s", data, envtext, trailer);
		assert_string_equal(got, want);
		assert_int_equal(strlen(trailer), SPOOL_TRAILER_LEN);
	}
	free(got);
	{
		uint64_t len = 0;
		int fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(spool_data_length(fd, &len, &e), 0);
		assert_int_equal(len, 21);
		close(fd);
	}
}

/* CRC-32 as zlib's (the check value of the standard), in pieces too. */
static void
test_crc32(void **state)
{
	(void)state;
	assert_int_equal(spool_crc32(0, "123456789", 9), 0xCBF43926u);
	assert_int_equal(spool_crc32(spool_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
	assert_int_equal(spool_crc32(0, "", 0), 0);
}

/* The file format itself (docs/spool.md), pinned byte for byte. */
static void
test_envelope_file_text(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r[2] = { { .address = "a b@example.test",
		                     .orcpt = "rfc822;a+2Bb@example.test",
		                     .notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE },
		                   { .address = "c@example.test", .done = 1 } };
	struct envelope env = { 0 };
	char path[256], *got;

	env.sender = "";
	env.rcpts = r;
	env.nrcpts = 2;
	env.ret = DSN_RET_HDRS;
	env.envid = "QQ 1+1=2";
	env.body = "8BITMIME";
	env.helo = "client.example\r\n";
	env.host_address = "192.0.2.1";
	env.host_port = 4242;
	env.protocol = "esmtps";
	env.tls_version = "TLS1.3";
	env.tls_cipher = "TLS_AES_256_GCM_SHA384";
	env.received_at = 1000;
	assert_int_equal(submit(f, "x\r\n", &env, &e), 0);
	/* At receipt the envelope sits after the 3 data octets, before the
	 * trailer (docs/spool.md "The message file"). */
	snprintf(path, sizeof path, "%s/input/T-000001-D", f->dir);
	got = test_slurp(path);
	assert_memory_equal(got, "x\r\n", 3);
	assert_memory_equal(got + strlen(got) - SPOOL_TRAILER_LEN, "refmta-trailer ", 15);
	got[strlen(got) - SPOOL_TRAILER_LEN] = '\0';
	assert_string_equal(got + 3, "refmta-envelope 2\n"
	                             "id T-000001\n"
	                             "sender \n"
	                             "size 3\n"
	                             "received-at 1000\n"
	                             "ret HDRS\n"
	                             "envid QQ+201+2B1+3D2\n"
	                             "body 8BITMIME\n"
	                             "helo client.example+0D+0A\n"
	                             "host-address 192.0.2.1\n"
	                             "host-port 4242\n"
	                             "protocol esmtps\n"
	                             "tls-version TLS1.3\n"
	                             "tls-cipher TLS_AES_256_GCM_SHA384\n"
	                             "rcpt a+20b@example.test\n"
	                             "orcpt rfc822;a+2B2Bb@example.test\n"
	                             "notify SUCCESS,FAILURE\n"
	                             "rcpt c@example.test\n"
	                             "done 1\n"
	                             "end\n");
	free(got);
}

static void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

/* Every byte 1..255 in every string field survives a write and a read. */
static void
test_envelope_roundtrip_nasty_values(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char all[256], evil[] = "x\r\nend\nrcpt root@localhost\n+=% \t\"<>\\ \x80\xff";
	struct spool_rcpt r[3] = {
		{ .address = all, .orcpt = evil, .notify = DSN_NOTIFY_NEVER },
		{ .address = "",
		  .orcpt = "",
		  .notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY,
		  .done = 1 },
		{ .address = "\"quoted local\"@example.test" },
	};
	struct envelope in = { 0 }, out;

	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	in.sender = evil;
	in.rcpts = r;
	in.nrcpts = 3;
	in.ret = DSN_RET_FULL;
	in.envid = all;
	in.body = "";
	in.helo = "\x01 helo \x7f";
	in.host_address = "::1";
	in.host_port = 65535;
	in.protocol = "esmtpsa";
	in.tls_version = NULL;
	in.tls_cipher = "";
	assert_int_equal(submit(f, "data\r\n", &in, &e), 0);

	assert_int_equal(spool_envelope_read(f->dir, in.id, &out, &e), 0);
	assert_string_equal(out.id, "T-000001");
	assert_string_equal(out.sender, evil);
	assert_int_equal(out.nrcpts, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(out.rcpts[i].address, r[i].address);
		assert_str_or_null(out.rcpts[i].orcpt, r[i].orcpt);
		assert_int_equal(out.rcpts[i].notify, r[i].notify);
		assert_int_equal(out.rcpts[i].done, r[i].done);
	}
	assert_int_equal(out.ret, DSN_RET_FULL);
	assert_string_equal(out.envid, all);
	assert_string_equal(out.body, "");
	assert_string_equal(out.helo, in.helo);
	assert_string_equal(out.host_address, "::1");
	assert_int_equal(out.host_port, 65535);
	assert_string_equal(out.protocol, "esmtpsa");
	assert_null(out.tls_version);
	assert_string_equal(out.tls_cipher, "");
	assert_int_equal(out.size, 6);
	assert_int_equal(out.received_at, T_2026);

	/* Rewrite after a delivery; read again. */
	out.rcpts[0].done = 1;
	assert_int_equal(spool_envelope_rewrite(f->dir, &out, &e), 0);
	envelope_free(&out);
	assert_int_equal(spool_envelope_read(f->dir, "T-000001", &out, &e), 0);
	assert_int_equal(out.rcpts[0].done, 1);
	assert_int_equal(out.rcpts[1].done, 1);
	assert_int_equal(out.rcpts[2].done, 0);
	assert_string_equal(out.rcpts[0].address, all);
	envelope_free(&out);
	envelope_free(NULL);
}

/* Retry state and the last deferral's reason survive a rewrite; a version 1
 * envelope (no such keys) is still read; bad retry values are refused. */
static void
test_envelope_retry_state_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r = { .address = "bob@partner.test" };
	struct envelope in = { .sender = "a@example.test", .rcpts = &r, .nrcpts = 1 }, out;
	char path[4096];
	FILE *fp;

	assert_int_equal(submit(f, "x\r\n", &in, &e), 0);
	assert_int_equal(spool_envelope_read(f->dir, "T-000001", &out, &e), 0);
	assert_int_equal(out.rcpts[0].retry.tries, 0);
	assert_null(out.rcpts[0].last_error);
	out.rcpts[0].retry = (struct retry_state){ 3, 1767225600, 1767229200, 3600 };
	out.rcpts[0].last_error = strdup("H=mx1 [127.0.0.2]: 451 4.3.0 try later\r\nline 2");
	assert_int_equal(spool_envelope_rewrite(f->dir, &out, &e), 0);
	envelope_free(&out);
	assert_int_equal(spool_envelope_read(f->dir, "T-000001", &out, &e), 0);
	assert_int_equal(out.rcpts[0].retry.tries, 3);
	assert_int_equal(out.rcpts[0].retry.first_failure, 1767225600);
	assert_int_equal(out.rcpts[0].retry.next_try, 1767229200);
	assert_int_equal(out.rcpts[0].retry.interval, 3600);
	assert_string_equal(out.rcpts[0].last_error,
	                    "H=mx1 [127.0.0.2]: 451 4.3.0 try later\r\nline 2");
	envelope_free(&out);

	snprintf(path, sizeof path, "%s/input/T-000001-H", f->dir);
	const char *bad[] = {
		"retry 0,1,2,3",           /* tries must be >= 1 */
		"retry 1,2,3",             /* three numbers */
		"retry 1,2,3,4,5",         /* five */
		"retry -1,2,3,4",          /* sign */
		"retry 1,2,3,99999999999", /* interval out of range */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fp = fopen(path, "wb");
		assert_non_null(fp);
		fprintf(fp, "refmta-envelope 2\nid T-000001\nsender \nrcpt b@c\n%s\nend\n", bad[i]);
		fclose(fp);
		assert_int_equal(spool_envelope_read(f->dir, "T-000001", &out, &e), -1);
	}
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("refmta-envelope 1\nid T-000001\nsender \nrcpt b@c\ndone 1\nend\n", fp);
	fclose(fp);
	assert_int_equal(spool_envelope_read(f->dir, "T-000001", &out, &e), 0);
	assert_int_equal(out.rcpts[0].done, 1);
	envelope_free(&out);
}

static void
test_null_sender_and_absent_fields(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r), out;

	env.sender = "";
	assert_int_equal(submit(f, "", &env, &e), 0);
	assert_int_equal(env.size, 0);
	assert_int_equal(spool_envelope_read(f->dir, env.id, &out, &e), 0);
	assert_string_equal(out.sender, "");
	assert_null(out.envid);
	assert_null(out.body);
	assert_null(out.helo);
	assert_null(out.host_address);
	assert_null(out.protocol);
	assert_null(out.tls_version);
	assert_null(out.tls_cipher);
	assert_null(out.rcpts[0].orcpt);
	assert_int_equal(out.ret, DSN_RET_UNSET);
	envelope_free(&out);
}

static void
test_envelope_read_rejects_damage(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"",
		"refmta-envelope 3\nid T-000001\nsender \nend\n",
		"refmta-envelope 1\nid T-000001\nsender a b\nend\n",   /* raw space */
		"refmta-envelope 1\nid T-000001\nsender a+ZZ\nend\n",  /* bad hex */
		"refmta-envelope 1\nid T-000001\nsender a+00b\nend\n", /* NUL */
		"refmta-envelope 1\nid T-000001\nsender a+4\nend\n",   /* short */
		"refmta-envelope 1\nid T-000001\nsender a=b\nend\n",   /* raw = */
		"refmta-envelope 1\nid T-000001\nsender a\r\nend\n",   /* raw CR */
		"refmta-envelope 1\nid T-000001\nsender \n",           /* no end */
		"refmta-envelope 1\nid T-000001\nsender \nend",        /* no LF */
		"refmta-envelope 1\nid T-000001\nend\n",               /* no sender */
		"refmta-envelope 1\nid T-000002\nsender \nend\n",      /* wrong id */
		"refmta-envelope 1\nid T-000001\nsender \nsender \nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nfrobnicate 1\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \norcpt x\nend\n", /* before rcpt */
		"refmta-envelope 1\nid T-000001\nsender \ndone 1\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nrcpt a\nnotify SOMETIMES\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nrcpt a\ndone 2\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nrcpt a\norcpt b\norcpt c\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nsize -1\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nsize 99999999999999999999\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nhost-port 65536\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nret NONE\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nhelo a\nhelo b\nend\n",
		"refmta-envelope 1\nid T-000001\nsender \nend\nrcpt a\n",
		"refmta-envelope 1\nid T-000001\nsender\nend\n", /* no space */
	};
	char path[256];

	snprintf(path, sizeof path, "%s/input/T-000001-H", f->dir);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct envelope env;
		struct err e = { 0 };
		FILE *fp = fopen(path, "wb");
		assert_non_null(fp);
		fputs(bad[i], fp);
		fclose(fp);
		if (spool_envelope_read(f->dir, "T-000001", &env, &e) != -1)
			fail_msg("accepted case %zu: %s", i, bad[i]);
		assert_int_equal(e.code, EINVAL);
		assert_int_equal(env.nrcpts, 0); /* freed and cleared */
		assert_null(env.sender);
	}
	{
		struct envelope env;
		struct err e = { 0 };
		FILE *fp = fopen(path, "wb");
		assert_non_null(fp);
		fputs("refmta-envelope 1\nid T-000001\nsender \nend\n", fp);
		fclose(fp);
		assert_int_equal(spool_envelope_read(f->dir, "T-000001", &env, &e), 0);
		envelope_free(&env);
		assert_int_equal(spool_envelope_read(f->dir, "T-000404", &env, &e), -1);
		assert_int_equal(e.code, ENOENT);
	}
}

static void
test_abort_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_message *m = spool_message_begin(f->dir, &e);
	char names[256];

	assert_non_null(m);
	assert_int_equal(spool_message_write(m, "abc", 3, &e), 0);
	spool_message_abort(m);
	spool_message_abort(NULL);
	ls(f, "tmp", names, sizeof names);
	assert_string_equal(names, "");
	ls(f, "input", names, sizeof names);
	assert_string_equal(names, "");
}

static void
test_begin_fails_without_spool(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[256];

	snprintf(path, sizeof path, "%s/nowhere", f->dir);
	assert_null(spool_message_begin(path, &e));
	assert_int_equal(e.code, ENOENT);
}

/* Every id the counter hands out is blocked by an envelope a crashed
 * removal left behind (input/ID-H without its -D): commit never takes such
 * an id (the new message would inherit the old envelope), gives up after
 * its tries, and leaves nothing in input/ or tmp/. */
static void
test_commit_failing_midway_leaves_no_message(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r);
	char path[256], names[4096], want[4096] = "";
	struct strlist ids = { 0 };

	for (int i = 1; i <= 16; i++) {
		FILE *fp;
		snprintf(path, sizeof path, "%s/input/T-%06d-H", f->dir, i);
		fp = fopen(path, "wb");
		assert_non_null(fp);
		fputs("refmta-envelope 2\nid X\nsender old@example.test\nend\n", fp);
		fclose(fp);
		snprintf(want + strlen(want), sizeof want - strlen(want), "%sT-%06d-H",
		         i > 1 ? " " : "", i);
	}
	assert_int_equal(submit(f, "data\r\n", &env, &e), -1);
	assert_int_equal(e.code, EEXIST);
	assert_string_equal(env.id, "");
	ls(f, "input", names, sizeof names);
	assert_string_equal(names, want); /* only the old envelopes */
	ls(f, "tmp", names, sizeof names);
	assert_string_equal(names, "");
	assert_int_equal(spool_list(f->dir, &ids, &e), 0);
	assert_int_equal(ids.n, 0);

	/* The next message works and takes the next free number. */
	assert_int_equal(submit(f, "data\r\n", &env, &e), 0);
	assert_string_equal(env.id, "T-000017");
}

/* An id whose -D already exists is never reused: commit takes the next. */
static void
test_commit_never_overwrites(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r);
	char path[256], *got;
	FILE *fp;

	snprintf(path, sizeof path, "%s/input/T-000001-D", f->dir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("someone else's data", fp);
	fclose(fp);
	assert_int_equal(submit(f, "mine\r\n", &env, &e), 0);
	assert_string_equal(env.id, "T-000002");
	got = test_slurp(path);
	assert_string_equal(got, "someone else's data");
	free(got);
}

static void
test_test_ids_sequential(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r);
	char path[256], *got;

	for (int i = 1; i <= 3; i++) {
		char want[16];
		snprintf(want, sizeof want, "T-%06d", i);
		assert_int_equal(submit(f, "x", &env, &e), 0);
		assert_string_equal(env.id, want);
	}
	snprintf(path, sizeof path, "%s/ids", f->dir);
	got = test_slurp(path);
	assert_string_equal(got, "3\n");
	free(got);
}

#define PROCS 4
#define PER_PROC 50

static void
test_test_ids_unique_across_processes(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct strlist ids = { 0 };

	for (int p = 0; p < PROCS; p++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			for (int i = 0; i < PER_PROC; i++) {
				struct spool_rcpt r;
				struct envelope env = simple_env(&r);
				struct err ce = { 0 };
				if (submit(f, "x\r\n", &env, &ce) != 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int status;
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(spool_list(f->dir, &ids, &e), 0);
	assert_int_equal(ids.n, PROCS * PER_PROC);
	for (size_t i = 0; i < ids.n; i++) {
		char want[16];
		snprintf(want, sizeof want, "T-%06zu", i + 1);
		assert_string_equal(ids.v[i], want);
	}
	strlist_free(&ids);
}

static void
test_real_ids(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct strlist ids = { 0 };

	spool_set_test_ids(0);
	for (int i = 0; i < 30; i++) {
		struct spool_rcpt r;
		struct envelope env = simple_env(&r);
		assert_int_equal(submit(f, "x", &env, &e), 0);
		assert_int_equal(strlen(env.id), 22);
		assert_memory_equal(env.id, "20261122-012345-", 16);
		for (int k = 16; k < 22; k++)
			assert_non_null(strchr("0123456789abcdefghijklmnopqrstuvwxyz", env.id[k]));
	}
	assert_int_equal(spool_list(f->dir, &ids, &e), 0);
	assert_int_equal(ids.n, 30);
	for (size_t i = 1; i < ids.n; i++)
		assert_true(strcmp(ids.v[i - 1], ids.v[i]) < 0); /* sorted, all distinct */
	strlist_free(&ids);
}

static void
test_list_sorted_and_only_messages(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct strlist ids = { 0 };
	char path[256];
	FILE *fp;

	spool_set_test_ids(0);
	/* Committed newest first, so directory order is unlikely to be sorted. */
	for (int i = 2; i >= 0; i--) {
		struct spool_rcpt r;
		struct envelope env = simple_env(&r);
		clock_freeze(T_2026 + i * 3600);
		assert_int_equal(submit(f, "x", &env, &e), 0);
	}
	/* Not messages: an orphan -H (a removal that died), litter, a dot file. */
	static const char *const junk[] = { "input/20200101-000000-orphan-H", "input/junk",
		                            "input/.hidden-D", "tmp/123-1-D" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", f->dir, junk[i]);
		fp = fopen(path, "wb");
		assert_non_null(fp);
		fclose(fp);
	}
	assert_int_equal(spool_list(f->dir, &ids, &e), 0);
	assert_int_equal(ids.n, 3);
	assert_memory_equal(ids.v[0], "20261122-012345-", 16);
	assert_memory_equal(ids.v[1], "20261122-022345-", 16);
	assert_memory_equal(ids.v[2], "20261122-032345-", 16);
	strlist_free(&ids);
}

static void
test_remove(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r);
	char path[256], names[256];
	FILE *fp;

	assert_int_equal(submit(f, "a", &env, &e), 0);
	assert_int_equal(submit(f, "b", &env, &e), 0);
	snprintf(path, sizeof path, "%s/msglog/T-000001", f->dir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fclose(fp);

	/* One message rewritten (it has an -H), both go with their message. */
	assert_int_equal(spool_envelope_rewrite(f->dir, &env, &e), 0);
	ls(f, "input", names, sizeof names);
	assert_string_equal(names, "T-000001-D T-000002-D T-000002-H");
	assert_int_equal(spool_message_remove(f->dir, "T-000002", &e), 0);
	assert_int_equal(spool_message_remove(f->dir, "T-000001", &e), 0);
	assert_int_equal(submit(f, "b", &env, &e), 0);
	ls(f, "input", names, sizeof names);
	assert_string_equal(names, "T-000003-D");
	ls(f, "msglog", names, sizeof names);
	assert_string_equal(names, "");
	/* Removing what is already gone is not an error (another runner did it). */
	assert_int_equal(spool_message_remove(f->dir, "T-000001", &e), 0);
}

/* The two-file form (a queuefile copy put back, or a spool from before
 * the one-file format): -D is the data alone, -H the envelope.  Read as it
 * always was; a -D with neither is no message yet (ENOENT, skipped). */
static void
test_two_file_form(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct envelope out;
	char path[256];
	uint64_t len = 0;
	FILE *fp;
	int fd;

	snprintf(path, sizeof path, "%s/input/T-000007-D", f->dir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("Subject: old\r\n\r\nbody\r\n", fp);
	fclose(fp);
	assert_int_equal(spool_envelope_read(f->dir, "T-000007", &out, &e), -1);
	assert_int_equal(e.code, ENOENT);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(spool_data_length(fd, &len, &e), 0);
	assert_int_equal(len, 22); /* the whole file */
	close(fd);
	snprintf(path, sizeof path, "%s/input/T-000007-H", f->dir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("refmta-envelope 1\nid T-000007\nsender a@b\nsize 22\nrcpt c@d\nend\n", fp);
	fclose(fp);
	assert_int_equal(spool_envelope_read(f->dir, "T-000007", &out, &e), 0);
	assert_string_equal(out.sender, "a@b");
	assert_int_equal(out.size, 22);
	envelope_free(&out);
}

/* A pid that is surely not running: a child's, after it was reaped. */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return pid;
}

static void
put_in_tmp(const struct fixture *f, const char *id, pid_t pid, int n, int damage)
{
	char from[256], to[256];

	snprintf(from, sizeof from, "%s/input/%s-D", f->dir, id);
	snprintf(to, sizeof to, "%s/tmp/%ld-%d-D", f->dir, (long)pid, n);
	assert_int_equal(rename(from, to), 0);
	if (damage) { /* one flipped data octet: the blocks of a file never fsync'ed */
		int fd = open(to, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "X", 1, 0), 1);
		close(fd);
	}
}

/* Recovery: a complete file whose rename into input/ was lost goes there;
 * one whose CRC fails, or whose writer is alive, stays. */
static void
test_recover(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct strlist rec = { 0 }, failed = { 0 }, ids = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r), out;
	pid_t dead = dead_pid();
	char names[512], want[512];

	for (int i = 0; i < 3; i++)
		assert_int_equal(submit(f, "Subject: s\r\n\r\nbody\r\n", &env, &e), 0);
	put_in_tmp(f, "T-000001", dead, 1, 0);
	put_in_tmp(f, "T-000002", dead, 2, 1);
	put_in_tmp(f, "T-000003", getpid(), 3, 0);
	assert_int_equal(spool_list(f->dir, &ids, &e), 0);
	assert_int_equal(ids.n, 0);

	assert_int_equal(spool_recover(f->dir, &rec, &failed, &e), 0);
	assert_int_equal(failed.n, 0);
	assert_int_equal(rec.n, 1);
	snprintf(want, sizeof want, "tmp/%ld-1-D is message T-000001", (long)dead);
	assert_string_equal(rec.v[0], want);
	ls(f, "input", names, sizeof names);
	assert_string_equal(names, "T-000001-D");
	{
		char a[64], b[64];
		snprintf(a, sizeof a, "%ld-2-D", (long)dead);
		snprintf(b, sizeof b, "%ld-3-D", (long)getpid());
		snprintf(want, sizeof want, "%s %s", strcmp(a, b) < 0 ? a : b,
		         strcmp(a, b) < 0 ? b : a); /* ls sorts */
	}
	ls(f, "tmp", names, sizeof names);
	assert_string_equal(names, want);
	assert_int_equal(spool_envelope_read(f->dir, "T-000001", &out, &e), 0);
	assert_string_equal(out.rcpts[0].address, "joe@example.test");
	envelope_free(&out);
	strlist_free(&rec);
	strlist_free(&ids);
}

/* The names in DIR/sub as a count (dot files aside). */
static int
count_in(const struct fixture *f, const char *sub)
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "%s/%s", f->dir, sub);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static ino_t
ino_of(const struct fixture *f, const char *sub, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s/%s", f->dir, sub, name);
	assert_int_equal(lstat(path, &st), 0);
	return st.st_ino;
}

/* The free list (spool_free.c): a delivered message's file goes to free/
 * and the next receipt writes over it (same inode): its old trailer is
 * zeroed at once, so no recovery can bring the delivered message back,
 * and the new message is exactly its own data, envelope and trailer. */
static void
test_free_file_reused(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r), out;
	struct spool_trailer t;
	struct spool_message *m;
	char big[5000], names[256], path[512];
	const char *small = "Subject: s\r\n\r\nb\r\n";
	struct stat st;
	uint64_t len = 0;
	ino_t ino;
	int fd;

	memset(big, 'A', sizeof big - 3);
	memcpy(big + sizeof big - 3, "\r\n", 3);
	assert_int_equal(submit(f, big, &env, &e), 0);
	ino = ino_of(f, "input", "T-000001-D");
	assert_int_equal(spool_message_remove(f->dir, "T-000001", &e), 0);
	ls(f, "input", names, sizeof names);
	assert_string_equal(names, "");
	ls(f, "free", names, sizeof names);
	assert_string_equal(names, "T-000001");

	m = spool_message_begin(f->dir, &e);
	assert_non_null(m);
	ls(f, "free", names, sizeof names);
	assert_string_equal(names, "");
	ls(f, "tmp", names, sizeof names);
	assert_int_equal(ino_of(f, "tmp", names), ino);
	snprintf(path, sizeof path, "%s/tmp/%s", f->dir, names);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(spool_trailer_read(fd, (uint64_t)st.st_size, &t), -1);
	close(fd);

	assert_int_equal(spool_message_write(m, small, strlen(small), &e), 0);
	assert_int_equal(spool_message_commit(m, &env, &e), 0);
	assert_string_equal(env.id, "T-000002");
	assert_int_equal(ino_of(f, "input", "T-000002-D"), ino);
	snprintf(path, sizeof path, "%s/input/T-000002-D", f->dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(spool_trailer_read(fd, (uint64_t)st.st_size, &t), 0);
	assert_int_equal(t.size, strlen(small));
	assert_int_equal(st.st_size, strlen(small) + t.envlen + SPOOL_TRAILER_LEN);
	assert_int_equal(spool_data_length(fd, &len, &e), 0);
	assert_int_equal(len, strlen(small));
	close(fd);
	assert_int_equal(spool_envelope_read(f->dir, "T-000002", &out, &e), 0);
	assert_string_equal(out.rcpts[0].address, "joe@example.test");
	assert_int_equal(out.size, strlen(small));
	envelope_free(&out);
}

/* What is never written through: a symbolic link, a file with a second
 * link, a directory planted in free/.  The receipt gets a new file. */
static void
test_free_never_writes_through_links(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r);
	char victim[256], other[256], path[256], names[256], buf[16];
	int fd;

	snprintf(victim, sizeof victim, "%s/victim", f->dir);
	snprintf(other, sizeof other, "%s/other", f->dir);
	for (int i = 0; i < 2; i++) {
		fd = open(i ? other : victim, O_WRONLY | O_CREAT | O_EXCL, 0640);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "keep", 4), 4);
		close(fd);
	}
	snprintf(path, sizeof path, "%s/free/evil", f->dir);
	assert_int_equal(symlink(victim, path), 0);
	snprintf(path, sizeof path, "%s/free/twice", f->dir);
	assert_int_equal(link(other, path), 0);
	snprintf(path, sizeof path, "%s/free/dir", f->dir);
	assert_int_equal(mkdir(path, 0750), 0);

	assert_int_equal(submit(f, "Subject: s\r\n\r\nb\r\n", &env, &e), 0);
	for (int i = 0; i < 2; i++) {
		fd = open(i ? other : victim, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(read(fd, buf, sizeof buf), 4);
		assert_memory_equal(buf, "keep", 4);
		close(fd);
	}
	assert_true(ino_of(f, "input", "T-000001-D") != ino_of(f, "", "other"));
	/* The link and the directory are not even tried (their type); the
	 * second name was, and is gone. */
	ls(f, "free", names, sizeof names);
	assert_string_equal(names, "dir evil");
	ls(f, "tmp", names, sizeof names);
	assert_string_equal(names, "");
}

/* Bounds: a file over SPOOL_FREE_MAX_SIZE, or any file once free/ holds
 * SPOOL_FREE_MAX, is unlinked, not kept.  (A process counts free/ at its
 * first put into a spool and every SPOOL_FREE_RECOUNT puts after: the size
 * is tried in a second spool, so that the count here is fresh.) */
static void
test_free_bounded(void **state)
{
	struct fixture *f = *state, g;
	struct err e = { 0 };
	struct spool_rcpt r;
	struct envelope env = simple_env(&r);
	char *big = malloc(SPOOL_FREE_MAX_SIZE + 3), path[256];
	int fd;

	assert_non_null(big);
	snprintf(g.dir, sizeof g.dir, "%s/g", f->dir);
	assert_int_equal(spool_init(g.dir, &e), 0);
	memset(big, 'A', SPOOL_FREE_MAX_SIZE);
	memcpy(big + SPOOL_FREE_MAX_SIZE, "\r\n", 3);
	assert_int_equal(submit(&g, big, &env, &e), 0);
	free(big);
	assert_int_equal(spool_message_remove(g.dir, env.id, &e), 0);
	assert_int_equal(count_in(&g, "input"), 0);
	assert_int_equal(count_in(&g, "free"), 0);

	assert_int_equal(submit(f, "Subject: s\r\n\r\nb\r\n", &env, &e), 0);
	for (int i = 0; i < SPOOL_FREE_MAX; i++) {
		snprintf(path, sizeof path, "%s/free/F%d", f->dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(spool_message_remove(f->dir, env.id, &e), 0);
	assert_int_equal(count_in(f, "input"), 0);
	assert_int_equal(count_in(f, "free"), SPOOL_FREE_MAX);
	snprintf(path, sizeof path, "%s/free/%s", f->dir, env.id);
	assert_int_equal(access(path, F_OK), -1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init_creates_directories),
		T(test_commit_makes_data_and_envelope),
		T(test_crc32),
		T(test_two_file_form),
		T(test_recover),
		T(test_envelope_file_text),
		T(test_envelope_roundtrip_nasty_values),
		T(test_envelope_retry_state_roundtrip),
		T(test_null_sender_and_absent_fields),
		T(test_envelope_read_rejects_damage),
		T(test_abort_leaves_nothing),
		T(test_begin_fails_without_spool),
		T(test_commit_failing_midway_leaves_no_message),
		T(test_commit_never_overwrites),
		T(test_test_ids_sequential),
		T(test_test_ids_unique_across_processes),
		T(test_real_ids),
		T(test_list_sorted_and_only_messages),
		T(test_remove),
		T(test_free_file_reused),
		T(test_free_never_writes_through_links),
		T(test_free_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
