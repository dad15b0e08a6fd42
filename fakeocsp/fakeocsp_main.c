/*
 * fakeocsp_main.c - bin/fakeocsp: an OCSP responder (serve) and staple
 * minter (mint) for tests, with faults to order.
 *
 * Only the command line lives here: parse, load, hand over to http.c or
 * ocsp_mint().  Errors are "fakeocsp: message" on stderr and exit 1; bad
 * usage exits 2.  Never names a TLS library (ocsp.h does the signing).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "ocsp.h"
#include "version.h"

#define EXIT_USAGE 2

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: fakeocsp serve --listen ADDR:PORT --issuer CA.pem --signer CERT.pem --key "
	        "KEY.pem\n"
	        "                      --index FILE [--log FILE] [--timeout SECONDS]\n"
	        "                      [--extra-certs FILE.pem]...\n"
	        "                      [--fault NAME[=VALUE]]... [--fault-serial "
	        "HEX:NAME[=VALUE]]...\n"
	        "       fakeocsp mint --cert C.pem --issuer CA.pem --signer S.pem --key K.pem\n"
	        "                     --status good|revoked|unknown [--this-update T] "
	        "[--next-update T]\n"
	        "                     [--revocation-time T] [--reason NAME] [--extra-certs "
	        "FILE.pem]...\n"
	        "                     [--fault NAME[=VALUE]]... --out FILE.der\n"
	        "       fakeocsp --help | --version\n"
	        "\n"
	        "serve: answer OCSP over HTTP/1.0 and 1.1 (POST application/ocsp-request, GET\n"
	        "  /BASE64) on a loopback address, statuses from an OpenSSL `ca` index.txt\n"
	        "  (V good, R revoked, E good; not listed: unknown).  Prints\n"
	        "  \"fakeocsp: listening on ADDR:PORT\" when ready (port 0: a free one); stops on\n"
	        "  SIGTERM.  One log line per request to --log FILE (default stderr).\n"
	        "  --timeout: a request must arrive within this many seconds (default 5).\n"
	        "mint: write one DER response about the first certificate in C.pem.\n"
	        "  Revoked: --revocation-time (default -1d), --reason (default keyCompromise).\n"
	        "\n"
	        "--signer may be the issuer itself (signed by the CA) or a delegated responder\n"
	        "(id-kp-OCSPSigning, included in the response).  --extra-certs adds every\n"
	        "certificate in FILE.pem (e.g. the intermediate) after the signer's.  T is\n"
	        "relative (\"-1h\", \"+7d\"; units s m h d) or absolute "
	        "(\"2026-01-01T00:00:00Z\").\n"
	        "\n"
	        "faults (--fault for every request, --fault-serial HEX:... for one serial):\n");
	ocsp_faults_help(f);
}

/* Options shared by both commands. */
struct opts {
	const char *listen, *issuer, *signer, *key, *index, *log, *cert, *out;
	const char *status, *this_update, *next_update, *revtime, *reason;
	unsigned timeout_s;
	const char *extra[OCSP_EXTRA_CERTS_MAX]; /* --extra-certs files */
	size_t nextra;
	struct ocsp_faults faults;
};

enum {
	OPT_LISTEN = 256,
	OPT_ISSUER,
	OPT_SIGNER,
	OPT_KEY,
	OPT_INDEX,
	OPT_LOG,
	OPT_FAULT,
	OPT_FAULT_SERIAL,
	OPT_TIMEOUT,
	OPT_CERT,
	OPT_STATUS,
	OPT_THIS,
	OPT_NEXT,
	OPT_REVTIME,
	OPT_REASON,
	OPT_OUT,
	OPT_EXTRA_CERTS,
	OPT_HELP,
};

static const struct option serve_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "issuer", required_argument, NULL, OPT_ISSUER },
	{ "signer", required_argument, NULL, OPT_SIGNER },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "index", required_argument, NULL, OPT_INDEX },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "fault-serial", required_argument, NULL, OPT_FAULT_SERIAL },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "extra-certs", required_argument, NULL, OPT_EXTRA_CERTS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const struct option mint_opts[] = {
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "issuer", required_argument, NULL, OPT_ISSUER },
	{ "signer", required_argument, NULL, OPT_SIGNER },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "this-update", required_argument, NULL, OPT_THIS },
	{ "next-update", required_argument, NULL, OPT_NEXT },
	{ "revocation-time", required_argument, NULL, OPT_REVTIME },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "extra-certs", required_argument, NULL, OPT_EXTRA_CERTS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int
