/*
 * spool_envelope_fuzz.c - libFuzzer target for the spool's envelope parser
 * (server/spool.c, docs/spool.md "Envelope file format"): the input is an
 * envelope file, written as input/fuzz-H in a private spool directory and
 * read back with spool_envelope_read() (so its id line must say "fuzz" to
 * get past the file-name check).  Property: an envelope that reads, written
 * out again with spool_envelope_text() and read back, gives the same text
 * (what the queue runner rewrites after a delivery attempt must survive
 * the next read unchanged).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "spool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char spool[128], hpath[192];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err e = { 0 };

	(void)argc;
	(void)argv;
	snprintf(spool, sizeof spool, "%s/spool", fuzz_dir_make("spool_envelope"));
	if (spool_init(spool, &e) != 0) {
		fprintf(stderr, "spool_envelope_fuzz: %s\n", e.text);
		abort();
	}
	snprintf(hpath, sizeof hpath, "%s/input/fuzz-H", spool);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env, again;
	struct err e = { 0 };
	char *text, *text2;

	fuzz_write_file(hpath, data, size);
	if (spool_envelope_read(spool, "fuzz", &env, &e) != 0) {
		envelope_free(&env);
		return 0;
	}
	text = spool_envelope_text(&env);
	envelope_free(&env);
	if (text == NULL)
		abort();
	fuzz_write_file(hpath, (const uint8_t *)text, strlen(text));
	if (spool_envelope_read(spool, "fuzz", &again, &e) != 0) {
		fprintf(stderr, "spool_envelope_fuzz: its own text does not read back: %s\n%s",
		        e.text, text);
		abort();
	}
	text2 = spool_envelope_text(&again);
	envelope_free(&again);
	if (text2 == NULL || strcmp(text, text2) != 0) {
		fprintf(stderr, "spool_envelope_fuzz: text changed on a second round:\n%s---\n%s",
		        text, text2 ? text2 : "(null)");
		abort();
	}
	free(text);
	free(text2);
	return 0;
}
