/*
 * spool.c - the message store: data and envelope files, message ids, the
 * order they are written and removed in.  The envelope's text format is
 * spool_envelope.c's.  Layout, format and the reasons for the order of
 * operations: docs/spool.md.
 *
 * The durability rule (DESIGN.md principle 6): a message is one file (data,
 * envelope, trailer: spool_file.c) that becomes visible (input/ID-D
 * appears) only after it is fsync'ed whole, so the caller may send 250 when
 * commit returns; a rename not yet on disk leaves the complete file in
 * tmp/, which the next queue run recovers.  Must never: make a -D visible
 * before it is on disk, overwrite an existing message's files, or leave a
 * -D behind when commit reports failure.  Envelope rewrites after delivery
 * attempts go to input/ID-H, which overrides the receipt's envelope.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fsutil.h"
#include "spool.h"
#include "strlist.h"
#include "strutil.h"

#define SPOOL_ID_TRIES 16

struct spool_message {
	char *dir;      /* the spool directory */
	char *tmp_path; /* tmp/<pid>-<counter>-D */
	int fd;
	uint64_t size;
	uint32_t crc; /* CRC-32 of what was written so far (spool_file.c's trailer) */
};

static int spool_test_ids;
static unsigned long spool_tmp_counter;

void
spool_set_test_ids(int on)
{
	spool_test_ids = on;
}

/* ---- small file-system helpers ------------------------------------------ */

static char *
spool_path(const char *dir, const char *sub, const char *id, const char *suffix)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s%s%s", dir, sub, id, suffix) < 0)
		return NULL;
	return p;
}

static int
spool_mkdir(const char *path, struct err *e)
{
	if (mkdir(path, 0750) != 0 && errno != EEXIST) {
		err_set(e, errno, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* rename(2) that never replaces an existing file: ids must never collide
 * with a message already in input/.  Falls back to link+unlink on file
 * systems without RENAME_NOREPLACE. */
static int
spool_rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) != 0)
		return -1;
	if (unlink(from) != 0) {
		int saved = errno;
		(void)unlink(to);
		errno = saved;
		return -1;
	}
	return 0;
}

/* ---- directories ------------------------------------------------------- */

int
spool_init(const char *spool_dir, struct err *e)
{
	static const char *const subs[] = { "tmp", "input", "msglog", "free" };
	char *path = NULL;
	int rc = -1;

	if (fs_mkdir_p(spool_dir, 0750, e) != 0)
		goto out;
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		free(path);
		path = spool_path(spool_dir, subs[i], "", "");
		if (path == NULL) {
			err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		if (spool_mkdir(path, e) != 0)
			goto out;
	}
	/* The new directories' own entries must be durable too. */
	if (fs_fsync_dir(spool_dir, e) != 0)
		goto out;
	rc = 0;
out:
	free(path);
	return rc;
}

/* ---- message ids ------------------------------------------------------- */

/* "T-000042": read-increment-write the counter in spool/ids under an
 * exclusive flock, so concurrent workers never hand out the same number. */
