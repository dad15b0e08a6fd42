/*
 * privs.c - refuse untrustworthy configuration files and root without a
 * `user`, and give up root safely (privs.h).
 *
 * Must never: chown a file refmta did not create (a pre-existing log file,
 * a mailbox directory someone made), follow a symbolic link while changing
 * ownership, or keep root in a process that reads the network or the queue
 * when `user` is set.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

int
privs_check_config_file(const char *path, struct err *e)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		err_set(e, errno, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Whoever can write the configuration can run commands as refmta
	 * (transports, queue files): Exim and Postfix refuse such files too. */
	if (st.st_mode & S_IWOTH) {
		err_set(e, EPERM, "%s: world-writable (mode %04o): refused, chmod o-w it", path,
		        (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		err_set(e, EPERM, "%s: owned by uid %lu, not by root or by uid %lu: refused", path,
		        (unsigned long)st.st_uid, (unsigned long)getuid());
		return -1;
	}
	return 0;
}

int
privs_check_root(const struct config *cfg, struct err *e)
{
	if (geteuid() != 0 || cfg->user != NULL || cfg->run_as_root)
		return 0;
	err_set(e, EPERM,
	        "running as root without \"user\": set user = NAME (or run_as_root = true, "
	        "for tests only)");
	return -1;
}

/* chown one entry of `dfd` if it is a regular file or a directory (not a
 * link).  *is_dir tells the caller whether to descend. */
static int
privs_chown_entry(int dfd, const char *name, uid_t uid, gid_t gid, int *is_dir, struct err *e)
{
	struct stat st;

	*is_dir = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT) /* removed meanwhile (a finished delivery) */
			return 0;
		err_set(e, errno, "cannot stat %s: %s", name, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	*is_dir = S_ISDIR(st.st_mode);
	if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT) {
		err_set(e, errno, "cannot chown %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

/* The entries of the directory open as `dfd` (consumed), `depth` more
 * levels down.  The spool is two levels deep: spool/input/ID-H. */
static int
privs_chown_tree(int dfd, int depth, uid_t uid, gid_t gid, struct err *e)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int rc = 0;

	if (d == NULL) {
		err_set(e, errno, "cannot read the spool: %s", strerror(errno));
		(void)close(dfd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		int is_dir, sub;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = privs_chown_entry(dirfd(d), de->d_name, uid, gid, &is_dir, e);
		if (rc != 0 || !is_dir || depth <= 1)
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			err_set(e, errno, "cannot open %s: %s", de->d_name, strerror(errno));
			rc = -1;
			break;
		}
		rc = privs_chown_tree(sub, depth - 1, uid, gid, e);
	}
	(void)closedir(d); /* read only */
	return rc;
}

int
privs_chown_spool(const char *dir, uid_t uid, gid_t gid, struct err *e)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0 || fchown(dfd, uid, gid) != 0) {
		err_set(e, errno, "cannot chown %s: %s", dir, strerror(errno));
		if (dfd >= 0)
			(void)close(dfd);
		return -1;
	}
	if (privs_chown_tree(dfd, 2, uid, gid, e) != 0) {
		char why[sizeof e->text];
		memcpy(why, e->text, sizeof why); /* err_set must not read what it writes */
		err_set(e, e->code, "%s: %s", dir, why);
		return -1;
	}
	return 0;
}

/* mkdir -p that gives each directory it creates (and only those) to
 * uid:gid, so the user can reach and write the last one. */
static int
privs_mkdir_for(const char *path, uid_t uid, gid_t gid, struct err *e)
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
		if (mkdir(p, 0700) == 0) {
			if (chown(p, uid, gid) != 0) {
				err_set(e, errno, "cannot chown %s: %s", p, strerror(errno));
				goto out;
			}
		} else if (errno != EEXIST) {
			err_set(e, errno, "cannot create %s: %s", p, strerror(errno));
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
privs_drop(const struct config *cfg, struct err *e)
{
	struct passwd *pw;

	if (cfg->user == NULL || geteuid() != 0)
		return 0;
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		err_set(e, ENOENT, "user \"%s\" does not exist", cfg->user);
		return -1;
	}
	/* The spool (tmp/, input/, msglog/, ids and every message, a message
	 * `refmta send` queued as root included) must stay writable after we
	 * give up root; the log only if we made it (a file someone else made
	 * is not ours to give away); the mailbox directory if we make it now. */
	if (privs_chown_spool(cfg->spool_directory, pw->pw_uid, pw->pw_gid, e) != 0 ||
	    log_chown_created(pw->pw_uid, pw->pw_gid, e) != 0)
		return -1;
	if (cfg->mailbox_directory != NULL &&
	    privs_mkdir_for(cfg->mailbox_directory, pw->pw_uid, pw->pw_gid, e) != 0)
		return -1;
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		err_set(e, errno, "cannot become user %s: %s", cfg->user, strerror(errno));
		return -1;
	}
	return 0;
}
