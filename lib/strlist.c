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

int
strlist_split(struct strlist *l, const char *list)
{
	size_t len, n = 0;
	char *item, sep = ':';

	/* Exim's "<;" form: a list that starts with "<" and a punctuation
	 * character is separated by that character ("<; ::1 ; 2001:db8::1",
	 * so IPv6 colons need no doubling).  Not "<>": the null sender. */
	while (isspace((unsigned char)*list))
		list++;
	if (list[0] == '<' && ispunct((unsigned char)list[1]) && list[1] != '>') {
		sep = list[1];
		list += 2;
	}
	len = strlen(list);
	item = malloc(len + 1);
	if (item == NULL)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && list[i] == sep && list[i + 1] == sep) {
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
