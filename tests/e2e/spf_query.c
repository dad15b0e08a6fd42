/*
 * spf_query.c - evaluate SPF cases through refmta's SPF module and its
 * resolver, for the RFC 7208 suite runner (tests/e2e/spf_suite.py): the
 * same code path as an SMTP session's check (server/spf.c over
 * lib/resolver), asking the DNS server given (fakedns serving the case's
 * zone data).
 *
 *   spf_query --dns ADDR@PORT --ta FILE [--explanation TEXT] [--receiver NAME]
 *
 * Reads cases from stdin, one per line, tab-separated:
 *   ID  CLIENT-IP  HELO  MAIL-FROM        (MAIL-FROM "" = the null sender)
 * and writes one line per case:
 *   ID  RESULT  EXPLANATION
 * Exit 0, or 2 on a usage or setup error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver.h"
#include "spf.h"

static int
usage(void)
{
	fprintf(stderr, "usage: spf_query --dns ADDR@PORT --ta FILE [--explanation TEXT] "
	                "[--receiver NAME]\n");
	return 2;
}

/* Split `line` at tabs into at most n fields; the count found. */
static size_t
split_tabs(char *line, char **f, size_t n)
{
	size_t k = 0;

	f[k++] = line;
	for (char *p = line; *p != '\0' && k < n; p++)
		if (*p == '\t') {
			*p = '\0';
			f[k++] = p + 1;
		}
	return k;
}

int
main(int argc, char **argv)
{
	const char *dns = NULL, *ta = NULL;
	struct spf_options o = { .receiver = "receiver.test", .explanation = NULL };
	struct err e = { 0 };
	struct resolver *r;
	struct spf_checker *c;
	char line[4096];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--dns") == 0)
			dns = argv[i + 1];
		else if (strcmp(argv[i], "--ta") == 0)
			ta = argv[i + 1];
		else if (strcmp(argv[i], "--explanation") == 0)
			o.explanation = argv[i + 1];
		else if (strcmp(argv[i], "--receiver") == 0)
			o.receiver = argv[i + 1];
		else
			return usage();
	}
	if (dns == NULL || ta == NULL || argc % 2 == 0)
		return usage();
	r = resolver_new(dns, ta, &e);
	if (r == NULL) {
		fprintf(stderr, "spf_query: %s\n", e.text);
		return 2;
	}
	c = spf_checker_new(r, &o, &e);
	if (c == NULL) {
		fprintf(stderr, "spf_query: %s\n", e.text);
		resolver_free(r);
		return 2;
	}
	while (fgets(line, sizeof line, stdin) != NULL) {
		char *f[4];
		struct spf_verdict v;

		line[strcspn(line, "\n")] = '\0';
		if (split_tabs(line, f, 4) != 4)
			continue;
		if (spf_check(c, f[1], f[2], f[3], SPF_ID_MAILFROM, 0, &v, &e) != 0) {
			printf("%s\terror\t%s\n", f[0], e.text);
		} else {
			printf("%s\t%s\t%s\n", f[0], spf_result_word(v.result), v.explanation);
			spf_verdict_free(&v);
		}
		fflush(stdout);
	}
	spf_checker_free(c);
	resolver_free(r);
	return 0;
}
