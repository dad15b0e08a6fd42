/*
 * lookup_redis.c - ${lookup redis{COMMAND ARGS}}, the seed's Redis lookup:
 * the one owner of hiredis (ci/layering.txt).
 *
 * redis_servers is a list of "HOST[:PORT]/DB/PASSWORD" (use "<;" to change
 * the separator when a port is given); servers are tried in order when a
 * connection fails.  The query is split into arguments at unescaped white
 * space, a backslash taking the next octet literally (${quote_redis:}
 * writes those backslashes).  Replies, as Exim maps them except nil:
 * string as is, status ("OK") as is, integer "true"/"false" (non-zero /
 * zero), array elements joined with newlines (an empty array is
 * not-found), nil not-found (the rule; Exim 4.96 gives found with
 * an empty value, docs/expand.md), error a deferral naming it.  Redis Cluster redirections are
 * followed, at most MAX_REDIRECTS in all: "MOVED SLOT HOST:PORT" by sending
 * the command to HOST:PORT, "ASK SLOT HOST:PORT" (a slot being migrated)
 * by sending ASKING and then the command there, once.  No slot map is
 * kept: every lookup starts at the configured server, so an ASK changes
 * nothing for the next lookup (Redis Cluster specification, "ASK
 * redirection"), and a MOVED is followed again each time.
 *
 * One connection per server is kept per process and reused; a failure
 * drops it and the next lookup connects again.  Connect and each command
 * are bounded by REDIS_TIMEOUT_S.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "buf.h"
#include "lookup.h"
#include "strlist.h"
#include "strutil.h"

#define REDIS_TIMEOUT_S 5
#define MAX_REDIRECTS 3
#define MAX_ARGS 64
#define MAX_SERVERS 8

struct server {
	char *spec; /* as written, for messages */
	char host[256];
	int port;
	char db[16];
	char pass[256];
	redisContext *ctx; /* cached; NULL: not connected */
};

static struct server servers[MAX_SERVERS];
static size_t nservers;

static void
drop(struct server *s)
{
	if (s->ctx != NULL)
		redisFree(s->ctx);
	s->ctx = NULL;
}

/* "HOST[:PORT]/DB/PASSWORD"; "[v6]:PORT" too. */
static int
parse_server(const char *spec, struct server *s)
{
	const char *slash = strchr(spec, '/'), *db, *pw;
	char hostport[300];
	size_t n = slash != NULL ? (size_t)(slash - spec) : strlen(spec);
	char *colon;
	uint64_t port = 6379;

	memset(s, 0, sizeof *s);
	if (n == 0 || n >= sizeof hostport)
		return -1;
	memcpy(hostport, spec, n);
	hostport[n] = '\0';
	db = slash != NULL ? slash + 1 : "";
	pw = strchr(db, '/');
	if (pw != NULL && (size_t)(pw - db) >= sizeof s->db)
		return -1;
	snprintf(s->db, sizeof s->db, "%.*s", (int)(pw != NULL ? pw - db : (long)strlen(db)), db);
	snprintf(s->pass, sizeof s->pass, "%s", pw != NULL ? pw + 1 : "");
	if (s->db[0] != '\0' && str_parse_u64(s->db, strlen(s->db), 1000000, &port) != STR_NUM_OK)
		return -1;
	port = 6379;
	colon = hostport[0] == '[' ? strstr(hostport, "]:") : strrchr(hostport, ':');
	if (hostport[0] == '[') {
		if (colon == NULL)
			return -1;
		*colon = '\0';
		colon++;
		memmove(hostport, hostport + 1, strlen(hostport));
	}
	if (colon != NULL) {
		*colon = '\0';
		if (str_parse_u64(colon + 1, strlen(colon + 1), 65535, &port) != STR_NUM_OK ||
		    port == 0)
			return -1;
	}
	snprintf(s->host, sizeof s->host, "%s", hostport);
	s->port = (int)port;
	s->spec = strdup(spec);
	return s->spec != NULL && s->host[0] != '\0' ? 0 : -1;
}

int
lookup_redis_servers_valid(const char *list)
{
	struct strlist l = { 0 };
	struct server s;
	int ok;

	if (strlist_split(&l, list) != 0)
		return 0;
	ok = l.n > 0 && l.n <= MAX_SERVERS;
	for (size_t i = 0; ok && i < l.n; i++) {
		ok = parse_server(l.v[i], &s) == 0;
		free(s.spec);
	}
	strlist_free(&l);
	return ok;
}

