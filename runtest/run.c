/*
 * run.c - play one scenario against one refmta (run.h).
 *
 * Determinism comes from the source (refmta's test_clock and test_ids), not
 * from rewriting output: the only waits are for events refmta itself
 * reports (its "listening on" line, its log line for a closed connection),
 * each bounded, never a blind sleep.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bio.h"
#include "peer.h"
#include "resolver.h"
#include "run.h"
#include "tls.h"
#include "transcript.h"
#include "strutil.h"

#define REPLY_TIMEOUT 10 /* seconds a step waits for a reply */
#define CLIENT_LINE_MAX 65536 /* a reply line the client reads whole */
#define PEER_PORT_TRIES 20 /* fresh shared ports tried when an address's port is taken */
/* The clock every scenario's refmta runs on (DESIGN.md principle 4). */
#define TEST_CLOCK "2026-01-01T00:00:00Z"

struct client {
	int fd;
	unsigned local_port;
	char local_ip[64];     /* refmta logs the session under this address */
	struct bio io;
	struct tls_ctx *ctx;
	struct tls_conn *tls;
};

struct run {
	const struct scenario *s;
	const struct run_env *env;
	struct transcript tr;
	pid_t refmta;
	unsigned port;
	struct client c;
	long log_offset;
	char path[4096];
	struct peer *peers;
	size_t npeers;
	unsigned peer_port;   /* the one port every peer listens on */
	pid_t fakedns;        /* 0 when the scenario has no [zone] */
	char dns_server[64];  /* "127.0.0.1@PORT", "" without fakedns */
	struct resolver *resolver; /* for `resolve` steps, made at the first */
};

static const char *
wpath(struct run *r, const char *rel)
{
	snprintf(r->path, sizeof r->path, "%s/%s", r->env->workdir, rel);
	return r->path;
}

/*
 * "@PKI@" and "@WORK@" become the run's directories, "@PEER:NAME@" the
 * address of a scripted peer ("127.0.0.N:PORT"), "@PEER_PORT@" the port all
 * peers share, "@DNS@" fakedns's address ("127.0.0.1@PORT", only when the
 * scenario has zones).  Caller frees.
 */
