/*
 * runtest_main.c - placeholder for bin/runtest: the scenario harness.
 *
 * Only --help and --version until its roadmap step (3) lands; anything
 * else exits with a clear message, never pretending to work.
 */
#include <stdio.h>
#include <string.h>

#include "version.h"

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("runtest (refmta) %s\n", REFMTA_VERSION);
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: runtest [options] [ID|PATH|FOLDER|KEYWORD ...]\n\nruntest: the scenario harness.\nNot built yet: roadmap step 3 (see docs/roadmap.md).\n");
		return 0;
	}
	fprintf(stderr, "runtest: not built yet (roadmap step 3); try --help\n");
	return 125;
}
