/*
 * deliver_local_test.c - server/deliver_local.c: the exact bytes delivered
 * to a maildir and to an mbox (prepended headers, CRLF -> LF, mboxrd
 * quoting, the From_ line), mailbox naming, refused local parts, and
 * temporary failures that leave nothing behind.
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
#include <unistd.h>

#include "clock.h"
#include "deliver_local.h"

#define T_2026 ((time_t)1795310625) /* Sun Nov 22 01:23:45 2026 UTC */

#define DATA                                                                                       \
	"Received: from client.example by mx.example.test\r\n"                                     \
	"Subject: hi\r\n"                                                                          \
	"\r\n"                                                                                     \
	"From the start\r\n"                                                                       \
	">From quoted\r\n"                                                                         \
	">>From deeper\r\n"                                                                        \
	" From not at start\r\n"                                                                   \
	"bare\rcr\r\n"                                                                             \
	"From\r\n"

struct fixture {
	char dir[64];
	char mail[128];
	char data[128];
	struct deliver_local_request req;
};

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	strcpy(f->dir, "/tmp/deliver_local_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->mail, sizeof f->mail, "%s/var/mail", f->dir);
	snprintf(f->data, sizeof f->data, "%s/T-000001-D", f->dir);
	write_file(f->data, DATA);
	f->req = (struct deliver_local_request){
		.mailbox_directory = f->mail,
		.format = DELIVER_LOCAL_MAILDIR,
		.data_path = f->data,
		.sender = "alice@client.example",
		.rcpt = "Joe@example.test",
		.hostname = "mx.example.test",
		.deterministic = 1,
	};
	clock_freeze(T_2026);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	clock_unfreeze();
	test_remove_tree(f->dir);
	free(f);
	return 0;
}

