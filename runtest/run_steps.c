/*
 * run_steps.c - the steps on refmta's side rather than the client's: queue
 * runs, the delivered mail, its log, waiting for a log line, silence, and
 * changes to the run's files and configuration while refmta runs.
 */
#include <dirent.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run_int.h"
#include "strlist.h"

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file under dir, sorted, as M: lines (the path, then "| " + each line). */
static void
dump_tree(struct run *r, const char *dir, const char *rel)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct strlist names = { 0 };

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strlist_push(&names, de->d_name) != 0)
			break;
	closedir(d);
	if (names.n > 1)
		qsort(names.v, names.n, sizeof *names.v, cmp_names);
	for (size_t i = 0; i < names.n; i++) {
		char full[4096], sub[4096];
		struct stat st;
		snprintf(full, sizeof full, "%s/%s", dir, names.v[i]);
		snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", names.v[i]);
		if (stat(full, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			dump_tree(r, full, sub);
			continue;
		}
		FILE *f = fopen(full, "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		transcript_addf(&r->tr, 'M', "%s", sub);
		while (f != NULL && (n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] == '\n')
				line[n - 1] = '\0';
			transcript_addf(&r->tr, 'M', "| %s", line);
		}
		free(line);
		if (f != NULL)
			fclose(f);
	}
	strlist_free(&names);
}

