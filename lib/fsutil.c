/*
 * fsutil.c - file-system helpers (fsutil.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

int
fs_mkdir_p(const char *path, mode_t mode, struct err *e)
{
	char *p = strdup(path);
	int rc = -1;

	if (p == NULL) {
		err_set(e, ENOMEM, "out of memory");
		return -1;
	}
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			err_set(e, errno, "cannot create directory %s: %s", p, strerror(errno));
			goto out;
		}
		*s = saved;
		if (saved == '\0')
			break;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

int
fs_fsync_dir(const char *path, struct err *e)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0) {
		err_set(e, errno, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fsync(fd) != 0) {
		err_set(e, errno, "cannot fsync %s: %s", path, strerror(errno));
		rc = -1;
	}
	(void)close(fd); /* read-only: nothing to lose */
	return rc;
}

int
fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}
