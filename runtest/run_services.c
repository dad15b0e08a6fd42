/*
 * run_services.c - the lookup services a scenario asks for, made before
 * refmta starts and gone when the run ends (docs/scenario-format.md):
 *   [redis] / [redis NAME]  a real redis-server on a free loopback port,
 *                           loaded with the section's commands (redis-cli,
 *                           one command a line); @REDIS@ / @REDIS:NAME@ in
 *                           the configuration and steps is its ADDR:PORT,
 *                           @REDIS_PORT:NAME@ its port; a section whose
 *                           first line is "# cluster" is a Redis Cluster
 *                           node, and the run waits for cluster_state:ok;
 *                           @REDIS_ID:NAME@ is then its node id
 *                           (CLUSTER MYID), for CLUSTER SETSLOT
 *   [lmdb NAME]             WORK/NAME, an LMDB file made by mdb_load -T -n
 *                           from "KEY VALUE" lines (split at the first blank)
 * and the `expand STRING` step: `refmta -c CONF expand STRING`, its result
 * in the transcript as X: lines; the `redis NAME COMMAND` step: one
 * redis-cli command on a node during the run (a slot put in migration),
 * its reply as X: lines.
 *
 * Every server is stopped by its own pid; every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run_int.h"
#include "scenario.h"
#include "strlist.h"

static int
can_bind(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		                 .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* A cluster node needs PORT and PORT + 10000 (its bus) free, PORT at most
 * 55535: tried from a pid-dependent start in 20000-45000. */
static unsigned
free_cluster_port(void)
{
	unsigned base = 20000 + (unsigned)getpid() * 7919u % 25000u;

	for (unsigned i = 0; i < 2000; i++) {
		unsigned p = 20000 + (base - 20000 + i * 13u) % 25000u;
		if (can_bind(p) && can_bind(p + 10000))
			return p;
	}
	return 0;
}

