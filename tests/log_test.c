/*
 * log_test.c - lib/log.c: the line format under a frozen clock, one
 * write(2) per line, truncation, escaping, and forked writers that must
 * never interleave.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define T_2026 ((time_t)1795310625)
#define STAMP "2026-11-22 01:23:45 "

struct fixture {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	strcpy(f->dir, "/tmp/log_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/log/sub/main.log", f->dir);
	clock_freeze(T_2026);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	log_close();
	clock_unfreeze();
	test_remove_tree(f->dir);
	free(f);
	return 0;
}

/* The whole file, NUL-terminated; caller frees. */
static void
test_line_format_and_parent_created(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	struct stat st;
	char *got;

	assert_int_equal(log_open(f->path, &e), 0);
	log_write("%s <= %s H=%s", "T-000001", "<>", "(none)");
	log_write("T-000001 Completed");
	got = test_slurp(f->path);
	assert_string_equal(got, STAMP "T-000001 <= <> H=(none)\n" STAMP "T-000001 Completed\n");
	free(got);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
}

static void
test_appends_to_existing_file(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char *got;

	assert_int_equal(log_open(f->path, &e), 0);
	log_write("one");
	log_close();
	clock_freeze(T_2026 + 1);
	assert_int_equal(log_open(f->path, &e), 0);
	assert_int_equal(log_open(f->path, &e), 0); /* reopen, e.g. after rotation */
	log_write("two");
	got = test_slurp(f->path);
	assert_string_equal(got, STAMP "one\n"
	                               "2026-11-22 01:23:46 two\n");
	free(got);
}

static void
test_long_line_truncated(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char *big = malloc(20000), *got;
	size_t len;

	assert_non_null(big);
	memset(big, 'a', 19999);
	big[19999] = '\0';
	assert_int_equal(log_open(f->path, &e), 0);
	log_write("%s", big);
	got = test_slurp_len(f->path, &len);
	assert_non_null(got);
	assert_int_equal(len, 8192);
	assert_memory_equal(got, STAMP "aaaa", strlen(STAMP) + 4);
	assert_memory_equal(got + 8192 - 4, "...\n", 4);
	assert_null(memchr(got, '\n', len - 1));
	free(got);

	/* Exactly at the limit: no "..." */
	assert_int_equal(truncate(f->path, 0), 0);
	big[8192 - strlen(STAMP) - 5] = '\0';
	log_write("%s", big);
	got = test_slurp_len(f->path, &len);
	assert_non_null(got);
	assert_int_equal(len, 8192 - 4);
	assert_memory_equal(got + len - 2, "a\n", 2);
	free(got);
	free(big);
}

static void
test_control_characters_escaped(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char *got;

	assert_int_equal(log_open(f->path, &e), 0);
	log_write("T-000001 <= a\r\nFAKE LINE\tx\x7f");
	got = test_slurp(f->path);
	assert_string_equal(got, STAMP "T-000001 <= a\\x0d\\x0aFAKE LINE\\x09x\\x7f\n");
	free(got);
}

/* stderr mode, with fd 2 a datagram socket: every write(2) is one datagram,
 * so counting datagrams counts writes. */
static void
test_one_write_per_line_and_stderr_default(void **state)
{
	int sv[2], saved = dup(STDERR_FILENO);
	char buf[16384];
	struct err e = { 0 };
	ssize_t n;

	(void)state;
	assert_true(saved >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	assert_true(dup2(sv[0], STDERR_FILENO) >= 0);

	log_write("before %s", "open"); /* never opened: stderr */
	assert_int_equal(log_open("-", &e), 0);
	log_write("dash %d", 1);
	assert_int_equal(log_open(NULL, &e), 0);
	log_write("%s", "null");

	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);

	static const char *const want[] = { STAMP "before open\n", STAMP "dash 1\n",
		                            STAMP "null\n" };
	for (size_t i = 0; i < 3; i++) {
		n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
		assert_int_equal(n, strlen(want[i]));
		assert_memory_equal(buf, want[i], (size_t)n);
	}
	assert_int_equal(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), -1);
	close(sv[0]);
	close(sv[1]);
}

static void
test_open_failure_reported(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/plain", f->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof path, "%s/plain/sub/main.log", f->dir);
	assert_int_equal(log_open(path, &e), -1);
	assert_int_equal(e.code, ENOTDIR);
	assert_non_null(strstr(e.text, "plain"));
}

#define CHILDREN 4
#define LINES 500

/* 4 children x 500 lines of ~300 bytes: every line must come back whole. */
static void
test_concurrent_children_never_interleave(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	static char seen[CHILDREN][LINES];
	char pad[301], tail[320], *got, *line, *next;
	size_t count = 0;

	memset(pad, 'x', 300);
	pad[300] = '\0';
	snprintf(tail, sizeof tail, "%s end", pad);
	memset(seen, 0, sizeof seen);
	assert_int_equal(log_open(f->path, &e), 0);
	for (int c = 0; c < CHILDREN; c++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			for (int i = 0; i < LINES; i++)
				log_write("child %d line %03d %s end", c, i, pad);
			_exit(0);
		}
	}
	for (int c = 0; c < CHILDREN; c++) {
		int status;
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	got = test_slurp(f->path);
	for (line = got; *line != '\0'; line = next + 1) {
		int c = -1, i = -1, used = 0;
		next = strchr(line, '\n');
		assert_non_null(next);
		*next = '\0';
		assert_int_equal(sscanf(line, STAMP "child %d line %d %n", &c, &i, &used), 2);
		assert_true(c >= 0 && c < CHILDREN && i >= 0 && i < LINES);
		assert_string_equal(line + used, tail);
		assert_int_equal(seen[c][i], 0);
		seen[c][i] = 1;
		count++;
	}
	assert_int_equal(count, CHILDREN * LINES);
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_format_and_parent_created, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_appends_to_existing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_characters_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_write_per_line_and_stderr_default, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_open_failure_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_children_never_interleave, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
