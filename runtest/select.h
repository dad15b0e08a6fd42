/*
 * select.h - which scenarios a runtest command line names.
 *
 * An argument that exists as a file or folder is a path: its scenarios (a
 * folder is searched recursively for *.scn) run whatever their numbers,
 * from anywhere, so users run their own collections.  Anything else is a
 * selector against ./scenarios: an id, a slug, a folder or a keyword, each
 * matched whole.
 */
#ifndef RUNTEST_SELECT_H
#define RUNTEST_SELECT_H

#include <stddef.h>

#include "scenario.h"
#include "strlist.h"

/*
 * Load the scenarios `args` name into *out (caller frees each with
 * scenario_free() and the array with free()), *n of them, of which the
 * first *nwanted come from paths; the selectors among `args` are added to
 * `sels`.  ./scenarios is loaded when there are selectors or no arguments.
 * 0, or 2 (a usage error, already printed: a broken scenario as
 * file:line, two of one collection with the same number).
 */
int select_load(const struct strlist *args, struct strlist *sels, struct scenario ***out, size_t *n,
                size_t *nwanted) MUST_CHECK;

/* Does `s` match the selector `sel` (id, slug, folder or keyword, whole)? */
int select_matches(const struct scenario *s, const char *sel);

#endif
