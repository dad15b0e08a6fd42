/*
 * runtest_main.c - bin/runtest: select scenarios, mint the fixtures once,
 * run every (scenario, backend) pair in parallel in its own process group
 * and work directory, compare each transcript with its golden, report.
 *
 * Exit: 0 all passed, 1 some failed, 2 usage error, 125 cannot test (the
 * programs or fixtures are missing), so `git bisect run bin/runtest ID`
 * skips revisions that cannot be tested.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "html.h"
#include "html_cert.h"
#include "html_capture.h"
#include "pki.h"
#include "report.h"
#include "run.h"
#include "scenario.h"
#include "select.h"
#include "version.h"

#define EXIT_CANNOT_TEST 125

struct options {
	unsigned jobs;
	int backends; /* bit 0 openssl, bit 1 gnutls */
	int accept, keep, list, tap;
	const char *show;
	const char *junit, *json;
	const char *html;   /* --html DIR: the teaching view (docs/teaching.md) */
	int keylog;         /* --keylog: key log and capture per run */
	const char *refmta; /* bin/refmta */
};

struct job {
	struct scenario *s;
	const char *backend;
	struct result res;
	char *actual; /* the transcript it produced, NULL when it could not run */
	pid_t pid;
	struct timespec start;
	char workdir[4096];
	char *golden, *facts; /* for --html: the golden's text, WORK/tls-facts.txt */
	char *peer_certs;     /* for --html: html_cert_peer_chains() */
	char *ocsp;           /* for --html: WORK/ocsp-requests.txt (run_ocsp.c) */
	char *keys;           /* for --keylog: "keys/SLUG-BACKEND" under the --html DIR */
};

static volatile sig_atomic_t interrupted;
static struct job *jobs;
static size_t njobs;
static int keylog_wanted;   /* --keylog, for the job's child */
static const char *pki_dir; /* the run's PKI, for --html's peer certificates */
static double wall_seconds; /* schedule()'s whole run, for the summary */

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double
elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: runtest [options] [ID|PATH|FOLDER|KEYWORD ...]\n"
	             "  -j N               parallel runs (default: number of cores)\n"
	             "  --backend B        openssl | gnutls | both (default both)\n"
	             "  --accept           rewrite the goldens of failing scenarios, then show the "
	             "diff\n"
	             "  --keep             keep each run's work directory\n"
	             "  --list             list scenarios with titles\n"
	             "  --show ID          print a scenario and its golden side by side\n"
	             "  --tap              TAP 14 on stdout instead of the human report\n"
	             "  --junit FILE       JUnit XML\n"
	             "  --json FILE        JSON\n"
	             "  --html DIR         the teaching view (docs/teaching.md)\n"
	             "  --keylog           with --html: key logs and captures for Wireshark\n"
	             "exit: 0 all passed, 1 some failed, 2 usage error, 125 cannot test\n"
	             "The scenario format: docs/scenario-format.md\n");
}

/* ---- finding scenarios ------------------------------------------------------------ */

static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (f == NULL)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

