/*
 * deliver_local.c - one spooled message into one local mailbox (maildir or
 * mbox).  The API and the delivered bytes are described in deliver_local.h.
 *
 * Durability: OK is returned only after the message is fsync'ed in the
 * mailbox (maildir: file fsync'ed, renamed tmp/ -> new/, new/ fsync'ed;
 * mbox: appended under flock, fsync'ed).  The caller marks the recipient
 * done only after that, so a crash can duplicate a delivery but never lose
 * one.  Must never: write outside mailbox_directory, leave a half-written
 * message visible to a mail reader, or log (the queue runner does).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "deliver_local.h"
#include "spool.h"
#include "fsutil.h"
#include "smtp_parse.h"

#define DL_LOCAL_PART_MAX 64 /* RFC 5321 4.5.3.1.1 */
#define DL_LOCK_TRIES 20     /* mbox flock: 20 x 50 ms, then defer */

static unsigned long dl_counter;

int
deliver_local_format_parse(const char *s, enum deliver_local_format *out)
{
	if (s == NULL || strcmp(s, "maildir") == 0) {
		*out = DELIVER_LOCAL_MAILDIR;
		return 0;
	}
	if (strcmp(s, "mbox") == 0) {
		*out = DELIVER_LOCAL_MBOX;
		return 0;
	}
	return -1;
}

const char *
deliver_local_format_name(enum deliver_local_format f)
{
	return f == DELIVER_LOCAL_MBOX ? "mbox" : "maildir";
}

int
deliver_local_check_local_part(const char *lp, struct err *e)
{
	if (lp == NULL || *lp == '\0') {
		err_set(e, 0, "empty local part");
		return -1;
	}
	if (strlen(lp) > DL_LOCAL_PART_MAX) {
		err_set(e, 0, "local part longer than 64 octets (RFC 5321 4.5.3.1.1)");
		return -1;
	}
	for (const char *p = lp; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f) {
			err_set(e, 0, "local part contains a control character");
			return -1;
		}
	}
	/* The mailbox is DIR/<local part>: nothing may name another directory. */
	if (strchr(lp, '/') != NULL) {
		err_set(e, 0, "local part contains \"/\"");
		return -1;
	}
	if (lp[0] == '.') {
		err_set(e, 0, "local part starts with \".\"");
		return -1;
	}
	if (strstr(lp, "..") != NULL) {
		err_set(e, 0, "local part contains \"..\"");
		return -1;
	}
	return 0;
}

/* ---- buffered output that remembers its first error ----------------------- */

struct dl_out {
	int fd;
	int error; /* errno of the first failed write; 0 = fine */
	char last; /* the last byte handed in, to end the message with LF */
	size_t n;
	char buf[65536];
};

static void
dl_flush(struct dl_out *o)
{
	if (o->n > 0 && o->error == 0 && fs_write_all(o->fd, o->buf, o->n) != 0)
		o->error = errno;
	o->n = 0;
}

static void
dl_put(struct dl_out *o, const char *s, size_t len)
{
	if (len == 0)
		return;
	o->last = s[len - 1];
	while (len > 0 && o->error == 0) {
		size_t room = sizeof o->buf - o->n;
		size_t k = len < room ? len : room;
		memcpy(o->buf + o->n, s, k);
		o->n += k;
		s += k;
		len -= k;
		if (o->n == sizeof o->buf)
			dl_flush(o);
	}
}

static void
dl_puts(struct dl_out *o, const char *s)
{
	dl_put(o, s, strlen(s));
}

/* A value put into a header or the From_ line: one line, whatever the
 * envelope holds.  Control characters become `subst`, and so do spaces
 * when `nospace` (the From_ line is split on spaces by readers). */
static void
dl_put_clean(struct dl_out *o, const char *s, char subst, int nospace)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char ch = (c < 0x20 || c == 0x7f || (nospace && c == ' ')) ? subst : (char)c;
		dl_put(o, &ch, 1);
	}
}

/* The message itself: prepended headers, then the data with CRLF -> LF
 * and, for mbox, mboxrd From-quoting. */
