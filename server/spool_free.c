/*
 * spool_free.c - the spool's free list (docs/spool.md "Reused files"): the
 * files of delivered messages, kept in free/ and written over by the next
 * messages received, so that a busy spool neither creates nor deletes a
 * file per message.
 *
 * Why: creating a file allocates an inode while holding the directory's
 * lock, and deleting one frees it.  On ext4 without a journal (the bench's
 * disk, docs/bench.md) each allocation also steps over every inode of the
 * group freed in the last minutes, so the cost of a receipt grew with the
 * rate of deliveries, and every worker waited on tmp/'s lock meanwhile.  A
 * reused file is renamed, not created, and its blocks are written over,
 * not freed and allocated again.
 *
 * Put (spool_message_remove, once every recipient is done): a regular file
 * of one link and at most SPOOL_FREE_MAX_SIZE octets is renamed from
 * input/ID-D to free/ID while free/ holds fewer than SPOOL_FREE_MAX files
 * (as this process last counted, plus its own puts); otherwise the caller
 * unlinks it.
 *
 * Claim (spool_message_begin): a name read from free/ is renamed to the
 * caller's tmp/ name.  The rename is the claim: of two processes renaming
 * the same name, one gets ENOENT and tries the next.  The file is then
 * opened for writing (never through a link), checked to be a regular file
 * of one link, and its last SPOOL_TRAILER_LEN octets are zeroed, so the
 * delivered message it held is no longer a complete file for the tmp/
 * recovery (spool_file.c) to bring back.  The writer writes from offset
 * 0; spool_message_commit cuts the file to the new data before appending
 * the envelope and trailer.
 *
 * Must never: write through anything but a regular file of one link (a
 * link or a directory planted in free/ is never written through); let two
 * processes claim one file; recover or deliver anything from free/ (it
 * holds delivered messages only, spool_file.c never looks there); hold
 * more than SPOOL_FREE_MAX files, give or take one recount period of each
 * process putting files there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

/* The names one directory read hands this process, used until gone: one
 * getdents64 of SPOOL_FREE_READ octets (the first ~100 names; glibc's
 * readdir would read 32 KiB, ~800, each time). */
#define SPOOL_FREE_BATCH 64
#define SPOOL_FREE_READ 4096
/* A put recounts free/ every this many puts (others' claims shrink it). */
#define SPOOL_FREE_RECOUNT 256

static char spool_free_names[SPOOL_FREE_BATCH][NAME_MAX + 1];
/* Tried in turn from a place that depends on the pid, so that the workers
 * reading the same names do not all rename the same one first. */
static int spool_free_n, spool_free_tried, spool_free_start;
static long spool_free_count = -1; /* free/ as last counted, plus our puts; -1: not yet */
static unsigned spool_free_puts;
static char spool_free_dir[PATH_MAX]; /* the spool the above are about */

/* The state above is about `spool_dir` from now on (a process uses one
 * spool; the unit tests use many). */
static void
spool_free_for(const char *spool_dir)
{
	if (strcmp(spool_free_dir, spool_dir) == 0)
		return;
	snprintf(spool_free_dir, sizeof spool_free_dir, "%s", spool_dir);
	spool_free_n = spool_free_tried = 0;
	spool_free_count = -1;
	spool_free_puts = 0;
}

/* SPOOL/free/NAME (NAME "" for the directory) in `out`; -1 if too long. */
static int
spool_free_path(char out[PATH_MAX], const char *spool_dir, const char *name)
{
	return snprintf(out, PATH_MAX, "%s/free/%s", spool_dir, name) >= PATH_MAX ? -1 : 0;
}

/* The next batch of names in free/ (regular files, or of unknown type). */
static void
spool_free_read(const char *spool_dir)
{
	char path[PATH_MAX];
	union {
		char buf[SPOOL_FREE_READ];
		struct dirent64 align;
	} u;
	ssize_t got;
	int fd;

	spool_free_n = spool_free_tried = 0;
	if (spool_free_path(path, spool_dir, "") != 0)
		return;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return; /* no free/ (an older spool): every file is created */
	got = getdents64(fd, u.buf, sizeof u.buf);
	for (ssize_t off = 0; off < got && spool_free_n < SPOOL_FREE_BATCH;) {
		const struct dirent64 *de = (const struct dirent64 *)(void *)(u.buf + off);

		off += de->d_reclen;
		if (de->d_name[0] == '.' || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN) ||
		    strlen(de->d_name) > NAME_MAX)
			continue;
		memcpy(spool_free_names[spool_free_n++], de->d_name, strlen(de->d_name) + 1);
	}
	(void)close(fd); /* read only */
	if (spool_free_n > 0)
		spool_free_start = (int)(getpid() % spool_free_n);
}

/* `to` (just renamed from free/) opened for writing, its old trailer
 * zeroed; -1 (and `to` removed where it is a file) when it is not a
 * regular file of one link. */
static int
spool_free_open(const char *to)
{
	static const char zeros[SPOOL_TRAILER_LEN];
	struct stat st;
	int fd = open(to, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (errno != EISDIR)
			(void)unlink(to); /* a link planted in free/: gone, not followed */
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (st.st_size >= SPOOL_TRAILER_LEN &&
	     pwrite(fd, zeros, sizeof zeros, st.st_size - SPOOL_TRAILER_LEN) != sizeof zeros)) {
		(void)close(fd);
		(void)unlink(to);
		return -1;
	}
	return fd;
}

int
spool_free_claim(const char *spool_dir, const char *to)
{
	char from[PATH_MAX];

	spool_free_for(spool_dir);
	for (int reads = 0; reads < 2; reads++) {
		while (spool_free_tried < spool_free_n) {
			const char *name =
			        spool_free_names[(spool_free_start + spool_free_tried++) %
			                         spool_free_n];
			int fd;

			if (spool_free_path(from, spool_dir, name) != 0)
				continue;
			if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) != 0)
				continue; /* ENOENT: another process took it */
			fd = spool_free_open(to);
			if (fd >= 0)
				return fd;
		}
		if (reads == 1)
			break;
		/* An empty free/ costs a directory read per receipt: a few
		 * microseconds, against an inode allocation. */
		spool_free_read(spool_dir);
	}
	return -1;
}

/* Files in free/, counting up to SPOOL_FREE_MAX. */
static long
spool_free_count_files(const char *spool_dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	long n = 0;
	DIR *d;

	if (spool_free_path(path, spool_dir, "") != 0)
		return SPOOL_FREE_MAX;
	d = opendir(path);
	if (d == NULL)
		return SPOOL_FREE_MAX; /* no free/: nothing is put there */
	while (n < SPOOL_FREE_MAX && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	(void)closedir(d);
	return n;
}

int
spool_free_put(const char *spool_dir, const char *data, const char *id)
{
	char to[PATH_MAX];
	struct stat st;

	spool_free_for(spool_dir);
	if (spool_free_count < 0 || ++spool_free_puts % SPOOL_FREE_RECOUNT == 0)
		spool_free_count = spool_free_count_files(spool_dir);
	if (spool_free_count >= SPOOL_FREE_MAX)
		return 0;
	if (lstat(data, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_size > SPOOL_FREE_MAX_SIZE)
		return 0;
	if (spool_free_path(to, spool_dir, id) != 0 ||
	    renameat2(AT_FDCWD, data, AT_FDCWD, to, RENAME_NOREPLACE) != 0)
		return 0;
	spool_free_count++;
	return 1;
}