static int
write_all(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Make the folders above `path` ("a/b/c.golden": a, a/b), as mkdir -p. */
static void
mkdir_parents(const char *path)
{
	char dir[4200];

	snprintf(dir, sizeof dir, "%s", path);
	for (char *p = strchr(dir + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
}

static void
golden_path(const struct job *j, char *out, size_t len)
{
	if (j->s->backend_specific != NULL) {
		/* golden/<f>/<slug>.<backend>.golden */
		snprintf(out, len, "%.*s.%s.golden", (int)(strlen(j->s->golden) - 7), j->s->golden,
		         j->backend);
	} else {
		snprintf(out, len, "%s", j->s->golden);
	}
}

/* diff -u golden actual, as text (diffutils is part of every Debian system). */
static char *
unified_diff(const char *golden, const char *actual)
{
	char cmd[9000];
	FILE *p;
	char *out = NULL;
	size_t len = 0;

	snprintf(cmd, sizeof cmd, "diff -u --label golden --label actual '%s' '%s' 2>&1", golden,
	         actual);
	p = popen(cmd, "r");
	if (p == NULL)
		return NULL;
	if (getdelim(&out, &len, '\0', p) < 0) {
		free(out);
		out = NULL;
	}
	pclose(p);
	return out;
}

static void
remove_tree(const char *path)
{
	char cmd[4200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "runtest: could not remove %s\n", path);
}

/* ---- one job ------------------------------------------------------------------------ */

static void __attribute__((noreturn))
job_child(struct job *j, const char *refmta, const char *fakedns, const char *pki)
{
	struct run_env env = { .refmta = refmta,
		               .fakedns = fakedns,
		               .pki = pki,
		               .workdir = j->workdir,
		               .backend = j->backend };
	struct err e = { 0 };
	char *transcript = NULL;
	char path[4200];

	/* Our own process group: the scheduler ends everything we start at once. */
	setpgid(0, 0);
	signal(SIGINT, SIG_DFL);
	pid_t capture = 0;
	if (keylog_wanted) { /* docs/teaching.md: refmta, the client and peers all append */
		snprintf(path, sizeof path, "%s/keylog.txt", j->workdir);
		setenv("SSLKEYLOGFILE", path, 1);
		capture = capture_start(j->workdir);
	}
	int played = run_scenario(j->s, &env, &transcript, &e);
	capture_stop(capture);
	if (played != 0) {
		snprintf(path, sizeof path, "%s/harness-error.txt", j->workdir);
		write_all(path, e.text);
		_exit(3);
	}
	snprintf(path, sizeof path, "%s/actual.txt", j->workdir);
	_exit(write_all(path, transcript) == 0 ? 0 : 3);
}

/* What --html and --keylog need from the work directory before it goes. */
static void
html_collect(struct job *j, const struct options *o)
{
	char path[4200];

	snprintf(path, sizeof path, "%s/tls-facts.txt", j->workdir);
	j->facts = read_all(path);
	j->peer_certs = html_cert_peer_chains(j->s, pki_dir, j->workdir);
	snprintf(path, sizeof path, "%s/ocsp-requests.txt", j->workdir);
	j->ocsp = read_all(path);
	if (o->keylog)
		j->keys = capture_collect(j->workdir, o->html, j->s->slug, j->backend);
}

static void
job_finish(struct job *j, int status, const struct options *o, int timed_out)
{
	char actual[4200], golden[4200];
	char *got, *want;

	j->res.seconds = elapsed(&j->start);
	snprintf(actual, sizeof actual, "%s/actual.txt", j->workdir);
	golden_path(j, golden, sizeof golden);
	if (timed_out) {
		j->res.status = RESULT_ERROR;
		if (asprintf(&j->res.message,
		             "timed out after %u s (everything it started was killed)",
		             j->s->timeout) < 0)
			j->res.message = NULL;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char errpath[4200];
		snprintf(errpath, sizeof errpath, "%s/harness-error.txt", j->workdir);
		j->res.status = RESULT_ERROR;
		j->res.message = read_all(errpath);
		if (j->res.message == NULL)
			j->res.message = strdup("the run ended abnormally");
	} else {
		got = read_all(actual);
		want = read_all(golden);
		if (got != NULL && want != NULL && strcmp(got, want) == 0) {
			j->res.status = RESULT_PASS;
		} else {
			j->res.status = RESULT_FAIL;
			if (want == NULL) {
				j->res.message =
				        strdup("no golden yet (runtest --accept writes it)");
				write_all("/dev/null", "");
			} else {
				j->res.message = strdup("transcript differs from the golden");
			}
			j->res.diff = unified_diff(want != NULL ? golden : "/dev/null", actual);
			if (o->accept && got != NULL) {
				mkdir_parents(golden);
				if (write_all(golden, got) == 0) {
					free(j->res.message);
					j->res.message = strdup(
					        "golden rewritten (--accept): read the diff");
				}
			}
		}
		j->actual = got; /* kept: the backends' transcripts are compared at the end */
		if (o->html != NULL)
			j->golden = want;
		else
			free(want);
	}
	if (o->html != NULL)
		html_collect(j, o);
	if (j->res.status == RESULT_PASS && !o->keep) {
		remove_tree(j->workdir);
		j->res.workdir = NULL;
	} else {
		j->res.workdir = j->workdir;
	}
}

/* ---- --show ---------------------------------------------------------------------------- */

static int
show(const struct scenario *s)
{
	char *left = read_all(s->path), *right = read_all(s->golden);
	struct winsize ws;
	int width = 160, col;
	const char *l = left, *r = right ? right : "(no golden yet)\n";

	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 40)
		width = ws.ws_col;
	col = (width - 3) / 2;
	printf("%-*.*s | %s\n", col, col, s->path, s->golden);
	while ((l && *l) || (r && *r)) {
		size_t ll = l ? strcspn(l, "\n") : 0, rl = r ? strcspn(r, "\n") : 0;
		printf("%-*.*s | %.*s\n", col, (int)(ll < (size_t)col ? ll : (size_t)col),
		       l ? l : "", (int)rl, r ? r : "");
		if (l && *l)
			l += ll + (l[ll] ? 1 : 0);
		if (r && *r)
			r += rl + (r[rl] ? 1 : 0);
	}
	free(left);
	free(right);
	return 0;
}

/* ---- the command line ------------------------------------------------------------------ */

/* -1 to go on, else the exit status (usage, --help, --version). */
static int
parse_args(int argc, char **argv, struct options *o, struct strlist *args)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-j") == 0 && i + 1 < argc)
			o->jobs = (unsigned)atoi(argv[++i]);
		else if (strncmp(a, "-j", 2) == 0 && a[2])
			o->jobs = (unsigned)atoi(a + 2);
		else if (strcmp(a, "--backend") == 0 && i + 1 < argc) {
			const char *b = argv[++i];
			o->backends = strcmp(b, "openssl") == 0  ? 1
			              : strcmp(b, "gnutls") == 0 ? 2
			              : strcmp(b, "both") == 0   ? 3
			                                         : 0;
			if (o->backends == 0) {
				fprintf(stderr, "runtest: --backend openssl, gnutls or both\n");
				return 2;
			}
		} else if (strcmp(a, "--accept") == 0)
			o->accept = 1;
		else if (strcmp(a, "--keep") == 0)
			o->keep = 1;
		else if (strcmp(a, "--list") == 0)
			o->list = 1;
		else if (strcmp(a, "--tap") == 0)
			o->tap = 1;
		else if (strcmp(a, "--show") == 0 && i + 1 < argc) {
			struct stat st;
			o->show = argv[++i];
			/* A path is loaded like any other path argument. */
			if (stat(o->show, &st) == 0 && strlist_push(args, o->show) != 0)
				return 2;
		} else if (strcmp(a, "--junit") == 0 && i + 1 < argc)
			o->junit = argv[++i];
		else if (strcmp(a, "--json") == 0 && i + 1 < argc)
			o->json = argv[++i];
		else if (strcmp(a, "--html") == 0 && i + 1 < argc)
			o->html = argv[++i];
		else if (strcmp(a, "--keylog") == 0)
			o->keylog = 1;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("runtest (refmta) %s\n", REFMTA_VERSION);
			return 0;
		} else if (a[0] == '-') {
			usage(stderr);
			return 2;
		} else if (strlist_push(args, a) != 0)
			return 2;
	}
	if (o->keylog && o->html == NULL) {
		fprintf(stderr,
		        "runtest: --keylog goes with --html DIR (where the files are kept)\n");
		return 2;
	}
	keylog_wanted = o->keylog;
	if (o->jobs == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		o->jobs = cores > 0 ? (unsigned)cores : 1;
	}
	if (getenv("REFMTA_BIN") != NULL)
		o->refmta = getenv("REFMTA_BIN");
	return -1;
}

