/*
 * deliver_queuefile.c - the queuefile transport (seed: "Queuefile
 * transport"): a copy of the message's spool files, still in the spool
 * format (docs/spool.md), in another directory.  Interface: the header.
 *
 * The copy follows the spool's own durability order: -D then -H, each
 * written under a temporary name, fsync'ed and renamed, then the directory
 * fsync'ed, so a reader that waits for ID-H never sees a half pair.  Must
 * never: report delivered before the directory fsync, leave a temporary
 * file behind on failure, or write outside the configured directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver_queuefile.h"
#include "event.h"
#include "fsutil.h"
#include "option.h"
#include "spool.h"

static const struct option_def qf_options[] = {
	/* Empty is refused below with the driver's own advice. */
	{ .name = "directory",
	  .type = OPTION_STRING,
	  .off = offsetof(struct queuefile_transport, directory),
	  .flags = OPTION_EMPTY_OK },
	{ .name = "event_action",
	  .type = OPTION_STRING,
	  .off = offsetof(struct queuefile_transport, event_action),
	  .valid = event_action_valid,
	  .what = "expansion",
	  .hint = "(see docs/expand.md)" },
};

const struct option_table queuefile_options = { "queuefile", qf_options,
	                                        sizeof qf_options / sizeof qf_options[0],
	                                        "(queuefile takes directory and event_action)" };

int
queuefile_transport_parse(const struct config *cfg, const struct config_block *b,
                          struct queuefile_transport *out, struct err *e)
{
	static const char *const skip[] = { "driver", NULL };
	char prefix[300];
	struct option_ctx c = { .file = cfg->file != NULL ? cfg->file : "",
		                .dir = cfg->dir,
		                .prefix = prefix,
		                .e = e };
	const char *driver;
	int line = b->line;

	memset(out, 0, sizeof *out);
	snprintf(prefix, sizeof prefix, "transport %s: ", b->name);
	if (option_read_block(&queuefile_options, &c, b, skip, out, NULL) != 0)
		goto fail;
	driver = config_block_get(b, "driver", &line);
	if (driver == NULL || strcmp(driver, "queuefile") != 0) {
		option_fail(&c, line, "driver is not queuefile");
		goto fail;
	}
	line = b->line;
	(void)config_block_get(b, "directory", &line);
	if (out->directory == NULL || *out->directory == '\0') {
		option_fail(&c, line, "queuefile needs directory = ABSOLUTE PATH");
		goto fail;
	}
	/* Exim expands it; refmta does not (docs/config.md): a "$" would be
	 * taken literally, so it is refused rather than silently ignored. */
	if (strchr(out->directory, '$') != NULL) {
		option_fail(&c, line, "directory: not expanded by refmta (a fixed ABSOLUTE PATH)");
		goto fail;
	}
	out->line = b->line;
	if ((out->name = strdup(b->name)) == NULL) {
		option_fail(&c, b->line, "out of memory");
		goto fail;
	}
	return 0;
fail:
	queuefile_transport_free(out);
	return -1;
}

void
queuefile_transport_free(struct queuefile_transport *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->directory);
	free(t->event_action);
	t->name = NULL;
	t->directory = NULL;
	t->event_action = NULL;
}

/* Write `to` through `tmp` (write, fsync, close, rename) from the file
 * `from`, or from `text` when it is not NULL.  The temporary file is
 * removed on any failure. */
