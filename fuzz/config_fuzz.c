/*
 * config_fuzz.c - libFuzzer target: the bytes are a refmta configuration
 * file for config_load() (then config_free()).  The file lives in a
 * private temporary directory made once (fuzz_dir_make()), so relative
 * paths in it resolve there; config_load() only checks that paths are readable (access(R_OK)) and
 * writes nothing (docs/fuzz.md).  A config that loads then goes through
 * delivery_config_load() (retry_rule, every transport block, the router
 * blocks with their route_list, as a queue run reads them), and a few
 * addresses are routed with a DNS that answers NXDOMAIN to everything.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "deliver.h"
#include "err.h"
#include "fuzz_util.h"
#include "router.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[128];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* On tmpfs when there is one: 60 times the executions of /tmp on ext4. */
	snprintf(path, sizeof path, "%s/refmta.conf", fuzz_dir_make("config"));
	return 0;
}

static int
no_dns(void *arg, const char *name, enum resolver_type type, struct resolver_answer *out,
       struct err *e)
{
	(void)arg;
	(void)name;
	(void)type;
	(void)e;
	memset(out, 0, sizeof *out);
	out->status = RESOLVER_NXDOMAIN;
	return 0;
}

/* What a queue run reads of the configuration, then a few routes. */
static void
delivery_check(const struct config *cfg)
{
	static const char *const addrs[] = { "user@partner.test", "a@b.partner.test",
		                             "x@example.test", "postmaster", "y@[127.0.0.1]" };
	struct delivery_config dc;
	struct err e = { 0 };

	if (delivery_config_load(cfg, &dc, &e) == 0) {
		struct router_ctx ctx = { .cfg = cfg, .routers = &dc.routers, .lookup = no_dns };

		for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
			struct route r = { 0 };
			if (route_address(&ctx, addrs[i], &r) != 0)
				abort(); /* only out of memory */
			route_free(&r);
		}
	}
	delivery_config_free(&dc);
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
	if (config_load(path, &cfg, &e) == 0) {
		delivery_check(cfg);
		config_free(cfg);
	} else if (cfg != NULL)
		abort(); /* config.h: NULL on failure */
	return 0;
}
