/*
 * spool.c - the message store: data and envelope files, message ids, the
 * envelope file format.  Layout, format and the reasons for the order of
 * operations: docs/spool.md.
 *
 * The durability rule (DESIGN.md principle 6): a message becomes visible
 * (input/ID-H appears) only after its data and its envelope are on disk, and
 * input/ is fsync'ed before commit returns, so the caller may then send 250.
 * Must never: make an -H visible before its -D, overwrite an existing
 * message's files, or leave an -H behind when commit reports failure.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "dsn_param.h"
#include "fsutil.h"
#include "spool.h"
#include "strlist.h"
#include "strutil.h"

#define SPOOL_ENVELOPE_VERSION 2 /* 2 added retry and last-error; 1 is still read */
#define SPOOL_ENVELOPE_MAX (64u * 1024 * 1024) /* refuse to slurp anything bigger */
#define SPOOL_ID_TRIES 16

struct spool_message {
	char *dir;      /* the spool directory */
	char *tmp_path; /* tmp/<pid>-<counter>-D */
	int fd;
	uint64_t size;
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
	static const char *const subs[] = {"tmp", "input", "msglog"};
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
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
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
	/* A stale file of a dead process with our pid may exist: O_EXCL, next. */
	for (int tries = 0; tries < 100; tries++) {
		free(m->tmp_path);
		if (asprintf(&m->tmp_path, "%s/tmp/%ld-%lu-D", spool_dir, (long)getpid(),
		             ++spool_tmp_counter) < 0) {
			m->tmp_path = NULL;
			err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		m->fd = open(m->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
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

/* ---- the envelope file ------------------------------------------------- */

/* RFC 3461 4 xtext (dsn_param.h): no space, CR or LF can survive, so one
 * value is one word. */
static void
spool_buf_xtext(struct buf *b, const char *s)
{
	size_t cap = 3 * strlen(s) + 1; /* every octet "+HH" at most */
	char *x = malloc(cap);

	if (x == NULL || dsn_param_xtext_encode(s, x, cap) != 0) {
		b->oom = 1;
		free(x);
		return;
	}
	buf_adds(b, x);
	free(x);
}

/* "KEY SP xtext(VALUE) LF"; a NULL value writes no line at all. */
static void
spool_buf_field(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return;
	buf_adds(b, key);
	buf_add(b, " ", 1);
	spool_buf_xtext(b, value);
	buf_add(b, "\n", 1);
}

static void
spool_buf_number(struct buf *b, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof num, "%" PRIu64, v);
	spool_buf_field(b, key, num);
}

static char *
spool_envelope_format(const struct envelope *env)
{
	struct buf b = {0};

	buf_addf(&b, "refmta-envelope %d\n", SPOOL_ENVELOPE_VERSION);
	spool_buf_field(&b, "id", env->id);
	spool_buf_field(&b, "sender", env->sender != NULL ? env->sender : "");
	spool_buf_number(&b, "size", env->size);
	spool_buf_number(&b, "received-at", (uint64_t)env->received_at);
	spool_buf_field(&b, "ret", dsn_param_ret_name(env->ret)); /* NULL: no line */
	spool_buf_field(&b, "envid", env->envid);
	spool_buf_field(&b, "body", env->body);
	spool_buf_field(&b, "helo", env->helo);
	spool_buf_field(&b, "host-address", env->host_address);
	spool_buf_number(&b, "host-port", env->host_port);
	spool_buf_field(&b, "protocol", env->protocol);
	spool_buf_field(&b, "tls-version", env->tls_version);
	spool_buf_field(&b, "tls-cipher", env->tls_cipher);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		spool_buf_field(&b, "rcpt", r->address != NULL ? r->address : "");
		spool_buf_field(&b, "orcpt", r->orcpt);
		if (r->notify != 0) {
			char names[DSN_NOTIFY_NAMES_MAX];
			if (dsn_param_notify_format(r->notify, names, sizeof names) != 0)
				b.oom = 1; /* bits no NOTIFY has: a bug upstream, write nothing */
			else
				spool_buf_field(&b, "notify", names);
		}
		if (r->retry.tries != 0) {
			char retry[96];
			snprintf(retry, sizeof retry, "%u,%lld,%lld,%u", r->retry.tries,
			         (long long)r->retry.first_failure, (long long)r->retry.next_try,
			         r->retry.interval);
			spool_buf_field(&b, "retry", retry);
		}
		spool_buf_field(&b, "last-error", r->last_error);
		if (r->done)
			spool_buf_field(&b, "done", "1");
	}
	buf_adds(&b, "end\n");
	return buf_take(&b); /* NULL when out of memory */
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
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
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

int
spool_message_commit(struct spool_message *m, struct envelope *env, struct err *e)
{
	char *data = NULL, *text = NULL;
	int rc = -1, data_placed = 0, envelope_placed = 0;

	/* 1. The data reaches the disk before anything refers to it. */
	if (fsync(m->fd) != 0) {
		err_set(e, errno, "cannot fsync %s: %s", m->tmp_path, strerror(errno));
		goto out;
	}
	if (close(m->fd) != 0) {
		m->fd = -1;
		err_set(e, errno, "cannot write %s: %s", m->tmp_path, strerror(errno));
		goto out;
	}
	m->fd = -1;

	/* 2. An id, and the data under it in input/ (never over another message's). */
	for (int tries = 0;; tries++) {
		if (spool_next_id(m->dir, env->id, sizeof env->id, e) != 0)
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
	data_placed = 1;
	free(m->tmp_path); /* renamed away: nothing left in tmp/ to remove */
	m->tmp_path = NULL;
	env->size = m->size;
	if (env->received_at == 0)
		env->received_at = clock_now();

	/* 3. The envelope: tmp, fsync, rename into input/, fsync input/.  Until
	 * this rename the -D alone is invisible (nothing lists it). */
	text = spool_envelope_format(env);
	if (text == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if (spool_envelope_install(m->dir, env->id, text, e) != 0)
		goto out;
	envelope_placed = 1;
	rc = 0;
out:
	if (rc != 0 && data_placed) {
		/* Not acknowledged: the client will retry, so a leftover would be
		 * a duplicate.  -H first (it makes the message exist), then -D. */
		char *hdr = spool_path(m->dir, "input/", env->id, "-H");
		if (envelope_placed && hdr != NULL)
			(void)unlink(hdr);
		free(hdr);
		(void)unlink(data);
	}
	if (rc != 0)
		env->id[0] = '\0';
	free(text);
	free(data);
	spool_message_abort(m); /* closes nothing more; removes tmp if still there */
	return rc;
}

/* ---- reading an envelope ---------------------------------------------- */

/* Decode an xtext word (dsn_param.h) into a new string; NULL if malformed
 * or out of memory. */
static char *
spool_xtext_decode(const char *s)
{
	size_t cap = strlen(s) + 1;
	char *out = malloc(cap);

	if (out != NULL && dsn_param_xtext_decode(s, out, cap) != 0) {
		free(out);
		out = NULL;
	}
	return out;
}

/* Replace a string member (a key given twice is an error). */
/* "TRIES,FIRST,NEXT,INTERVAL": decimal, TRIES >= 1. */
static int
spool_parse_retry(const char *s, struct retry_state *out)
{
	unsigned long long v[4];
	int used = 0;

	if (sscanf(s, "%llu,%llu,%llu,%llu%n", &v[0], &v[1], &v[2], &v[3], &used) != 4 ||
	    s[used] != '\0' || !isdigit((unsigned char)s[0]))
		return -1;
	if (v[0] == 0 || v[0] > UINT32_MAX || v[3] > UINT32_MAX || (uint64_t)(time_t)v[1] != v[1] ||
	    (uint64_t)(time_t)v[2] != v[2])
		return -1;
	out->tries = (unsigned)v[0];
	out->first_failure = (time_t)v[1];
	out->next_try = (time_t)v[2];
	out->interval = (unsigned)v[3];
	return 0;
}

static int
spool_set_str(char **slot, char *value)
{
	if (*slot != NULL) {
		free(value);
		return -1;
	}
	*slot = value;
	return 0;
}

/* One "KEY VALUE" line into `env`.  `value` is decoded and owned by us. */
static int
spool_envelope_apply(struct envelope *env, const char *key, char *value, int *seen_sender)
{
	struct spool_rcpt *last = env->nrcpts ? &env->rcpts[env->nrcpts - 1] : NULL;
	uint64_t num;
	int rc = -1;

	if (strcmp(key, "rcpt") == 0) {
		struct spool_rcpt *grown =
		        realloc(env->rcpts, (env->nrcpts + 1) * sizeof *env->rcpts);
		if (grown == NULL)
			goto out;
		env->rcpts = grown;
		memset(&grown[env->nrcpts], 0, sizeof grown[0]);
		grown[env->nrcpts++].address = value;
		return 0;
	}
	if (strcmp(key, "orcpt") == 0) {
		if (last == NULL)
			goto out;
		return spool_set_str(&last->orcpt, value);
	}
	if (strcmp(key, "last-error") == 0) {
		if (last == NULL)
			goto out;
		return spool_set_str(&last->last_error, value);
	}
	if (strcmp(key, "sender") == 0) {
		if (*seen_sender)
			goto out;
		*seen_sender = 1;
		free(env->sender);
		env->sender = value;
		return 0;
	}
	if (strcmp(key, "envid") == 0)
		return spool_set_str(&env->envid, value);
	if (strcmp(key, "body") == 0)
		return spool_set_str(&env->body, value);
	if (strcmp(key, "helo") == 0)
		return spool_set_str(&env->helo, value);
	if (strcmp(key, "host-address") == 0)
		return spool_set_str(&env->host_address, value);
	if (strcmp(key, "protocol") == 0)
		return spool_set_str(&env->protocol, value);
	if (strcmp(key, "tls-version") == 0)
		return spool_set_str(&env->tls_version, value);
	if (strcmp(key, "tls-cipher") == 0)
		return spool_set_str(&env->tls_cipher, value);

	/* The rest are scalars: parse, then drop the string. */
	if (strcmp(key, "id") == 0) {
		if (strlen(value) >= sizeof env->id)
			goto out;
		strcpy(env->id, value);
	} else if (strcmp(key, "size") == 0) {
		if (str_parse_u64(value, strlen(value), UINT64_MAX, &env->size) != STR_NUM_OK)
			goto out;
	} else if (strcmp(key, "received-at") == 0) {
		if (str_parse_u64(value, strlen(value), UINT64_MAX, &num) != STR_NUM_OK ||
		    (uint64_t)(time_t)num != num)
			goto out;
		env->received_at = (time_t)num;
	} else if (strcmp(key, "host-port") == 0) {
		if (str_parse_u64(value, strlen(value), 65535, &num) != STR_NUM_OK)
			goto out;
		env->host_port = (unsigned)num;
	} else if (strcmp(key, "ret") == 0) {
		if (dsn_param_ret_parse(value, &env->ret) != 0)
			goto out;
	} else if (strcmp(key, "notify") == 0) {
		if (last == NULL || dsn_param_notify_parse(value, &last->notify) != 0)
			goto out;
	} else if (strcmp(key, "retry") == 0) {
		if (last == NULL || spool_parse_retry(value, &last->retry) != 0)
			goto out;
	} else if (strcmp(key, "done") == 0) {
		if (last == NULL || strcmp(value, "1") != 0)
			goto out;
		last->done = 1;
	} else {
		goto out; /* unknown key: a newer format we do not understand */
	}
	rc = 0;
out:
	free(value);
	return rc;
}

static int
spool_envelope_parse(char *text, size_t len, struct envelope *env, struct err *e, const char *path)
{
	char *line = text, *nl;
	int lineno = 1, seen_sender = 0, ended = 0;
	char head[32];

	if (memchr(text, '\0', len) != NULL) {
		err_set(e, EINVAL, "%s: NUL byte in envelope", path);
		return -1;
	}
	/* Version 1 is version 2 without the retry and last-error keys. */
	snprintf(head, sizeof head, "refmta-envelope %d\n", SPOOL_ENVELOPE_VERSION);
	if (strncmp(text, head, strlen(head)) != 0 &&
	    strncmp(text, "refmta-envelope 1\n", strlen("refmta-envelope 1\n")) != 0) {
		err_set(e, EINVAL, "%s: not a version 1 or %d envelope", path, SPOOL_ENVELOPE_VERSION);
		return -1;
	}
	line += strlen(head);
	for (lineno = 2; *line != '\0'; line = nl + 1, lineno++) {
		char *sp, *value;

		nl = strchr(line, '\n');
		if (nl == NULL) {
			err_set(e, EINVAL, "%s:%d: truncated line", path, lineno);
			return -1;
		}
		*nl = '\0';
		if (ended) {
			err_set(e, EINVAL, "%s:%d: text after \"end\"", path, lineno);
			return -1;
		}
		if (strcmp(line, "end") == 0) {
			ended = 1;
			continue;
		}
		sp = strchr(line, ' ');
		if (sp == NULL) {
			err_set(e, EINVAL, "%s:%d: expected \"KEY VALUE\"", path, lineno);
			return -1;
		}
		*sp = '\0';
		value = spool_xtext_decode(sp + 1);
		if (value == NULL) {
			err_set(e, EINVAL, "%s:%d: bad xtext in %s", path, lineno, line);
			return -1;
		}
		if (spool_envelope_apply(env, line, value, &seen_sender) != 0) {
			err_set(e, EINVAL, "%s:%d: bad or repeated %s line", path, lineno, line);
			return -1;
		}
	}
	if (!ended || !seen_sender) {
		err_set(e, EINVAL, "%s: incomplete envelope (no %s)", path,
		        ended ? "sender" : "end line");
		return -1;
	}
	return 0;
}

int
spool_envelope_read(const char *spool_dir, const char *id, struct envelope *env, struct err *e)
{
	char *path = spool_path(spool_dir, "input/", id, "-H");
	char *text = NULL;
	struct stat st;
	size_t have = 0;
	int fd = -1, rc = -1;

	memset(env, 0, sizeof *env);
	if (path == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		err_set(e, errno, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SPOOL_ENVELOPE_MAX) {
		err_set(e, EINVAL, "%s: not a plausible envelope file", path);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	while (have < (size_t)st.st_size) {
		ssize_t r = read(fd, text + have, (size_t)st.st_size - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(e, errno, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	text[have] = '\0';
	if (spool_envelope_parse(text, have, env, e, path) != 0)
		goto out;
	if (strcmp(env->id, id) != 0) {
		err_set(e, EINVAL, "%s: envelope is for message \"%s\"", path, env->id);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		envelope_free(env);
	if (fd >= 0)
		(void)close(fd);
	free(text);
	free(path);
	return rc;
}

char *
spool_envelope_text(const struct envelope *env)
{
	return spool_envelope_format(env);
}

int
spool_envelope_rewrite(const char *spool_dir, const struct envelope *env, struct err *e)
{
	char *text = spool_envelope_format(env);
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

void
envelope_free(struct envelope *env)
{
	if (env == NULL)
		return;
	for (size_t i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].address);
		free(env->rcpts[i].orcpt);
		free(env->rcpts[i].last_error);
	}
	free(env->rcpts);
	free(env->sender);
	free(env->envid);
	free(env->body);
	free(env->helo);
	free(env->host_address);
	free(env->protocol);
	free(env->tls_version);
	free(env->tls_cipher);
	memset(env, 0, sizeof *env);
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
	char *input = spool_path(spool_dir, "input", "", "");
	int rc = -1;

	if (hdr == NULL || data == NULL || msglog == NULL || input == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	/* -H first: once it is gone the message no longer exists, and a crash
	 * after this point leaves only an invisible -D, never an -H whose data
	 * is missing.  The fsync makes "gone" stick, so it is not delivered twice. */
	if (spool_unlink(hdr, e) != 0 || fs_fsync_dir(input, e) != 0)
		goto out;
	if (spool_unlink(data, e) != 0 || spool_unlink(msglog, e) != 0)
		goto out;
	rc = 0;
out:
	free(hdr);
	free(data);
	free(msglog);
	free(input);
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
		if (len < 3 || de->d_name[0] == '.' || strcmp(de->d_name + len - 2, "-H") != 0)
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
