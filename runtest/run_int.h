/*
 * run_int.h - what the parts of one run share (run.c, run_client.c,
 * run_dns.c, run_steps.c): the run's state and the functions the step
 * table (steps.c) points to.  Not for the scheduler (runtest_main.c), which
 * knows only run.h.
 */
#ifndef RUNTEST_RUN_INT_H
#define RUNTEST_RUN_INT_H

#include <sys/types.h>

#include "bio.h"
#include "peer.h"
#include "run.h"
#include "strlist.h"
#include "transcript.h"

#define REPLY_TIMEOUT 10      /* seconds a step waits for a reply */
#define CLIENT_LINE_MAX 65536 /* a reply line the client reads whole */

struct resolver;
struct tls_ctx;
struct tls_conn;

/* The scripted client's one connection (fd -1 when none is open). */
struct client {
	int fd;
	unsigned local_port;
	char local_ip[64]; /* refmta logs the session under this address */
	struct bio io;
	struct tls_ctx *ctx;
	struct tls_conn *tls;
};

#define RUN_MAX_REDIS 3

struct run {
	const struct scenario *s;
	const struct run_env *env;
	struct transcript tr;
	pid_t refmta;
	unsigned port;
	struct client c;
	long log_offset;
	char path[4096]; /* run_path()'s result */
	struct peer *peers;
	size_t npeers;
	unsigned peer_port;             /* the one port every peer listens on */
	pid_t fakedns;                  /* 0 when the scenario has no [zone] */
	char dns_server[64];            /* "127.0.0.1@PORT", "" without fakedns */
	struct resolver *resolver;      /* for `resolve` steps, made at the first */
	pid_t redis_pid[RUN_MAX_REDIS]; /* [redis] servers (run_services.c); 0: none */
	unsigned redis_port[RUN_MAX_REDIS];
	char redis_id[RUN_MAX_REDIS][48]; /* a cluster node's id (CLUSTER MYID); "" otherwise */
	size_t nredis;
	pid_t ocsp_pid;             /* ocsp-serve's fakeocsp (run_ocsp.c); 0: none */
	unsigned ocsp_port;         /* its port, kept after ocsp-stop; 0: never started */
	long ocsp_log_seen;         /* octets of ocsp/serve.log already in ocsp-requests.txt */
	struct strlist expand_vars; /* NAME=VALUE for expand steps (expand-vars) */
};

/* run_services.c: [redis], [lmdb NAME] and the expand step. */
int run_services_start(struct run *r, struct err *e) MUST_CHECK;
void run_services_stop(struct run *r);
/* "@REDIS@" / "@REDIS:NAME@" at p: 1 with out = ADDR:PORT and *skip. */
int run_services_word(const struct run *r, const char *p, char *out, size_t len, size_t *skip);

/* WORK/rel, in r->path (valid until the next call). */
const char *run_path(struct run *r, const char *rel);
/* The @PKI@, @WORK@, @PEER:NAME@, @PEER_PORT@, @DNS@ words expanded; caller frees. */
char *run_substitute(const char *text, const struct run *r);
/* Write `text` (a [config] section) as WORK/refmta.conf, with the
 * harness's lines above it, replacing the file in one rename. */
int run_write_config(struct run *r, const char *text, struct err *e) MUST_CHECK;
/* Read a started program's first line from `fd` (each read bounded by
 * `timeout_ms`): the PORT of its "listening on 127.0.0.1:PORT", or 0. */
unsigned run_read_listening(int fd, int timeout_ms);
/* End a child the run started (SIGTERM; SIGKILL after `seconds`, with a
 * "!:" line naming it); *pid becomes 0. */
void run_stop_child(struct run *r, pid_t *pid, int seconds, const char *name);
/* Append refmta's log lines written since the last call (L:, or D: for DNS). */
void run_dump_log(struct run *r);
/* Wait (bounded) until refmta has logged the end of the session from ip:port. */
void run_wait_session_logged(struct run *r, const char *ip, unsigned port);
/* Play one step (its argument expanded): 0 go on, 1 stop (the transcript
 * says why), -1 harness error with `e`. */
int run_play(struct run *r, const struct step *given, struct err *e) MUST_CHECK;

/* run_client.c: the scripted client. */
void run_client_close(struct run *r);

/* run_ocsp.c: mint the scenario's "ocsp:" responses into WORK/ocsp/NAME.der. */
int run_ocsp_mint(struct run *r, struct err *e) MUST_CHECK;
/* run_ocsp.c: stop ocsp-serve's responder, by PID, if one runs. */
void run_ocsp_stop(struct run *r);

/* run_dns.c: fakedns for scenarios with [zone] sections. */
int run_dns_start(struct run *r, struct err *e) MUST_CHECK;
/* run_tlsa.c: a zone's text (already through run_substitute()) with each
 * "TLSA U S M /PATH.pem[#DEPTH][~]" given its data.  Caller frees; NULL
 * with `e` filled. */
char *run_zone_tlsa(const char *text, struct err *e);
/* run_dkim.c: the same with each "OWNER IN DKIM /PATH.key" made the key's
 * TXT record.  Caller frees; NULL with `e` filled. */
char *run_zone_dkim(const char *text, struct err *e);
void run_dns_stop(struct run *r);

/*
 * The steps (steps.c's table points here).  Each gets the step with its
 * argument expanded; 0 go on, 1 stop playing (the transcript says why), -1
 * harness error with `e`.
 */
int step_connect(struct run *r, const struct step *st, struct err *e);
int step_send(struct run *r, const struct step *st, struct err *e);
int step_raw(struct run *r, const struct step *st, struct err *e);
int step_repeat(struct run *r, const struct step *st, struct err *e);
int step_expect(struct run *r, const struct step *st, struct err *e);
int step_starttls(struct run *r, const struct step *st, struct err *e);
int step_wait_close(struct run *r, const struct step *st, struct err *e);
int step_close(struct run *r, const struct step *st, struct err *e);
int step_submit(struct run *r, const struct step *st, struct err *e);
int step_sleep(struct run *r, const struct step *st, struct err *e);
int step_queue_run(struct run *r, const struct step *st, struct err *e);
int step_mail(struct run *r, const struct step *st, struct err *e);
int step_log(struct run *r, const struct step *st, struct err *e);
int step_wait_log(struct run *r, const struct step *st, struct err *e);
/* Run argv[0] with argv (stderr too when with_stderr, else /dev/null) and add
 * its output to the transcript as K: lines, then "(exit N)" (run_steps.c). */
int run_command_lines(struct run *r, char *const argv[], int with_stderr, struct err *e) MUST_CHECK;
int step_dane_check(struct run *r, const struct step *st, struct err *e); /* run_tlsa.c */
int step_ocsp_serve(struct run *r, const struct step *st, struct err *e); /* run_ocsp.c */
int step_ocsp_stop(struct run *r, const struct step *st, struct err *e);
int step_ocsp_fetch(struct run *r, const struct step *st, struct err *e);
int step_resolve(struct run *r, const struct step *st, struct err *e);
int step_write(struct run *r, const struct step *st, struct err *e);
int step_send_dkim(struct run *r, const struct step *st, struct err *e); /* run_dkim.c */
int step_move(struct run *r, const struct step *st, struct err *e);
int step_reconfigure(struct run *r, const struct step *st, struct err *e);
int step_expand(struct run *r, const struct step *st, struct err *e);
int step_expand_vars(struct run *r, const struct step *st, struct err *e);
int step_redis(struct run *r, const struct step *st, struct err *e);

#endif