fail(const char *msg)
{
	fprintf(stderr, "fakeocsp: %s\n", msg);
	return 1;
}

static int
bad_usage(const char *msg)
{
	fprintf(stderr, "fakeocsp: %s (try --help)\n", msg);
	return EXIT_USAGE;
}

/* Parse argv of a command into o; -1 usage error (message printed), 1 help. */
static int
opts_parse(int argc, char **argv, const struct option *table, struct opts *o)
{
	struct err e = { 0 };
	char *end;
	long v;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", table, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			o->listen = optarg;
			break;
		case OPT_ISSUER:
			o->issuer = optarg;
			break;
		case OPT_SIGNER:
			o->signer = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_INDEX:
			o->index = optarg;
			break;
		case OPT_LOG:
			o->log = optarg;
			break;
		case OPT_CERT:
			o->cert = optarg;
			break;
		case OPT_OUT:
			o->out = optarg;
			break;
		case OPT_STATUS:
			o->status = optarg;
			break;
		case OPT_THIS:
			o->this_update = optarg;
			break;
		case OPT_NEXT:
			o->next_update = optarg;
			break;
		case OPT_REVTIME:
			o->revtime = optarg;
			break;
		case OPT_REASON:
			o->reason = optarg;
			break;
		case OPT_HELP:
			return 1;
		case OPT_EXTRA_CERTS:
			if (o->nextra == OCSP_EXTRA_CERTS_MAX) {
				bad_usage("too many --extra-certs");
				return -1;
			}
			o->extra[o->nextra++] = optarg;
			break;
		case OPT_TIMEOUT:
			v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 600) {
				bad_usage("--timeout wants 1 to 600 seconds");
				return -1;
			}
			o->timeout_s = (unsigned)v;
			break;
		case OPT_FAULT:
		case OPT_FAULT_SERIAL:
			if ((c == OPT_FAULT ? ocsp_faults_add(&o->faults, NULL, optarg, &e)
			                    : ocsp_faults_add_serial(&o->faults, optarg, &e)) < 0) {
				bad_usage(e.text);
				return -1;
			}
			break;
		default:
			fprintf(stderr,
			        "fakeocsp: unknown or incomplete option \"%s\" (try --help)\n",
			        argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fakeocsp: unexpected argument \"%s\" (try --help)\n",
		        argv[optind]);
		return -1;
	}
	return 0;
}

/* Load the responder, its extra certificates and every signer the faults
   name. */
static int
responder_load(const struct opts *o, struct ocsp_responder **r, struct err *e)
{
	const char *spec;

	if (ocsp_responder_new(o->issuer, o->signer, o->key, r, e) < 0)
		return -1;
	for (size_t i = 0; i < o->nextra; i++)
		if (ocsp_responder_add_extra_certs(*r, o->extra[i], e) < 0)
			return -1;
	for (size_t i = 0; i < 100 && (spec = ocsp_faults_signer(&o->faults, i)) != NULL; i++)
		if (ocsp_responder_add_signer(*r, spec, e) < 0)
			return -1;
	return 0;
}