/* The jobs: every selected scenario on every chosen backend. */
static void
make_jobs(const struct options *o, struct scenario **scns, size_t nscn, size_t nwanted,
          const struct strlist *sels)
{
	jobs = calloc(nscn * 2 + 1, sizeof *jobs);
	for (size_t i = 0; jobs != NULL && i < nscn; i++) {
		int want = i < nwanted || (nwanted == 0 && sels->n == 0);
		for (size_t k = 0; k < sels->n && !want; k++)
			want = select_matches(scns[i], sels->v[k]);
		for (int b = 0; want && b < 2; b++) {
			if (!(o->backends & (1 << b)))
				continue;
			struct job *j = &jobs[njobs++];
			j->s = scns[i];
			j->backend = b ? "gnutls" : "openssl";
			j->res = (struct result){ .id = scns[i]->id,
				                  .slug = scns[i]->slug,
				                  .feature = scns[i]->feature,
				                  .title = scns[i]->title,
				                  .path = scns[i]->path,
				                  .backend = j->backend };
		}
	}
}

/* ---- running them ---------------------------------------------------------------------- */

/*
 * Fixtures, once per run, relative to the clock now, and the programs'
 * absolute paths.  0, or EXIT_CANNOT_TEST.
 */
static int
prepare(const struct options *o, char *root, size_t rootlen, char *pki, size_t pkilen,
        char *refmta_abs, char *fakedns_abs, size_t fakedns_len)
{
	struct err e = { 0 };

	snprintf(root, rootlen, "%s/runtest.XXXXXX",
	         getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(root) == NULL) {
		perror("runtest: mkdtemp");
		root[0] = '\0';
		return EXIT_CANNOT_TEST;
	}
	snprintf(pki, pkilen, "%s/pki", root);
	if (pki_mint(pki, time(NULL), &e) != 0 || pki_dkim_mint(pki, &e) != 0) {
		fprintf(stderr, "runtest: cannot mint the PKI: %s\n", e.text);
		return EXIT_CANNOT_TEST;
	}
	if (realpath(o->refmta, refmta_abs) == NULL)
		return EXIT_CANNOT_TEST;
	/* bin/fakedns next to refmta (or $FAKEDNS_BIN), for scenarios with zones. */
	if (getenv("FAKEDNS_BIN") != NULL)
		snprintf(fakedns_abs, fakedns_len, "%s", getenv("FAKEDNS_BIN"));
	else
		snprintf(fakedns_abs, fakedns_len, "%.*s/fakedns",
		         (int)(strrchr(refmta_abs, '/') - refmta_abs), refmta_abs);
	for (size_t k = 0; k < njobs; k++)
		if (jobs[k].s->nzones > 0 && access(fakedns_abs, X_OK) != 0) {
			fprintf(stderr,
			        "runtest: %s is missing or not executable (run make; "
			        "%s has [zone] sections)\n",
			        fakedns_abs, jobs[k].s->path);
			return EXIT_CANNOT_TEST;
		}
	return 0;
}

