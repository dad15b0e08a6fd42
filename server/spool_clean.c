/*
 * spool_clean.c - the spool cleaner (docs/spool.md "Litter"): removes what
 * a crash leaves behind and nothing lists or delivers, once it is old.
 *
 *   tmp/<pid>-<n>-D, tmp/<ID>-H.<pid>   a receipt or envelope rewrite that
 *                                       died (its process is gone); a
 *                                       complete receipt is recovered first
 *                                       (spool_file.c), never removed
 *   input/<ID>-H without input/<ID>-D   a removal that died after the -D
 *   input/<ID>-D with neither an -H nor a trailer
 *                                       a two-file copy (queuefile) whose
 *                                       -H never came
 *   free/<ID>                           a delivered message's file nobody
 *                                       reused (spool_free.c)
 *
 * Must never: remove an input/ID-D that is a message (it has a trailer or
 * an -H), an -H whose -D exists, a tmp/ file of a process still alive,
 * anything younger than the age, or anything that is not a regular file.
 * It only reports; the caller (queue.c) logs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "strlist.h"

/* The pid a tmp/ name carries: "<pid>-<n>-D" or "<ID>-H.<pid>"; 0 if none. */
static pid_t
spool_clean_tmp_pid(const char *name)
{
	const char *h = strstr(name, "-H.");
	char *end;
	long pid;

	pid = strtol(h != NULL ? h + 3 : name, &end, 10);
	if (pid <= 0 || end == (h != NULL ? h + 3 : name))
		return 0;
	if (h != NULL ? *end != '\0' : *end != '-')
		return 0;
	return (pid_t)pid;
}

/* Old enough: last written more than `age` seconds before `now`, and
 * before the real time too, since a test clock running ahead of the files
 * must not make a file being written look old.  (A data file is renamed
 * into input/ right after its last write, so mtime dates the rename too.) */
static int
spool_clean_is_old(const struct stat *st, time_t now, unsigned age)
{
	return now - st->st_mtime > (time_t)age && time(NULL) - st->st_mtime > (time_t)age;
}

/* input/NAME (an -H or a -D, `len` octets) belongs to a message, or we
 * cannot tell: an -H whose -D exists; a -D with a trailer or with an -H. */
static int
spool_clean_is_message(int dfd, const char *name, size_t len)
{
	char other[NAME_MAX + 1];
	struct spool_trailer t;
	struct stat st;
	int fd, has_trailer;

	memcpy(other, name, len - 1);
	other[len - 1] = name[len - 1] == 'D' ? 'H' : 'D';
	other[len] = '\0';
	if (faccessat(dfd, other, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
		return 1;
	if (name[len - 1] == 'H')
		return 0; /* an envelope whose message is gone */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			(void)close(fd);
		return 1;
	}
	has_trailer = spool_trailer_read(fd, (uint64_t)st.st_size, &t) == 0;
	(void)close(fd); /* read-only */
	return has_trailer;
}

/* Remove `name` in the directory `dfd` ("sub/" for the reports). */
static void
spool_clean_remove(int dfd, const char *sub, const char *name, struct strlist *removed,
                   struct strlist *failed)
{
	struct strlist *to = removed;
	char *what = NULL;
	int n;

	if (unlinkat(dfd, name, 0) == 0) {
		n = asprintf(&what, "%s%s", sub, name);
	} else if (errno == ENOENT) {
		return; /* gone meanwhile (a runner removed the message) */
	} else {
		to = failed;
		n = asprintf(&what, "cannot remove %s%s: %s", sub, name, strerror(errno));
	}
	/* Out of memory: the file is still removed (or not); only the report is lost. */
	if (n >= 0 && strlist_push_owned(to, what) != 0)
		return;
}

/* One directory: "tmp", "input" or "free". */
static int
spool_clean_dir(const char *spool_dir, const char *sub, time_t now, unsigned age,
                struct strlist *removed, struct strlist *failed, struct err *e)
{
	char *path = NULL, prefix[8];
	DIR *d = NULL;
	struct dirent *de;
	int is_tmp = strcmp(sub, "tmp") == 0, is_free = strcmp(sub, "free") == 0, rc = -1;

	if (asprintf(&path, "%s/%s", spool_dir, sub) < 0) {
		path = NULL;
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	d = opendir(path);
	if (d == NULL && is_free && errno == ENOENT) {
		rc = 0; /* a spool from before free/: nothing there to clean */
		goto out;
	}
	if (d == NULL) {
		err_set(e, errno, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(prefix, sizeof prefix, "%s/", sub);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (!is_tmp && !is_free &&
		    (len < 3 || (strcmp(de->d_name + len - 2, "-D") != 0 &&
		                 strcmp(de->d_name + len - 2, "-H") != 0)))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || !spool_clean_is_old(&st, now, age))
			continue;
		if (is_tmp) {
			pid_t pid = spool_clean_tmp_pid(de->d_name);
			if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM))
				continue; /* its writer may still be at work */
		} else if (!is_free && spool_clean_is_message(dirfd(d), de->d_name, len)) {
			continue; /* a message (or we cannot tell): never litter */
		}
		spool_clean_remove(dirfd(d), prefix, de->d_name, removed, failed);
	}
	rc = 0;
out:
	if (d != NULL)
		(void)closedir(d);
	free(path);
	return rc;
}

static int
spool_clean_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_clean(const char *spool_dir, time_t now, unsigned age, struct strlist *removed,
            struct strlist *failed, struct err *e)
{
	if (spool_clean_dir(spool_dir, "tmp", now, age, removed, failed, e) != 0 ||
	    spool_clean_dir(spool_dir, "input", now, age, removed, failed, e) != 0 ||
	    spool_clean_dir(spool_dir, "free", now, age, removed, failed, e) != 0)
		return -1;
	/* Directory order is the file system's: sorted, the log is reproducible. */
	if (removed->n > 1)
		qsort(removed->v, removed->n, sizeof removed->v[0], spool_clean_cmp);
	if (failed->n > 1)
		qsort(failed->v, failed->n, sizeof failed->v[0], spool_clean_cmp);
	return 0;
}