static int
cmd_serve(int argc, char **argv)
{
	struct opts o = { .timeout_s = 5 };
	struct ocsp_responder *r = NULL;
	struct ocsp_index idx = { 0 };
	struct http_config cfg = { 0 };
	struct err e = { 0 };
	char bound[128];
	int fd = -1, logfd = -1, rc = EXIT_USAGE, p;

	if ((p = opts_parse(argc, argv, serve_opts, &o)) != 0) {
		if (p > 0)
			usage(stdout);
		rc = p > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	if (o.listen == NULL || o.issuer == NULL || o.signer == NULL || o.key == NULL ||
	    o.index == NULL) {
		rc = bad_usage("serve needs --listen, --issuer, --signer, --key and --index");
		goto out;
	}
	rc = 1;
	if (responder_load(&o, &r, &e) < 0 || ocsp_index_load(o.index, &idx, &e) < 0) {
		fail(e.text);
		goto out;
	}
	if (o.log != NULL &&
	    (logfd = open(o.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "fakeocsp: %s: %s\n", o.log, strerror(errno));
		goto out;
	}
	if (http_listen(o.listen, &fd, bound, sizeof bound, &e) < 0) {
		fail(e.text);
		goto out;
	}
	cfg = (struct http_config){ .responder = r,
		                    .index = &idx,
		                    .faults = &o.faults,
		                    .log_fd = logfd >= 0 ? logfd : STDERR_FILENO,
		                    .timeout_ms = o.timeout_s * 1000 };
	printf("fakeocsp: listening on %s\n", bound);
	fflush(stdout);
	if (http_serve(fd, &cfg, &e) < 0) {
		fail(e.text);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (logfd >= 0)
		close(logfd);
	ocsp_index_free(&idx);
	ocsp_responder_free(r);
	ocsp_faults_free(&o.faults);
	return rc;
}

static int
file_write(const char *path, const unsigned char *data, size_t len, struct err *e)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len) {
		err_set(e, 1, "%s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		err_set(e, 1, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
cmd_mint(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ocsp_responder *r = NULL;
	struct ocsp_answer a = { .reason = 1 /* keyCompromise */ };
	struct ocsp_fault f;
	struct ocsp_when when;
	struct err e = { 0 };
	unsigned char *der = NULL;
	size_t len = 0;
	time_t now = time(NULL);
	int rc = EXIT_USAGE, p;

	if ((p = opts_parse(argc, argv, mint_opts, &o)) != 0) {
		if (p > 0)
			usage(stdout);
		rc = p > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	if (o.cert == NULL || o.issuer == NULL || o.signer == NULL || o.key == NULL ||
	    o.status == NULL || o.out == NULL) {
		rc = bad_usage("mint needs --cert, --issuer, --signer, --key, --status and --out");
		goto out;
	}
	if (strcmp(o.status, "good") == 0)
		a.status = OCSP_CERT_GOOD;
	else if (strcmp(o.status, "revoked") == 0)
		a.status = OCSP_CERT_REVOKED;
	else if (strcmp(o.status, "unknown") == 0)
		a.status = OCSP_CERT_UNKNOWN;
	else {
		rc = bad_usage("--status wants good, revoked or unknown");
		goto out;
	}
	if (o.reason != NULL && (a.reason = ocsp_reason_parse(o.reason)) == -2) {
		rc = bad_usage("unknown --reason (keyCompromise, superseded, ...)");
		goto out;
	}
	ocsp_faults_resolve(&o.faults, NULL, &f);
	if ((o.this_update != NULL && ocsp_when_parse(o.this_update, &f.this_update, &e) < 0) ||
	    (o.next_update != NULL && ocsp_when_parse(o.next_update, &f.next_update, &e) < 0)) {
		rc = bad_usage(e.text);
		goto out;
	}
	memset(&when, 0, sizeof when);
	if (o.revtime != NULL && ocsp_when_parse(o.revtime, &when, &e) < 0) {
		rc = bad_usage(e.text);
		goto out;
	}
	a.revtime = ocsp_when_resolve(&when, now, -24 * 3600);
	rc = 1;
	if (f.flags & (OCSP_FAULT_GARBAGE | OCSP_FAULT_DROP) || f.delay_ms > 0) {
		fail("garbage, drop and delay are faults of serve, not of mint");
		goto out;
	}
	if (responder_load(&o, &r, &e) < 0 ||
	    ocsp_mint(r, o.cert, &a, &f, now, &der, &len, &e) < 0 ||
	    file_write(o.out, der, len, &e) < 0) {
		fail(e.text);
		goto out;
	}
	rc = 0;
out:
	free(der);
	ocsp_responder_free(r);
	ocsp_faults_free(&o.faults);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("fakeocsp (refmta) %s\n", REFMTA_VERSION);
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "mint") == 0)
		return cmd_mint(argc - 1, argv + 1);
	return bad_usage(argc < 2 ? "no command" : "unknown command; want serve or mint");
}
