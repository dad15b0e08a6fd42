/*
 * run_ocsp.c - a scenario's OCSP responses ("ocsp: NAME CERT [ARG...]"
 * header lines), minted for each run by `bin/fakeocsp mint` from the run's
 * PKI before the peers and refmta start, so they are always relative to
 * the run's clock (the PKI's, the real one: the +10 years replay moves both)
 * and never committed.  The response for CERT is signed by the delegated
 * responder (ocsp-signer) with status good unless ARGs say otherwise; ARGs
 * are fakeocsp mint's own options (docs/fakeocsp.md), @PKI@ and @WORK@
 * expanded: `--status revoked`, `--fault expired`, `--fault
 * expired-signer=...`, `--extra-certs ...`, `--this-update +1d`.  The file
 * is @WORK@/ocsp/NAME.der.  `ocsp: NAME pem A B ...` instead writes
 * @WORK@/ocsp/NAME.pem: the responses A, B, ... (earlier ocsp: lines) as
 * "OCSP RESPONSE" PEM blocks in that order, the form of a tls_ocsp_file item
 * "PEM FILE" that staples one response per chain element (docs/ocsp.md).
 *
 * Also a live responder for `refmta ocsp-fetch` (docs/ocsp.md "Fetching"):
 * the `ocsp-serve [FAULT...]` step starts `bin/fakeocsp serve` on a free
 * loopback port with the run's PKI and index and fakeocsp's --fault
 * options, `ocsp-stop` stops it by PID (its port is kept, so a later fetch
 * meets a responder that is down), and `ocsp-fetch [ARG...]` runs `refmta
 * ocsp-fetch --url http://127.0.0.1:PORT/ [ARG...]` and shows its output and
 * exit.  The run ends the responder by PID (run_ocsp_stop()).  After each
 * fetch, what the responder logged meanwhile (its --log, one line per
 * request: serial, status, fault) is appended to @WORK@/ocsp-requests.txt
 * as a block opened by "fetch": the teaching view's fakeocsp lane
 * (docs/teaching.md), not part of the transcript.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "run_int.h"

#define OCSP_MINT_ARGS 32

/* bin/fakeocsp next to refmta, or $FAKEOCSP_BIN. */
static void
fakeocsp_path(const struct run *r, char *out, size_t len)
{
	const char *slash = strrchr(r->env->refmta, '/');

	if (getenv("FAKEOCSP_BIN") != NULL)
		snprintf(out, len, "%s", getenv("FAKEOCSP_BIN"));
	else if (slash != NULL)
		snprintf(out, len, "%.*s/fakeocsp", (int)(slash - r->env->refmta), r->env->refmta);
	else
		snprintf(out, len, "fakeocsp");
}

/* Run fakeocsp with `argv`, stderr to `errpath`; its exit status, -1 if it could not run. */
static int
run_fakeocsp(char **argv, const char *errpath)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* `len` octets as base64 (RFC 4648 4) in lines of 64 (RFC 7468 2). */
static void
pem_body(FILE *f, const unsigned char *d, size_t len)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)d[i] << 16 | (i + 1 < len ? (unsigned)d[i + 1] << 8 : 0) |
		             (i + 2 < len ? d[i + 2] : 0);
		char q[5] = { a[v >> 18 & 63], a[v >> 12 & 63], i + 1 < len ? a[v >> 6 & 63] : '=',
			      i + 2 < len ? a[v & 63] : '=', 0 };
		fputs(q, f);
		if ((col += 4) == 64) {
			fputc('\n', f);
			col = 0;
		}
	}
	if (col > 0)
		fputc('\n', f);
}

/* A minted response, whole (at most 64 KiB); NULL when unreadable.  Caller frees. */
static unsigned char *
read_der(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *d = f != NULL ? malloc(65536) : NULL;

	if (d != NULL) {
		*len = fread(d, 1, 65536, f);
		if (*len == 0 || *len == 65536) {
			free(d);
			d = NULL;
		}
	}
	if (f != NULL)
		fclose(f);
	return d;
}