/* Start job j in its own work directory (unique even when two collections share a slug). */
static void
job_start(struct job *j, size_t index, const char *root, const char *refmta_abs,
          const char *fakedns_abs, const char *pki)
{
	snprintf(j->workdir, sizeof j->workdir, "%s/%s-%s", root, j->s->slug, j->backend);
	if (mkdir(j->workdir, 0755) != 0 && errno == EEXIST) {
		snprintf(j->workdir, sizeof j->workdir, "%s/%s-%s.%zu", root, j->s->slug,
		         j->backend, index);
		mkdir(j->workdir, 0755);
	}
	clock_gettime(CLOCK_MONOTONIC, &j->start);
	fflush(NULL);
	j->pid = fork();
	if (j->pid == 0)
		job_child(j, refmta_abs, fakedns_abs, pki);
	setpgid(j->pid, j->pid);
}

/* Run every job, o->jobs at a time, each bounded by its timeout.  The number that failed. */
static size_t
schedule(const struct options *o, const char *root, const char *refmta_abs, const char *fakedns_abs,
         const char *pki)
{
	FILE *tty = (!o->tap && isatty(2)) ? stderr : NULL;
	struct timespec t0;
	size_t next = 0, done = 0, running = 0, failed = 0;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < njobs) {
		while (!interrupted && running < o->jobs && next < njobs) {
			job_start(&jobs[next], next, root, refmta_abs, fakedns_abs, pki);
			next++;
			running++;
		}
		/* Reap, and end what ran too long. */
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			for (size_t k = 0; k < next; k++) {
				if (jobs[k].pid != pid)
					continue;
				kill(-pid, SIGKILL); /* anything the run left behind */
				jobs[k].pid = 0;
				job_finish(&jobs[k], status, o, 0);
				failed += jobs[k].res.status != RESULT_PASS;
				running--;
				done++;
			}
			double spent = elapsed(&t0);
			report_progress(tty, done, njobs, failed,
			                done ? spent / (double)done * (double)(njobs - done) : 0);
			continue;
		}
		for (size_t k = 0; k < next; k++) {
			struct job *j = &jobs[k];
			if (j->pid > 0 && (interrupted || elapsed(&j->start) > j->s->timeout)) {
				kill(-j->pid, SIGKILL);
				waitpid(j->pid, &status, 0);
				j->pid = 0;
				job_finish(j, status, o, 1);
				if (interrupted) {
					free(j->res.message);
					j->res.message = strdup("interrupted");
				}
				failed++;
				running--;
				done++;
			}
		}
		if (interrupted && running == 0) {
			/* Jobs never started count as not run. */
			for (size_t k = next; k < njobs; k++) {
				jobs[k].res.status = RESULT_ERROR;
				jobs[k].res.message = strdup("not run (interrupted)");
				done++;
			}
			next = njobs;
		}
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	wall_seconds = elapsed(&t0);
	return failed;
}

