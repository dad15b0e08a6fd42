/*
 * run.c - play one scenario against one refmta (run.h): the run's life
 * cycle (peers, fakedns, the configuration, refmta itself, the steps in
 * order, the end) and what every part shares (run_int.h).  The scripted
 * client is in run_client.c, fakedns and `resolve` in run_dns.c, the
 * other steps in run_steps.c; steps.c's table says which plays which.
 *
 * Determinism comes from the source (refmta's test_clock and test_ids), not
 * from rewriting output: the only waits are for events refmta itself
 * reports (its "listening on" line, its log line for a closed connection),
 * each bounded, never a blind sleep.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pki.h"
#include "resolver.h"
#include "run_int.h"
#include "steps.h"

#define PEER_PORT_TRIES 20       /* fresh shared ports tried when an address's port is taken */
#define PEER_FIXED_WAIT_MS 15000 /* how long a peer waits for its own port to be free */
/* The clock every scenario's refmta runs on (DESIGN.md principle 4). */
#define TEST_CLOCK "2026-01-01T00:00:00Z"

const char *
run_path(struct run *r, const char *rel)
{
	snprintf(r->path, sizeof r->path, "%s/%s", r->env->workdir, rel);
	return r->path;
}

/*
 * "@PKI@" and "@WORK@" become the run's directories, "@PEER:NAME@" the
 * address of a scripted peer ("127.0.0.N:PORT"), "@PEER_PORT@" the port all
 * peers share, "@DNS@" fakedns's address ("127.0.0.1@PORT", only when the
 * scenario has zones), "@SCENARIO_DIR@" the absolute folder of the
 * scenario file (for data kept beside the scenarios, such as the DMARC
 * suite's public suffix list).  Caller frees.
 */