int
step_queue_run(struct run *r, const struct step *st, struct err *e)
{
	const char *arg = st->arg;
	char conf[4096];
	pid_t pid;
	int status = 0, force = arg != NULL && strcmp(arg, "force") == 0;

	if (arg != NULL && *arg != '\0' && !force) {
		err_set(e, 1, "queue-run: unknown argument \"%s\" (only \"force\")", arg);
		return -1;
	}

	snprintf(conf, sizeof conf, "%s/refmta.conf", r->env->workdir);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execl(r->env->refmta, "refmta", "-c", conf, "--backend", r->env->backend,
		      "queue-run", force ? "--force" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	transcript_addf(&r->tr, 'Q', "queue-run%s%s", force ? " force" : "",
	                WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : " (failed)");
	return 0;
}

/* wait-log REGEX: until refmta's log has a matching line (at most 10 s). */
int
step_wait_log(struct run *r, const struct step *st, struct err *e)
{
	regex_t re;

	if (regcomp(&re, st->arg, REG_EXTENDED | REG_NOSUB) != 0) {
		err_set(e, 1, "%s:%d: wait-log: bad regular expression", r->s->path, st->line);
		return -1;
	}
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(run_path(r, "log/main.log"), "r");
		char line[4096];
		int found = 0;
		while (!found && f != NULL && fgets(line, sizeof line, f) != NULL)
			found = regexec(&re, line, 0, NULL, 0) == 0;
		if (f != NULL)
			fclose(f);
		if (found) {
			regfree(&re);
			return 0;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	regfree(&re);
	transcript_addf(&r->tr, '!', "no log line matching /%s/ within 10 s", st->arg);
	return 1;
}

int
step_log(struct run *r, const struct step *st, struct err *e)
{
	(void)st;
	(void)e;
	run_dump_log(r);
	return 0;
}

int
step_mail(struct run *r, const struct step *st, struct err *e)
{
	(void)st;
	(void)e;
	dump_tree(r, run_path(r, "mail"), "mail");
	return 0;
}

int
step_sleep(struct run *r, const struct step *st, struct err *e)
{
	long ms = strtol(st->arg, NULL, 10);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	(void)e;
	transcript_addf(&r->tr, 'C', "(silent for %ld ms)", ms);
	nanosleep(&ts, NULL);
	return 0;
}

/* ---- changing files and the configuration mid-run ------------------------------------- */

/* Make the folders above WORK/rel. */
static void
mkdir_above(struct run *r, const char *rel)
{
	char dir[4200];

	snprintf(dir, sizeof dir, "%s/%s", r->env->workdir, rel);
	for (char *p = dir + strlen(r->env->workdir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
}

/* write NAME PATH: [file NAME]'s text (words expanded) to WORK/PATH. */
/* Writing over a queued message's data file (spool/input/ID-D) replaces
 * the data, as the scenario means; but a one-file message (docs/spool.md
 * "The message file") carries its envelope after the data, before a
 * 56-octet trailer "refmta-trailer SIZE ENVLEN CRC".  So that the envelope
 * survives, it is first saved as ID-H beside it (the two-file form, which
 * refmta reads the same), as one editing a spool file by hand must. */
static void
run_keep_envelope(const char *path)
{
	char t[57], hpath[4200], *env = NULL;
	unsigned long long size = 0, envlen = 0;
	struct stat sb;
	FILE *f;
	size_t n = strlen(path);
	int fd;

	if (n < 2 || strcmp(path + n - 2, "-D") != 0 || strstr(path, "/spool/input/") == NULL)
		return;
	snprintf(hpath, sizeof hpath, "%.*sH", (int)(n - 1), path);
	if (access(hpath, F_OK) == 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	t[0] = t[56] = '\0';
	if (fstat(fd, &sb) != 0 || sb.st_size < 56 || pread(fd, t, 56, sb.st_size - 56) != 56 ||
	    sscanf(t, "refmta-trailer %20llu %10llu", &size, &envlen) != 2 ||
	    size + envlen + 56 != (unsigned long long)sb.st_size)
		goto out; /* the data alone already: nothing to keep */
	env = malloc(envlen);
	if (env != NULL && pread(fd, env, envlen, (off_t)size) == (ssize_t)envlen &&
	    (f = fopen(hpath, "w")) != NULL) {
		(void)fwrite(env, 1, envlen, f);
		(void)fclose(f); /* a failure shows as the message's spool error */
	}
out:
	free(env);
	(void)close(fd); /* read-only */
}

int
step_write(struct run *r, const struct step *st, struct err *e)
{
	char name[256] = "", rel[1024] = "";
	const struct text_section *file;
	char *text;
	FILE *f;
	int ok;

	sscanf(st->arg, "%255s %1023s", name, rel);
	file = scenario_section(r->s->files, r->s->nfiles, name);
	if (file == NULL || (text = run_substitute(file->text, r)) == NULL) {
		err_set(e, 1, "%s:%d: write: no [file %s]", r->s->path, st->line, name);
		return -1;
	}
	mkdir_above(r, rel);
	run_keep_envelope(run_path(r, rel));
	f = fopen(run_path(r, rel), "w");
	ok = f != NULL && fputs(text, f) >= 0;
	ok = (f != NULL && fclose(f) == 0) && ok;
	free(text);
	if (!ok) {
		transcript_addf(&r->tr, '!', "write %s: cannot write %s", name, rel);
		return 1;
	}
	transcript_addf(&r->tr, 'F', "write [file %s] to %s", name, rel);
	return 0;
}

/* move FROM TO: rename WORK/FROM to WORK/TO (a file or a folder). */
int
step_move(struct run *r, const struct step *st, struct err *e)
{
	char from[1024] = "", to[1024] = "", src[4200], dst[4200];
	struct stat sb;

	(void)e;
	sscanf(st->arg, "%1023s %1023s", from, to);
	snprintf(src, sizeof src, "%s/%s", r->env->workdir, from);
	snprintf(dst, sizeof dst, "%s/%s", r->env->workdir, to);
	mkdir_above(r, to);
	if (stat(src, &sb) != 0 || rename(src, dst) != 0) {
		transcript_addf(&r->tr, '!', "move %s to %s: %s", from, to,
		                stat(src, &sb) != 0 ? "no such file" : "cannot rename");
		return 1;
	}
	transcript_addf(&r->tr, 'F', "move %s to %s", from, to);
	return 0;
}

/* How many "SIGHUP: configuration ..." lines refmta's log has. */
static int
reloads_logged(struct run *r)
{
	FILE *f = fopen(run_path(r, "log/main.log"), "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	while (f != NULL && getline(&line, &cap, f) > 0)
		n += strstr(line, " SIGHUP: configuration ") != NULL;
	free(line);
	if (f != NULL)
		fclose(f);
	return n;
}

/*
 * reconfigure NAME: [config NAME] becomes refmta.conf, refmta gets SIGHUP,
 * and the step waits (at most 10 s) for the daemon to log that it reloaded
 * or kept the old configuration (an L: line either way).
 */
int
step_reconfigure(struct run *r, const struct step *st, struct err *e)
{
	const struct text_section *cfg = scenario_section(r->s->configs, r->s->nconfigs, st->arg);
	int before;

	if (cfg == NULL) {
		err_set(e, 1, "%s:%d: reconfigure: no [config %s]", r->s->path, st->line, st->arg);
		return -1;
	}
	before = reloads_logged(r);
	if (run_write_config(r, cfg->text, e) != 0)
		return -1;
	transcript_addf(&r->tr, 'F', "reconfigure [config %s] (SIGHUP)", st->arg);
	kill(r->refmta, SIGHUP);
	for (int i = 0; i < 1000; i++) {
		if (reloads_logged(r) > before)
			return 0;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	transcript_add(&r->tr, '!', "refmta did not log a reload within 10 s of SIGHUP");
	return 1;
}

int
run_command_lines(struct run *r, char *const argv[], int with_stderr, struct err *e)
{
	char line[4096];
	int pipefd[2], status = 0;
	FILE *in;
	pid_t pid;

	if (pipe(pipefd) != 0) {
		err_set(e, 1, "%s: pipe failed", argv[0]);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		close(pipefd[0]);
		dup2(pipefd[1], 1);
		dup2(with_stderr ? pipefd[1] : devnull, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	in = fdopen(pipefd[0], "r");
	/* Bounded by the command itself (refmta's own timeouts). */
	while (in != NULL && fgets(line, sizeof line, in) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		transcript_add(&r->tr, 'K', line);
	}
	if (in != NULL)
		fclose(in);
	else
		close(pipefd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	transcript_addf(&r->tr, 'K', "(exit %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}
