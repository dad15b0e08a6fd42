/*
 * strutil.c - string helpers (strutil.h).
 */
#include <stdio.h>
#include <strings.h>

#include "strutil.h"

int
str_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "1" };
	static const char *const no[] = { "no", "false", "0" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

size_t
str_unescape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; in[i] && o < outlen; i++) {
		if (in[i] != '\\' || in[i + 1] == '\0') {
			out[o++] = in[i];
			continue;
		}
		switch (in[++i]) {
		case 'r': out[o++] = '\r'; break;
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case 'x': {
			unsigned v = 0;
			if (sscanf(in + i + 1, "%2x", &v) == 1)
				i += 2;
			out[o++] = (char)v;
			break;
		}
		default: out[o++] = in[i]; break;
		}
	}
	return o;
}
