/*
 * fakedns_zone_fuzz.c - libFuzzer target for fakedns's zone loading: the
 * input is a master file with ";@fakedns" directives (fakedns/zone.c,
 * fakedns/directives.c).  Each line goes through directive_parse_line();
 * then the file through zoneset_load_file() (directives, then ldns's
 * parser), zoneset_complete() (the root and the missing parents, with
 * their delegations) and zoneset_free().  Signing is left to the
 * fakedns_query target, which signs once: per input it would cost more
 * than the parse.  Inputs over 64 KiB are skipped (no parser needs them).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directives.h"
#include "fuzz_util.h"
#include "zone.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * libldns 1.8's ldns_zone_new_frm_fp_l() leaks the records read so far when
 * it meets a parse error (it frees the half-built zone with the shallow
 * ldns_zone_free(); reproduced with a plain program calling it alone).
 * libldns has no frame pointers, so the leak's stack ends inside it and
 * only the library's name can be matched: in this target alone, leaks of
 * memory that libldns allocated are not reported (fakedns_query still
 * reports them).
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libldns.so\n";
}

static char path[128];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof path, "%s/zone", fuzz_dir_make("fakedns_zone"));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fd_zoneset set = { .n = 0 };
	struct err e = { 0 };
	char *text, *line, *nl;

	if (size > 64 * 1024)
		return 0;
	text = fuzz_strndup(data, size);
	for (line = text; line != NULL; line = nl) {
		struct fd_directive d;

		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (directive_parse_line(line, &d, &e) == FD_PARSE_ERROR && e.text[0] == '\0')
			abort(); /* an error always says what */
		memset(&e, 0, sizeof e);
	}
	free(text);
	fuzz_write_file(path, data, size);
	if (zoneset_load_file(&set, path, &e) == 0 && zoneset_complete(&set, &e) == 0) {
		for (size_t i = 0; i < set.n; i++)
			if (zoneset_find(&set, set.zones[i]->name) == NULL)
				abort(); /* every zone is found by its own name */
	}
	zoneset_free(&set);
	return 0;
}
