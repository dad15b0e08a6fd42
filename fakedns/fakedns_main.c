/*
 * fakedns_main.c - bin/fakedns: a signing authoritative DNSSEC server for tests.
 *
 *   fakedns --listen ADDR:PORT [--ta-file FILE] [--log FILE]
 *           [--algorithm ecdsap256|rsasha256|ed25519] [--nsec3] [--ad] ZONEFILE...
 *
 * Loads and signs the zones, writes the trust anchor, prints
 * "fakedns: listening on ADDR:PORT" once both sockets are bound, serves
 * until SIGTERM.  Must never listen beyond loopback (server.c refuses).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "server.h"
#include "sign.h"
#include "version.h"
#include "zone.h"

static const char usage[] =
        "usage: fakedns --listen ADDR:PORT [--ta-file FILE] [--log FILE]\n"
        "               [--algorithm ecdsap256|rsasha256|ed25519] [--nsec3] [--ad]\n"
        "               ZONEFILE...\n"
        "\n"
        "fakedns: a signing authoritative DNSSEC server for tests (loopback only).\n"
        "Signs every zone at start, builds the chain of trust from a synthetic\n"
        "root, and answers over UDP and TCP on the same port (0 = a free one).\n"
        "  --listen ADDR:PORT   loopback address to serve on\n"
        "  --ta-file FILE       write the root's DS and DNSKEY (trust anchor) here\n"
        "  --log FILE           one line per query (default: stderr)\n"
        "  --algorithm ALG      signing algorithm (default ecdsap256)\n"
        "  --nsec3              deny with NSEC3 in every zone (per zone: ';@fakedns nsec3')\n"
        "  --ad                 also answer as a resolver: RA set, AD on validly signed data\n"
        "Failure modes are ';@fakedns MODE [name=NAME]' lines in zone files:\n"
        "  insecure bogus expired not-yet-valid missing-dnskey wrong-ds\n"
        "  servfail refused timeout delay=MS truncate   (docs/fakedns.md)\n"
        "and ';@fakedns nsec3' selects NSEC3 denial for that zone.\n";

int
main(int argc, char **argv)
{
	const char *listen_on = NULL, *ta_file = NULL, *log_file = NULL;
	enum sign_algorithm alg = SIGN_ALG_ECDSAP256;
	struct fd_zoneset set = { .n = 0 };
	struct server srv = { .udp = -1, .tcp = -1 };
	struct err e = { 0 };
	FILE *log = stderr;
	int i, nzones = 0, rc = 1;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("fakedns (refmta) %s\n", REFMTA_VERSION);
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-')
			break;
		if (strcmp(a, "--nsec3") == 0) {
			set.nsec3 = 1;
			continue;
		}
		if (strcmp(a, "--ad") == 0) {
			set.ad = 1;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "fakedns: %s wants an argument\n%s", a, usage);
			return 2;
		}
		if (strcmp(a, "--listen") == 0) {
			listen_on = argv[++i];
		} else if (strcmp(a, "--ta-file") == 0) {
			ta_file = argv[++i];
		} else if (strcmp(a, "--log") == 0) {
			log_file = argv[++i];
		} else if (strcmp(a, "--algorithm") == 0) {
			if (sign_algorithm_parse(argv[++i], &alg) != 0) {
				fprintf(stderr, "fakedns: unknown algorithm \"%s\"\n", argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "fakedns: unknown option \"%s\"\n%s", a, usage);
			return 2;
		}
	}
	if (listen_on == NULL || i == argc) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	for (; i < argc; i++, nzones++)
		if (zoneset_load_file(&set, argv[i], &e) != 0)
			goto out;
	if (zoneset_complete(&set, &e) != 0 || sign_zoneset(&set, alg, clock_now(), &e) != 0)
		goto out;
	if (ta_file != NULL && sign_write_trust_anchor(&set, ta_file, &e) != 0)
		goto out;
	if (log_file != NULL) {
		log = fopen(log_file, "a");
		if (log == NULL) {
			err_set(&e, 1, "%s: cannot open the log", log_file);
			log = stderr;
			goto out;
		}
	}
	if (server_open(&srv, listen_on, &e) != 0)
		goto out;
	printf("fakedns: listening on %s:%u (%d zone file%s, %zu zones signed)\n", srv.addr,
	       srv.port, nzones, nzones == 1 ? "" : "s", set.n);
	fflush(stdout);
	if (server_run(&srv, &set, log, &e) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "fakedns: %s\n", e.text);
	server_close(&srv);
	zoneset_free(&set);
	if (log != stderr)
		fclose(log);
	return rc;
}