int
lookup_set_redis_servers(const char *list)
{
	struct strlist l = { 0 };
	int rc = 0;

	for (size_t i = 0; i < nservers; i++) {
		drop(&servers[i]);
		free(servers[i].spec);
	}
	nservers = 0;
	if (list == NULL || *list == '\0')
		return 0;
	if (strlist_split(&l, list) != 0 || l.n > MAX_SERVERS)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		if (parse_server(l.v[i], &servers[nservers]) != 0)
			rc = -1;
		else
			nservers++;
	}
	strlist_free(&l);
	return rc;
}

/* Split at unescaped blanks; "\X" is X.  argv points into `buf`. */
static int
split_query(const char *q, char *buf, const char **argv, size_t *lens)
{
	int argc = 0;
	char *o = buf;

	for (const char *p = q; *p != '\0';) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		if (argc == MAX_ARGS)
			return -1;
		argv[argc] = o;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			*o++ = *p++;
		}
		lens[argc] = (size_t)(o - argv[argc]);
		*o++ = '\0';
		argc++;
	}
	return argc;
}

char *
lookup_redis_quote(const char *s)
{
	struct buf b = { 0 };

	buf_add(&b, "", 0);
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\\')
			buf_add(&b, "\\", 1);
		buf_add(&b, s, 1);
	}
	return buf_take(&b);
}

static redisContext *
connect_to(const char *host, int port, const char *db, const char *pass, char *why, size_t whylen)
{
	struct timeval tv = { .tv_sec = REDIS_TIMEOUT_S };
	redisContext *c = redisConnectWithTimeout(host, port, tv);
	redisReply *r;

	if (c == NULL || c->err) {
		snprintf(why, whylen, "connect to %s:%d: %s", host, port,
		         c != NULL ? c->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(why, whylen, "%s:%d: cannot set the timeout", host, port);
		goto fail;
	}
	if (pass != NULL && *pass != '\0') {
		r = redisCommand(c, "AUTH %s", pass);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, whylen, "%s:%d: AUTH failed: %s", host, port,
			         r != NULL ? r->str : c->errstr);
			freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (db != NULL && *db != '\0') {
		r = redisCommand(c, "SELECT %s", db);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, whylen, "%s:%d: SELECT %s failed: %s", host, port, db,
			         r != NULL ? r->str : c->errstr);
			freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	return c;
fail:
	if (c != NULL)
		redisFree(c);
	return NULL;
}

/* One reply into text, as the file comment says.  LOOKUP_* */
static enum lookup_result
map_reply(const redisReply *r, struct buf *out, char *why, size_t whylen)
{
	switch (r->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
		buf_add(out, r->str, r->len);
		return LOOKUP_FOUND;
	case REDIS_REPLY_INTEGER:
		buf_adds(out, r->integer != 0 ? "true" : "false");
		return LOOKUP_FOUND;
	case REDIS_REPLY_NIL:
		return LOOKUP_NOTFOUND;
	case REDIS_REPLY_ARRAY:
		if (r->elements == 0)
			return LOOKUP_NOTFOUND;
		for (size_t i = 0; i < r->elements; i++) {
			const redisReply *e = r->element[i];
			if (i > 0)
				buf_add(out, "\n", 1);
			if (e->type == REDIS_REPLY_INTEGER)
				buf_addf(out, "%lld", e->integer);
			else if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS)
				buf_add(out, e->str, e->len);
			else if (e->type == REDIS_REPLY_ARRAY)
				for (size_t j = 0; j < e->elements; j++)
					if (e->element[j]->type == REDIS_REPLY_STRING)
						buf_addf(out, "%s%.*s", j ? "\n" : "",
						         (int)e->element[j]->len,
						         e->element[j]->str);
		}
		return LOOKUP_FOUND;
	default:
		snprintf(why, whylen, "error reply: %s", r->str != NULL ? r->str : "(none)");
		return LOOKUP_DEFER;
	}
}

/* "MOVED SLOT HOST:PORT" or "ASK SLOT HOST:PORT": the target, *ask = 1
 * for ASK.  0 when it is one. */
