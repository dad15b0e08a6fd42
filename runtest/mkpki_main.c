/*
 * mkpki_main.c - bin/mkpki: mint the test PKI into a directory.
 *
 *   bin/mkpki --out DIR [--now EPOCH]
 *
 * All the work is in lib/pki.c; this file parses the command line and
 * reports.  Exit 0 on success, 1 on failure, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"
#include "pki.h"

#define VERSION "mkpki (refmta) 0.1"

static void
usage(FILE *f)
{
	fprintf(f, "usage: mkpki --out DIR [--now EPOCH]\n"
	           "       mkpki --help | --version\n"
	           "Mint the refmta test PKI into DIR (created if missing); validity\n"
	           "times are relative to EPOCH (default: the current time).\n"
	           "The files are described in docs/pki.md.\n");
}

/* Parse a decimal epoch; 0 on success. */
static int
parse_epoch(const char *s, time_t *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	*out = (time_t)v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "now", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	time_t now = 0;
	int have_now = 0;
	int nfiles = 0;
	struct err e = { 0 };
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			if (parse_epoch(optarg, &now) < 0) {
				fprintf(stderr,
				        "mkpki: --now wants seconds since the epoch, not '%s'\n",
				        optarg);
				return 2;
			}
			have_now = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s\n", VERSION);
			return 0;
		default:
			fprintf(stderr, "mkpki: unknown or incomplete option '%s'\n",
			        argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mkpki: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (out == NULL) {
		fprintf(stderr, "mkpki: --out DIR is required\n");
		usage(stderr);
		return 2;
	}
	if (!have_now)
		now = time(NULL);
	if (pki_mint_count(out, now, &nfiles, &e) < 0) {
		fprintf(stderr, "mkpki: %s\n", e.text);
		return 1;
	}
	printf("mkpki: minted %d files in %s\n", nfiles, out);
	return 0;
}
