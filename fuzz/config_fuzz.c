/*
 * config_fuzz.c - libFuzzer target: the bytes are a refmta configuration
 * file for config_load() (then config_free()).  The file lives in a private
 * temporary directory made once, so relative paths in it resolve there;
 * config_load() only checks that paths are readable (access(R_OK)) and
 * writes nothing (docs/fuzz.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/refmta_config_fuzz.XXXXXX";
static char path[sizeof dir + 32];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL) {
		perror("config_fuzz: mkdtemp");
		abort();
	}
	snprintf(path, sizeof path, "%s/refmta.conf", dir);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	struct err e = { 0 };
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	if (fclose(fp) != 0)
		abort();
	if (config_load(path, &cfg, &e) == 0)
		config_free(cfg);
	else if (cfg != NULL)
		abort(); /* config.h: NULL on failure */
	return 0;
}
