/*
 * expand_cmd.c - `refmta [-c FILE] expand 'STRING' [NAME=VALUE...]`, like
 * `exim -be`: expand one string with the variables given, the lookups the
 * configuration sets up (redis_servers, dns_server), and print the result.
 * For users testing a configuration's strings and for teaching.
 *
 * Exit 0 with the result on stdout; 1 with "Failed: forced failure ..."
 * or "Error: at offset N: ..." on stderr; 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "expand.h"
#include "expand_cmd.h"

struct cmd_vars {
	char **argv;
	int argc;
};

/* NAME=VALUE arguments: the last one of a name wins. */
static const char *
cmd_var(void *arg, const char *name)
{
	const struct cmd_vars *v = arg;
	size_t n = strlen(name);

	for (int i = v->argc - 1; i >= 0; i--)
		if (strncmp(v->argv[i], name, n) == 0 && v->argv[i][n] == '=')
			return v->argv[i] + n + 1;
	return NULL;
}

int
expand_cmd(const struct config *cfg, int argc, char **argv)
{
	struct expand_store acl_c = { 0 }, acl_m = { 0 };
	struct cmd_vars vars = { argv + 1, argc - 1 };
	/* ${acl{NAME}} runs the configuration's "acl NAME:" blocks with the same variables. */
	struct acl_env aenv = {
		.vars = { .var = cmd_var, .arg = &vars, .acl_c = &acl_c, .acl_m = &acl_m },
		.cfg = cfg
	};
	struct expand_env env = aenv.vars;
	char why[600], *out = NULL;
	int rc;

	if (argc < 1) {
		fprintf(stderr, "usage: refmta [-c FILE] expand 'STRING' [NAME=VALUE...]\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i] ||
		    strspn(argv[i], "abcdefghijklmnopqrstuvwxyz0123456789_") !=
		            (size_t)(eq - argv[i])) {
			fprintf(stderr,
			        "refmta: expand: \"%s\": expected NAME=VALUE (NAME: [a-z0-9_])\n",
			        argv[i]);
			return 2;
		}
	}
	if (cfg != NULL) {
		env.acl = acl_expand_run;
		env.acl_arg = &aenv;
	}
	rc = expand_eval(argv[0], &env, &out, why, sizeof why);
	if (rc == EXPAND_OK)
		printf("%s\n", out);
	else
		fprintf(stderr, "%s: %s\n", rc == EXPAND_FAIL ? "Failed" : "Error", why);
	free(out);
	expand_store_clear(&acl_c);
	expand_store_clear(&acl_m);
	return rc == EXPAND_OK ? 0 : 1;
}
