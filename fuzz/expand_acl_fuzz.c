/*
 * expand_acl_fuzz.c - libFuzzer target for the expansion and ACL
 * evaluation (server/expand.c, server/acl.c, server/acl_conditions.c).
 * Input lines:
 *   1    values, split at '|': sender, local part, domain, client address
 *        (each also a variable: $sender_address, $local_part, $domain,
 *        $sender_host_address; a missing one is "not known yet")
 *   2    a template for expand_eval(), with those variables (and without);
 *        property: OK gives a string, FAIL and ERROR give none and a reason
 *   3..  an ACL block's lines, as config_load() passes them: a line whose
 *        first word is a verb starts a statement, any other continues it.
 * When the ACL parses and passes acl_check(), it is evaluated with the
 * values, encrypted or not by the first octet's low bit, and the result
 * freed.  Property: the verdict is one of the four.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "expand.h"
#include "fuzz_util.h"
#include "lookup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NVALS 4

struct vals {
	const char *v[NVALS];
};

static const char *
var(void *arg, const char *name)
{
	static const char *const names[NVALS] = { "sender_address", "local_part", "domain",
		                                  "sender_host_address" };
	const struct vals *vs = arg;

	for (size_t i = 0; i < NVALS; i++)
		if (strcmp(name, names[i]) == 0)
			return vs->v[i];
	return NULL;
}

static char *
next_line(char **p)
{
	char *l = *p, *nl;

	if (l == NULL)
		return NULL;
	nl = strchr(l, '\n');
	if (nl != NULL)
		*nl++ = '\0';
	*p = nl;
	return l;
}

static int
is_verb(const char *l)
{
	static const char *const verbs[] = { "accept", "deny", "defer", "drop", "warn" };
	size_t wlen = strcspn(l, " \t");

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strlen(verbs[i]) == wlen && strncmp(verbs[i], l, wlen) == 0)
			return 1;
	return 0;
}

static void
run_acl(char *rest, struct vals *vs, int encrypted)
{
	struct acl *acl = calloc(1, sizeof *acl); /* acl_free() frees it */
	struct err e = { 0 };
	struct acl_env env = { 0 };
	struct acl_result res = { 0 };
	char *l;
	int line = 3, rc = 0;
	enum acl_verdict v;

	if (acl == NULL || (acl->name = strdup("acl_smtp_rcpt")) == NULL)
		abort();
	while (rc == 0 && (l = next_line(&rest)) != NULL) {
		l += strspn(l, " \t");
		if (*l == '\0')
			continue;
		rc = is_verb(l) ? acl_parse_verb_line(acl, l, line, &e)
		                : acl_parse_continuation(acl, l, line, &e);
		line++;
	}
	if (rc == 0 && acl_check(acl, &e) == 0) {
		env.vars.var = var;
		env.vars.arg = vs;
		env.sender = vs->v[0];
		env.local_part = vs->v[1];
		env.domain = vs->v[2];
		env.host_address = vs->v[3];
		env.recipient = vs->v[1] != NULL && vs->v[2] != NULL ? "rcpt@example.test" : NULL;
		env.encrypted = encrypted;
		v = acl_eval(acl, ACL_DENY, &env, &res);
		if (v != ACL_ACCEPT && v != ACL_DENY && v != ACL_DEFER && v != ACL_DROP)
			abort();
		acl_result_free(&res);
	}
	acl_free(acl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *rest, *l, *t;
	struct vals vs = { { NULL } };
	struct expand_env env = { .var = var, .arg = &vs };
	char *out;

	if (size < 1 || size > 16 * 1024)
		return 0;
	lookup_disable_network(); /* no Redis or DNS servers from a fuzzer */
	text = fuzz_strndup(data + 1, size - 1);
	rest = text;
	l = next_line(&rest);
	for (size_t i = 0; i < NVALS && l != NULL; i++) {
		char *bar = strchr(l, '|');
		if (bar != NULL)
			*bar = '\0';
		vs.v[i] = l;
		l = bar != NULL ? bar + 1 : NULL;
	}
	t = next_line(&rest);
	if (t != NULL) {
		char why[300];
		for (int k = 0; k < 2; k++) {
			why[0] = '\0';
			int st = expand_eval(t, k == 0 ? &env : NULL, &out, why, sizeof why);
			if ((st == EXPAND_OK) != (out != NULL) ||
			    (st != EXPAND_OK && why[0] == '\0') ||
			    (st != EXPAND_OK && st != EXPAND_FAIL && st != EXPAND_ERROR))
				abort(); /* expand.h's contract */
			free(out);
		}
	}
	run_acl(rest, &vs, data[0] & 1);
	free(text);
	return 0;
}
