/*
 * deliver_queuefile_test.c - server/deliver_queuefile.c: the transport
 * block's options and errors, the defer reasons (relative directory,
 * missing directory, not a directory, missing message), and a real spooled
 * message copied byte for byte, no temporary file left, replaced when
 * copied again, and read back by spool_envelope_read() after being put
 * into another spool's input/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "deliver_queuefile.h"
#include "spool.h"

#define DATA "Received: from client.example by mx.example.test\r\nSubject: q\r\n\r\nbody\r\n"

struct fixture {
	char dir[64];
	char spool[128], out[128], spool2[128];
	char id[32];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct err e = { 0 };
	struct spool_rcpt r[2] = {
		{ .address = "a@example.test",
		  .orcpt = "rfc822;A@example.test",
		  .notify = DSN_NOTIFY_FAILURE },
		{ .address = "b@example.test",
		  .retry = { .tries = 2, .first_failure = 1000, .next_try = 2800, .interval = 900 },
		  .last_error = "451 try later" },
	};
	struct envelope env = { 0 };
	struct spool_message *m;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/queuefile_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
	snprintf(f->out, sizeof f->out, "%s/out", f->dir);
	snprintf(f->spool2, sizeof f->spool2, "%s/spool2", f->dir);
	assert_int_equal(mkdir(f->out, 0750), 0);
	assert_int_equal(spool_init(f->spool, &e), 0);
	spool_set_test_ids(1);
	env.sender = "sender@example.org";
	env.rcpts = r;
	env.nrcpts = 2;
	env.ret = DSN_RET_HDRS;
	env.envid = "env 1";
	env.received_at = 1795310625;
	env.protocol = "esmtp";
	m = spool_message_begin(f->spool, &e);
	assert_non_null(m);
	assert_int_equal(spool_message_write(m, DATA, strlen(DATA), &e), 0);
	assert_int_equal(spool_message_commit(m, &env, &e), 0);
	snprintf(f->id, sizeof f->id, "%s", env.id);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	spool_set_test_ids(0);
	test_remove_tree(f->dir);
	free(f);
	return 0;
}

static char *
path2(const char *dir, const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* The names in `dir`, sorted, joined by " ". */
static void
list_dir(const char *dir, char *buf, size_t len)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	assert_true(n >= 0);
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			if (buf[0] != '\0')
				strncat(buf, " ", len - strlen(buf) - 1);
			strncat(buf, names[i]->d_name, len - strlen(buf) - 1);
		}
		free(names[i]);
	}
	free(names);
}

/* ---- options ---------------------------------------------------------------- */

static void
parse_block(struct config_kv *kv, size_t n, struct queuefile_transport *t, int want_rc,
            const char *want_err)
{
	struct config cfg = { .file = "/etc/refmta/refmta.conf" };
	struct config_block b = {
		.kind = "transport", .name = "scan", .line = 7, .opts = kv, .nopts = n
	};
	struct err e = { 0 };

	assert_int_equal(queuefile_transport_parse(&cfg, &b, t, &e), want_rc);
	if (want_err != NULL)
		assert_string_equal(e.text, want_err);
}

