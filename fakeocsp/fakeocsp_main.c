/*
 * fakeocsp_main.c - placeholder for bin/fakeocsp: an OCSP responder and staple minter for tests.
 *
 * Only --help and --version until its roadmap step (4) lands; anything
 * else exits with a clear message, never pretending to work.
 */
#include <stdio.h>
#include <string.h>

#include "version.h"

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("fakeocsp (refmta) %s\n", REFMTA_VERSION);
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: fakeocsp serve ... | fakeocsp mint ...\n\nfakeocsp: an OCSP responder and staple minter for tests.\nNot built yet: roadmap step 4 (see docs/roadmap.md).\n");
		return 0;
	}
	fprintf(stderr, "fakeocsp: not built yet (roadmap step 4); try --help\n");
	return 1;
}