static char *
substitute(const char *text, const struct run *r)
{
	size_t cap = strlen(text) * 2 + 1024, o = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	for (const char *p = text; *p;) {
		char peerbuf[64];
		const char *rep = NULL;
		size_t skip = 0;
		if (strncmp(p, "@PKI@", 5) == 0) {
			rep = r->env->pki;
			skip = 5;
		} else if (strncmp(p, "@WORK@", 6) == 0) {
			rep = r->env->workdir;
			skip = 6;
		} else if (strncmp(p, "@PEER_PORT@", 11) == 0 && r->npeers > 0) {
			snprintf(peerbuf, sizeof peerbuf, "%u", r->peer_port);
			rep = peerbuf;
			skip = 11;
		} else if (strncmp(p, "@DNS@", 5) == 0 && r->dns_server[0]) {
			rep = r->dns_server;
			skip = 5;
		} else if (strncmp(p, "@PEER:", 6) == 0 && strchr(p + 6, '@') != NULL) {
			size_t n = (size_t)(strchr(p + 6, '@') - (p + 6));
			for (size_t i = 0; i < r->npeers; i++)
				if (strlen(r->peers[i].spec->name) == n &&
				    strncmp(r->peers[i].spec->name, p + 6, n) == 0) {
					snprintf(peerbuf, sizeof peerbuf, "%s:%u", r->peers[i].address,
					         r->peers[i].port);
					rep = peerbuf;
					skip = 6 + n + 1;
				}
		}
		size_t need = rep ? strlen(rep) : 1;
		if (o + need + 1 >= cap) {
			cap = (o + need) * 2 + 1024;
			char *grown = realloc(out, cap);
			if (grown == NULL) {
				free(out);
				return NULL;
			}
			out = grown;
		}
		if (rep != NULL) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
			p += skip;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

static char *
substitute_cb(const char *text, void *arg)
{
	return substitute(text, arg);
}

/* Does the scenario's config set this option itself? */
static int
config_sets(const char *config, const char *option)
{
	size_t n = strlen(option);

	for (const char *l = config; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, option, n) == 0 && (l[n] == ' ' || l[n] == '\t' || l[n] == '='))
			return 1;
	return 0;
}

static int
write_config(struct run *r, struct err *e)
{
	char *body = substitute(r->s->config, r);
	FILE *f;

	if (body == NULL || (f = fopen(wpath(r, "refmta.conf"), "w")) == NULL) {
		err_set(e, 1, "cannot write %s", r->path);
		free(body);
		return -1;
	}
	/* The harness's part: where things go, and test mode. */
	fprintf(f, "# written by runtest for %s\nspool_directory = spool\nlog_file = log/main.log\n"
	           "test_clock = %s\ntest_ids = true\n",
	        r->s->path, TEST_CLOCK);
	if (!config_sets(body, "primary_hostname"))
		fprintf(f, "primary_hostname = mx.example.test\n");
	if (!config_sets(body, "worker_processes"))
		fprintf(f, "worker_processes = 2\n");
	/* With [zone] sections: refmta resolves through the run's fakedns. */
	if (r->dns_server[0] && !config_sets(body, "dns_server"))
		fprintf(f, "dns_server = %s\n", r->dns_server);
	if (r->dns_server[0] && !config_sets(body, "dns_trust_anchor"))
		fprintf(f, "dns_trust_anchor = %s/dns/root.ta\n", r->env->workdir);
	if (r->dns_server[0] && !config_sets(body, "log_dns"))
		fprintf(f, "log_dns = true\n");
	fprintf(f, "\n%s", body);
	free(body);
	return fclose(f) == 0 ? 0 : -1;
}

/* Start refmta and wait for its "listening on ADDR:PORT" line. */
static int
start_refmta(struct run *r, struct err *e)
{
	int pipefd[2];
	char line[256];
	size_t n = 0;
	struct pollfd p;
	char conf[4096];

	snprintf(conf, sizeof conf, "%s/refmta.conf", r->env->workdir);
	if (pipe(pipefd) != 0)
		return -1;
	r->refmta = fork();
	if (r->refmta == 0) {
		int errfd = open(wpath(r, "refmta.stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(pipefd[1], 1);
		if (errfd >= 0)
			dup2(errfd, 2);
		close(pipefd[0]);
		execl(r->env->refmta, "refmta", "-c", conf, "--backend", r->env->backend, "serve",
		      "--listen", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	p.fd = pipefd[0];
	p.events = POLLIN;
	while (n < sizeof line - 1 && memchr(line, '\n', n) == NULL) {
		ssize_t got;
		if (poll(&p, 1, 10000) <= 0)
			break;
		got = read(pipefd[0], line + n, sizeof line - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(pipefd[0]);
	line[n] = '\0';
	char *at = strstr(line, "listening on 127.0.0.1:");
	if (at == NULL) {
		err_set(e, 1, "refmta did not start (see %s/refmta.stderr)", r->env->workdir);
		return -1;
	}
	r->port = (unsigned)atoi(at + strlen("listening on 127.0.0.1:"));
	return 0;
}

static void
stop_refmta(struct run *r)
{
	int status;

	if (r->refmta <= 0)
		return;
	kill(r->refmta, SIGTERM);
	/* Bounded: 10 s for sessions to finish, then it is killed. */
	for (int i = 0; i < 1000; i++) {
		if (waitpid(r->refmta, &status, WNOHANG) == r->refmta) {
			r->refmta = 0;
			return;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(r->refmta, SIGKILL);
	waitpid(r->refmta, &status, 0);
	r->refmta = 0;
	transcript_add(&r->tr, '!', "refmta did not stop within 10 s of SIGTERM");
}

/* ---- the scripted peers ----------------------------------------------------------- */

/*
 * Bind every peer to its address and one shared port: the first gets a
 * free port, the others bind theirs with it.  When one of them finds the
 * port taken, all are closed and a new port is tried (bounded).
 */
static int
listen_peers(struct run *r, struct err *e)
{
	for (int attempt = 0; attempt < PEER_PORT_TRIES; attempt++) {
		unsigned port = 0;
		size_t bound = 0;
		int retry = 0;

		for (; bound < r->npeers; bound++) {
			struct peer *p = &r->peers[bound];
			struct err le = { 0 };
			if (peer_listen(p->address, port, &p->lfd, &p->port, &le) != 0) {
				retry = le.code == PEER_ADDR_IN_USE && port != 0;
				if (!retry) {
					err_set(e, 1, "peer %s: %s", p->spec->name, le.text);
					return -1;
				}
				break;
			}
			port = p->port;
		}
		if (!retry) {
			r->peer_port = port;
			return 0;
		}
		for (size_t i = 0; i < bound; i++) {
			close(r->peers[i].lfd);
			r->peers[i].lfd = -1;
		}
	}
	err_set(e, 1, "peers: no port free on all their addresses after %d tries", PEER_PORT_TRIES);
	return -1;
}

static int
start_peers(struct run *r, struct err *e)
{
	const struct scenario *s = r->s;

	r->peers = calloc(s->npeers + 1, sizeof *r->peers);
	if (r->peers == NULL)
		return -1;
	for (size_t i = 0; i < s->npeers; i++)
		r->peers[i] = (struct peer){ .spec = &s->peers[i],
		                             .address = peer_spec_address(&s->peers[i]), .lfd = -1 };
	r->npeers = s->npeers;
	if (listen_peers(r, e) != 0)
		return -1;
	for (size_t i = 0; i < r->npeers; i++)
		/* The peer serves TLS with the other library, like the client. */
		if (peer_start(&r->peers[i],
		               strcmp(r->env->backend, "openssl") == 0 ? "gnutls" : "openssl",
		               r->env->workdir, substitute_cb, r, e) != 0)
			return -1;
	return 0;
}

/* ---- fakedns ----------------------------------------------------------------------- */

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
		const struct zone_spec *z = &r->s->zones[i];
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

static void
stop_fakedns(struct run *r)
{
	int status;

	if (r->fakedns <= 0)
		return;
	kill(r->fakedns, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(r->fakedns, &status, WNOHANG) == r->fakedns) {
			r->fakedns = 0;
			return;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(r->fakedns, SIGKILL);
	waitpid(r->fakedns, &status, 0);
	r->fakedns = 0;
	transcript_add(&r->tr, '!', "fakedns did not stop within 5 s of SIGTERM");
}

/*
 * Write the [zone] sections to WORK/dns/NAME.zone and start fakedns on a
 * free port, waiting (bounded) for its "listening on 127.0.0.1:PORT" line.
 */
static int
start_fakedns(struct run *r, struct err *e)
{
	const struct scenario *s = r->s;
	char dir[4200], ta[4300], qlog[4300], errpath[4300], line[512];
	char **argv = calloc(s->nzones + 10, sizeof *argv);
	size_t argc = 0, n = 0;
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
		f = fopen(path, "w");
		/* The section's NAME is the default origin (one line, which
		 * zone_error() takes off again); the text may set its own. */
		if (f == NULL || fprintf(f, "$ORIGIN %s.\n", s->zones[i].name) < 0 ||
		    fputs(s->zones[i].text, f) < 0 || fclose(f) != 0) {
			err_set(e, 1, "cannot write %s", path);
			goto out;
		}
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
	struct pollfd pf = { .fd = pipefd[0], .events = POLLIN };
	while (n < sizeof line - 1 && memchr(line, '\n', n) == NULL) {
		ssize_t got;
		if (poll(&pf, 1, 20000) <= 0)
			break;
		got = read(pipefd[0], line + n, sizeof line - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	line[n] = '\0';
	const char *at = strstr(line, "listening on 127.0.0.1:");
	if (at == NULL) {
		char *text = NULL;
		size_t cap = 0;
		FILE *f;
		stop_fakedns(r); /* it has exited, or is hung: either way reaped */
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
	snprintf(r->dns_server, sizeof r->dns_server, "127.0.0.1@%u",
	         (unsigned)atoi(at + strlen("listening on 127.0.0.1:")));
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
		return c != 0 ? c : (a->u.tlsa.len > b->u.tlsa.len) - (a->u.tlsa.len < b->u.tlsa.len);
	case RESOLVER_TXT:
		n = a->u.txt.len < b->u.txt.len ? a->u.txt.len : b->u.txt.len;
		c = memcmp(a->u.txt.text, b->u.txt.text, n);
		return c != 0 ? c : (a->u.txt.len > b->u.txt.len) - (a->u.txt.len < b->u.txt.len);
	case RESOLVER_PTR:
		return strcmp(a->u.name, b->u.name);
	case RESOLVER_A:
	case RESOLVER_AAAA:
		return strcmp(a->u.addr, b->u.addr);
	}
	return 0;
}

/* resolve TYPE NAME: look it up through lib/resolver.h, as refmta would. */
static int
resolve_step(struct run *r, const struct step *st, struct err *e)
{
	static const enum resolver_type types[] = { RESOLVER_A, RESOLVER_AAAA, RESOLVER_MX,
		                                        RESOLVER_TLSA, RESOLVER_TXT, RESOLVER_PTR };
	char type[16] = "", name[512] = "", text[4096], ta[4200];
	struct resolver_answer a = { 0 };
	struct err le = { 0 };
	size_t i = 0;

	if (sscanf(st->arg, "%15s %511s", type, name) != 2)
		goto usage;
	while (i < sizeof types / sizeof types[0] && strcmp(resolver_type_word(types[i]), type) != 0)
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
	err_set(e, 1, "%s:%d: resolve TYPE NAME (TYPE: A AAAA MX TLSA TXT PTR)", r->s->path,
	        st->line);
	return -1;
}

/* ---- refmta's log --------------------------------------------------------------- */

/*
 * A DNS answer refmta logged ("DATE TIME [ID] DNS TEXT", log_dns = true):
 * TEXT, the resolver_answer_format() line; NULL for any other line.
 */
static const char *
dns_log_text(const char *line)
{
	const char *p = line;

	for (int field = 0; field < 3; field++) {
		p += strcspn(p, " ");
		if (*p != ' ')
			return NULL;
		p++;
		/* After the date and time (fields 0, 1), or after the id (field 2). */
		if (field >= 1 && strncmp(p, "DNS ", 4) == 0)
			return p + 4;
	}
	return NULL;
}

/* Append the log lines written since the last call (L: lines; D: for DNS). */
static void
dump_log(struct run *r)
{
	FILE *f = fopen(wpath(r, "log/main.log"), "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		return;
	fseek(f, r->log_offset, SEEK_SET);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break; /* a line still being written: next time */
		r->log_offset += n;
		line[n - 1] = '\0';
		/* The daemon's own start/stop lines carry pids and worker counts. */
		if (strstr(line, "refmta daemon started") || strstr(line, "refmta daemon stopped"))
			continue;
		const char *dns = dns_log_text(line);
		if (dns != NULL)
			transcript_add(&r->tr, 'D', dns);
		else
			transcript_add(&r->tr, 'L', line);
	}
	free(line);
	fclose(f);
}

/* Wait (bounded) for refmta to log the end of the session from our port. */
static void
wait_session_logged(struct run *r, const char *ip, unsigned port)
{
	char needle[128];

	snprintf(needle, sizeof needle, "[%s]:%u ", ip, port);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(wpath(r, "log/main.log"), "r");
		char line[4096];
		int found = 0;
		while (f != NULL && fgets(line, sizeof line, f) != NULL)
			if (strstr(line, needle) != NULL && strstr(line, "SMTP connection from ") &&
			    strstr(line, " closed (") != NULL)
				found = 1;
		if (f != NULL)
			fclose(f);
		if (found)
			return;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* ---- the client ----------------------------------------------------------------- */

static void
client_close(struct run *r)
{
	struct client *c = &r->c;

	if (c->fd < 0)
		return;
	if (c->tls != NULL)
		tls_conn_shutdown(c->tls);
	tls_conn_free(c->tls);
	tls_ctx_free(c->ctx);
	c->tls = NULL;
	c->ctx = NULL;
	close(c->fd);
	c->fd = -1;
	if (c->local_port != 0)
		wait_session_logged(r, c->local_ip, c->local_port);
}

static int client_starttls(struct run *r, const char *arg, struct err *e);

static int
client_connect(struct run *r, const char *arg, struct err *e)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->port) };
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT };
	char from[64] = "";

	char peer[64] = "";
	const char *tls_opts = NULL, *p;

	client_close(r);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	/* connect [from ADDR] [peer NAME] [tls [starttls options]] */
	if ((p = strstr(arg, "peer ")) != NULL)
		sscanf(p + 5, "%63s", peer);
	if (strncmp(arg, "tls", 3) == 0 && (arg[3] == '\0' || arg[3] == ' '))
		tls_opts = arg + 3;
	else if ((p = strstr(arg, " tls")) != NULL && (p[4] == '\0' || p[4] == ' '))
		tls_opts = p + 4;
	if (peer[0]) {
		/* The scripted client talks to a scripted peer (to test the peer itself). */
		size_t i = 0;
		while (i < r->npeers && strcmp(r->peers[i].spec->name, peer) != 0)
			i++;
		if (i == r->npeers) {
			err_set(e, 1, "connect: no peer \"%s\"", peer);
			return -1;
		}
		sa.sin_port = htons((uint16_t)r->peers[i].port);
		inet_pton(AF_INET, r->peers[i].address, &sa.sin_addr);
	}
	r->c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->c.fd < 0)
		return -1;
	setsockopt(r->c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(r->c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (sscanf(arg, "from %63s", from) == 1) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		if (inet_pton(AF_INET, from, &src.sin_addr) != 1 ||
		    bind(r->c.fd, (struct sockaddr *)&src, sizeof src) != 0) {
			err_set(e, 1, "connect from %s: cannot bind (loopback addresses only)", from);
			return -1;
		}
	}
	if (connect(r->c.fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		err_set(e, 1, "connect: %s", strerror(errno));
		return -1;
	}
	getsockname(r->c.fd, (struct sockaddr *)&me, &ml);
	r->c.local_port = ntohs(me.sin_port);
	inet_ntop(AF_INET, &me.sin_addr, r->c.local_ip, sizeof r->c.local_ip);
	bio_init(&r->c.io, r->c.fd);
	transcript_addf(&r->tr, 'C', "(connect%s%s%s%s%s)", from[0] ? " from " : "", from,
	                peer[0] ? " to peer " : "", peer, tls_opts ? ", TLS on connect" : "");
	if (peer[0])
		r->c.local_port = 0; /* no refmta log line to wait for */
	/* TLS on connect (RFC 8314 3.3): the handshake before any SMTP. */
	if (tls_opts != NULL)
		return client_starttls(r, tls_opts, e) < 0 ? -1 : 0;
	return 0;
}

static int
client_send(struct run *r, const char *data, size_t n)
{
	struct err e = { 0 };

	return bio_write(&r->c.io, data, n, &e) == BIO_OK && bio_flush(&r->c.io, &e) == BIO_OK
	               ? 0
	               : -1;
}

/* Read one reply (all its lines) into the transcript; `last` gets its last
 * line.  A line longer than the buffer is shown as far as it was kept, with
 * a "!:" line saying so. */
static enum bio_status
client_reply(struct run *r, char *last, size_t lastlen)
{
	static char line[CLIENT_LINE_MAX];
	struct err e = { 0 };

	for (;;) {
		size_t len;
		int too_long;
		enum bio_status st = bio_read_line(&r->c.io, line, sizeof line - 1, &len, &too_long, &e);
		if (st != BIO_OK)
			return st;
		line[strcspn(line, "\r\n")] = '\0';
		transcript_add(&r->tr, 'S', line);
		if (too_long)
			transcript_addf(&r->tr, '!', "the reply line above was longer than %d octets",
			                CLIENT_LINE_MAX - 1);
		if (strlen(line) < 4 || line[3] != '-') {
			snprintf(last, lastlen, "%s", line);
			return BIO_OK;
		}
	}
}

/* starttls [sni=NAME] [sigalgs=RSA|ECDSA] [client=openssl|gnutls] [version=1.2|1.3] [staple] */
static int
client_starttls(struct run *r, const char *arg, struct err *e)
{
	struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
	struct tls_conn_opts opts = { 0 };
	char ca[4096], sni[256] = "", sigalgs[16] = "", client[16] = "";
	const char *name;
	const struct tls_backend *be;
	const char *p;

	if ((p = strstr(arg, "sni=")) != NULL)
		sscanf(p + 4, "%255s", sni);
	if ((p = strstr(arg, "sigalgs=")) != NULL)
		sscanf(p + 8, "%15s", sigalgs);
	if ((p = strstr(arg, "client=")) != NULL)
		sscanf(p + 7, "%15s", client);
	opts.request_staple = strstr(arg, "staple") != NULL;
	/* version=1.2 or version=1.3 pins the protocol (client side). */
	if ((p = strstr(arg, "version=")) != NULL) {
		if (strncmp(p + 8, "1.2", 3) == 0)
			cfg.min_version = cfg.max_version = TLS_VERSION_1_2;
		else if (strncmp(p + 8, "1.3", 3) == 0)
			cfg.min_version = cfg.max_version = TLS_VERSION_1_3;
		else {
			err_set(e, 1, "starttls: version=1.2 or version=1.3");
			return -1;
		}
	}
	/* The client is the other library, unless pinned: every run is interop. */
	name = client[0] ? client
	       : r->s->client ? r->s->client
	       : strcmp(r->env->backend, "openssl") == 0 ? "gnutls" : "openssl";
	be = tls_backend_by_name(name);
	if (be == NULL) {
		err_set(e, 1, "starttls: unknown client backend \"%s\"", name);
		return -1;
	}
	snprintf(ca, sizeof ca, "%s/ca-bundle.pem", r->env->pki);
	cfg.ca_file = ca;
	cfg.sigalgs = sigalgs[0] ? sigalgs : NULL;
	opts.sni = sni[0] ? sni : NULL;
	r->c.ctx = tls_ctx_new(be, &cfg, e);
	if (r->c.ctx == NULL)
		return -1;
	r->c.tls = tls_conn_new(r->c.ctx, r->c.fd, &opts, e);
	if (r->c.tls == NULL)
		return -1;
	if (tls_conn_handshake(r->c.tls, e) != TLS_OK) {
		transcript_addf(&r->tr, 'T', "handshake failed");
		tls_conn_free(r->c.tls);
		r->c.tls = NULL;
		return 1; /* shown, not a harness error */
	}
	/* The name checked is the SNI sent, else the server's name. */
	(void)tls_conn_check_name(r->c.tls, sni[0] ? sni : "mx.example.test");
	const struct tls_info *i = tls_conn_info(r->c.tls);
	transcript_addf(&r->tr, 'T', "%s %s key=%s verify=%s%s%s%s", i->version, i->cipher,
	                i->peer_key_type, tls_verify_word(i->verify), sni[0] ? " sni=" : "", sni,
	                !opts.request_staple ? "" : i->staple.len > 0 ? " staple=received" : " staple=none");
	bio_use_tls(&r->c.io, r->c.tls);
	return 0;
}

/* ---- delivered mail --------------------------------------------------------------- */

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

static int
queue_run(struct run *r, const char *arg, struct err *e)
{
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
		execl(r->env->refmta, "refmta", "-c", conf, "--backend", r->env->backend, "queue-run",
		      force ? "--force" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	transcript_addf(&r->tr, 'Q', "queue-run%s%s", force ? " force" : "",
	                WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : " (failed)");
	return 0;
}

/* What a peer saw and said, as "P: NAME < line" / "P: NAME > line" lines,
 * each whole (the transcript's display limit cuts, visibly). */
static void
dump_peer(struct run *r, const struct peer *p)
{
	FILE *f = fopen(p->logfile, "r");
	char *line = NULL;
	size_t cap = 0;

	while (f != NULL && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		transcript_addf(&r->tr, 'P', "%s %s", p->spec->name, line);
	}
	free(line);
	if (f != NULL)
		fclose(f);
}

/* wait-log REGEX: until refmta's log has a matching line (at most 10 s). */
static int
wait_log(struct run *r, const struct step *st, struct err *e)
{
	regex_t re;

	if (regcomp(&re, st->arg, REG_EXTENDED | REG_NOSUB) != 0) {
		err_set(e, 1, "%s:%d: wait-log: bad regular expression", r->s->path, st->line);
		return -1;
	}
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(wpath(r, "log/main.log"), "r");
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

/* ---- the steps ------------------------------------------------------------------------ */

static int
need_connection(struct run *r, const struct step *st, struct err *e)
{
	if (r->c.fd >= 0)
		return 0;
	err_set(e, 1, "%s:%d: %s needs an open connection (connect first)", r->s->path, st->line,
	        st->verb);
	return -1;
}

static int play_one(struct run *r, const struct step *st, struct err *e);

/* One step, its argument with @PKI@, @WORK@, @PEER:NAME@, @PEER_PORT@ and
 * @DNS@ expanded.  0 go on, 1 stop playing (the transcript says why), -1
 * harness error. */
static int
play(struct run *r, const struct step *given, struct err *e)
{
	struct step st = *given;
	int rc;

	st.arg = substitute(given->arg, r);
	if (st.arg == NULL) {
		err_set(e, 1, "out of memory");
		return -1;
	}
	rc = play_one(r, &st, e);
	free(st.arg);
	return rc;
}

static int
play_one(struct run *r, const struct step *st, struct err *e)
{
	char last[2048];
	const char *v = st->verb;
	int rc;

	if (strcmp(v, "connect") == 0)
		return client_connect(r, st->arg, e);
	if (strcmp(v, "queue-run") == 0)
		return queue_run(r, st->arg, e);
	if (strcmp(v, "log") == 0) {
		dump_log(r);
		return 0;
	}
	if (strcmp(v, "wait-log") == 0)
		return wait_log(r, st, e);
	if (strcmp(v, "resolve") == 0)
		return resolve_step(r, st, e);
	if (strcmp(v, "mail") == 0) {
		dump_tree(r, wpath(r, "mail"), "mail");
		return 0;
	}
	if (strcmp(v, "sleep") == 0) {
		long ms = strtol(st->arg, NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		transcript_addf(&r->tr, 'C', "(silent for %ld ms)", ms);
		nanosleep(&ts, NULL);
		return 0;
	}
	if (need_connection(r, st, e) != 0)
		return -1;
	if (strcmp(v, "send") == 0) {
		size_t n = strlen(st->arg);
		char *line = malloc(n + 2);
		if (line == NULL)
			return -1;
		transcript_add(&r->tr, 'C', st->arg);
		memcpy(line, st->arg, n);
		memcpy(line + n, "\r\n", 2);
		rc = client_send(r, line, n + 2);
		free(line);
		return rc == 0 ? 0 : (transcript_add(&r->tr, '!', "send failed"), 1);
	}
	if (strcmp(v, "raw") == 0) {
		size_t cap = strlen(st->arg) + 1; /* escapes only shrink */
		char *data = malloc(cap);
		if (data == NULL)
			return -1;
		size_t n = str_unescape(st->arg, data, cap);
		transcript_add_raw(&r->tr, 'C', data, n);
		rc = client_send(r, data, n);
		free(data);
		return rc == 0 ? 0 : (transcript_add(&r->tr, '!', "send failed"), 1);
	}
	if (strcmp(v, "repeat") == 0) {
		char *end, *data;
		long times = strtol(st->arg, &end, 10);
		size_t n = 0, ll;
		while (*end == ' ')
			end++;
		ll = strlen(end);
		if (times <= 0 || times > 1000) {
			err_set(e, 1, "%s:%d: repeat N LINE, N from 1 to 1000", r->s->path, st->line);
			return -1;
		}
		if ((data = malloc((size_t)times * (ll + 2))) == NULL)
			return -1;
		for (long i = 0; i < times; i++) {
			memcpy(data + n, end, ll);
			memcpy(data + n + ll, "\r\n", 2);
			n += ll + 2;
		}
		transcript_addf(&r->tr, 'C', "%s  (x%ld, in one write)", end, times);
		rc = client_send(r, data, n);
		free(data);
		return rc == 0 ? 0 : (transcript_add(&r->tr, '!', "send failed"), 1);
	}
	if (strcmp(v, "expect") == 0) {
		/* "expect 250 3": three replies starting 250; "expect 554 5.5.0": one
		 * reply starting "554 5.5.0" (the count is a lone number). */
		char code[256] = "";
		long count = 1;
		const char *rest = st->arg + strcspn(st->arg, " ");
		while (*rest == ' ')
			rest++;
		if (*rest != '\0' && strspn(rest, "0123456789") == strlen(rest)) {
			snprintf(code, sizeof code, "%.*s", (int)strcspn(st->arg, " "), st->arg);
			count = strtol(rest, NULL, 10);
		} else {
			snprintf(code, sizeof code, "%s", st->arg);
		}
		for (long i = 0; i < count && i < 1000; i++) {
			enum bio_status bs = client_reply(r, last, sizeof last);
			if (bs != BIO_OK) {
				transcript_addf(&r->tr, '!', "expected %s, got %s", code,
				                bs == BIO_TIMEOUT ? "no reply within 10 s" : "the connection closed");
				return 1;
			}
			if (strncmp(last, code, strlen(code)) != 0)
				transcript_addf(&r->tr, '!', "expected %s", code);
		}
		return 0;
	}
	if (strcmp(v, "starttls") == 0)
		return client_starttls(r, st->arg, e) < 0 ? -1 : 0;
	if (strcmp(v, "wait-close") == 0) {
		enum bio_status bs = client_reply(r, last, sizeof last);
		if (bs == BIO_OK)
			transcript_add(&r->tr, '!', "expected the server to close");
		else if (bs == BIO_TIMEOUT)
			transcript_add(&r->tr, '!', "expected the server to close, it did not within 10 s");
		else
			transcript_add(&r->tr, 'S', "(closed)");
		client_close(r);
		return 0;
	}
	if (strcmp(v, "close") == 0) {
		transcript_add(&r->tr, 'C', "(close)");
		client_close(r);
		return 0;
	}
	err_set(e, 1, "%s:%d: unknown step %s", r->s->path, st->line, v);
	return -1;
}

int
run_scenario(const struct scenario *s, const struct run_env *env, char **transcript, struct err *e)
{
	struct run r = { .s = s, .env = env, .c = { .fd = -1 } };
	int rc = -1;

	r.tr.normalize = &s->normalize;
	*transcript = NULL;
	signal(SIGPIPE, SIG_IGN);
	/* Peers and fakedns first: the configuration may name their addresses. */
	if (start_peers(&r, e) != 0)
		goto out;
	if (s->nzones > 0 && start_fakedns(&r, e) != 0)
		goto out;
	if (write_config(&r, e) != 0 || start_refmta(&r, e) != 0)
		goto out;
	for (size_t i = 0; i < s->nsteps; i++) {
		int st = play(&r, &s->steps[i], e);
		if (st < 0)
			goto out;
		if (st > 0)
			break;
	}
	client_close(&r);
	stop_refmta(&r);
	dump_log(&r);
	for (size_t i = 0; i < r.npeers; i++) {
		peer_stop(&r.peers[i]);
		dump_peer(&r, &r.peers[i]);
	}
	stop_fakedns(&r);
	*transcript = r.tr.text;
	r.tr.text = NULL;
	rc = 0;
out:
	client_close(&r);
	stop_refmta(&r);
	for (size_t i = 0; i < r.npeers; i++)
		peer_stop(&r.peers[i]);
	stop_fakedns(&r);
	resolver_free(r.resolver);
	free(r.peers);
	transcript_free(&r.tr);
	return rc;
}
