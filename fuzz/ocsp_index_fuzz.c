/*
 * ocsp_index_fuzz.c - libFuzzer target for fakeocsp/ocsp_index.c: the
 * input is an OpenSSL `ca` database (index.txt) for ocsp_index_parse();
 * every entry is then looked up by its own serial (and must be found), a
 * serial from the input's first line is looked up, and the index freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct ocsp_index idx = { 0 };
	struct err e = { 0 };
	char first[64];

	if (ocsp_index_parse("fuzz.txt", text, size, &idx, &e) == 0) {
		for (size_t i = 0; i < idx.n; i++)
			if (ocsp_index_find(&idx, idx.entry[i].serial) == NULL)
				abort(); /* an entry it holds must be found */
		snprintf(first, sizeof first, "%.*s", (int)strcspn(text, "\n"), text);
		(void)ocsp_index_find(&idx, first);
		ocsp_index_free(&idx);
	}
	free(text);
	return 0;
}