/* Entries of a directory (no dot files), count returned, first name kept. */
static int
list_dir(const char *path, char *first, size_t len)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0 && first != NULL)
			snprintf(first, len, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static void
test_maildir_content(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[512], name[256], *got;

	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	snprintf(path, sizeof path, "%s/joe/tmp", f->mail);
	assert_int_equal(list_dir(path, NULL, 0), 0);
	snprintf(path, sizeof path, "%s/joe/cur", f->mail);
	assert_int_equal(list_dir(path, NULL, 0), 0);
	snprintf(path, sizeof path, "%s/joe/new", f->mail);
	assert_int_equal(list_dir(path, name, sizeof name), 1);
	/* "TIME.Q<n>.HOST", no pid in test mode. */
	assert_memory_equal(name, "1795310625.Q", 12);
	assert_string_equal(name + strlen(name) - 16, ".mx.example.test");
	assert_null(strchr(name, 'P'));

	snprintf(path, sizeof path, "%s/joe/new/%s", f->mail, name);
	got = test_slurp(path);
	assert_string_equal(got, "Return-Path: <alice@client.example>\n"
	                         "Delivered-To: Joe@example.test\n"
	                         "Received: from client.example by mx.example.test\n"
	                         "Subject: hi\n"
	                         "\n"
	                         "From the start\n" /* maildir: no From_ quoting */
	                         ">From quoted\n"
	                         ">>From deeper\n"
	                         " From not at start\n"
	                         "bare\rcr\n"
	                         "From\n");
	free(got);
}

static void
test_maildir_names_unique_and_host_escaped(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[512], name[256];

	f->req.hostname = "a/b:c";
	for (int i = 0; i < 3; i++)
		assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	snprintf(path, sizeof path, "%s/joe/new", f->mail);
	assert_int_equal(list_dir(path, name, sizeof name), 3);
	assert_string_equal(name + strlen(name) - 12, ".a\\057b\\072c");

	f->req.deterministic = 0; /* real names carry the pid */
	f->req.hostname = NULL;
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	assert_int_equal(list_dir(path, NULL, 0), 4);
}

static void
test_mbox_content(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[512], *got;
	struct stat st;

	f->req.format = DELIVER_LOCAL_MBOX;
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	snprintf(path, sizeof path, "%s/joe", f->mail);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	got = test_slurp(path);
	assert_string_equal(got, "From alice@client.example Sun Nov 22 01:23:45 2026\n"
	                         "Return-Path: <alice@client.example>\n"
	                         "Delivered-To: Joe@example.test\n"
	                         "Received: from client.example by mx.example.test\n"
	                         "Subject: hi\n"
	                         "\n"
	                         ">From the start\n"
	                         ">>From quoted\n"
	                         ">>>From deeper\n"
	                         " From not at start\n"
	                         "bare\rcr\n"
	                         "From\n"
	                         "\n");
	free(got);
}

static void
test_mbox_appends_null_sender_and_unterminated_data(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[512], *got;

	f->req.format = DELIVER_LOCAL_MBOX;
	write_file(f->data, "Subject: one\r\n\r\nbody1\r\n");
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	write_file(f->data, "Subject: two\r\n\r\nno final newline");
	f->req.sender = "";
	clock_freeze(T_2026 + 86400 * 10 + 3600);
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	snprintf(path, sizeof path, "%s/joe", f->mail);
	got = test_slurp(path);
	assert_string_equal(got, "From alice@client.example Sun Nov 22 01:23:45 2026\n"
	                         "Return-Path: <alice@client.example>\n"
	                         "Delivered-To: Joe@example.test\n"
	                         "Subject: one\n"
	                         "\n"
	                         "body1\n"
	                         "\n"
	                         "From MAILER-DAEMON Wed Dec  2 02:23:45 2026\n"
	                         "Return-Path: <>\n"
	                         "Delivered-To: Joe@example.test\n"
	                         "Subject: two\n"
	                         "\n"
	                         "no final newline\n"
	                         "\n");
	free(got);
}

/* Envelope values cannot inject header lines or break the From_ line. */
static void
test_hostile_sender_cannot_inject(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[512], *got;

	f->req.format = DELIVER_LOCAL_MBOX;
	f->req.sender = "a b\r\nX-Evil: 1@x";
	write_file(f->data, "S: x\r\n");
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	snprintf(path, sizeof path, "%s/joe", f->mail);
	got = test_slurp(path);
	assert_string_equal(got, "From a_b__X-Evil:_1@x Sun Nov 22 01:23:45 2026\n"
	                         "Return-Path: <a b??X-Evil: 1@x>\n"
	                         "Delivered-To: Joe@example.test\n"
	                         "S: x\n"
	                         "\n");
	free(got);
}

static void
test_local_part_lowercased(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[512];
	struct stat st;

	f->req.rcpt = "Joe.Smith@Example.TEST";
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	snprintf(path, sizeof path, "%s/joe.smith/new", f->mail);
	assert_int_equal(stat(path, &st), 0);
	/* The last "@" splits: a quoted local part may hold one; the quotes
	 * are not part of its meaning (RFC 5322 3.2.4). */
	f->req.rcpt = "\"A@B\"@example.test";
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	snprintf(path, sizeof path, "%s/a@b/new", f->mail);
	assert_int_equal(stat(path, &st), 0);
	f->req.rcpt = "\"bob\"@example.test";
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	snprintf(path, sizeof path, "%s/bob/new", f->mail);
	assert_int_equal(stat(path, &st), 0);
	/* Unquoting must not let a name past the checks. */
	f->req.rcpt = "\".profile\"@example.test";
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_FAIL);
}

static void
test_bad_local_parts_refused(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *rcpt, *why;
	} bad[] = {
		{ "@example.test", "empty local part" },
		{ "", "empty local part" },
		{ "../etc@example.test", "local part contains \"/\"" },
		{ "..@example.test", "local part starts with \".\"" },
		{ ".@example.test", "local part starts with \".\"" },
		{ ".profile@example.test", "local part starts with \".\"" },
		{ "a/b@example.test", "local part contains \"/\"" },
		{ "/etc/passwd@example.test", "local part contains \"/\"" },
		{ "a..b@example.test", "local part contains \"..\"" },
		{ "a\nb@example.test", "local part contains a control character" },
		{ "a\x7f@example.test", "local part contains a control character" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test",
		  "local part longer than 64 octets (RFC 5321 4.5.3.1.1)" },
	};
	struct stat st;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct err e = { 0 };
		f->req.rcpt = bad[i].rcpt;
		f->req.format = i % 2 ? DELIVER_LOCAL_MBOX : DELIVER_LOCAL_MAILDIR;
		if (deliver_local(&f->req, &e) != DELIVER_LOCAL_FAIL)
			fail_msg("accepted \"%s\"", bad[i].rcpt);
		assert_string_equal(e.text, bad[i].why);
	}
	/* Refused before anything was created. */
	assert_int_equal(stat(f->mail, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_local_part_limits_accepted(void **state)
{
	struct fixture *f = *state;
	char lp[65];
	struct err e = { 0 };

	memset(lp, 'a', 64);
	lp[64] = '\0';
	assert_int_equal(deliver_local_check_local_part(lp, &e), 0);
	assert_int_equal(deliver_local_check_local_part("a.b", &e), 0);
	assert_int_equal(deliver_local_check_local_part("postmaster", &e), 0);
	assert_int_equal(deliver_local_check_local_part("a.", &e), 0);
	assert_int_equal(deliver_local_check_local_part(NULL, &e), -1);
	f->req.rcpt = "postmaster"; /* no domain: the whole address is the local part */
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
}

static void
test_missing_data_defers_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[512];
	struct stat st;

	assert_int_equal(unlink(f->data), 0);
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_DEFER);
	assert_int_equal(e.code, ENOENT);
	snprintf(path, sizeof path, "%s/joe/tmp", f->mail);
	assert_int_equal(list_dir(path, NULL, 0), 0);
	snprintf(path, sizeof path, "%s/joe/new", f->mail);
	assert_int_equal(list_dir(path, NULL, 0), 0);

	/* mbox: an existing mailbox is left exactly as it was. */
	f->req.format = DELIVER_LOCAL_MBOX;
	f->req.rcpt = "ann@example.test";
	snprintf(path, sizeof path, "%s/ann", f->mail);
	write_file(path, "From x Thu Jan  1 00:00:00 1970\nold\n\n");
	e = (struct err){ 0 };
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_DEFER);
	assert_int_equal(e.code, ENOENT);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, strlen("From x Thu Jan  1 00:00:00 1970\nold\n\n"));
}

