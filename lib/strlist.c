/*
 * strlist.c - growable lists of owned strings, and Exim-style list splitting.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "strlist.h"

int
strlist_push_owned(struct strlist *l, char *s)
{
	char **grown;

	if (s == NULL)
		return -1;
	grown = realloc(l->v, (l->n + 1) * sizeof *l->v);
	if (grown == NULL) {
		free(s);
		return -1;
	}
	l->v = grown;
	l->v[l->n++] = s;
	return 0;
}

int
strlist_push(struct strlist *l, const char *s)
{
	return strlist_push_owned(l, strdup(s));
}

/* Exim's separator change: a list that starts "<X" (X not alphanumeric,
 * blank or ">") is separated by X; "<\\n" written as two octets means
 * newline (Exim spec 6.21, "Changing list separators").  Returns the
 * separator and moves *list past the prefix. */
static char
list_separator(const char **list)
{
	const char *p = *list;

	while (isspace((unsigned char)*p))
		p++;
	if (p[0] != '<')
		return ':';
	if (p[1] == '\\' && p[2] == 'n') {
		*list = p + 3;
		return '\n';
	}
	if (p[1] != '\0' && (p[1] == '\n' || !isspace((unsigned char)p[1])) &&
	    !isalnum((unsigned char)p[1]) && p[1] != '>') { /* "<>": the null sender */
		*list = p + 2;
		return p[1];
	}
	return ':';
}

int
strlist_split(struct strlist *l, const char *list)
{
	char sep = list_separator(&list);
	size_t len = strlen(list);
	char *item = malloc(len + 1);
	size_t n = 0;

	if (item == NULL)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && list[i] == sep && list[i + 1] == sep && sep != '\n') {
			item[n++] = sep; /* "::" is a literal colon (IPv6) */
			i++;
			continue;
		}
		if (i < len && list[i] != sep) {
			item[n++] = list[i];
			continue;
		}
		/* End of one item: trim and keep it if non-empty. */
		size_t a = 0, b = n;
		while (a < b && isspace((unsigned char)item[a]))
			a++;
		while (b > a && isspace((unsigned char)item[b - 1]))
			b--;
		if (b > a) {
			char *copy = strndup(item + a, b - a);
			if (strlist_push_owned(l, copy) != 0) {
				free(item);
				return -1;
			}
		}
		n = 0;
	}
	free(item);
	return 0;
}

void
strlist_free(struct strlist *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