static int
dl_copy_message(struct dl_out *o, const struct deliver_local_request *req, struct err *e)
{
	FILE *in = NULL;
	char *line = NULL;
	size_t cap = 0;
	uint64_t left = 0;
	ssize_t len;
	int rc = -1;

	in = fopen(req->data_path, "re");
	if (in == NULL) {
		err_set(e, errno, "cannot open %s: %s", req->data_path, strerror(errno));
		goto out;
	}
	/* The message is the first spool_data_length() octets (a one-file
	 * message's envelope and trailer follow, docs/spool.md). */
	if (spool_data_length(fileno(in), &left, e) != 0)
		goto out;
	/* RFC 5321 4.4: the delivering MTA adds Return-Path with the reverse-path. */
	dl_puts(o, "Return-Path: <");
	dl_put_clean(o, req->sender, '?', 0);
	dl_puts(o, ">\nDelivered-To: ");
	dl_put_clean(o, req->rcpt, '?', 0);
	dl_puts(o, "\n");
	while (left > 0 && (len = getline(&line, &cap, in)) > 0) {
		if ((uint64_t)len > left)
			len = (ssize_t)left;
		left -= (uint64_t)len;
		if (len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n') {
			line[len - 2] = '\n';
			len--;
		}
		if (req->format == DELIVER_LOCAL_MBOX) {
			/* mboxrd: /^>*From / gains one ">", so readers can undo it exactly. */
			size_t k = strspn(line, ">");
			if (strncmp(line + k, "From ", 5) == 0)
				dl_put(o, ">", 1);
		}
		dl_put(o, line, (size_t)len);
	}
	if (ferror(in)) {
		err_set(e, EIO, "cannot read %s", req->data_path);
		goto out;
	}
	if (o->last != '\n')
		dl_put(o, "\n", 1);
	rc = 0;
out:
	free(line);
	if (in != NULL)
		(void)fclose(in); /* read-only */
	return rc;
}

/* ---- paths and directories -------------------------------------------- */

/* mkdir one level; a directory just made has its entry fsync'ed in the
 * parent, or a crash could take a fresh mailbox (and its mail) with it. */
