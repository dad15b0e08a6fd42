/*
 * run_services.c - the lookup services a scenario asks for, made before
 * refmta starts and gone when the run ends (docs/scenario-format.md):
 *   [redis] / [redis NAME]  a real redis-server on a free loopback port,
 *                           loaded with the section's commands (redis-cli,
 *                           one command a line); @REDIS@ / @REDIS:NAME@ in
 *                           the configuration and steps is its ADDR:PORT
 *   [lmdb NAME]             WORK/NAME, an LMDB file made by mdb_load -T -n
 *                           from "KEY VALUE" lines (split at the first blank)
 * and the `expand STRING` step: `refmta -c CONF expand STRING`, its result
 * in the transcript as X: lines.
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
	unsigned p = free_port();
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
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		       "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		       (char *)NULL);
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
	return 0;
}

void
run_services_stop(struct run *r)
{
	for (size_t i = 0; i < r->nredis; i++)
		run_stop_child(r, &r->redis_pid[i], 5, "redis-server");
}

/* "@REDIS@" (the default server) or "@REDIS:NAME@": its ADDR:PORT. */
int
run_services_word(const struct run *r, const char *p, char *out, size_t len, size_t *skip)
{
	const char *name = "default";
	size_t n = 7;

	if (strncmp(p, "@REDIS:", 7) == 0 && strchr(p + 7, '@') != NULL) {
		name = p + 7;
		n = (size_t)(strchr(p + 7, '@') - name);
		*skip = 7 + n + 1;
	} else if (strncmp(p, "@REDIS@", 7) == 0) {
		*skip = 7;
	} else {
		return 0;
	}
	for (size_t i = 0; i < r->nredis; i++)
		if (strlen(r->s->redis[i].name) == (name == p + 7 ? n : strlen(name)) &&
		    strncmp(r->s->redis[i].name, name, name == p + 7 ? n : strlen(name)) == 0) {
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
		execl(r->env->refmta, "refmta", "-c", conf, "expand", st->arg, (char *)NULL);
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