static void
test_parse(void **state)
{
	struct config_kv ok[] = { { "driver", "queuefile", 8 },
		                  { "directory", "/var/spool/scan/input", 9 } };
	struct config_kv unknown[] = { { "driver", "queuefile", 8 },
		                       { "directory", "/q", 9 },
		                       { "user", "x", 10 } };
	struct config_kv nodir[] = { { "driver", "queuefile", 8 } };
	struct config_kv emptydir[] = { { "driver", "queuefile", 8 }, { "directory", "", 9 } };
	struct config_kv wrong[] = { { "driver", "smtp", 8 }, { "directory", "/q", 9 } };
	struct config_kv ev[] = { { "driver", "queuefile", 8 },
		                  { "directory", "/q", 9 },
		                  { "event_action", "${acl{logger}}", 10 } };
	struct config_kv badev[] = { { "driver", "queuefile", 8 },
		                     { "directory", "/q", 9 },
		                     { "event_action", "${if eq{a}", 10 } };
	struct queuefile_transport t;

	(void)state;
	parse_block(ok, 2, &t, 0, NULL);
	assert_string_equal(t.name, "scan");
	assert_string_equal(t.directory, "/var/spool/scan/input");
	assert_int_equal(t.line, 7);
	queuefile_transport_free(&t);
	queuefile_transport_free(&t); /* twice is harmless */
	queuefile_transport_free(NULL);

	/* A relative directory is accepted at load and deferred at delivery. */
	ok[1].value = "rel/q";
	parse_block(ok, 2, &t, 0, NULL);
	assert_string_equal(t.directory, "rel/q");
	queuefile_transport_free(&t);

	parse_block(unknown, 3, &t, -1,
	            "/etc/refmta/refmta.conf:10: transport scan: unknown option \"user\" "
	            "(queuefile takes directory and event_action)");
	/* event_action (docs/events.md): kept as written, checked as an expansion. */
	parse_block(ev, 3, &t, 0, NULL);
	assert_string_equal(t.event_action, "${acl{logger}}");
	queuefile_transport_free(&t);
	assert_null(t.event_action);
	parse_block(badev, 3, &t, -1, NULL);
	parse_block(nodir, 1, &t, -1,
	            "/etc/refmta/refmta.conf:7: transport scan: queuefile needs directory = "
	            "ABSOLUTE PATH");
	parse_block(emptydir, 2, &t, -1,
	            "/etc/refmta/refmta.conf:9: transport scan: queuefile needs directory = "
	            "ABSOLUTE PATH");
	parse_block(wrong, 2, &t, -1,
	            "/etc/refmta/refmta.conf:8: transport scan: driver is not queuefile");
	/* Not expanded (docs/expand.md): an expansion is refused, not taken literally. */
	ok[1].value = "/var/spool/$domain";
	parse_block(ok, 2, &t, -1,
	            "/etc/refmta/refmta.conf:9: transport scan: directory: not expanded by refmta "
	            "(a fixed ABSOLUTE PATH)");
}

/* ---- delivery ----------------------------------------------------------------- */

static void
test_defer_reasons(void **state)
{
	struct fixture *f = *state;
	struct queuefile_transport t = { .name = "scan" };
	struct err e = { 0 };
	char names[256];
	char *missing = path2(f->dir, "nonexistent"), *file = path2(f->dir, "plainfile");

	t.directory = "rel/q";
	assert_int_equal(deliver_queuefile(&t, f->spool, f->id, NULL, &e), -1);
	assert_string_equal(e.text, "directory \"rel/q\" is not absolute");

	t.directory = missing;
	assert_int_equal(deliver_queuefile(&t, f->spool, f->id, NULL, &e), -1);
	{
		char want[256];
		snprintf(want, sizeof want, "directory \"%s\" does not exist", missing);
		assert_string_equal(e.text, want);
	}

	FILE *fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	t.directory = file;
	assert_int_equal(deliver_queuefile(&t, f->spool, f->id, NULL, &e), -1);
	assert_non_null(strstr(e.text, "is not a directory"));

	/* A message that is not in the spool: nothing appears in the directory. */
	t.directory = f->out;
	assert_int_equal(deliver_queuefile(&t, f->spool, "T-999999", NULL, &e), -1);
	assert_non_null(strstr(e.text, "cannot open "));
	assert_non_null(strstr(e.text, "/input/T-999999-D: No such file or directory"));
	list_dir(f->out, names, sizeof names);
	assert_string_equal(names, "");

	/* An id that would leave the directory. */
	assert_int_equal(deliver_queuefile(&t, f->spool, "../x", NULL, &e), -1);
	assert_string_equal(e.text, "bad message id \"../x\"");
	free(missing);
	free(file);
}

/* The message completed meanwhile (its -D, which makes it exist, is gone;
 * a removal that died may have left its -H): nothing is copied, no
 * temporary file is left. */
static void
test_missing_envelope(void **state)
{
	struct fixture *f = *state;
	struct queuefile_transport t = { .name = "scan", .directory = f->out };
	struct err e = { 0 };
	char names[256], dname[64];
	char *d;

	snprintf(dname, sizeof dname, "input/%s-D", f->id);
	d = path2(f->spool, dname);
	assert_int_equal(unlink(d), 0);
	assert_int_equal(deliver_queuefile(&t, f->spool, f->id, NULL, &e), -1);
	assert_non_null(strstr(e.text, "-D: No such file or directory"));
	list_dir(f->out, names, sizeof names);
	assert_string_equal(names, "");
	free(d);
}

