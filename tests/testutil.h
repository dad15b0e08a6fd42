/*
 * testutil.h - small helpers the unit tests share: read or write a whole
 * file, make and remove a temporary tree, skip a test with its reason.  Include after
 * <cmocka.h> (test_slurp asserts).
 * Header-only so the Makefile's one-file-per-test rule stays as it is.
 */
#ifndef REFMTA_TESTUTIL_H
#define REFMTA_TESTUTIL_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole file, NUL-terminated (binary-safe with *len); NULL if it cannot
 * be read.  Caller frees. */
static inline char *
test_slurp_len(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (len != NULL)
		*len = 0;
	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			if (len != NULL)
				*len = (size_t)n;
		}
	}
	fclose(fp);
	return buf;
}

/* The whole file as a string; the test fails if it cannot be read. */
static inline char *
test_slurp(const char *path)
{
	char *s = test_slurp_len(path, NULL);

	assert_non_null(s);
	return s;
}

static inline int
test_remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

/* rm -rf of a test's temporary directory (no symlinks followed). */
static inline void
test_remove_tree(const char *dir)
{
	nftw(dir, test_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write `text` as the whole of `path`; the test fails if it cannot. */
static inline void
test_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A new temporary directory from `tmpl` ("/tmp/NAME.XXXXXX"), its resolved
 * path into `dir` (PATH_MAX bytes).  0, or -1 (a cmocka setup's failure). */
static inline int
test_make_tmpdir(char *tmpl, char *dir)
{
	return mkdtemp(tmpl) != NULL && realpath(tmpl, dir) != NULL ? 0 : -1;
}

/* test_make_tmpdir, and `file` (PATH_MAX bytes) set to DIR/`name`: the
 * set-up of a test group that writes one configuration file. */
static inline int
test_make_tmpdir_file(char *tmpl, char *dir, char *file, const char *name)
{
	if (test_make_tmpdir(tmpl, dir) != 0)
		return -1;
	snprintf(file, PATH_MAX, "%s/%s", dir, name);
	return 0;
}

/* Skip the current test, saying why.  cmocka's TAP line for a skip is
 * "not ok N # SKIP NAME" without a reason; ci/check counts it as skipped
 * (never passed) and shows the reason printed just before it here
 * ("# skip FUNCTION: WHY"). */
#define test_skip(why)                                                                             \
	do {                                                                                       \
		print_message("# skip %s: %s\n", __func__, (why));                                 \
		skip();                                                                            \
	} while (0)

#endif
