/*
 * fuzz_util.h - helpers shared by the libFuzzer targets (fuzz/TARGET_fuzz.c):
 * a private mkdtemp directory (on /dev/shm when it is there) removed at exit, writing the input to
 * a file in it, emptying a directory tree between inputs, and a NUL-terminated copy of the input.
 * Header-only (static inline): each target is one translation unit (docs/fuzz.md, "Adding a
 * target").
 */
#ifndef REFMTA_FUZZ_UTIL_H
#define REFMTA_FUZZ_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64];

static inline int
fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

/* Remove everything below `dir`; with keep_dirs, only the files. */
static inline int
fuzz_rm_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_F || flag == FTW_SL || flag == FTW_SLN)
		(void)unlink(path);
	return 0;
}

static inline void
fuzz_empty_tree(const char *dir)
{
	(void)nftw(dir, fuzz_rm_file, 16, FTW_PHYS | FTW_DEPTH);
}

static inline void
fuzz_dir_remove(void)
{
	if (fuzz_dir[0] != '\0')
		(void)nftw(fuzz_dir, fuzz_rm_one, 16, FTW_PHYS | FTW_DEPTH);
}

/* Make the private directory (once); its path, owned by this header. */
static inline const char *
fuzz_dir_make(const char *name)
{
	if (fuzz_dir[0] != '\0')
		return fuzz_dir;
	/* tmpfs when there is one: rewriting a file on ext4 flushes it to the
	   disk on close (auto_da_alloc), which cuts executions a hundredfold. */
	snprintf(fuzz_dir, sizeof fuzz_dir, "%s/refmta_%s_fuzz.XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", name);
	if (mkdtemp(fuzz_dir) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fuzz_dir_remove);
	return fuzz_dir;
}

/* Write data[0..size) to `path` (created or truncated); aborts on failure. */
static inline void
fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || (size > 0 && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0) {
		perror(path);
		abort();
	}
}

/* A malloc'd copy of the input with a NUL after it; caller frees. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