char *
run_substitute(const char *text, const struct run *r)
{
	size_t cap = strlen(text) * 2 + 1024, o = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	char scdir[PATH_MAX] = "";

	if (r->s != NULL && r->s->path != NULL) {
		char *slash, tmp[PATH_MAX];
		snprintf(tmp, sizeof tmp, "%s", r->s->path);
		slash = strrchr(tmp, '/');
		if (slash != NULL)
			*slash = '\0';
		if (realpath(slash != NULL ? tmp : ".", scdir) == NULL)
			scdir[0] = '\0';
	}
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
		} else if (strncmp(p, "@PEER_PORT@", 11) == 0 && r->peer_port != 0) {
			snprintf(peerbuf, sizeof peerbuf, "%u", r->peer_port);
			rep = peerbuf;
			skip = 11;
		} else if (strncmp(p, "@SCENARIO_DIR@", 14) == 0 && scdir[0]) {
			rep = scdir;
			skip = 14;
		} else if (strncmp(p, "@DNS@", 5) == 0 && r->dns_server[0]) {
			rep = r->dns_server;
			skip = 5;
		} else if (strncmp(p, "@REDIS", 6) == 0 &&
		           run_services_word(r, p, peerbuf, sizeof peerbuf, &skip)) {
			rep = peerbuf;
		} else if (strncmp(p, "@PEER:", 6) == 0 && strchr(p + 6, '@') != NULL) {
			size_t n = (size_t)(strchr(p + 6, '@') - (p + 6));
			for (size_t i = 0; i < r->npeers; i++)
				if (strlen(r->peers[i].spec->name) == n &&
				    strncmp(r->peers[i].spec->name, p + 6, n) == 0) {
					snprintf(peerbuf, sizeof peerbuf, "%s:%u",
					         r->peers[i].address, r->peers[i].port);
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
	return run_substitute(text, arg);
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

int
run_write_config(struct run *r, const char *text, struct err *e)
{
	char *body = run_substitute(text, r);
	char tmp[4200];
	FILE *f;

	/* Written aside and renamed: a reload never reads half a file. */
	snprintf(tmp, sizeof tmp, "%s/refmta.conf.new", r->env->workdir);
	if (body == NULL || (f = fopen(tmp, "w")) == NULL) {
		err_set(e, 1, "cannot write %s", tmp);
		free(body);
		return -1;
	}
	/* The harness's part: where things go, and test mode. */
	fprintf(f,
	        "# written by runtest for %s\nspool_directory = spool\nlog_file = log/main.log\n"
	        "test_clock = %s\ntest_ids = true\n",
	        r->s->path, TEST_CLOCK);
	/* The harness runs as root in CI: refmta refuses root without `user`
	 * (docs/config.md), so a scenario that sets neither runs as root. */
	if (!config_sets(body, "user") && !config_sets(body, "run_as_root"))
		fprintf(f, "run_as_root = true\n");
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
	if (fclose(f) != 0 || rename(tmp, run_path(r, "refmta.conf")) != 0) {
		err_set(e, 1, "cannot write %s", r->path);
		return -1;
	}
	return 0;
}

unsigned
run_read_listening(int fd, int timeout_ms)
{
	char line[512];
	size_t n = 0;
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	const char *at;

	while (n < sizeof line - 1 && memchr(line, '\n', n) == NULL) {
		ssize_t got;
		if (poll(&pf, 1, timeout_ms) <= 0)
			break;
		got = read(fd, line + n, sizeof line - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	line[n] = '\0';
	at = strstr(line, "listening on 127.0.0.1:");
	return at != NULL ? (unsigned)atoi(at + strlen("listening on 127.0.0.1:")) : 0;
}

/* Start refmta and wait for its "listening on ADDR:PORT" line. */
static int
start_refmta(struct run *r, struct err *e)
{
	int pipefd[2];
	char conf[4096];

	snprintf(conf, sizeof conf, "%s/refmta.conf", r->env->workdir);
	if (pipe(pipefd) != 0)
		return -1;
	r->refmta = fork();
	if (r->refmta == 0) {
		int errfd = open(run_path(r, "refmta.stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(pipefd[1], 1);
		if (errfd >= 0)
			dup2(errfd, 2);
		close(pipefd[0]);
		execl(r->env->refmta, "refmta", "-c", conf, "--backend", r->env->backend, "serve",
		      "--listen", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	r->port = run_read_listening(pipefd[0], 10000);
	close(pipefd[0]);
	if (r->port == 0) {
		err_set(e, 1, "refmta did not start (see %s/refmta.stderr)", r->env->workdir);
		return -1;
	}
	return 0;
}

/*
 * End a child the run started: SIGTERM, then (bounded: `seconds`) reap it,
 * else SIGKILL and a "!:" line naming it.  *pid is 0 afterwards.
 */
void
run_stop_child(struct run *r, pid_t *pid, int seconds, const char *name)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < seconds * 100; i++) {
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, &status, 0);
	*pid = 0;
	transcript_addf(&r->tr, '!', "%s did not stop within %d s of SIGTERM", name, seconds);
}

/* Bounded: 10 s for sessions to finish, then it is killed. */
static void
stop_refmta(struct run *r)
{
	run_stop_child(r, &r->refmta, 10, "refmta");
}

/*
 * The scenario's own certificates ("cert: STEM KEY ISSUER NAME..."),
 * minted into WORK/certs/ from the run's PKI before anything uses them.
 */
static int
mint_certs(struct run *r, struct err *e)
{
	for (size_t i = 0; i < r->s->certs.n; i++) {
		char *words = strdup(r->s->certs.v[i]), *save = NULL;
		const char *names[32];
		struct pki_leaf req = { .stem = strtok_r(words, " ", &save) };
		const char *key = strtok_r(NULL, " ", &save), *issuer = strtok_r(NULL, " ", &save);
		struct err me = { 0 };
		char *name;
		int rc;

		if (words == NULL || key == NULL || issuer == NULL) {
			free(words);
			err_set(e, 1, "%s: cert: out of memory", r->s->path);
			return -1;
		}
		req.key = strcmp(key, "rsa") == 0 ? PKI_KEY_RSA : PKI_KEY_ECDSA;
		req.issuer = strcmp(issuer, "root") == 0        ? PKI_ISSUER_ROOT
		             : strcmp(issuer, "unrelated") == 0 ? PKI_ISSUER_UNRELATED
		             : strcmp(issuer, "self") == 0      ? PKI_ISSUER_SELF
		                                                : PKI_ISSUER_INTER;
		while (req.nnames < sizeof names / sizeof names[0] &&
		       (name = strtok_r(NULL, " ", &save)) != NULL)
			names[req.nnames++] = name;
		req.names = names;
		rc = pki_mint_leaf(r->env->pki, run_path(r, "certs"), &req, time(NULL), &me);
		if (rc != 0)
			err_set(e, 1, "%s: cert: %s: %s", r->s->path, req.stem, me.text);
		free(words);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/*
 * A scenario whose peers have ports of their own runs in a network
 * namespace of its own (when the harness may make one: it needs root, as
 * CI is): the port is then free whatever the machine runs (a local MTA on
 * port 25) and whatever the other backend's run of the same scenario
 * holds, and a port below 1024 can be bound.  Only loopback exists there,
 * which is all a run uses.  0 inside it; 1 when it cannot be made (the run
 * goes on in the machine's namespace, and the peer waits for its port).
 */
static int
netns_enter(void)
{
	struct ifreq ifr = { 0 };
	int fd, ok;

	if (unshare(CLONE_NEWNET) != 0)
		return 1;
	/* A new namespace's loopback is down: bring it up. */
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/*
 * RFC 5737 documentation addresses (192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24): the only non-loopback addresses a client may connect
 * from ("connect from 192.0.2.10"), for cases where the client's address
 * matters beyond loopback (SPF: libspf2 passes every 127/8 client by
 * itself, docs/spf.md).
 */
static int
run_doc_address(const char *a)
{
	struct in_addr in;
	uint32_t h;

	if (inet_pton(AF_INET, a, &in) != 1)
		return 0;
	h = ntohl(in.s_addr);
	return (h >> 8) == 0xC00002 || (h >> 8) == 0xC63364 || (h >> 8) == 0xCB0071;
}

/* The documentation addresses the steps connect from, added to the
 * namespace's loopback interface (as lo:N aliases, /32). */
static int
doc_addresses_add(const struct scenario *s, struct err *e)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->nsteps; i++) {
		char from[64] = "";
		struct ifreq ifr = { 0 };
		struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
		int fd, ok;

		if (strcmp(s->steps[i].verb, "connect") != 0 ||
		    sscanf(s->steps[i].arg, "from %63s", from) != 1 || !run_doc_address(from))
			continue;
		snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo:%u", n++);
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, from, &sin->sin_addr);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		/* EEXIST: an earlier "connect from" the same address added it */
		ok = fd >= 0 && (ioctl(fd, SIOCSIFADDR, &ifr) == 0 || errno == EEXIST);
		if (fd >= 0)
			close(fd);
		if (!ok) {
			err_set(e, 1, "connect from %s: cannot add the address to loopback: %s",
			        from, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Does the scenario connect from a documentation address? */
static int
uses_doc_addresses(const struct scenario *s)
{
	for (size_t i = 0; i < s->nsteps; i++) {
		char from[64] = "";
		if (strcmp(s->steps[i].verb, "connect") == 0 &&
		    sscanf(s->steps[i].arg, "from %63s", from) == 1 && run_doc_address(from))
			return 1;
	}
	return 0;
}

/* ---- the scripted peers ----------------------------------------------------------- */

/*
 * A peer with its own "port = N": that port, on its address.  Another run
 * of the same scenario (the other backend, in parallel) may hold it: wait
 * for it, bounded (PEER_FIXED_WAIT_MS).
 */
static int
listen_fixed(struct peer *p, unsigned port, struct err *e)
{
	struct err le = { 0 };

	for (int waited = 0;; waited += 50) {
		if (peer_listen(p->address, port, &p->lfd, &p->port, &le) == 0)
			return 0;
		if (le.code != PEER_ADDR_IN_USE || waited >= PEER_FIXED_WAIT_MS)
			break;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	err_set(e, 1, "peer %s: %s%s", p->spec->name, le.text,
	        port < 1024 && geteuid() != 0 ? " (a port below 1024 needs root)" : "");
	return -1;
}

/*
 * Bind every peer without a port of its own to its address and one shared
 * port: the first gets a free port, the others bind theirs with it.  When
 * one of them finds the port taken, all are closed and a new port is tried
 * (bounded).  Peers with "port = N" bind that.
 */
static int
listen_peers(struct run *r, struct err *e)
{
	for (size_t i = 0; i < r->npeers; i++)
		if (peer_spec_port(r->peers[i].spec) != 0 &&
		    listen_fixed(&r->peers[i], peer_spec_port(r->peers[i].spec), e) != 0)
			return -1;
	for (int attempt = 0; attempt < PEER_PORT_TRIES; attempt++) {
		unsigned port = 0;
		size_t bound = 0;
		int retry = 0;

		for (; bound < r->npeers; bound++) {
			struct peer *p = &r->peers[bound];
			struct err le = { 0 };
			if (peer_spec_port(p->spec) != 0)
				continue;
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
			if (peer_spec_port(r->peers[i].spec) != 0)
				continue;
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
			                     .address = peer_spec_address(&s->peers[i]),
			                     .lfd = -1 };
	r->npeers = s->npeers;
	if (listen_peers(r, e) != 0)
		return -1;
	for (size_t i = 0; i < r->npeers; i++) {
		/* The peer serves TLS with the other library, like the client,
		 * unless it needs what only one library can do (peer_backend()). */
		const char *be = peer_backend(
		        &s->peers[i],
		        strcmp(r->env->backend, "openssl") == 0 ? "gnutls" : "openssl", e);
		if (be == NULL ||
		    peer_start(&r->peers[i], be, r->env->workdir, substitute_cb, r, e) != 0)
			return -1;
	}
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
void
run_dump_log(struct run *r)
{
	FILE *f = fopen(run_path(r, "log/main.log"), "r");
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
void
run_wait_session_logged(struct run *r, const char *ip, unsigned port)
{
	char needle[128];

	snprintf(needle, sizeof needle, "[%s]:%u ", ip, port);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(run_path(r, "log/main.log"), "r");
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

/* ---- the steps ------------------------------------------------------------------------ */

/*
 * One step, its argument with @PKI@, @WORK@, @PEER:NAME@, @PEER_PORT@ and
 * @DNS@ expanded, played by its row of the verb table (steps.h).
 */
int
run_play(struct run *r, const struct step *given, struct err *e)
{
	struct step st = *given;
	int rc;

	if (st.kind->flags & STEP_NEEDS_CONNECTION && r->c.fd < 0) {
		err_set(e, 1, "%s:%d: %s needs an open connection (connect first)", r->s->path,
		        st.line, st.verb);
		return -1;
	}
	st.arg = run_substitute(given->arg, r);
	if (st.arg == NULL) {
		err_set(e, 1, "out of memory");
		return -1;
	}
	rc = st.kind->play(r, &st, e);
	free(st.arg);
	return rc;
}

int
run_scenario(const struct scenario *s, const struct run_env *env, char **transcript, struct err *e)
{
	struct run r = { .s = s, .env = env, .c = { .fd = -1 } };
	int rc = -1;

	r.tr.normalize = &s->normalize;
	r.tr.workdir = env->workdir;
	*transcript = NULL;
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < s->npeers; i++)
		if (peer_spec_port(&s->peers[i]) != 0) {
			if (netns_enter() < 0) {
				err_set(e, 1,
				        "a network namespace was made, but its loopback is not up");
				goto out;
			}
			break;
		}
	/* A client from a documentation address needs a namespace of the
	 * run's own whose loopback carries that address: made here, or
	 * already made above for a peer's port. */
	if (uses_doc_addresses(s)) {
		int ns = netns_enter();
		if (ns != 0) {
			err_set(e, 1,
			        ns > 0 ? "connect from a documentation address needs a network "
			                 "namespace of its own (root)"
			               : "a network namespace was made, but its loopback is not "
			                 "up");
			goto out;
		}
		if (doc_addresses_add(s, e) != 0)
			goto out;
	}
	/* Certificates, peers and fakedns first: the configuration may name them. */
	if (mint_certs(&r, e) != 0 || run_ocsp_mint(&r, e) != 0 || start_peers(&r, e) != 0)
		goto out;
	if (s->nzones > 0 && run_dns_start(&r, e) != 0)
		goto out;
	if (run_services_start(&r, e) != 0)
		goto out;
	if (run_write_config(&r, s->config, e) != 0 || start_refmta(&r, e) != 0)
		goto out;
	for (size_t i = 0; i < s->nsteps; i++) {
		int st = run_play(&r, &s->steps[i], e);
		if (st < 0)
			goto out;
		if (st > 0)
			break;
	}
	run_client_close(&r);
	stop_refmta(&r);
	run_dump_log(&r);
	for (size_t i = 0; i < r.npeers; i++) {
		peer_stop(&r.peers[i]);
		dump_peer(&r, &r.peers[i]);
	}
	run_dns_stop(&r);
	run_services_stop(&r);
	run_ocsp_stop(&r);
	*transcript = buf_take(&r.tr.text);
	rc = 0;
out:
	run_client_close(&r);
	stop_refmta(&r);
	for (size_t i = 0; i < r.npeers; i++)
		peer_stop(&r.peers[i]);
	run_dns_stop(&r);
	run_services_stop(&r);
	run_ocsp_stop(&r);
	resolver_free(r.resolver);
	free(r.peers);
	transcript_free(&r.tr);
	return rc;
}