/* The human report: each failure with its diff, backends that disagree, the table. */
static void
report_human(const struct result *results, unsigned parallel)
{
	for (size_t k = 0; k < njobs; k++) {
		const struct result *r = &results[k];
		if (r->status == RESULT_PASS)
			continue;
		printf("\n%s %s [%s] %s: %s\n", r->status == RESULT_FAIL ? "FAIL" : "ERROR", r->id,
		       r->backend, r->path, r->message ? r->message : "");
		if (r->diff)
			printf("%s", r->diff);
		if (r->workdir)
			printf("  work directory kept: %s\n", r->workdir);
	}
	/* One golden serves both backends: say where they saw different
	 * things.  What each run produced is compared, not its verdict:
	 * with --accept the first run rewrites the golden and the second
	 * then passes against it, though both saw the same. */
	for (size_t k = 0; k + 1 < njobs; k++) {
		if (jobs[k].s != jobs[k + 1].s || jobs[k].s->backend_specific ||
		    jobs[k].actual == NULL || jobs[k + 1].actual == NULL ||
		    strcmp(jobs[k].actual, jobs[k + 1].actual) == 0)
			continue;
		printf("\nNOTE %s: the openssl and gnutls transcripts differ (one golden serves "
		       "both: explain the difference in the scenario or fix it)\n",
		       jobs[k].s->slug);
	}
	report_summary(stdout, results, njobs, wall_seconds, parallel);
}

/* runtest --html DIR: 0, or -1 (said on stderr). */
static int
write_html(const char *dir, const struct result *results, double seconds)
{
	struct html_run *runs = calloc(njobs ? njobs : 1, sizeof *runs);
	struct err e = { 0 };
	struct timespec t0;
	int rc = 0;

	if (runs == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t k = 0; k < njobs; k++)
		runs[k] = (struct html_run){ .s = jobs[k].s,
			                     .res = &results[k],
			                     .actual = jobs[k].actual,
			                     .golden = jobs[k].golden,
			                     .facts = jobs[k].facts,
			                     .peer_certs = jobs[k].peer_certs,
			                     .ocsp = jobs[k].ocsp,
			                     .keys = jobs[k].keys };
	if (html_write(dir, runs, njobs, seconds, &e) != 0) {
		fprintf(stderr, "runtest: --html: %s\n", e.text);
		rc = -1;
	} else {
		fprintf(stderr, "runtest: the report is %s/index.html (written in %.2f s)\n", dir,
		        elapsed(&t0));
	}
	free(runs);
	return rc;
}