static void
test_copy_and_requeue(void **state)
{
	struct fixture *f = *state;
	struct queuefile_transport t = { .name = "scan", .directory = f->out };
	struct err e = { 0 };
	struct envelope env = { 0 };
	char names[256], want[128], name[64];

	assert_int_equal(deliver_queuefile(&t, f->spool, f->id, NULL, &e), 0);
	list_dir(f->out, names, sizeof names);
	snprintf(want, sizeof want, "%s-D %s-H", f->id, f->id);
	assert_string_equal(names, want);

	/* The copy is the two-file form (docs/spool.md): the data alone, and
	 * the envelope (here the one the one-file message carries) as -H. */
	{
		struct envelope cur;
		char *dst, *got, *text;
		assert_int_equal(spool_envelope_read(f->spool, f->id, &cur, &e), 0);
		text = spool_envelope_text(&cur);
		assert_non_null(text);
		envelope_free(&cur);
		snprintf(name, sizeof name, "%s-H", f->id);
		dst = path2(f->out, name);
		got = test_slurp(dst);
		assert_string_equal(got, text);
		free(got);
		free(dst);
		free(text);
		snprintf(name, sizeof name, "%s-D", f->id);
		dst = path2(f->out, name);
		got = test_slurp(dst);
		assert_string_equal(got, DATA);
		free(got);
		free(dst);
	}

	/* Again: the existing pair is replaced, still nothing else there. */
	assert_int_equal(deliver_queuefile(&t, f->spool, f->id, NULL, &e), 0);
	list_dir(f->out, names, sizeof names);
	assert_string_equal(names, want);

	/* Put back into another spool's input/: refmta reads it again. */
	assert_int_equal(spool_init(f->spool2, &e), 0);
	t.directory = path2(f->spool2, "input");
	/* Copying straight into a spool's input/ is the seed's own use. */
	assert_int_equal(deliver_queuefile(&t, f->spool, f->id, NULL, &e), 0);
	assert_int_equal(spool_envelope_read(f->spool2, f->id, &env, &e), 0);
	assert_string_equal(env.id, f->id);
	assert_string_equal(env.sender, "sender@example.org");
	assert_int_equal(env.nrcpts, 2);
	assert_string_equal(env.rcpts[0].address, "a@example.test");
	assert_string_equal(env.rcpts[0].orcpt, "rfc822;A@example.test");
	assert_int_equal(env.rcpts[0].notify, DSN_NOTIFY_FAILURE);
	assert_string_equal(env.rcpts[1].address, "b@example.test");
	assert_int_equal(env.rcpts[1].retry.tries, 2);
	assert_int_equal(env.rcpts[1].retry.next_try, 2800);
	assert_string_equal(env.rcpts[1].last_error, "451 try later");
	assert_int_equal(env.ret, DSN_RET_HDRS);
	assert_string_equal(env.envid, "env 1");
	assert_int_equal(env.size, strlen(DATA));
	envelope_free(&env);
	{
		char *d;
		size_t len;
		snprintf(name, sizeof name, "input/%s-D", f->id);
		d = path2(f->spool2, name);
		char *data = test_slurp_len(d, &len);
		assert_non_null(data);
		assert_int_equal(len, strlen(DATA));
		assert_memory_equal(data, DATA, len);
		free(data);
		free(d);
	}
	/* With the envelope text given, that text is the copy's -H (the data
	 * file is still the data alone). */
	{
		char text[256], *h, *got;
		snprintf(text, sizeof text,
		         "refmta-envelope 2\nid %s\nsender \nrcpt a@example.test\ndone 1\n"
		         "rcpt b@example.test\nend\n",
		         f->id);
		assert_int_equal(deliver_queuefile(&t, f->spool, f->id, text, &e), 0);
		snprintf(name, sizeof name, "input/%s-H", f->id);
		h = path2(f->spool2, name);
		got = test_slurp(h);
		assert_string_equal(got, text);
		free(got);
		free(h);
	}
	free(t.directory);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_defer_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_and_requeue, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
