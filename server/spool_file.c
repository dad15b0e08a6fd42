/*
 * spool_file.c - the one-file message format (docs/spool.md "The message
 * file"): a committed message is one file, input/ID-D, holding the data,
 * then the envelope text as it was at receipt, then a fixed-length trailer
 *
 *   refmta-trailer SSSSSSSSSSSSSSSSSSSS EEEEEEEEEE CCCCCCCC LF
 *
 * (data size and envelope length in zero-padded decimal, CRC-32 of
 * everything before the trailer in hex).  The file is written in tmp/,
 * fsync'ed once and renamed into input/ (spool.c), so commit costs one
 * fsync.  This file reads the trailer, tells a data reader how long the
 * data is, and recovers complete files a crash left in tmp/ (a rename that
 * did not reach the disk; the message was acknowledged).
 *
 * Must never: take a tmp/ file whose writer is alive, or one whose CRC does
 * not match (a crash before its fsync may have left any mix of blocks).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "spool.h"
#include "strlist.h"

#define SPOOL_ENVELOPE_MAX_LEN (64u * 1024 * 1024) /* as spool_envelope.c's limit */

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32): table built on first use. */
uint32_t
spool_crc32(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	static int ready;
	const unsigned char *p = buf;

	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void
spool_trailer_format(char out[SPOOL_TRAILER_LEN + 1], uint64_t size, size_t envlen, uint32_t crc)
{
	snprintf(out, SPOOL_TRAILER_LEN + 1, "refmta-trailer %020" PRIu64 " %010zu %08" PRIx32 "\n",
	         size, envlen, crc);
}

/* Exactly `n` digits of `base` at s; the value in *v. */
static int
spool_trailer_digits(const char *s, int n, int base, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		int d;
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else
			return -1;
		*v = *v * (uint64_t)base + (uint64_t)d;
	}
	return 0;
}

/* The trailer of the open file `fd` (st_size `fsize`): 0 and the fields,
 * or -1 when the file has none (the two-file form: data alone, whose last
 * octets are CRLF, never a trailer's "LF" after a hex digit). */
int
spool_trailer_read(int fd, uint64_t fsize, struct spool_trailer *t)
{
	char b[SPOOL_TRAILER_LEN];
	uint64_t size, envlen, crc;

	if (fsize < SPOOL_TRAILER_LEN ||
	    pread(fd, b, sizeof b, (off_t)(fsize - SPOOL_TRAILER_LEN)) != (ssize_t)sizeof b)
		return -1;
	if (memcmp(b, "refmta-trailer ", 15) != 0 || b[35] != ' ' || b[46] != ' ' ||
	    b[55] != '\n' || spool_trailer_digits(b + 15, 20, 10, &size) != 0 ||
	    spool_trailer_digits(b + 36, 10, 10, &envlen) != 0 ||
	    spool_trailer_digits(b + 47, 8, 16, &crc) != 0)
		return -1;
	if (envlen > SPOOL_ENVELOPE_MAX_LEN || size > fsize ||
	    size + envlen + SPOOL_TRAILER_LEN != fsize)
		return -1;
	t->size = size;
	t->envlen = (size_t)envlen;
	t->crc = (uint32_t)crc;
	return 0;
}

int
spool_data_length(int fd, uint64_t *len, struct err *e)
{
	struct spool_trailer t;
	struct stat st;

	if (fstat(fd, &st) != 0) {
		err_set(e, errno, "cannot stat the data file: %s", strerror(errno));
		return -1;
	}
	*len = spool_trailer_read(fd, (uint64_t)st.st_size, &t) == 0 ? t.size
	                                                             : (uint64_t)st.st_size;
	return 0;
}