/* ---- main ------------------------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	struct options o = { .jobs = 0, .backends = 3, .refmta = "bin/refmta" };
	struct strlist args = { 0 }, sels = { 0 };
	struct scenario **scns = NULL;
	size_t nscn = 0, nwanted = 0, failed;
	char root[4096] = "", pki[4200], refmta_abs[4096], fakedns_abs[4200];
	struct result *results = NULL;
	int rc;

	if ((rc = parse_args(argc, argv, &o, &args)) >= 0)
		goto done;
	if ((rc = select_load(&args, &sels, &scns, &nscn, &nwanted)) != 0)
		goto done;
	make_jobs(&o, scns, nscn, nwanted, &sels);
	if (njobs == 0 && o.show == NULL) {
		fprintf(stderr, "runtest: no scenario matches\n");
		rc = args.n ? 2 : 0;
		goto done;
	}
	if (o.list) {
		for (size_t k = 0; k < njobs; k++)
			if (k == 0 || jobs[k].s != jobs[k - 1].s)
				printf("%s  %-40s %s\n", jobs[k].s->id, jobs[k].s->path,
				       jobs[k].s->title);
		goto done;
	}
	if (o.show != NULL) {
		for (size_t i = 0; i < nscn; i++)
			if (select_matches(scns[i], o.show) || (i < nwanted && nwanted == 1)) {
				rc = show(scns[i]);
				goto done;
			}
		fprintf(stderr, "runtest: no scenario %s\n", o.show);
		rc = 2;
		goto done;
	}
	/* Cannot test: the program under test or the fixtures are missing. */
	if (access(o.refmta, X_OK) != 0) {
		fprintf(stderr, "runtest: %s is missing or not executable (run make)\n", o.refmta);
		rc = EXIT_CANNOT_TEST;
		goto done;
	}
	if ((rc = prepare(&o, root, sizeof root, pki, sizeof pki, refmta_abs, fakedns_abs,
	                  sizeof fakedns_abs)) != 0)
		goto done;

	struct sigaction sa = { .sa_handler = on_interrupt };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pki_dir = pki;
	struct timespec t_start;
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	failed = schedule(&o, root, refmta_abs, fakedns_abs, pki);

	results = calloc(njobs, sizeof *results);
	for (size_t k = 0; results != NULL && k < njobs; k++)
		results[k] = jobs[k].res;
	if (results != NULL && o.tap)
		report_tap(stdout, results, njobs);
	else if (results != NULL)
		report_human(results, o.jobs);
	if (results != NULL && o.junit && report_junit(o.junit, results, njobs) != 0)
		fprintf(stderr, "runtest: cannot write %s\n", o.junit);
	if (results != NULL && o.json && report_json(o.json, results, njobs) != 0)
		fprintf(stderr, "runtest: cannot write %s\n", o.json);
	rc = interrupted ? 130 : failed > 0 ? 1 : 0;
	if (results != NULL && o.html && write_html(o.html, results, elapsed(&t_start)) != 0 &&
	    rc == 0)
		rc = 1;
	if (failed == 0 && !o.keep)
		remove_tree(root);
	else
		remove_tree(pki);
done:
	if (rc == EXIT_CANNOT_TEST && root[0])
		remove_tree(root);
	for (size_t k = 0; k < njobs; k++) {
		free(jobs[k].res.message);
		free(jobs[k].res.diff);
		free(jobs[k].actual);
		free(jobs[k].golden);
		free(jobs[k].facts);
		free(jobs[k].peer_certs);
		free(jobs[k].ocsp);
		free(jobs[k].keys);
	}
	free(results);
	free(jobs);
	for (size_t i = 0; i < nscn; i++)
		scenario_free(scns[i]);
	free(scns);
	strlist_free(&args);
	strlist_free(&sels);
	return rc;
}