static int
dl_mkdir(const char *path, struct err *e)
{
	char *parent, *slash;
	int rc;

	if (mkdir(path, 0700) != 0) {
		if (errno == EEXIST)
			return 0;
		err_set(e, errno, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	parent = strdup(path);
	if (parent == NULL) {
		err_set(e, ENOMEM, "out of memory");
		return -1;
	}
	slash = strrchr(parent, '/');
	if (slash == NULL)
		strcpy(parent, ".");
	else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	rc = fs_fsync_dir(parent, e);
	free(parent);
	return rc;
}

static int
dl_mkdir_p(const char *path, struct err *e)
{
	char *p = strdup(path);
	int rc = -1;

	if (p == NULL) {
		err_set(e, ENOMEM, "out of memory");
		return -1;
	}
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (dl_mkdir(p, e) != 0)
			goto out;
		*s = '/';
	}
	if (dl_mkdir(p, e) != 0)
		goto out;
	rc = 0;
out:
	free(p);
	return rc;
}

/* The mailbox name: the local part (before the last "@"), unquoted
 * (RFC 5322 3.2.4: "\"bob\"" is bob), ASCII-lowercased. */
static char *
dl_mailbox_name(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	char *raw = at != NULL ? strndup(rcpt, (size_t)(at - rcpt)) : strdup(rcpt);
	char *lp = raw != NULL ? malloc(strlen(raw) + 1) : NULL;

	if (lp != NULL && smtp_unquote_local_part(raw, lp, strlen(raw) + 1) != 0) {
		free(lp);
		lp = NULL;
	}
	free(raw);
	if (lp != NULL)
		for (char *p = lp; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return lp;
}

/* ---- maildir ------------------------------------------------------------ */

/* A maildir unique name: "TIME.P<pid>Q<n>.HOST", or "TIME.Q<n>.HOST" in
 * test mode.  "/" and ":" in HOST are written as \057 and \072 (the
 * maildir convention), since ":" starts the info part of a name. */
static char *
dl_maildir_name(const struct deliver_local_request *req, unsigned long n)
{
	const char *host = req->hostname != NULL ? req->hostname : "localhost";
	char *name = NULL, *h = malloc(strlen(host) * 4 + 1), *q;

	if (h == NULL)
		return NULL;
	q = h;
	for (const char *p = host; *p != '\0'; p++) {
		if (*p == '/' || *p == ':') {
			q += sprintf(q, "\\%03o", (unsigned char)*p);
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	if (req->deterministic) {
		if (asprintf(&name, "%lld.Q%lu.%s", (long long)clock_now(), n, h) < 0)
			name = NULL;
	} else if (asprintf(&name, "%lld.P%ldQ%lu.%s", (long long)clock_now(), (long)getpid(), n,
	                    h) < 0) {
		name = NULL;
	}
	free(h);
	return name;
}

static enum deliver_local_result
dl_maildir(const struct deliver_local_request *req, const char *box, struct err *e)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	struct dl_out *o = NULL;
	char *path = NULL, *tmp = NULL, *new = NULL, *name = NULL;
	enum deliver_local_result rc = DELIVER_LOCAL_DEFER;
	int fd = -1;

	if (dl_mkdir_p(box, e) != 0)
		goto out;
	for (size_t i = 0; i < 3; i++) {
		free(path);
		if (asprintf(&path, "%s/%s", box, subs[i]) < 0) {
			path = NULL;
			err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		if (dl_mkdir(path, e) != 0)
			goto out;
	}
	o = malloc(sizeof *o);
	if (o == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}

	for (int tries = 0; fd < 0; tries++) {
		free(name);
		free(tmp);
		tmp = NULL;
		name = dl_maildir_name(req, ++dl_counter);
		if (name == NULL || asprintf(&tmp, "%s/tmp/%s", box, name) < 0) {
			tmp = NULL;
			err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && (errno != EEXIST || tries > 1000)) {
			err_set(e, errno, "cannot create %s: %s", tmp, strerror(errno));
			free(tmp);
			tmp = NULL; /* not ours: do not remove it */
			goto out;
		}
	}
	*o = (struct dl_out){ .fd = fd };
	if (dl_copy_message(o, req, e) != 0)
		goto out;
	dl_flush(o);
	if (o->error != 0) {
		err_set(e, o->error, "cannot write %s: %s", tmp, strerror(o->error));
		goto out;
	}
	if (fsync(fd) != 0) {
		err_set(e, errno, "cannot fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		err_set(e, errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;

	/* tmp/ -> new/ is the moment a mail reader can see it, whole.  Never
	 * over an existing message: on a clash (test mode), take the next name. */
	for (int tries = 0;; tries++) {
		free(name);
		free(new);
		new = NULL;
		name = dl_maildir_name(req, tries == 0 ? dl_counter : ++dl_counter);
		if (name == NULL || asprintf(&new, "%s/new/%s", box, name) < 0) {
			new = NULL;
			err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, new, RENAME_NOREPLACE) == 0)
			break;
		if (errno == EINVAL || errno == ENOSYS) {
			/* No RENAME_NOREPLACE here: link refuses to replace as well. */
			if (link(tmp, new) == 0) {
				/* Delivered; a tmp/ leftover is only litter. */
				(void)unlink(tmp);
				break;
			}
		}
		if (errno != EEXIST || tries > 1000) {
			err_set(e, errno, "cannot rename %s to %s: %s", tmp, new, strerror(errno));
			goto out;
		}
	}
	free(tmp);
	tmp = NULL; /* delivered: nothing to clean up */
	free(path);
	if (asprintf(&path, "%s/new", box) < 0) {
		path = NULL;
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if (fs_fsync_dir(path, e) != 0)
		goto out;
	rc = DELIVER_LOCAL_OK;
out:
	if (fd >= 0)
		(void)close(fd);
	if (tmp != NULL)
		(void)unlink(tmp);
	free(o);
	free(path);
	free(tmp);
	free(new);
	free(name);
	return rc;
}

/* ---- mbox -------------------------------------------------------------- */

/* "From SENDER Sun Nov 22 01:23:45 2026" (asctime layout, UTC, no locale). */
static void
dl_from_line(struct dl_out *o, const char *sender)
{
	static const char *const days[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char date[64] = "Thu Jan  1 00:00:00 1970";
	time_t now = clock_now();
	struct tm tm;

	if (gmtime_r(&now, &tm) != NULL)
		snprintf(date, sizeof date, "%s %s %2d %02d:%02d:%02d %04d", days[tm.tm_wday],
		         months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		         tm.tm_year + 1900);
	dl_puts(o, "From ");
	if (sender[0] == '\0')
		dl_puts(o, "MAILER-DAEMON");
	else
		dl_put_clean(o, sender, '_', 1);
	dl_puts(o, " ");
	dl_puts(o, date);
	dl_puts(o, "\n");
}

static int
dl_lock(int fd, const char *path, struct err *e)
{
	for (int i = 0; i < DL_LOCK_TRIES; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err_set(e, errno, "cannot lock %s: %s", path, strerror(errno));
			return -1;
		}
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		(void)nanosleep(&ts, NULL); /* EINTR just shortens the wait */
	}
	err_set(e, EWOULDBLOCK, "mailbox %s is locked by another process", path);
	return -1;
}

static enum deliver_local_result
dl_mbox(const struct deliver_local_request *req, const char *box, struct err *e)
{
	enum deliver_local_result rc = DELIVER_LOCAL_DEFER;
	struct dl_out *o = NULL;
	struct stat st;
	int fd = -1, wrote = 0;

	if (dl_mkdir_p(req->mailbox_directory, e) != 0)
		goto out;
	/* O_NOFOLLOW: a symlink planted as a mailbox must not redirect mail. */
	fd = open(box, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set(e, errno, "cannot open %s: %s", box, strerror(errno));
		goto out;
	}
	if (dl_lock(fd, box, e) != 0)
		goto out;
	if (fstat(fd, &st) != 0) {
		err_set(e, errno, "cannot stat %s: %s", box, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, EINVAL, "%s is not a regular file", box);
		goto out;
	}
	o = malloc(sizeof *o);
	if (o == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	*o = (struct dl_out){ .fd = fd };
	wrote = 1; /* from here on, a failure truncates back to st.st_size */
	dl_from_line(o, req->sender);
	if (dl_copy_message(o, req, e) != 0)
		goto out;
	dl_puts(o, "\n"); /* the blank line that ends an mbox message */
	dl_flush(o);
	if (o->error != 0) {
		err_set(e, o->error, "cannot write %s: %s", box, strerror(o->error));
		goto out;
	}
	if (fsync(fd) != 0) {
		err_set(e, errno, "cannot fsync %s: %s", box, strerror(errno));
		goto out;
	}
	wrote = 0;
	/* A new mbox file's directory entry must be durable too. */
	if (fs_fsync_dir(req->mailbox_directory, e) != 0)
		goto out;
	rc = DELIVER_LOCAL_OK;
out:
	if (wrote && ftruncate(fd, st.st_size) != 0 && e != NULL) {
		/* Cannot undo: the mailbox holds a partial message.  Say so. */
		size_t l = strlen(e->text);
		snprintf(e->text + l, sizeof e->text - l, " (and cannot truncate %s back: %s)", box,
		         strerror(errno));
	}
	if (fd >= 0 && close(fd) != 0 && rc == DELIVER_LOCAL_OK) {
		err_set(e, errno, "cannot close %s: %s", box, strerror(errno));
		rc = DELIVER_LOCAL_DEFER;
	}
	free(o);
	return rc;
}

/* ---- the entry point -------------------------------------------------- */

enum deliver_local_result
deliver_local(const struct deliver_local_request *req, struct err *e)
{
	enum deliver_local_result rc = DELIVER_LOCAL_DEFER;
	char *lp = dl_mailbox_name(req->rcpt), *box = NULL;

	if (lp == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if (deliver_local_check_local_part(lp, e) != 0) {
		rc = DELIVER_LOCAL_FAIL;
		goto out;
	}
	if (asprintf(&box, "%s/%s", req->mailbox_directory, lp) < 0) {
		box = NULL;
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if (req->format == DELIVER_LOCAL_MBOX)
		rc = dl_mbox(req, box, e);
	else
		rc = dl_maildir(req, box, e);
out:
	free(lp);
	free(box);
	return rc;
}
