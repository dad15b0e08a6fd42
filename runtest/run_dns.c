/*
 * run_dns.c - DNS for a run: the scenario's [zone] sections served by
 * bin/fakedns (started before refmta, stopped at the end, in the run's
 * process group), and the `resolve` step, which asks it through refmta's
 * own resolver (lib/resolver.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "resolver.h"
#include "run_int.h"

/*
 * fakedns refused a zone file: "fakedns: WORK/dns/NAME.zone:LINE: message"
 * becomes "scenario.scn:LINE': [zone NAME]: message", LINE' the scenario's
 * own line.  Other messages are passed on as they are.
 */
static void
zone_error(struct run *r, const char *stderr_text, struct err *e)
{
	char first[1024];
	const char *msg;

	snprintf(first, sizeof first, "%.*s", (int)strcspn(stderr_text, "\n"), stderr_text);
	msg = strncmp(first, "fakedns: ", 9) == 0 ? first + 9 : first;
	for (size_t i = 0; i < r->s->nzones; i++) {
		const struct text_section *z = &r->s->zones[i];
		char file[4200];
		size_t n = (size_t)snprintf(file, sizeof file, "%s/dns/%s.zone", r->env->workdir,
		                            z->name);
		if (strncmp(msg, file, n) != 0)
			continue;
		if (msg[n] == ':' && msg[n + 1] >= '0' && msg[n + 1] <= '9') {
			char *end;
			long line = strtol(msg + n + 1, &end, 10);
			if (*end == ':') {
				/* File line 1 is runtest's $ORIGIN; file line L+1 is
				 * the section's line L, the scenario's z->line + L. */
				err_set(e, 1, "%s:%ld: [zone %s]: %s", r->s->path,
				        z->line + (line > 1 ? line - 1 : 1), z->name,
				        end[1] == ' ' ? end + 2 : end + 1);
				return;
			}
		}
		err_set(e, 1, "%s:%d: [zone %s]: %s", r->s->path, z->line, z->name,
		        msg[n] == ':' ? msg + n + 1 + (msg[n + 1] == ' ') : msg + n);
		return;
	}
	err_set(e, 1, "%s: fakedns did not start: %s (see %s/dns/fakedns.stderr)", r->s->path,
	        first[0] ? msg : "no message", r->env->workdir);
}

void
run_dns_stop(struct run *r)
{
	run_stop_child(r, &r->fakedns, 5, "fakedns");
}

/*
 * Write the [zone] sections to WORK/dns/NAME.zone and start fakedns on a
 * free port, waiting (bounded) for its "listening on 127.0.0.1:PORT" line.
 */