static int
redirect_target(const redisReply *r, int *ask, char *host, size_t hostlen, int *port)
{
	const char *sp, *colon;
	uint64_t p;
	size_t skip;

	if (r->type != REDIS_REPLY_ERROR)
		return -1;
	if (strncmp(r->str, "MOVED ", 6) == 0)
		*ask = 0, skip = 6;
	else if (strncmp(r->str, "ASK ", 4) == 0)
		*ask = 1, skip = 4;
	else
		return -1;
	sp = strchr(r->str + skip, ' ');
	colon = sp != NULL ? strrchr(sp, ':') : NULL;
	if (colon == NULL || (size_t)(colon - sp - 1) >= hostlen ||
	    str_parse_u64(colon + 1, strlen(colon + 1), 65535, &p) != STR_NUM_OK)
		return -1;
	snprintf(host, hostlen, "%.*s", (int)(colon - sp - 1), sp + 1);
	*port = (int)p;
	return 0;
}

/* ASKING on c before the command an ASK redirected (Redis Cluster
 * specification): 0, or -1 with why. */
static int
send_asking(redisContext *c, const char *host, int port, char *why, size_t whylen)
{
	redisReply *r = redisCommand(c, "ASKING");
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;

	if (!ok)
		snprintf(why, whylen, "%s:%d: ASKING: %s", host, port,
		         r == NULL        ? c->errstr
		         : r->str != NULL ? r->str
		                          : "unexpected reply");
	freeReplyObject(r);
	return ok ? 0 : -1;
}

/* Run argv on server s (connecting when needed), following MOVED and ASK. */
static enum lookup_result
run_on(struct server *s, int argc, const char **argv, const size_t *lens, struct buf *out,
       int *conn_failed, char *why, size_t whylen)
{
	redisContext *c, *moved = NULL;
	redisReply *r = NULL;
	enum lookup_result res = LOOKUP_DEFER;
	char host[256] = "";
	int port = 0, ask = 0;

	*conn_failed = 0;
	if (s->ctx == NULL &&
	    (s->ctx = connect_to(s->host, s->port, s->db, s->pass, why, whylen)) == NULL) {
		*conn_failed = 1;
		return LOOKUP_DEFER;
	}
	c = s->ctx;
	for (int hops = 0;; hops++) {
		if (ask && send_asking(c, host, port, why, whylen) != 0)
			break;
		r = redisCommandArgv(c, argc, argv, lens);
		if (r == NULL) {
			snprintf(why, whylen, "%s:%d: %s", c == s->ctx ? s->host : host,
			         c == s->ctx ? s->port : port, c->errstr);
			if (c == s->ctx) {
				drop(s); /* reconnect next time */
				*conn_failed = 1;
			}
			break;
		}
		if (redirect_target(r, &ask, host, sizeof host, &port) != 0) {
			res = map_reply(r, out, why, whylen);
			break;
		}
		if (hops == MAX_REDIRECTS) {
			snprintf(why, whylen, "more than %d MOVED or ASK redirections",
			         MAX_REDIRECTS);
			break;
		}
		freeReplyObject(r);
		r = NULL;
		if (moved != NULL)
			redisFree(moved);
		moved = connect_to(host, port, NULL, s->pass, why, whylen);
		if (moved == NULL)
			break;
		c = moved;
	}
	freeReplyObject(r);
	if (moved != NULL)
		redisFree(moved);
	return res;
}

enum lookup_result
lookup_redis_find(const char *file, const char *query, char **value, char *why, size_t whylen)
{
	const char *argv[MAX_ARGS];
	size_t lens[MAX_ARGS];
	char *buf = malloc(strlen(query) + 1);
	struct buf out = { 0 };
	enum lookup_result res = LOOKUP_DEFER;
	int argc, conn_failed = 1;

	(void)file;
	*value = NULL;
	if (buf == NULL) {
		snprintf(why, whylen, "out of memory");
		return LOOKUP_DEFER;
	}
	argc = split_query(query, buf, argv, lens);
	if (argc <= 0) {
		snprintf(why, whylen, argc == 0 ? "empty query" : "more than %d arguments",
		         MAX_ARGS);
		goto out;
	}
	if (nservers == 0)
		snprintf(why, whylen, "redis_servers is not set");
	for (size_t i = 0; i < nservers && conn_failed; i++) {
		buf_free(&out);
		buf_add(&out, "", 0);
		res = run_on(&servers[i], argc, argv, lens, &out, &conn_failed, why, whylen);
	}
	if (res == LOOKUP_FOUND) {
		*value = buf_take(&out);
		if (*value == NULL) {
			snprintf(why, whylen, "out of memory");
			res = LOOKUP_DEFER;
		}
	} else if (res == LOOKUP_DEFER && conn_failed && nservers > 1) {
		char last[200];
		snprintf(last, sizeof last, "%s", why);
		snprintf(why, whylen, "no server answered (last: %s)", last);
	}
out:
	buf_free(&out);
	free(buf);
	return res;
}
