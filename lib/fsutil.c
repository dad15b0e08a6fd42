/*
 * fsutil.c - file-system helpers (fsutil.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