int
run_dns_start(struct run *r, struct err *e)
{
	const struct scenario *s = r->s;
	char dir[4200], ta[4300], qlog[4300], errpath[4300];
	char **argv = calloc(s->nzones + 10, sizeof *argv);
	size_t argc = 0;
	int pipefd[2] = { -1, -1 }, rc = -1;

	if (argv == NULL)
		return -1;
	snprintf(dir, sizeof dir, "%s/dns", r->env->workdir);
	snprintf(ta, sizeof ta, "%s/root.ta", dir);
	snprintf(qlog, sizeof qlog, "%s/query.log", dir);
	snprintf(errpath, sizeof errpath, "%s/fakedns.stderr", dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		err_set(e, 1, "cannot make %s: %s", dir, strerror(errno));
		goto out;
	}
	/* The full path as argv[0], so ci/check's leftover check (pgrep bin/fakedns) sees it. */
	argv[argc++] = (char *)r->env->fakedns;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--ta-file";
	argv[argc++] = ta;
	argv[argc++] = "--log";
	argv[argc++] = qlog;
	for (size_t i = 0; i < s->nzones; i++) {
		char *path = NULL;
		FILE *f;
		if (asprintf(&path, "%s/%s.zone", dir, s->zones[i].name) < 0)
			goto out;
		argv[argc++] = path;
		/* @PKI@, @PEER_PORT@ ..., then TLSA data from PKI files and DKIM key records. */
		char *subst = run_substitute(s->zones[i].text, r);
		char *tlsa = subst != NULL ? run_zone_tlsa(subst, e) : NULL;
		char *text = tlsa != NULL ? run_zone_dkim(tlsa, e) : NULL; /* DKIM keys */
		free(subst);
		free(tlsa);
		if (text == NULL) {
			char why[sizeof e->text];
			snprintf(why, sizeof why, "%s", e->text);
			err_set(e, 1, "%s:%d: [zone %s]: %s", s->path, s->zones[i].line,
			        s->zones[i].name, why);
			goto out;
		}
		f = fopen(path, "w");
		/* The section's NAME is the default origin (one line, which
		 * zone_error() takes off again); the text may set its own. */
		if (f == NULL || fprintf(f, "$ORIGIN %s.\n", s->zones[i].name) < 0 ||
		    fputs(text, f) < 0 || fclose(f) != 0) {
			free(text);
			err_set(e, 1, "cannot write %s", path);
			goto out;
		}
		free(text);
	}
	if (pipe(pipefd) != 0)
		goto out;
	fflush(NULL);
	r->fakedns = fork();
	if (r->fakedns == 0) {
		int errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(pipefd[1], 1);
		if (errfd >= 0)
			dup2(errfd, 2);
		close(pipefd[0]);
		execv(r->env->fakedns, argv);
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	if (r->fakedns < 0) {
		r->fakedns = 0;
		goto out;
	}
	/* Its one line once both sockets are bound (it signs first: allow 20 s). */
	unsigned port = run_read_listening(pipefd[0], 20000);
	if (port == 0) {
		char *text = NULL;
		size_t cap = 0;
		FILE *f;
		run_dns_stop(r); /* it has exited, or is hung: either way reaped */
		f = fopen(errpath, "r");
		if (f == NULL || getdelim(&text, &cap, '\0', f) < 0) {
			free(text);
			text = NULL;
		}
		if (f != NULL)
			fclose(f);
		zone_error(r, text ? text : "", e);
		free(text);
		goto out;
	}
	snprintf(r->dns_server, sizeof r->dns_server, "127.0.0.1@%u", port);
	rc = 0;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	for (size_t i = 7; i < argc; i++)
		free(argv[i]);
	free(argv);
	return rc;
}

/*
 * Records of one RRset in a fixed order.  An RRset is a set (RFC 2181 5)
 * and libunbound rotates its order from one lookup to the next, so the
 * transcript shows them sorted: MX by preference, then exchange; the
 * others by their text or octets.
 */
static int
rr_cmp(const void *pa, const void *pb)
{
	const struct resolver_rr *a = pa, *b = pb;
	size_t n;
	int c;

	switch (a->type) {
	case RESOLVER_MX:
		if (a->u.mx.preference != b->u.mx.preference)
			return a->u.mx.preference < b->u.mx.preference ? -1 : 1;
		return strcmp(a->u.mx.exchange, b->u.mx.exchange);
	case RESOLVER_TLSA:
		if (a->u.tlsa.usage != b->u.tlsa.usage)
			return a->u.tlsa.usage - b->u.tlsa.usage;
		if (a->u.tlsa.selector != b->u.tlsa.selector)
			return a->u.tlsa.selector - b->u.tlsa.selector;
		if (a->u.tlsa.mtype != b->u.tlsa.mtype)
			return a->u.tlsa.mtype - b->u.tlsa.mtype;
		n = a->u.tlsa.len < b->u.tlsa.len ? a->u.tlsa.len : b->u.tlsa.len;
		c = memcmp(a->u.tlsa.data, b->u.tlsa.data, n);
		return c != 0 ? c
		              : (a->u.tlsa.len > b->u.tlsa.len) - (a->u.tlsa.len < b->u.tlsa.len);
	case RESOLVER_TXT:
		n = a->u.txt.len < b->u.txt.len ? a->u.txt.len : b->u.txt.len;
		c = memcmp(a->u.txt.text, b->u.txt.text, n);
		return c != 0 ? c : (a->u.txt.len > b->u.txt.len) - (a->u.txt.len < b->u.txt.len);
	case RESOLVER_PTR:
	case RESOLVER_CNAME:
	case RESOLVER_NS:
		return strcmp(a->u.name, b->u.name);
	case RESOLVER_A:
	case RESOLVER_AAAA:
		return strcmp(a->u.addr, b->u.addr);
	}
	return 0;
}

/* resolve TYPE NAME: look it up through lib/resolver.h, as refmta would. */
int
step_resolve(struct run *r, const struct step *st, struct err *e)
{
	static const enum resolver_type types[] = { RESOLVER_A,     RESOLVER_AAAA, RESOLVER_MX,
		                                    RESOLVER_TLSA,  RESOLVER_TXT,  RESOLVER_PTR,
		                                    RESOLVER_CNAME, RESOLVER_NS };
	char type[16] = "", name[512] = "", text[4096], ta[4200];
	struct resolver_answer a = { 0 };
	struct err le = { 0 };
	size_t i = 0;

	if (sscanf(st->arg, "%15s %511s", type, name) != 2)
		goto usage;
	while (i < sizeof types / sizeof types[0] &&
	       strcmp(resolver_type_word(types[i]), type) != 0)
		i++;
	if (i == sizeof types / sizeof types[0])
		goto usage;
	if (r->resolver == NULL) {
		/* One per run: later steps may see earlier answers from its cache,
		 * as refmta's own resolver would. */
		snprintf(ta, sizeof ta, "%s/dns/root.ta", r->env->workdir);
		r->resolver = resolver_new(r->dns_server, ta, &le);
		if (r->resolver == NULL) {
			err_set(e, 1, "%s:%d: resolve: %s", r->s->path, st->line, le.text);
			return -1;
		}
	}
	int failed = resolver_lookup(r->resolver, name, types[i], &a, &le) != 0;
	if (a.nrrs > 1)
		qsort(a.rrs, a.nrrs, sizeof *a.rrs, rr_cmp);
	resolver_answer_format(&a, types[i], name, text, sizeof text);
	transcript_add(&r->tr, 'D', text);
	if (failed) /* the lookup could not be made: shown, and the steps go on */
		transcript_addf(&r->tr, '!', "resolve: %s", le.text);
	resolver_answer_free(&a);
	return 0;
usage:
	err_set(e, 1, "%s:%d: resolve TYPE NAME (TYPE: A AAAA MX TLSA TXT PTR CNAME NS)",
	        r->s->path, st->line);
	return -1;
}
