/*
 * strutil.c - string helpers (strutil.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "strutil.h"

enum str_num
str_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	int range = 0;

	if (n == 0)
		return STR_NUM_SYNTAX;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return STR_NUM_SYNTAX;
		unsigned d = (unsigned)(s[i] - '0');
		if (range || d > max || v > (max - d) / 10)
			range = 1; /* keep going: a later non-digit is still bad syntax */
		else
			v = v * 10 + d;
	}
	if (range)
		return STR_NUM_RANGE;
	*out = v;
	return STR_NUM_OK;
}

int
str_has_var_ref(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s != '$')
			continue;
		if (s[1] == '$') {
			s++;
			continue;
		}
		if ((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= '0' && s[1] <= '9') || s[1] == '_' ||
		    s[1] == '{')
			return 1;
	}
	return 0;
}

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
		case 'r':
			out[o++] = '\r';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'x': {
			unsigned v = 0;
			if (sscanf(in + i + 1, "%2x", &v) == 1)
				i += 2;
			out[o++] = (char)v;
			break;
		}
		default:
			out[o++] = in[i];
			break;
		}
	}
	return o;
}

size_t
str_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la > 63 || lb > 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof prev);
	}
	return prev[lb];
}

const char *
str_closest(const char *name, const char *const *cands, size_t n, size_t max)
{
	size_t best = SIZE_MAX;
	const char *found = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d = str_edit_distance(name, cands[i]);
		if (d < best) {
			best = d;
			found = cands[i];
		}
	}
	return best <= max ? found : NULL;
}