static int
spool_next_test_id(const char *spool_dir, char *id, size_t len, struct err *e)
{
	char *path = spool_path(spool_dir, "ids", "", "");
	char buf[32];
	unsigned long long n = 0;
	ssize_t r;
	int fd = -1, rc = -1, w;

	if (path == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		err_set(e, errno, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			err_set(e, errno, "cannot lock %s: %s", path, strerror(errno));
			goto out;
		}
	}
	r = pread(fd, buf, sizeof buf - 1, 0);
	if (r < 0) {
		err_set(e, errno, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	buf[r] = '\0';
	if (r > 0 && sscanf(buf, "%llu", &n) != 1) {
		err_set(e, EINVAL, "%s: not a counter", path);
		goto out;
	}
	n++;
	w = snprintf(buf, sizeof buf, "%llu\n", n);
	/* Same or longer than before: pwrite then ftruncate never loses it. */
	if (pwrite(fd, buf, (size_t)w, 0) != w || ftruncate(fd, w) != 0 || fsync(fd) != 0) {
		err_set(e, errno, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(id, len, "T-%06llu", n);
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd); /* releases the lock; the data is already fsync'ed */
	free(path);
	return rc;
}

/* "YYYYMMDD-HHMMSS-XXXXXX": UTC from the clock, six random base-36 chars. */
static int
spool_next_real_id(char *id, size_t len, struct err *e)
{
	static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char rnd[6];
	size_t got = 0;
	struct tm tm;
	time_t now = clock_now();

	if (gmtime_r(&now, &tm) == NULL) {
		err_set(e, EOVERFLOW, "clock out of range");
		return -1;
	}
	while (got < sizeof rnd) {
		unsigned char b[16];
		ssize_t r = getrandom(b, sizeof b, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(e, errno, "getrandom: %s", strerror(errno));
			return -1;
		}
		/* Rejection sampling: 252 = 7 * 36, so every character is equally likely. */
		for (ssize_t i = 0; i < r && got < sizeof rnd; i++)
			if (b[i] < 252)
				rnd[got++] = b36[b[i] % 36];
	}
	snprintf(id, len, "%04d%02d%02d-%02d%02d%02d-%.6s", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rnd);
	return 0;
}

static int
spool_next_id(const char *spool_dir, char *id, size_t len, struct err *e)
{
	if (spool_test_ids)
		return spool_next_test_id(spool_dir, id, len, e);
	return spool_next_real_id(id, len, e);
}

/* ---- receiving a message ---------------------------------------------- */

struct spool_message *
spool_message_begin(const char *spool_dir, struct err *e)
{
	struct spool_message *m = calloc(1, sizeof *m);

	if (m == NULL || (m->dir = strdup(spool_dir)) == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	m->fd = -1;
	/* A stale file of a dead process with our pid may exist: O_EXCL, next.
	 * A delivered message's file from free/ first (spool_free.c): a rename
	 * instead of an inode allocated under tmp/'s lock. */
	for (int tries = 0; tries < 100; tries++) {
		free(m->tmp_path);
		if (asprintf(&m->tmp_path, "%s/tmp/%ld-%lu-D", spool_dir, (long)getpid(),
		             ++spool_tmp_counter) < 0) {
			m->tmp_path = NULL;
			err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		m->fd = spool_free_claim(spool_dir, m->tmp_path);
		if (m->fd < 0)
			m->fd = open(m->tmp_path,
			             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (m->fd >= 0)
			return m;
		if (errno != EEXIST)
			break;
	}
	err_set(e, errno, "cannot create %s: %s", m->tmp_path, strerror(errno));
	free(m->tmp_path);
	m->tmp_path = NULL; /* not ours: nothing to remove */
out:
	if (m != NULL)
		m->fd = -1;
	spool_message_abort(m);
	return NULL;
}

int
spool_message_write(struct spool_message *m, const void *buf, size_t len, struct err *e)
{
	if (fs_write_all(m->fd, buf, len) != 0) {
		err_set(e, errno, "cannot write %s: %s", m->tmp_path, strerror(errno));
		return -1;
	}
	m->size += len;
	m->crc = spool_crc32(m->crc, buf, len);
	return 0;
}

void
spool_message_abort(struct spool_message *m)
{
	if (m == NULL)
		return;
	if (m->fd >= 0)
		(void)close(m->fd); /* the file is being thrown away */
	if (m->tmp_path != NULL)
		(void)unlink(m->tmp_path); /* a leftover in tmp/ is harmless */
	free(m->tmp_path);
	free(m->dir);
	free(m);
}

/* Write `text` to tmp/ID-H<tag>, fsync it, rename it to input/ID-H and
 * fsync input/.  The rename is the moment the envelope (new or replaced)
 * becomes visible, whole. */
static int
spool_envelope_install(const char *dir, const char *id, const char *text, struct err *e)
{
	char *tmp = NULL, *final = NULL, *input = NULL;
	int fd = -1, rc = -1;
	char tag[32];

	snprintf(tag, sizeof tag, "-H.%ld", (long)getpid());
	tmp = spool_path(dir, "tmp/", id, tag);
	final = spool_path(dir, "input/", id, "-H");
	input = spool_path(dir, "input", "", "");
	if (tmp == NULL || final == NULL || input == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	/* Never through a link planted in tmp/ (docs/spool.md "Ownership"). */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		err_set(e, errno, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fs_write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0) {
		err_set(e, errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		err_set(e, errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, final) != 0) {
		err_set(e, errno, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
		goto out;
	}
	if (fs_fsync_dir(input, e) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	if (rc != 0 && tmp != NULL)
		(void)unlink(tmp); /* may already be gone (renamed) */
	free(tmp);
	free(final);
	free(input);
	return rc;
}

/* An id under which nothing exists in input/: neither a message (-D) nor
 * an envelope a crashed removal left behind (-H, litter until the cleaner
 * takes it; a new message must never pick it up).  The rename with
 * RENAME_NOREPLACE is the final guard against a -D appearing meanwhile. */
static int
spool_free_id(struct spool_message *m, struct envelope *env, struct err *e)
{
	char hdr[PATH_MAX];

	for (int tries = 0; tries < SPOOL_ID_TRIES; tries++) {
		if (spool_next_id(m->dir, env->id, sizeof env->id, e) != 0)
			return -1;
		snprintf(hdr, sizeof hdr, "%s/input/%s-H", m->dir, env->id);
		if (access(hdr, F_OK) != 0 && errno == ENOENT)
			return 0;
	}
	err_set(e, EEXIST, "no free message id after %d tries", SPOOL_ID_TRIES);
	return -1;
}

/* After the data: the envelope text and the trailer (spool_file.c), then
 * the one fsync.  The file is cut to the data first: that drops the old
 * tail on a retry (id clash), and what a file reused from free/ held
 * beyond the new data. */
static int
spool_write_tail(struct spool_message *m, const struct envelope *env, struct err *e)
{
	char trailer[SPOOL_TRAILER_LEN + 1];
	char *text = spool_envelope_text(env);
	size_t len;
	int rc = -1;

	if (text == NULL) {
		err_set(e, ENOMEM, "out of memory");
		return -1;
	}
	len = strlen(text);
	spool_trailer_format(trailer, m->size, len, spool_crc32(m->crc, text, len));
	if (ftruncate(m->fd, (off_t)m->size) != 0 || lseek(m->fd, 0, SEEK_END) < 0 ||
	    fs_write_all(m->fd, text, len) != 0 ||
	    fs_write_all(m->fd, trailer, SPOOL_TRAILER_LEN) != 0) {
		err_set(e, errno, "cannot write %s: %s", m->tmp_path, strerror(errno));
		goto out;
	}
	/* The one fsync: data, envelope and trailer, and the file's size and
	 * blocks.  It also makes tmp/'s new entry durable on the journalling
	 * file systems (docs/spool.md "Durability order"). */
	if (fsync(m->fd) != 0) {
		err_set(e, errno, "cannot fsync %s: %s", m->tmp_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

int
spool_message_commit(struct spool_message *m, struct envelope *env, struct err *e)
{
	char *data = NULL;
	int rc = -1;

	env->size = m->size;
	if (env->received_at == 0)
		env->received_at = clock_now();
	/* 1. An id; 2. envelope and trailer after the data, one fsync; 3. the
	 * rename into input/ (never over another message).  A clash (another
	 * -D took the id meanwhile) takes the next id and rewrites the tail:
	 * the id is inside the envelope. */
	for (int tries = 0;; tries++) {
		if (spool_free_id(m, env, e) != 0 || spool_write_tail(m, env, e) != 0)
			goto out;
		free(data);
		data = spool_path(m->dir, "input/", env->id, "-D");
		if (data == NULL) {
			err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		if (spool_rename_noreplace(m->tmp_path, data) == 0)
			break;
		if (errno != EEXIST || tries + 1 >= SPOOL_ID_TRIES) {
			err_set(e, errno, "cannot rename %s to %s: %s", m->tmp_path, data,
			        strerror(errno));
			goto out;
		}
	}
	free(m->tmp_path); /* renamed away: nothing left in tmp/ to remove */
	m->tmp_path = NULL;
	/* No fsync of input/: until the rename is on disk the message is the
	 * fsync'ed file in tmp/, which the next queue run's recovery renames
	 * (spool_recover).  Either name holds the whole message. */
	/* Already fsync'ed, so a close error cannot lose anything. */
	(void)close(m->fd);
	m->fd = -1;
	rc = 0;
out:
	if (rc != 0)
		env->id[0] = '\0';
	free(data);
	spool_message_abort(m); /* closes the fd on failure; removes tmp if still there */
	return rc;
}

int
spool_envelope_rewrite(const char *spool_dir, const struct envelope *env, struct err *e)
{
	char *text = spool_envelope_text(env);
	int rc;

	if (text == NULL) {
		err_set(e, ENOMEM, "out of memory");
		return -1;
	}
	/* Atomic replace: readers see the old envelope or the new, never half. */
	rc = spool_envelope_install(spool_dir, env->id, text, e);
	free(text);
	return rc;
}

/* ---- removing and listing --------------------------------------------- */

static int
spool_unlink(const char *path, struct err *e)
{
	if (unlink(path) != 0 && errno != ENOENT) {
		err_set(e, errno, "cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
spool_message_remove(const char *spool_dir, const char *id, struct err *e)
{
	char *hdr = spool_path(spool_dir, "input/", id, "-H");
	char *data = spool_path(spool_dir, "input/", id, "-D");
	char *msglog = spool_path(spool_dir, "msglog/", id, "");
	int rc = -1;

	if (hdr == NULL || data == NULL || msglog == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	/* -D first: once it is gone the message no longer exists, and a crash
	 * after this point leaves at most an -H nobody lists (litter).  No
	 * fsync: a crash before the next journal commit brings the message back
	 * and it is delivered again, as after a crash between the delivery and
	 * this call, which no fsync prevents (docs/spool.md); an fsync here was
	 * a journal commit per delivered message that receipts waited behind.
	 * The -D goes to free/ to be written over by a later receipt when it
	 * can (spool_free.c), and is unlinked otherwise. */
	if (!spool_free_put(spool_dir, data, id) && spool_unlink(data, e) != 0)
		goto out;
	if (spool_unlink(hdr, e) != 0 || spool_unlink(msglog, e) != 0)
		goto out;
	rc = 0;
out:
	free(hdr);
	free(data);
	free(msglog);
	return rc;
}

static int
spool_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_list(const char *spool_dir, struct strlist *ids, struct err *e)
{
	char *input = spool_path(spool_dir, "input", "", "");
	DIR *d = NULL;
	struct dirent *de;
	int rc = -1;

	if (input == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	d = opendir(input);
	if (d == NULL) {
		err_set(e, errno, "cannot open %s: %s", input, strerror(errno));
		goto out;
	}
	for (;;) {
		size_t len;
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				err_set(e, errno, "cannot read %s: %s", input, strerror(errno));
				goto out;
			}
			break;
		}
		len = strlen(de->d_name);
		if (len < 3 || de->d_name[0] == '.' || strcmp(de->d_name + len - 2, "-D") != 0)
			continue;
		if (strlist_push_owned(ids, strndup(de->d_name, len - 2)) != 0) {
			err_set(e, ENOMEM, "out of memory");
			goto out;
		}
	}
	if (ids->n > 1)
		qsort(ids->v, ids->n, sizeof ids->v[0], spool_cmp);
	rc = 0;
out:
	if (d != NULL)
		(void)closedir(d);
	if (rc != 0)
		strlist_free(ids);
	free(input);
	return rc;
}
