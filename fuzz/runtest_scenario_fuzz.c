/*
 * runtest_scenario_fuzz.c - libFuzzer target for runtest's scenario loader
 * and transcript writer: the input is a scenario file, loaded with
 * scenario_load() from a private scenarios/fuzz/0001-fuzz.scn; when it
 * loads, every input line goes into a transcript (transcript_add, with
 * the scenario's own "normalize" lines and a work directory to hide, and
 * transcript_add_raw), then everything is freed.  A declared
 * normalisation with an interval ("{") is not applied: scenarios are
 * written by the suite's authors, and glibc's regcomp() can be made to
 * exhaust memory with nested intervals (the same bound refmta's config
 * has is not worth having in the harness).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "scenario.h"
#include "transcript.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[160];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char d[140];

	(void)argc;
	(void)argv;
	snprintf(d, sizeof d, "%s/scenarios", fuzz_dir_make("runtest_scenario"));
	if (mkdir(d, 0700) != 0)
		abort();
	snprintf(d + strlen(d), sizeof d - strlen(d), "/fuzz");
	if (mkdir(d, 0700) != 0)
		abort();
	snprintf(path, sizeof path, "%s/0001-fuzz.scn", d);
	return 0;
}

static void
transcribe(const struct scenario *s, const uint8_t *data, size_t size)
{
	struct transcript t = { .workdir = fuzz_dir };
	char *text = fuzz_strndup(data, size), *line, *nl;

	t.normalize = &s->normalize;
	for (size_t i = 0; i < s->normalize.n; i++)
		if (strchr(s->normalize.v[i], '{') != NULL)
			t.normalize = NULL;
	for (line = text; line != NULL; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		transcript_add(&t, 'S', line);
	}
	transcript_add_raw(&t, 'C', (const char *)data, size < 4096 ? size : 4096);
	free(text);
	transcript_free(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario *s = NULL;
	struct err e = { 0 };

	if (size > 64 * 1024)
		return 0;
	fuzz_write_file(path, data, size);
	if (scenario_load(path, &s, &e) != 0) {
		if (s != NULL || e.text[0] == '\0')
			abort(); /* scenario.h: NULL and a message on failure */
		return 0;
	}
	transcribe(s, data, size);
	scenario_free(s);
	return 0;
}
