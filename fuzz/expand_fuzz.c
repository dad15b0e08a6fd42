/*
 * expand_fuzz.c - libFuzzer target for the expansion language
 * (server/expand*.c): the whole input is one template, expanded with a few
 * variables, $acl_c/$acl_m stores and a fake ${acl} runner, then parsed
 * by expand_check().  Properties: expand_eval() keeps expand.h's contract
 * (a string exactly when EXPAND_OK, a reason otherwise) and a refused
 * check says why; no crash, leak or hang on any input.  Redis and DNS
 * lookups are disabled; lsearch and lmdb read the files named.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expand.h"
#include "fuzz_util.h"
#include "lookup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
var(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "n") == 0)
		return "42";
	if (strcmp(name, "s") == 0)
		return "${if eq{a}{a}{x}}"; /* a value: never expanded again */
	if (strcmp(name, "ip") == 0)
		return "192.0.2.1";
	return NULL;
}

static int
fake_acl(void *arg, const char *name, const char *const *args, size_t nargs, char **out, char *why,
         size_t whylen)
{
	(void)arg, (void)args;
	if (nargs > 0) {
		*out = strdup(name);
		return *out != NULL ? EXPAND_OK : EXPAND_ERROR;
	}
	strncpy(why, "no such ACL", whylen - 1);
	why[whylen - 1] = '\0';
	return EXPAND_ERROR;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct expand_store c = { 0 }, m = { 0 };
	struct expand_env env = { .var = var, .acl_c = &c, .acl_m = &m, .acl = fake_acl };
	char why[600], *tmpl, *out = NULL;
	int st;

	if (size > 8 * 1024)
		return 0;
	lookup_disable_network();
	tmpl = fuzz_strndup(data, size);
	why[0] = '\0';
	st = expand_eval(tmpl, &env, &out, why, sizeof why);
	if ((st == EXPAND_OK) != (out != NULL) || (st != EXPAND_OK && why[0] == '\0') ||
	    (st != EXPAND_OK && st != EXPAND_FAIL && st != EXPAND_ERROR))
		abort();
	free(out);
	why[0] = '\0';
	if (expand_check(tmpl, why, sizeof why) != 0 && why[0] == '\0')
		abort();
	free(tmpl);
	return 0;
}