static void
test_mbox_not_a_file_defers(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[512], target[512], *got;

	f->req.format = DELIVER_LOCAL_MBOX;
	assert_int_equal(mkdir(f->dir, 0700) == 0 || errno == EEXIST, 1);
	snprintf(path, sizeof path, "%s/var", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mkdir(f->mail, 0700), 0);
	snprintf(path, sizeof path, "%s/joe", f->mail);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_DEFER);
	assert_int_equal(e.code, EISDIR);

	/* A symlink planted as the mailbox is not followed. */
	snprintf(target, sizeof target, "%s/target", f->dir);
	write_file(target, "precious\n");
	f->req.rcpt = "ann@example.test";
	snprintf(path, sizeof path, "%s/ann", f->mail);
	assert_int_equal(symlink(target, path), 0);
	e = (struct err){ 0 };
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_DEFER);
	assert_int_equal(e.code, ELOOP);
	got = test_slurp(target);
	assert_string_equal(got, "precious\n");
	free(got);
}

static void
test_mbox_locked_defers(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[512];
	int fd;

	f->req.format = DELIVER_LOCAL_MBOX;
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
	snprintf(path, sizeof path, "%s/joe", f->mail);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0); /* a mail reader holds it */
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_DEFER);
	assert_int_equal(e.code, EWOULDBLOCK);
	assert_non_null(strstr(e.text, "locked"));
	close(fd);
	assert_int_equal(deliver_local(&f->req, &e), DELIVER_LOCAL_OK);
}

static void
test_format_names(void **state)
{
	enum deliver_local_format fmt = DELIVER_LOCAL_MBOX;

	(void)state;
	assert_int_equal(deliver_local_format_parse(NULL, &fmt), 0);
	assert_int_equal(fmt, DELIVER_LOCAL_MAILDIR);
	assert_int_equal(deliver_local_format_parse("mbox", &fmt), 0);
	assert_int_equal(fmt, DELIVER_LOCAL_MBOX);
	assert_int_equal(deliver_local_format_parse("maildir", &fmt), 0);
	assert_int_equal(fmt, DELIVER_LOCAL_MAILDIR);
	assert_int_equal(deliver_local_format_parse("mh", &fmt), -1);
	assert_int_equal(deliver_local_format_parse("MBOX", &fmt), -1);
	assert_string_equal(deliver_local_format_name(DELIVER_LOCAL_MAILDIR), "maildir");
	assert_string_equal(deliver_local_format_name(DELIVER_LOCAL_MBOX), "mbox");
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_maildir_content),
		T(test_maildir_names_unique_and_host_escaped),
		T(test_mbox_content),
		T(test_mbox_appends_null_sender_and_unterminated_data),
		T(test_hostile_sender_cannot_inject),
		T(test_local_part_lowercased),
		T(test_bad_local_parts_refused),
		T(test_local_part_limits_accepted),
		T(test_missing_data_defers_and_leaves_nothing),
		T(test_mbox_not_a_file_defers),
		T(test_mbox_locked_defers),
		T(test_format_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