/* ocsp: NAME pem A B ...: the DER responses WORK/ocsp/A.der, ... as one PEM file. */
static int
mint_pem(struct run *r, const char *name, char **save, struct err *e)
{
	char path[4300], part[4300];
	char *w;
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof path, "%s/ocsp/%s.pem", r->env->workdir, name);
	if ((f = fopen(path, "w")) == NULL) {
		err_set(e, 1, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (w = strtok_r(NULL, " ", save)) != NULL) {
		unsigned char *der;
		size_t len = 0;
		snprintf(part, sizeof part, "%s/ocsp/%s.der", r->env->workdir, w);
		if ((der = read_der(part, &len)) == NULL) {
			err_set(e, 1,
			        "%s: ocsp: %s pem: cannot read %s (mint it on an earlier line)",
			        r->s->path, name, part);
			rc = -1;
			break;
		}
		fputs("-----BEGIN OCSP RESPONSE-----\n", f);
		pem_body(f, der, len);
		fputs("-----END OCSP RESPONSE-----\n", f);
		free(der);
	}
	if (fclose(f) != 0 && rc == 0) {
		err_set(e, 1, "cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

static int
mint_one(struct run *r, const char *line, const char *bin, struct err *e)
{
	char *text = run_substitute(line, r), *save = NULL, *w;
	char pki_issuer[4200], pki_signer[4200], pki_key[4200], cert[4200], out[4300],
	        errpath[4300];
	char *argv[OCSP_MINT_ARGS + 20];
	size_t argc = 0;
	int has_status = 0, rc = -1;

	if (text == NULL) {
		err_set(e, 1, "out of memory");
		return -1;
	}
	const char *name = strtok_r(text, " ", &save), *c = strtok_r(NULL, " ", &save);
	if (name == NULL || c == NULL)
		goto out; /* the parser has checked: cannot happen */
	if (strcmp(c, "pem") == 0) {
		rc = mint_pem(r, name, &save, e);
		goto out;
	}
	/* CERT: a path, or a stem of the run's PKI ("mx-rsa") or of a cert: line. */
	if (strchr(c, '/') != NULL)
		snprintf(cert, sizeof cert, "%s", c);
	else if (access(run_path(r, "certs"), F_OK) == 0 &&
	         snprintf(cert, sizeof cert, "%s/certs/%s.pem", r->env->workdir, c) > 0 &&
	         access(cert, R_OK) == 0)
		;
	else
		snprintf(cert, sizeof cert, "%s/%s.pem", r->env->pki, c);
	snprintf(pki_issuer, sizeof pki_issuer, "%s/inter-ca.pem", r->env->pki);
	snprintf(pki_signer, sizeof pki_signer, "%s/ocsp-signer.pem", r->env->pki);
	snprintf(pki_key, sizeof pki_key, "%s/ocsp-signer.key", r->env->pki);
	snprintf(out, sizeof out, "%s/ocsp/%s.der", r->env->workdir, name);
	snprintf(errpath, sizeof errpath, "%s/ocsp/%s.stderr", r->env->workdir, name);
	argv[argc++] = (char *)bin;
	argv[argc++] = "mint";
	argv[argc++] = "--cert";
	argv[argc++] = cert;
	argv[argc++] = "--issuer";
	argv[argc++] = pki_issuer;
	argv[argc++] = "--signer";
	argv[argc++] = pki_signer;
	argv[argc++] = "--key";
	argv[argc++] = pki_key;
	while ((w = strtok_r(NULL, " ", &save)) != NULL && argc < OCSP_MINT_ARGS + 10) {
		has_status |= strcmp(w, "--status") == 0;
		argv[argc++] = w;
	}
	if (!has_status) {
		argv[argc++] = "--status";
		argv[argc++] = "good";
	}
	argv[argc++] = "--out";
	argv[argc++] = out;
	argv[argc] = NULL;
	int st = run_fakeocsp(argv, errpath);
	if (st != 0) {
		char msg[512] = "";
		FILE *f = fopen(errpath, "r");
		if (f != NULL) {
			if (fgets(msg, sizeof msg, f) == NULL)
				msg[0] = '\0';
			fclose(f);
		}
		msg[strcspn(msg, "\n")] = '\0';
		err_set(e, 1, "%s: ocsp: %s: fakeocsp mint %s: %s", r->s->path, name,
		        st < 0 ? "did not run" : "failed", msg[0] ? msg : bin);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

int
run_ocsp_mint(struct run *r, struct err *e)
{
	char bin[4200];

	if (r->s->ocsps.n == 0)
		return 0;
	fakeocsp_path(r, bin, sizeof bin);
	if (mkdir(run_path(r, "ocsp"), 0755) != 0 && errno != EEXIST) {
		err_set(e, 1, "cannot make %s: %s", run_path(r, "ocsp"), strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < r->s->ocsps.n; i++)
		if (mint_one(r, r->s->ocsps.v[i], bin, e) != 0)
			return -1;
	return 0;
}

void
run_ocsp_stop(struct run *r)
{
	run_stop_child(r, &r->ocsp_pid, 5, "fakeocsp serve");
}

/* ocsp-serve [FAULT...]: a fresh responder (the one before, if any, stopped). */
int
step_ocsp_serve(struct run *r, const struct step *st, struct err *e)
{
	char bin[4200], issuer[4200], signer[4200], key[4200], index[4200], log[4300],
	        errpath[4300];
	char *argv[OCSP_MINT_ARGS * 2 + 20], *text = strdup(st->arg), *save = NULL, *w;
	size_t argc = 0;
	int pipefd[2];

	if (text == NULL) {
		err_set(e, 1, "out of memory");
		return -1;
	}
	run_ocsp_stop(r);
	fakeocsp_path(r, bin, sizeof bin);
	if (mkdir(run_path(r, "ocsp"), 0755) != 0 && errno != EEXIST) {
		err_set(e, 1, "cannot make %s: %s", run_path(r, "ocsp"), strerror(errno));
		free(text);
		return -1;
	}
	snprintf(issuer, sizeof issuer, "%s/inter-ca.pem", r->env->pki);
	snprintf(signer, sizeof signer, "%s/ocsp-signer.pem", r->env->pki);
	snprintf(key, sizeof key, "%s/ocsp-signer.key", r->env->pki);
	snprintf(index, sizeof index, "%s/index.txt", r->env->pki);
	snprintf(log, sizeof log, "%s/ocsp/serve.log", r->env->workdir);
	snprintf(errpath, sizeof errpath, "%s/ocsp/serve.stderr", r->env->workdir);
	/* The full path as argv[0], so ci/check's leftover check sees it. */
	char *fixed[] = { bin,        "serve", "--listen", "127.0.0.1:0", "--issuer", issuer,
		          "--signer", signer,  "--key",    key,           "--index",  index,
		          "--log",    log };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		argv[argc++] = fixed[i];
	for (w = strtok_r(text, " ", &save); w != NULL && argc < OCSP_MINT_ARGS * 2;
	     w = strtok_r(NULL, " ", &save)) {
		argv[argc++] = "--fault";
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (pipe(pipefd) != 0) {
		free(text);
		err_set(e, 1, "ocsp-serve: pipe failed");
		return -1;
	}
	fflush(NULL);
	r->ocsp_pid = fork();
	if (r->ocsp_pid == 0) {
		int errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(pipefd[1], 1);
		if (errfd >= 0)
			dup2(errfd, 2);
		close(pipefd[0]);
		execv(bin, argv);
		_exit(127);
	}
	close(pipefd[1]);
	free(text);
	if (r->ocsp_pid < 0) {
		r->ocsp_pid = 0;
		close(pipefd[0]);
		err_set(e, 1, "ocsp-serve: fork failed");
		return -1;
	}
	r->ocsp_port = run_read_listening(pipefd[0], 10000);
	close(pipefd[0]);
	if (r->ocsp_port == 0) {
		run_ocsp_stop(r);
		err_set(e, 1, "%s: ocsp-serve: fakeocsp serve did not start (see %s)", r->s->path,
		        errpath);
		return -1;
	}
	/* The run's PKI directory shown as @PKI@, as the scenario wrote it. */
	struct buf shown = { 0 };
	size_t plen = strlen(r->env->pki);
	for (const char *p = st->arg; *p != '\0';) {
		if (plen > 0 && strncmp(p, r->env->pki, plen) == 0) {
			buf_add(&shown, "@PKI@", 5);
			p += plen;
		} else
			buf_add(&shown, p++, 1);
	}
	buf_adds(&shown, "");
	transcript_addf(&r->tr, 'K', "ocsp-serve%s%s (responder started)", st->arg[0] ? " " : "",
	                shown.p != NULL ? shown.p : "");
	buf_free(&shown);
	return 0;
}

/* ocsp-stop: the responder stopped; its port is kept for a fetch that finds it down. */
int
step_ocsp_stop(struct run *r, const struct step *st, struct err *e)
{
	(void)st;
	if (r->ocsp_pid <= 0) {
		err_set(e, 1, "%s: ocsp-stop: no ocsp-serve is running", r->s->path);
		return -1;
	}
	run_ocsp_stop(r);
	transcript_add(&r->tr, 'K', "ocsp-stop (responder stopped)");
	return 0;
}

/* serve.log's lines since the last fetch, as one "fetch" block of
 * ocsp-requests.txt.  fakeocsp writes a request's line before it answers (or
 * drops, or delays), so the fetch having ended, its lines are there. */
static void
ocsp_requests_note(struct run *r)
{
	char log[4300], out[4300], line[1200];
	FILE *in, *o;

	snprintf(log, sizeof log, "%s/ocsp/serve.log", r->env->workdir);
	snprintf(out, sizeof out, "%s/ocsp-requests.txt", r->env->workdir);
	if ((o = fopen(out, "a")) == NULL)
		return; /* best effort: the report then shows no lane */
	fputs("fetch\n", o);
	if ((in = fopen(log, "r")) != NULL) {
		if (fseek(in, r->ocsp_log_seen, SEEK_SET) == 0)
			while (fgets(line, sizeof line, in) != NULL)
				fputs(line, o);
		r->ocsp_log_seen = ftell(in);
		fclose(in);
	}
	fclose(o);
}

/* ocsp-fetch [ARG...]: refmta's fetch from the step's responder, line by line. */
int
step_ocsp_fetch(struct run *r, const struct step *st, struct err *e)
{
	char conf[4200], url[64];
	char *argv[OCSP_MINT_ARGS + 12], *text = strdup(st->arg), *save = NULL, *w;
	size_t argc = 0;
	int rc;

	if (text == NULL) {
		err_set(e, 1, "out of memory");
		return -1;
	}
	if (r->ocsp_port == 0) {
		free(text);
		err_set(e, 1, "%s: ocsp-fetch: no ocsp-serve step before it", r->s->path);
		return -1;
	}
	snprintf(conf, sizeof conf, "%s/refmta.conf", r->env->workdir);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", r->ocsp_port);
	char *fixed[] = { (char *)r->env->refmta,  "-c",         conf,    "--backend",
		          (char *)r->env->backend, "ocsp-fetch", "--url", url };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		argv[argc++] = fixed[i];
	for (w = strtok_r(text, " ", &save); w != NULL && argc < OCSP_MINT_ARGS + 8;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	transcript_addf(&r->tr, 'K', "ocsp-fetch%s%s", st->arg[0] ? " " : "", st->arg);
	/* Bounded: refmta's own --timeout (default 10 s) bounds each exchange. */
	rc = run_command_lines(r, argv, 1, e);
	ocsp_requests_note(r);
	free(text);
	return rc;
}
