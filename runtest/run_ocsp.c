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
 * is @WORK@/ocsp/NAME.der.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
