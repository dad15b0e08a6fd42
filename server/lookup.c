/*
 * lookup.c - the table of lookup types behind ${lookup} (lookup.h), and
 * lsearch, the plain-file lookup (Exim spec 9.3): a line starting with the
 * key (case-insensitive; "quoted" keys may hold blanks and colons), then a
 * colon or blanks, then the value; lines starting with white space
 * continue the value; "#" lines and empty lines are skipped.  iplsearch is
 * the same file format whose keys are IP addresses or CIDR networks (IPv6
 * ones quoted); the lookup key must be an IP address, and the first line
 * whose network holds it matches.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "lookup.h"
#include "match.h"

static int network_disabled;

void
lookup_disable_network(void)
{
	network_disabled = 1;
}

static enum lookup_result
disabled_find(const char *file, const char *key, char **value, char *why, size_t whylen)
{
	(void)file, (void)key;
	*value = NULL;
	snprintf(why, whylen, "network lookups are disabled");
	return LOOKUP_DEFER;
}

static const struct lookup_type types[] = {
	{ "lsearch", 0, lookup_lsearch_find }, { "iplsearch", 0, lookup_iplsearch_find },
	{ "lmdb", 0, lookup_lmdb_find },       { "redis", 1, lookup_redis_find },
	{ "dnsdb", 1, lookup_dnsdb_find },     { "spf", 0, lookup_spf_find },
};
static const struct lookup_type disabled[] = {
	{ "redis", 1, disabled_find },
	{ "dnsdb", 1, disabled_find },
	{ "spf", 0, disabled_find },
};

const struct lookup_type *
lookup_type_find(const char *name)
{
	for (size_t i = 0; network_disabled && i < sizeof disabled / sizeof disabled[0]; i++)
		if (strcmp(disabled[i].name, name) == 0)
			return &disabled[i];
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(types[i].name, name) == 0)
			return &types[i];
	return NULL;
}

const char *
lookup_type_names(void)
{
	return "lsearch, iplsearch, lmdb, redis, dnsdb, spf";
}

/* The key at the start of `line`: quoted or up to a colon or blank.  The
 * rest (after the separator) in *rest.  0, or -1 when no key. */
static int
lsearch_key(const char *line, struct buf *key, const char **rest)
{
	const char *p = line;

	buf_add(key, "", 0);
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			buf_add(key, p, 1);
		}
		if (*p == '"')
			p++;
	} else {
		const char *k = p;
		while (*p != '\0' && *p != ':' && !isspace((unsigned char)*p))
			p++;
		buf_add(key, k, (size_t)(p - k));
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p == ':')
		p++;
	while (isspace((unsigned char)*p))
		p++;
	*rest = p;
	return key->len > 0 ? 0 : -1;
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || isspace((unsigned char)s[n - 1])))
		s[--n] = '\0';
}

/* lsearch: the line's key is the lookup key, case-insensitively. */
static int
key_equal(const char *line_key, const char *key)
{
	return strcasecmp(line_key, key) == 0;
}

/* iplsearch: the line's key (an address or a CIDR network) holds the
 * lookup key's address; the "<;" list form lets IPv6 colons through. */
static int
key_holds(const char *line_key, const char *key)
{
	char item[300];

	if (strchr(line_key, ';') != NULL)
		return 0;
	snprintf(item, sizeof item, "<; %s", line_key);
	return match_host(item, key) == 1;
}

static enum lookup_result
lsearch_scan(const char *file, const char *key, int (*match)(const char *, const char *),
             char **value, char *why, size_t whylen)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	struct buf v = { 0 };
	int found = 0;
	enum lookup_result rc = LOOKUP_NOTFOUND;

	*value = NULL;
	if (f == NULL) {
		snprintf(why, whylen, "cannot open %s: %s", file, strerror(errno));
		return LOOKUP_DEFER;
	}
	while (getline(&line, &cap, f) >= 0) {
		int cont = isspace((unsigned char)line[0]);
		struct buf k = { 0 };
		const char *rest;
		chomp(line);
		if (found) {
			const char *t = line;
			if (!cont || line[0] == '\0')
				break;
			while (isspace((unsigned char)*t))
				t++;
			buf_adds(&v, " ");
			buf_adds(&v, t);
			continue;
		}
		if (cont || line[0] == '#' || line[0] == '\0')
			continue;
		if (lsearch_key(line, &k, &rest) == 0 && match(k.p, key)) {
			found = 1;
			buf_adds(&v, rest);
		}
		buf_free(&k);
	}
	if (ferror(f)) {
		snprintf(why, whylen, "read error on %s", file);
		rc = LOOKUP_DEFER;
	} else if (found) {
		*value = buf_take(&v);
		rc = *value != NULL ? LOOKUP_FOUND : LOOKUP_DEFER;
		if (rc == LOOKUP_DEFER)
			snprintf(why, whylen, "out of memory");
	}
	buf_free(&v);
	free(line);
	fclose(f);
	return rc;
}

enum lookup_result
lookup_lsearch_find(const char *file, const char *key, char **value, char *why, size_t whylen)
{
	return lsearch_scan(file, key, key_equal, value, why, whylen);
}

/* Exim spec 9.3 iplsearch: the key must be an IP address. */
enum lookup_result
lookup_iplsearch_find(const char *file, const char *key, char **value, char *why, size_t whylen)
{
	unsigned char a[16];

	*value = NULL;
	if (inet_pton(AF_INET, key, a) != 1 && inet_pton(AF_INET6, key, a) != 1) {
		snprintf(why, whylen, "\"%s\" is not an IP address", key);
		return LOOKUP_DEFER;
	}
	return lsearch_scan(file, key, key_holds, value, why, whylen);
}