/* A port nobody listens on now (bound to 0, read, closed). */
static unsigned
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int
accepts(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		                 .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* Run argv with `input` on stdin, output to WORK/log; its exit status. */
static int
run_with_input(struct run *r, char *const argv[], const char *input, const char *log)
{
	int in[2], status = -1;
	pid_t pid;

	if (pipe(in) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int out = open(run_path(r, log), O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(in[0], 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		close(in[1]);
		unsetenv("LD_PRELOAD"); /* redis-cli, mdb_load: real tools, real clock */
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	if (pid > 0) {
		size_t n = strlen(input);
		signal(SIGPIPE, SIG_IGN);
		if (write(in[1], input, n) != (ssize_t)n)
			status = -1;
	}
	close(in[1]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
start_redis(struct run *r, size_t i, struct err *e)
{
	const struct text_section *sec = &r->s->redis[i];
	char port[16], dir[4096];
	int cluster = strncmp(sec->text, "# cluster", 9) == 0;
	unsigned p = cluster ? free_cluster_port() : free_port();
	char *text;
	int rc;

	snprintf(port, sizeof port, "%u", p);
	snprintf(dir, sizeof dir, "%s", run_path(r, ""));
	r->redis_port[i] = p;
	r->redis_pid[i] = fork();
	if (r->redis_pid[i] == 0) {
		int out = open(run_path(r, "redis.log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		char nodes[300];
		/* A real service on the real clock: libfaketime (make check's +10
		 * years pass) breaks redis-server's allocator at start-up, and the
		 * shifted clock is for refmta and the PKI, not for Redis. */
		unsetenv("LD_PRELOAD");
		snprintf(nodes, sizeof nodes, "nodes-%s.conf", sec->name);
		if (cluster) /* a Redis Cluster node */
			execlp("redis-server", "redis-server", "--port", port, "--bind",
			       "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
			       "--daemonize", "no", "--cluster-enabled", "yes",
			       "--cluster-config-file", nodes, (char *)NULL);
		else
			execlp("redis-server", "redis-server", "--port", port, "--bind",
			       "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
			       "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	if (p == 0 || r->redis_pid[i] < 0) {
		err_set(e, 1, "[redis %s]: cannot start redis-server", sec->name);
		return -1;
	}
	for (int k = 0; k < 500 && !accepts(p); k++) { /* at most 5 s */
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (!accepts(p)) {
		err_set(e, 1, "[redis %s]: redis-server did not listen (see %s/redis.log)",
		        sec->name, r->env->workdir);
		return -1;
	}
	text = run_substitute(sec->text, r);
	if (text == NULL)
		return -1;
	/* "#" lines are comments, not commands for redis-cli. */
	for (char *l = text, *o = text; *l != '\0';) {
		size_t n = strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n');
		if (*l != '#') {
			memmove(o, l, n);
			o += n;
		}
		l += n;
		if (*l == '\0')
			*o = '\0';
	}
	char *argv[] = { "redis-cli", "-h", "127.0.0.1", "-p", port, NULL };
	rc = run_with_input(r, argv, text, "redis-cli.log");
	free(text);
	if (rc != 0) {
		err_set(e, 1, "[redis %s]: redis-cli failed (exit %d; see %s/redis-cli.log)",
		        sec->name, rc, r->env->workdir);
		return -1;
	}
	return 0;
}

/* [lmdb NAME]: "KEY VALUE" lines as mdb_load -T's key line / value line pairs. */
static int
make_lmdb(struct run *r, const struct text_section *sec, struct err *e)
{
	char *pairs = malloc(strlen(sec->text) * 2 + 2), path[4096], *o = pairs;
	const char *p = sec->text;
	int rc;

	if (pairs == NULL)
		return -1;
	while (*p != '\0') {
		size_t n = strcspn(p, "\n"), k = strcspn(p, " \t");
		if (n > 0 && p[0] != '#') {
			const char *v = p + (k < n ? k : n);
			while (v < p + n && (*v == ' ' || *v == '\t'))
				v++;
			o += sprintf(o, "%.*s\n%.*s\n", (int)(k < n ? k : n), p, (int)(p + n - v),
			             v);
		}
		p += n + (p[n] == '\n');
	}
	*o = '\0';
	snprintf(path, sizeof path, "%s", run_path(r, sec->name));
	char *argv[] = { "mdb_load", "-T", "-n", path, NULL };
	rc = run_with_input(r, argv, pairs, "mdb_load.log");
	free(pairs);
	if (rc != 0) {
		err_set(e, 1, "[lmdb %s]: mdb_load failed (exit %d; see %s/mdb_load.log)",
		        sec->name, rc, r->env->workdir);
		return -1;
	}
	return 0;
}

/* Every "# cluster" node answers cluster_state:ok (at most 10 s): the
 * slots the sections assigned are known to all nodes. */
static int
wait_cluster(struct run *r, struct err *e)
{
	for (size_t i = 0; i < r->nredis; i++) {
		char port[16], buf[4096] = "";
		int ok = 0;
		if (strncmp(r->s->redis[i].text, "# cluster", 9) != 0)
			continue;
		snprintf(port, sizeof port, "%u", r->redis_port[i]);
		for (int k = 0; k < 100 && !ok; k++) {
			char *argv[] = { "redis-cli", "-h", "127.0.0.1", "-p", port, NULL };
			FILE *f;
			unlink(run_path(r, "cluster-info.out"));
			(void)run_with_input(r, argv, "CLUSTER INFO\n", "cluster-info.out");
			f = fopen(run_path(r, "cluster-info.out"), "r");
			size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
			buf[n] = '\0';
			if (f != NULL)
				fclose(f);
			ok = strstr(buf, "cluster_state:ok") != NULL;
			if (!ok) {
				struct timespec ts = { 0, 100 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
		}
		if (!ok) {
			err_set(e, 1,
			        "[redis %s]: the cluster did not reach cluster_state:ok in 10 s",
			        r->s->redis[i].name);
			return -1;
		}
	}
	return 0;
}

/* The output redis-cli wrote to WORK/NAME (made empty first by the
 * caller), at most len - 1 octets. */
static void
read_out(struct run *r, const char *name, char *buf, size_t len)
{
	FILE *f = fopen(run_path(r, name), "r");
	size_t n = f != NULL ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = '\0';
	if (f != NULL)
		fclose(f);
}

/* @REDIS_ID:NAME@ for every cluster node: CLUSTER MYID. */
static int
cluster_ids(struct run *r, struct err *e)
{
	for (size_t i = 0; i < r->nredis; i++) {
		char port[16], buf[128];
		if (strncmp(r->s->redis[i].text, "# cluster", 9) != 0)
			continue;
		snprintf(port, sizeof port, "%u", r->redis_port[i]);
		char *argv[] = { "redis-cli", "-h", "127.0.0.1", "-p", port, NULL };
		unlink(run_path(r, "cluster-id.out"));
		(void)run_with_input(r, argv, "CLUSTER MYID\n", "cluster-id.out");
		read_out(r, "cluster-id.out", buf, sizeof buf);
		buf[strcspn(buf, "\r\n")] = '\0';
		if (strlen(buf) != 40 || strspn(buf, "0123456789abcdef") != 40) {
			err_set(e, 1, "[redis %s]: CLUSTER MYID gave \"%s\"", r->s->redis[i].name,
			        buf);
			return -1;
		}
		snprintf(r->redis_id[i], sizeof r->redis_id[i], "%s", buf);
	}
	return 0;
}

/* redis NAME COMMAND: one command on node NAME, its reply lines as X: lines. */
int
step_redis(struct run *r, const struct step *st, struct err *e)
{
	size_t n = strcspn(st->arg, " \t");
	const char *cmd = st->arg + n + strspn(st->arg + n, " \t");
	char port[16], buf[8192], *input;

	for (size_t i = 0; i < r->nredis; i++) {
		if (strlen(r->s->redis[i].name) != n ||
		    strncmp(r->s->redis[i].name, st->arg, n) != 0)
			continue;
		snprintf(port, sizeof port, "%u", r->redis_port[i]);
		char *argv[] = { "redis-cli", "-h", "127.0.0.1", "-p", port, NULL };
		if (asprintf(&input, "%s\n", cmd) < 0)
			return -1;
		unlink(run_path(r, "redis-step.out"));
		(void)run_with_input(r, argv, input, "redis-step.out");
		free(input);
		transcript_addf(&r->tr, 'X', "redis %s", st->arg);
		read_out(r, "redis-step.out", buf, sizeof buf);
		for (size_t k = strlen(buf); k > 0 && buf[k - 1] == '\n'; k--)
			buf[k - 1] = '\0'; /* redis-cli's blank line after an error */
		for (char *l = buf, *nl; *l != '\0'; l = nl) {
			nl = l + strcspn(l, "\n");
			if (*nl == '\n')
				*nl++ = '\0';
			transcript_addf(&r->tr, 'X', "= %s", l);
		}
		return 0;
	}
	err_set(e, 1, "%s: redis %.*s: no [redis %.*s] section", r->s->path, (int)n, st->arg,
	        (int)n, st->arg);
	return -1;
}

int
run_services_start(struct run *r, struct err *e)
{
	if (r->s->nredis > RUN_MAX_REDIS) {
		err_set(e, 1, "at most %d [redis] sections", RUN_MAX_REDIS);
		return -1;
	}
	for (size_t i = 0; i < r->s->nlmdbs; i++)
		if (make_lmdb(r, &r->s->lmdbs[i], e) != 0)
			return -1;
	for (size_t i = 0; i < r->s->nredis; i++) {
		r->nredis = i + 1;
		if (start_redis(r, i, e) != 0)
			return -1;
	}
	if (wait_cluster(r, e) != 0)
		return -1;
	return cluster_ids(r, e);
}

void
run_services_stop(struct run *r)
{
	for (size_t i = 0; i < r->nredis; i++)
		run_stop_child(r, &r->redis_pid[i], 5, "redis-server");
	strlist_free(&r->expand_vars);
}

/* expand-vars NAME=VALUE...: the variables later expand steps give refmta
 * (blank-separated; "\x20" in a value is a space). */
int
step_expand_vars(struct run *r, const struct step *st, struct err *e)
{
	char *copy = strdup(st->arg), *save = NULL;

	if (copy == NULL)
		return -1;
	strlist_free(&r->expand_vars);
	for (char *w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		char *o = w;
		if (strchr(w, '=') == NULL) {
			err_set(e, 1, "%s:%d: expand-vars: \"%s\" is not NAME=VALUE", r->s->path,
			        st->line, w);
			free(copy);
			return -1;
		}
		for (char *p = w; *p != '\0'; p++)
			if (strncmp(p, "\\x20", 4) == 0) {
				*o++ = ' ';
				p += 3;
			} else {
				*o++ = *p;
			}
		*o = '\0';
		if (strlist_push(&r->expand_vars, w) != 0) {
			free(copy);
			return -1;
		}
	}
	transcript_addf(&r->tr, 'X', "vars %s", st->arg);
	free(copy);
	return 0;
}

/* "@REDIS@" (the default server) or "@REDIS:NAME@": its ADDR:PORT. */
int
run_services_word(const struct run *r, const char *p, char *out, size_t len, size_t *skip)
{
	const char *name = "default";
	size_t n = 7, pre = 0;
	int port_only = strncmp(p, "@REDIS_PORT:", 12) == 0;
	int id = strncmp(p, "@REDIS_ID:", 10) == 0;

	if (port_only || id || (strncmp(p, "@REDIS:", 7) == 0)) {
		pre = port_only ? 12 : id ? 10 : 7;
		if (strchr(p + pre, '@') == NULL)
			return 0;
		name = p + pre;
		n = (size_t)(strchr(name, '@') - name);
		*skip = pre + n + 1;
	} else if (strncmp(p, "@REDIS@", 7) == 0) {
		*skip = 7;
	} else {
		return 0;
	}
	if (pre == 0)
		n = strlen(name);
	for (size_t i = 0; i < r->nredis; i++)
		if (strlen(r->s->redis[i].name) == n &&
		    strncmp(r->s->redis[i].name, name, n) == 0) {
			if (id && r->redis_id[i][0] == '\0')
				return 0; /* not a cluster node: the word stays as written */
			if (id)
				snprintf(out, len, "%s", r->redis_id[i]);
			else if (port_only)
				snprintf(out, len, "%u", r->redis_port[i]);
			else
				snprintf(out, len, "127.0.0.1:%u", r->redis_port[i]);
			return 1;
		}
	return 0;
}

/* expand STRING: refmta's own answer, stdout and stderr, as X: lines. */
int
step_expand(struct run *r, const struct step *st, struct err *e)
{
	char conf[4096], line[8192];
	int out[2], status = 0;
	pid_t pid;
	FILE *f;

	(void)e;
	snprintf(conf, sizeof conf, "%s/refmta.conf", r->env->workdir);
	if (pipe(out) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		char *argv[64] = { "refmta", "-c", conf, "expand", st->arg };
		for (size_t i = 0; i < r->expand_vars.n && i < 58; i++)
			argv[5 + i] = r->expand_vars.v[i];
		execv(r->env->refmta, argv);
		_exit(127);
	}
	close(out[1]);
	transcript_addf(&r->tr, 'X', "expand %s", st->arg);
	f = fdopen(out[0], "r");
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		transcript_addf(&r->tr, 'X', "= %s", line);
	}
	if (f != NULL)
		fclose(f);
	else
		close(out[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		transcript_addf(&r->tr, 'X', "(exit %d)",
		                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}
