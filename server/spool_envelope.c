/*
 * spool_envelope.c - the envelope file's format: writing an envelope as
 * text, parsing it back, reading input/ID-H (or, when there is none, the
 * envelope a one-file message carries before its trailer, spool_file.c).  The format (one "KEY
 * xtext" line each, "end" last) is described in docs/spool.md; where and in what order the files
 * are written is spool.c's business.
 *
 * Must never: accept an envelope that is truncated, repeats a single-valued
 * key, or names another message's id.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dsn_param.h"
#include "spool.h"
#include "strutil.h"

#define SPOOL_ENVELOPE_VERSION 2               /* 2 added retry and last-error; 1 is still read */
#define SPOOL_ENVELOPE_MAX (64u * 1024 * 1024) /* refuse to slurp anything bigger */

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

char *
spool_envelope_text(const struct envelope *env)
{
	struct buf b = { 0 };

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

/* Replace a string member (a key given twice is an error). */
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
		err_set(e, EINVAL, "%s: not a version 1 or %d envelope", path,
		        SPOOL_ENVELOPE_VERSION);
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
spool_envelope_parse_text(char *text, size_t len, struct envelope *env, const char *what,
                          struct err *e)
{
	memset(env, 0, sizeof *env);
	if (spool_envelope_parse(text, len, env, e, what) != 0) {
		envelope_free(env);
		return -1;
	}
	return 0;
}

/* The whole of the envelope file `fd` (malloc'd, NUL-ended). */
static int
spool_envelope_slurp(int fd, const char *path, char **out, size_t *outlen, struct err *e)
{
	struct stat st;
	size_t have = 0;
	char *text;

	if (fstat(fd, &st) != 0) {
		err_set(e, errno, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SPOOL_ENVELOPE_MAX) {
		err_set(e, EINVAL, "%s: not a plausible envelope file", path);
		return -1;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		err_set(e, ENOMEM, "out of memory");
		return -1;
	}
	while (have < (size_t)st.st_size) {
		ssize_t r = read(fd, text + have, (size_t)st.st_size - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(e, errno, "cannot read %s: %s", path, strerror(errno));
			free(text);
			return -1;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	text[have] = '\0';
	*out = text;
	*outlen = have;
	return 0;
}

/* input/ID-H when it exists (an envelope rewritten since receipt, or the
 * two-file form); otherwise the envelope stored in input/ID-D's trailer
 * (docs/spool.md "The message file").  ENOENT when neither file exists. */
int
spool_envelope_read(const char *spool_dir, const char *id, struct envelope *env, struct err *e)
{
	char *path = NULL;
	char *text = NULL;
	size_t have = 0;
	int fd = -1, rc = -1;

	memset(env, 0, sizeof *env);
	if (asprintf(&path, "%s/input/%s-H", spool_dir, id) < 0) {
		path = NULL;
		err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (spool_envelope_slurp(fd, path, &text, &have, e) != 0)
			goto out;
	} else if (errno != ENOENT) {
		err_set(e, errno, "cannot open %s: %s", path, strerror(errno));
		goto out;
	} else {
		path[strlen(path) - 1] = 'D';
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			err_set(e, errno, "cannot open %s: %s", path, strerror(errno));
			goto out;
		}
		if (spool_file_envelope(fd, &text, &have, e) != 0) {
			char msg[sizeof e->text];
			snprintf(msg, sizeof msg, "%s", e->text);
			err_set(e, e->code, "%s: %s", path, msg);
			goto out;
		}
	}
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
