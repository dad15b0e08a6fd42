/*
 * select.c - which scenarios a runtest command line names (select.h):
 * paths (files and folders, anywhere) and selectors (ids, slugs, folders
 * and keywords of ./scenarios), loaded and checked.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "select.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
find_scn(const char *dir, struct strlist *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			find_scn(path, out);
		else if (strlen(de->d_name) > 4 &&
		         strcmp(de->d_name + strlen(de->d_name) - 4, ".scn") == 0 &&
		         strlist_push(out, path) != 0)
			break; /* out of memory: fewer scenarios, and the count shows it */
	}
	closedir(d);
}

/*
 * Does scenario `s` match one selector?  An ID ("0007"), a slug
 * ("0007-pipelining-sync"), a folder of ./scenarios ("tls", "tls/",
 * "scenarios/tls") or a keyword of its "keywords:" line, each matched
 * whole: "tls" never selects "0005-starttls-again" by a part of its name.
 */
int
select_matches(const struct scenario *s, const char *sel)
{
	size_t n = strlen(sel);
	char folder[4096];

	if (strcmp(sel, s->id) == 0 || strcmp(sel, s->path) == 0 || strcmp(sel, s->slug) == 0)
		return 1;
	snprintf(folder, sizeof folder, "scenarios/%s", s->feature);
	while (n > 1 && sel[n - 1] == '/')
		n--;
	/* A folder: "scenarios/tls", "tls/" or "tls". */
	if ((strlen(folder) == n && strncmp(sel, folder, n) == 0) ||
	    (strlen(s->feature) == n && strncmp(sel, s->feature, n) == 0))
		return 1;
	for (const char *k = s->keywords; *k;) {
		size_t len = strcspn(k, " ");
		if (len == strlen(sel) && strncmp(k, sel, len) == 0)
			return 1;
		k += len;
		while (*k == ' ')
			k++;
	}
	return 0;
}

/*
 * Sort the arguments: an existing file or directory is a path (its
 * scenarios are run whatever their numbers), anything else a selector
 * against ./scenarios.  `files` gets the scenario files of the paths.
 * 0, or 2 (usage) for a file that is not a .scn.
 */
static int
sort_args(const struct strlist *args, struct strlist *files, struct strlist *sels)
{
	for (size_t i = 0; i < args->n; i++) {
		char path[4096];
		struct stat st;
		size_t n;

		snprintf(path, sizeof path, "%s", args->v[i]);
		n = strlen(path);
		while (n > 1 && path[n - 1] == '/')
			path[--n] = '\0';
		if (stat(path, &st) != 0) {
			if (strlist_push(sels, args->v[i]) != 0)
				return 2;
		} else if (S_ISDIR(st.st_mode)) {
			find_scn(path, files);
		} else if (n > 4 && strcmp(path + n - 4, ".scn") == 0) {
			if (strlist_push(files, path) != 0)
				return 2;
		} else {
			fprintf(stderr, "runtest: %s: not a scenario (NNNN-slug.scn) or a folder\n",
			        path);
			return 2;
		}
	}
	return 0;
}

/* Is `path` (a file that exists) already in `seen` (real paths)?  Adds it. */
static int
seen_before(struct strlist *seen, const char *path)
{
	char real[PATH_MAX];

	if (realpath(path, real) == NULL)
		return 0;
	for (size_t i = 0; i < seen->n; i++)
		if (strcmp(seen->v[i], real) == 0)
			return 1;
	if (strlist_push(seen, real) != 0)
		return 0; /* out of memory: at worst it is loaded twice, and refused as a duplicate
		           */
	return 0;
}

/*
 * Load the scenarios the arguments name: the files and folders given, and
 * ./scenarios when there are selectors or no arguments at all.  A broken
 * scenario, or two of one collection with the same number, is a usage
 * error (2), named by file:line.  *nwanted: how many of the first are
 * selected whatever the selectors say (the paths given).
 */
int
select_load(const struct strlist *args, struct strlist *sels, struct scenario ***out, size_t *n,
            size_t *nwanted)
{
	struct strlist files = { 0 }, tree = { 0 }, seen = { 0 };
	struct scenario **scns = NULL;
	struct err e = { 0 };
	int rc = sort_args(args, &files, sels);

	if (rc == 0 && (args->n == 0 || sels->n > 0))
		find_scn("scenarios", &tree);
	if (files.n > 1)
		qsort(files.v, files.n, sizeof *files.v, cmp_str);
	if (tree.n > 1)
		qsort(tree.v, tree.n, sizeof *tree.v, cmp_str);
	*n = 0;
	*nwanted = 0;
	if (rc == 0 && (scns = calloc(files.n + tree.n + 1, sizeof *scns)) == NULL)
		rc = 2;
	for (size_t i = 0; rc == 0 && i < files.n + tree.n; i++) {
		const char *path = i < files.n ? files.v[i] : tree.v[i - files.n];
		struct scenario *s;
		if (seen_before(&seen, path))
			continue;
		if (scenario_load(path, &s, &e) != 0) {
			fprintf(stderr, "runtest: %s\n", e.text);
			rc = 2;
			break;
		}
		for (size_t k = 0; k < *n && rc == 0; k++)
			if (strcmp(scns[k]->id, s->id) == 0 &&
			    strcmp(scns[k]->collection, s->collection) == 0) {
				fprintf(stderr, "runtest: %s and %s share the number %s\n",
				        scns[k]->path, s->path, s->id);
				scenario_free(s);
				rc = 2;
			}
		if (rc == 0)
			scns[(*n)++] = s;
		if (i < files.n)
			*nwanted = *n;
	}
	strlist_free(&files);
	strlist_free(&tree);
	strlist_free(&seen);
	*out = scns;
	return rc;
}
