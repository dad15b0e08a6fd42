/*
 * names.c - presentation-format domain names (see names.h).
 *
 * Pure string logic: no ldns, no allocation; must never read past a name's
 * terminating NUL.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "names.h"

int
name_normalise(char *s, size_t size)
{
	size_t len = strlen(s);

	if (len == 0 || size < 2)
		return -1;
	for (size_t i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	if (strcmp(s, ".") == 0)
		return 0;
	if (s[0] == '.' || strstr(s, "..") != NULL)
		return -1;
	if (s[len - 1] != '.') {
		if (len + 2 > size || len + 1 >= FD_NAME_MAX)
			return -1;
		s[len] = '.';
		s[len + 1] = '\0';
	}
	return 0;
}

int
name_equal(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

int
name_is_at_or_below(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	if (strcmp(zone, ".") == 0)
		return 1;
	if (nl < zl)
		return 0;
	if (strcasecmp(name + nl - zl, zone) != 0)
		return 0;
	/* a label boundary: "xexample.test." is not below "example.test." */
	return nl == zl || name[nl - zl - 1] == '.';
}

int
name_label_count(const char *name)
{
	int n = 0;

	if (strcmp(name, ".") == 0 || name[0] == '\0')
		return 0;
	for (const char *p = name; *p != '\0'; p++)
		if (*p == '.')
			n++;
	return n;
}

const char *
name_parent(const char *name)
{
	const char *dot = strchr(name, '.');

	if (dot == NULL || dot[1] == '\0')
		return ".";
	return dot + 1;
}