int
spool_file_envelope(int fd, char **text, size_t *len, struct err *e)
{
	struct spool_trailer t;
	struct stat st;
	char *p;

	*text = NULL;
	if (fstat(fd, &st) != 0) {
		err_set(e, errno, "cannot stat: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || spool_trailer_read(fd, (uint64_t)st.st_size, &t) != 0) {
		/* No message yet (a two-file copy whose -H has not come): as gone. */
		err_set(e, ENOENT, "no envelope (neither an -H file nor a trailer)");
		return -1;
	}
	p = malloc(t.envlen + 1);
	if (p == NULL) {
		err_set(e, ENOMEM, "out of memory");
		return -1;
	}
	if (pread(fd, p, t.envlen, (off_t)t.size) != (ssize_t)t.envlen) {
		err_set(e, errno ? errno : EIO, "cannot read the envelope");
		free(p);
		return -1;
	}
	p[t.envlen] = '\0';
	*text = p;
	*len = t.envlen;
	return 0;
}

/* The CRC of the first `n` octets of fd matches `want`. */
static int
spool_crc_matches(int fd, uint64_t n, uint32_t want)
{
	char buf[65536];
	uint64_t off = 0;
	uint32_t crc = 0;

	while (off < n) {
		size_t chunk = n - off < sizeof buf ? (size_t)(n - off) : sizeof buf;
		ssize_t r = pread(fd, buf, chunk, (off_t)off);
		if (r <= 0)
			return 0;
		crc = spool_crc32(crc, buf, (size_t)r);
		off += (uint64_t)r;
	}
	return crc == want;
}

/* The id inside a complete tmp/ file, or -1 (not complete, not ours). */
static int
spool_recover_id(int fd, char *id, size_t idlen)
{
	struct spool_trailer t;
	struct envelope env;
	struct stat st;
	struct err e = { 0 };
	char *text = NULL;
	size_t len;
	int rc = -1;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    spool_trailer_read(fd, (uint64_t)st.st_size, &t) != 0 ||
	    !spool_crc_matches(fd, t.size + t.envlen, t.crc))
		return -1;
	if (spool_file_envelope(fd, &text, &len, &e) != 0)
		return -1;
	if (spool_envelope_parse_text(text, len, &env, "tmp/", &e) == 0) {
		if (env.id[0] != '\0' && env.id[0] != '.' && strchr(env.id, '/') == NULL &&
		    strlen(env.id) < idlen) {
			strcpy(id, env.id);
			rc = 0;
		}
		envelope_free(&env);
	}
	free(text);
	return rc;
}

/* One tmp/ entry: a complete message of a dead writer goes to input/. */
static void
spool_recover_one(int tmpfd, int inputfd, const char *name, struct strlist *recovered,
                  struct strlist *failed, int *moved)
{
	char id[32], target[64], *what = NULL;
	struct strlist *to = recovered;
	long pid;
	char *end;
	int fd, n;

	pid = strtol(name, &end, 10);
	if (pid <= 0 || end == name || *end != '-' || strlen(name) < 3 ||
	    strcmp(name + strlen(name) - 2, "-D") != 0)
		return; /* not a receipt's data file */
	if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
		return; /* its writer may be between fsync and rename */
	fd = openat(tmpfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	n = spool_recover_id(fd, id, sizeof id);
	(void)close(fd); /* read-only */
	if (n != 0)
		return; /* incomplete: litter for the cleaner, never mail */
	snprintf(target, sizeof target, "%s-H", id);
	if (faccessat(inputfd, target, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST; /* an old envelope of that id: never mix the two */
		n = -1;
	} else {
		snprintf(target, sizeof target, "%s-D", id);
		n = renameat2(tmpfd, name, inputfd, target, RENAME_NOREPLACE);
	}
	if (n != 0 && errno == ENOENT)
		return; /* another runner recovered it meanwhile */
	if (n == 0) {
		*moved = 1;
		n = asprintf(&what, "tmp/%s is message %s", name, id);
	} else {
		to = failed;
		n = asprintf(&what, "cannot recover tmp/%s as message %s: %s", name, id,
		             strerror(errno));
	}
	if (n < 0)
		return; /* out of memory: only the report is lost */
	if (strlist_push_owned(to, what) != 0)
		return; /* likewise (strlist_push_owned frees `what`) */
}

int
spool_recover(const char *spool_dir, struct strlist *recovered, struct strlist *failed,
              struct err *e)
{
	char *tmp = NULL, *input = NULL;
	DIR *d = NULL;
	struct dirent *de;
	int inputfd = -1, moved = 0, rc = -1;

	if (asprintf(&tmp, "%s/tmp", spool_dir) < 0)
		tmp = NULL;
	if (asprintf(&input, "%s/input", spool_dir) < 0)
		input = NULL;
	if (tmp == NULL || input == NULL) {
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	d = opendir(tmp);
	inputfd = open(input, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d == NULL || inputfd < 0) {
		err_set(e, errno, "cannot open %s: %s", d == NULL ? tmp : input, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			spool_recover_one(dirfd(d), inputfd, de->d_name, recovered, failed, &moved);
	/* The renames are the recovery: make them durable before anyone relies on them. */
	if (moved && fs_fsync_dir(input, e) != 0)
		goto out;
	rc = 0;
out:
	if (inputfd >= 0)
		(void)close(inputfd);
	if (d != NULL)
		(void)closedir(d);
	free(tmp);
	free(input);
	return rc;
}
