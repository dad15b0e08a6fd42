/*
 * log.c - the main log.  Each line is built whole in one buffer and handed
 * to the kernel in one write(2) on an O_APPEND descriptor: POSIX makes the
 * seek-to-end and the write one atomic step, so lines from forked worker
 * processes sharing (or each opening) the file never interleave.
 *
 * Must never: split a line over several writes, let a caller's text break
 * a line (control characters are written as \xHH), or call time() (the
 * timestamp comes from clock_now(), frozen in test mode).  Line formats:
 * docs/log.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fsutil.h"
#include "log.h"

/* A whole line, timestamp and newline included, is at most this long. */
#define LOG_LINE_MAX 8192
#define LOG_STAMP_LEN 19 /* "YYYY-MM-DD HH:MM:SS" */

static int log_fd = -1;    /* -1: stderr */
static int log_fd_created; /* log_fd is a file this process created */

/* mkdir -p of the directory part of `path`. */
static int
log_mkdir_parent(const char *path, struct err *e)
{
	char *dir = strdup(path);
	char *slash;
	int rc = 0;

	if (dir == NULL) {
		err_set(e, ENOMEM, "out of memory");
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		rc = fs_mkdir_p(dir, 0750, e);
	}
	free(dir);
	return rc;
}

int
log_open(const char *path, struct err *e)
{
	int fd, created;

	if (path == NULL || strcmp(path, "-") == 0) {
		log_close();
		return 0;
	}
	if (log_mkdir_parent(path, e) != 0)
		return -1;
	/* Never through a symbolic link (a link planted where the log goes
	 * would make root append to, or hand over, any file), and remember
	 * whether we created the file: only then may log_chown_created() give
	 * it away.  Open-existing first, then create exclusively; a file that
	 * appears in between is opened again as existing. */
	for (int tries = 0;; tries++) {
		created = 0;
		fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT || tries >= 3)
			break;
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		          0640);
		created = 1;
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		err_set(e, errno, "cannot open log file %s: %s%s", path, strerror(errno),
		        errno == ELOOP ? " (a symbolic link: refused)" : "");
		return -1;
	}
	/* Reopen (e.g. after rotation): only now that the new one is open. */
	log_close();
	log_fd = fd;
	log_fd_created = created;
	return 0;
}

int
log_chown_created(uid_t uid, gid_t gid, struct err *e)
{
	/* On the descriptor, not the path: what we chown is what we opened. */
	if (log_fd < 0 || !log_fd_created)
		return 0;
	if (fchown(log_fd, uid, gid) != 0) {
		err_set(e, errno, "cannot chown the log file: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
log_close(void)
{
	if (log_fd >= 0)
		(void)close(log_fd); /* nothing is buffered: no data to lose */
	log_fd = -1;
	log_fd_created = 0;
}

/* Copy `src` into `dst` (capacity `cap`), control characters as \xHH.
 * Returns the bytes written; *cut is set when `src` did not fit. */
static size_t
log_escape(char *dst, size_t cap, const char *src, int *cut)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *src != '\0'; src++) {
		unsigned char c = (unsigned char)*src;
		int ctl = c < 0x20 || c == 0x7f;
		size_t need = ctl ? 4 : 1;

		if (n + need > cap) {
			*cut = 1;
			break;
		}
		if (ctl) {
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[c >> 4];
			dst[n++] = hex[c & 0xf];
		} else {
			dst[n++] = (char)c;
		}
	}
	return n;
}

/* One write(2).  A short write on a regular O_APPEND file only happens when
 * the disk fills; we then finish the line rather than lose its tail. */
static void
log_emit(const char *buf, size_t len)
{
	int fd = log_fd >= 0 ? log_fd : STDERR_FILENO;

	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (fd == STDERR_FILENO)
				return;     /* nowhere left to say it */
			fd = STDERR_FILENO; /* the log is gone: do not lose the line */
			continue;
		}
		buf += w;
		len -= (size_t)w;
	}
}

void
log_write(const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	char line[LOG_LINE_MAX];
	va_list ap;
	int tn, cut = 0;
	size_t n;
	/* Room for the escaped text: the whole line minus stamp, space, "...\n". */
	const size_t room = LOG_LINE_MAX - LOG_STAMP_LEN - 1 - 4;

	va_start(ap, fmt);
	tn = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (tn < 0) {
		snprintf(text, sizeof text, "(log_write: bad format \"%s\")", fmt);
		tn = 0;
	}
	if ((size_t)tn >= sizeof text)
		cut = 1;

	clock_format_log(clock_now(), line, LOG_STAMP_LEN + 1);
	n = strlen(line);
	line[n++] = ' ';
	n += log_escape(line + n, room, text, &cut);
	if (cut) {
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	log_emit(line, n);
}