static int
qf_copy_file(const char *from, const char *text, const char *tmp, const char *to, struct err *e)
{
	char buf[65536];
	int in = -1, out = -1, rc = -1;
	uint64_t left = 0;
	ssize_t n;

	if (text == NULL) {
		/* The data alone: a one-file message's envelope and trailer stay
		 * behind (docs/spool.md), the copy is the two-file form. */
		in = open(from, O_RDONLY | O_CLOEXEC);
		if (in < 0) {
			err_set(e, errno, "cannot open %s: %s", from, strerror(errno));
			return -1;
		}
		if (spool_data_length(in, &left, e) != 0) {
			(void)close(in); /* read-only */
			return -1;
		}
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (out < 0) {
		err_set(e, errno, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (text != NULL && fs_write_all(out, text, strlen(text)) != 0) {
		err_set(e, errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (in >= 0 && left > 0) {
		n = read(in, buf, left < sizeof buf ? (size_t)left : sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(e, errno, "cannot read %s: %s", from, strerror(errno));
			goto out;
		}
		if (n == 0) {
			err_set(e, EIO, "cannot read %s: shorter than its trailer says", from);
			goto out;
		}
		left -= (uint64_t)n;
		if (fs_write_all(out, buf, (size_t)n) != 0) {
			err_set(e, errno, "cannot write %s: %s", tmp, strerror(errno));
			goto out;
		}
	}
	if (fsync(out) != 0) {
		err_set(e, errno, "cannot fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	n = close(out);
	out = -1;
	if (n != 0) { /* close errors are write errors */
		err_set(e, errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, to) != 0) {
		err_set(e, errno, "cannot rename %s to %s: %s", tmp, to, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (out >= 0)
		(void)close(out);
	if (in >= 0)
		(void)close(in); /* read-only */
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

/* BASE/SUBIDSUFFIXEXT, or NULL when out of memory.  The temporary names
 * ("ID-D.tmp") end in neither -D nor -H, so no reader takes them for a
 * spool file; two copies of one message at once are excluded by the queue
 * runner's lock on the message. */
static char *
qf_path(const char *base, const char *sub, const char *id, const char *suffix, const char *ext)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s%s%s%s", base, sub, id, suffix, ext) < 0)
		return NULL;
	return p;
}

int
deliver_queuefile(const struct queuefile_transport *t, const char *spool_dir, const char *id,
                  const char *envelope_text, struct err *e)
{
	static const char *const suffix[2] = { "-D",
		                               "-H" }; /* -H last: it makes the pair visible */
	const char *dir = t->directory;
	char *own_text = NULL;
	struct stat st;
	int rc = -1;

	if (dir == NULL || dir[0] != '/') {
		err_set(e, EINVAL, "directory \"%s\" is not absolute", dir != NULL ? dir : "");
		return -1;
	}
	if (id == NULL || id[0] == '\0' || id[0] == '.' || strchr(id, '/') != NULL) {
		err_set(e, EINVAL, "bad message id \"%s\"", id != NULL ? id : "");
		return -1;
	}
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			err_set(e, errno, "directory \"%s\" does not exist", dir);
		else
			err_set(e, errno, "cannot use directory \"%s\": %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		err_set(e, ENOTDIR, "directory \"%s\" is not a directory", dir);
		return -1;
	}
	if (envelope_text == NULL) {
		/* "As it is": the message's current envelope (its -H, or the one in
		 * its data file), written as an -H. */
		struct envelope env;
		if (spool_envelope_read(spool_dir, id, &env, e) != 0)
			return -1;
		own_text = spool_envelope_text(&env);
		envelope_free(&env);
		if (own_text == NULL) {
			err_set(e, ENOMEM, "out of memory");
			return -1;
		}
		envelope_text = own_text;
	}
	for (int i = 0; i < 2; i++) {
		char *from = qf_path(spool_dir, "input/", id, suffix[i], "");
		char *tmp = qf_path(dir, "", id, suffix[i], ".tmp");
		char *to = qf_path(dir, "", id, suffix[i], "");
		int ok = from != NULL && tmp != NULL && to != NULL;

		if (!ok)
			err_set(e, ENOMEM, "out of memory");
		else
			ok = qf_copy_file(from, i == 1 ? envelope_text : NULL, tmp, to, e) == 0;
		free(from);
		free(tmp);
		free(to);
		if (!ok)
			goto out;
	}
	if (fs_fsync_dir(dir, e) != 0)
		goto out;
	rc = 0;
out:
	free(own_text);
	return rc;
}
