/*
 * scenario.c - the scenario file parser (scenario.h).  It never runs
 * anything; it refuses what the runner could misread.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scenario.h"
#include "strutil.h"
#include "steps.h"

static void
text_sections_free(struct text_section *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].text);
	}
	free(v);
}

void
scenario_free(struct scenario *s)
{
	if (s == NULL)
		return;
	free(s->path);
	free(s->id);
	free(s->slug);
	free(s->feature);
	free(s->golden);
	free(s->collection);
	free(s->title);
	free(s->spec);
	free(s->keywords);
	free(s->client);
	free(s->backend_specific);
	strlist_free(&s->normalize);
	strlist_free(&s->certs);
	free(s->config);
	for (size_t i = 0; i < s->nsteps; i++) {
		free(s->steps[i].verb);
		free(s->steps[i].arg);
	}
	free(s->steps);
	for (size_t i = 0; i < s->npeers; i++) {
		free(s->peers[i].name);
		strlist_free(&s->peers[i].lines);
	}
	free(s->peers);
	text_sections_free(s->zones, s->nzones);
	text_sections_free(s->files, s->nfiles);
	text_sections_free(s->configs, s->nconfigs);
	text_sections_free(s->redis, s->nredis);
	text_sections_free(s->lmdbs, s->nlmdbs);
	free(s);
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * Where a scenario's golden is: in a collection laid out like the project's
 * (".../scenarios/F/NNNN-slug.scn") it is ".../golden/F/NNNN-slug.golden",
 * the last "scenarios" folder of the path read as "golden"; a scenario
 * outside any "scenarios" folder has its golden beside it
 * ("DIR/NNNN-slug.golden").  `collection` is the part before "scenarios/"
 * ("" for the project's own), or DIR.
 */
static int
golden_from_path(struct scenario *s, const char *path, const char *slug)
{
	const char *rest = NULL;
	const char *last_slash = strrchr(path, '/');

	for (const char *p = path; p != NULL && *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
		if (strncmp(p, "scenarios/", 10) == 0 && (p == path || p[-1] == '/') &&
		    strchr(p + 10, '/') != NULL)
			rest = p;
	if (rest != NULL) {
		size_t inner = (size_t)(last_slash - (rest + 10)); /* "F" or "F/G" */
		s->collection = strndup(path, (size_t)(rest - path));
		if (asprintf(&s->golden, "%.*sgolden/%.*s/%s.golden", (int)(rest - path), path,
		             (int)inner, rest + 10, slug) < 0)
			s->golden = NULL;
	} else {
		int dirlen = last_slash ? (int)(last_slash - path) : 1;
		const char *dir = last_slash ? path : ".";
		s->collection = strndup(dir, (size_t)dirlen);
		if (asprintf(&s->golden, "%.*s/%s.golden", dirlen, dir, slug) < 0)
			s->golden = NULL;
	}
	return s->golden != NULL && s->collection != NULL ? 0 : -1;
}

/* ".../<feature>/<NNNN>-<slug>.scn" -> id, slug, feature, golden path. */
static int
names_from_path(struct scenario *s, const char *path, struct err *e)
{
	char *copy = strdup(path), *copy2 = strdup(path);
	char *base, *dir, *dot;
	int rc = -1;

	if (copy == NULL || copy2 == NULL)
		goto out;
	base = basename(copy);
	dir = basename(dirname(copy2));
	dot = strrchr(base, '.');
	if (dot == NULL || strcmp(dot, ".scn") != 0 || strlen(base) < 9 || base[4] != '-' ||
	    !isdigit((unsigned char)base[0]) || !isdigit((unsigned char)base[1]) ||
	    !isdigit((unsigned char)base[2]) || !isdigit((unsigned char)base[3])) {
		err_set(e, 1, "%s: the file name must be NNNN-slug.scn", path);
		goto out;
	}
	*dot = '\0';
	s->slug = strdup(base);
	s->id = strndup(base, 4);
	s->feature = strdup(dir);
	rc = (s->slug && s->id && s->feature && golden_from_path(s, path, base) == 0) ? 0 : -1;
	if (rc != 0)
		err_set(e, 1, "out of memory");
out:
	free(copy);
	free(copy2);
	return rc;
}

static int
append(char **text, size_t *len, const char *line)
{
	size_t n = strlen(line);
	char *grown = realloc(*text, *len + n + 2);

	if (grown == NULL)
		return -1;
	memcpy(grown + *len, line, n);
	grown[*len + n] = '\n';
	grown[*len + n + 1] = '\0';
	*len += n + 1;
	*text = grown;
	return 0;
}

/* "greeting = ...", "tls = ...", "staple = ...", "address = ...", "on VERB = ..." */
static int
peer_line_valid(const char *l)
{
	const char *eq = strstr(l, " = ");

	if (eq == NULL)
		return 0;
	if (strncmp(l, "greeting ", 9) == 0 || strncmp(l, "tls ", 4) == 0 ||
	    strncmp(l, "staple ", 7) == 0 || strncmp(l, "tls-on-connect ", 15) == 0 ||
	    strncmp(l, "address ", 8) == 0 || strncmp(l, "port ", 5) == 0)
		return 1;
	/* "tickets = 0".."tickets = 8"; "tls-version = 1.2" or "1.3" */
	if (strncmp(l, "tickets = ", 10) == 0)
		return strlen(l + 10) == 1 && l[10] >= '0' && l[10] <= '8';
	/* "tls-groups = NAME..." (the TLS library checks the names) */
	if (strncmp(l, "tls-groups = ", 13) == 0)
		return l[13] != '\0';
	if (strncmp(l, "tls-version = ", 14) == 0)
		return strcmp(l + 14, "1.2") == 0 || strcmp(l + 14, "1.3") == 0;
	return strncmp(l, "on ", 3) == 0 && eq > l + 3;
}

/* The zone just added: a plain domain name, not given twice. */
static int
zone_name_check(const struct scenario *s, const char *path, int lineno, struct err *e)
{
	const char *name = s->zones[s->nzones - 1].name;
	size_t n = strlen(name);

	if (n == 0 || n > 253 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz"
	                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n) {
		err_set(e, 1, "%s:%d: [zone NAME]: NAME is a domain name such as partner.test",
		        path, lineno);
		return -1;
	}
	for (size_t i = 0; i + 1 < s->nzones; i++)
		if (strcasecmp(s->zones[i].name, name) == 0) {
			err_set(e, 1, "%s:%d: [zone %s] given twice (first on line %d)", path,
			        lineno, name, s->zones[i].line);
			return -1;
		}
	return 0;
}

/* "address = 127.0.0.N": a 127/8 IPv4 address no other peer has. */
static int
peer_address_check(const struct scenario *s, const char *addr, const char *path, int lineno,
                   struct err *e)
{
	struct in_addr in;
	const struct peer_spec *me = &s->peers[s->npeers - 1];

	if (inet_pton(AF_INET, addr, &in) != 1 || (ntohl(in.s_addr) >> 24) != 127 ||
	    (ntohl(in.s_addr) & 0xffffff) == 0 || (ntohl(in.s_addr) & 0xffffff) == 0xffffff) {
		err_set(e, 1,
		        "%s:%d: address: a loopback address 127.X.Y.Z (not .0.0.0 or "
		        ".255.255.255)",
		        path, lineno);
		return -1;
	}
	for (size_t i = 0; i < me->lines.n; i++)
		if (strncmp(me->lines.v[i], "address ", 8) == 0) {
			err_set(e, 1, "%s:%d: address given twice for peer %s", path, lineno,
			        me->name);
			return -1;
		}
	return 0;
}

/* "port = N": 1 to 65535, once per peer. */
static int
peer_port_check(const struct scenario *s, const char *value, const char *path, int lineno,
                struct err *e)
{
	const struct peer_spec *me = &s->peers[s->npeers - 1];
	uint64_t n;

	if (str_parse_u64(value, strlen(value), 65535, &n) != STR_NUM_OK || n == 0) {
		err_set(e, 1, "%s:%d: port: a number from 1 to 65535", path, lineno);
		return -1;
	}
	if (peer_spec_port(me) != 0) {
		err_set(e, 1, "%s:%d: port given twice for peer %s", path, lineno, me->name);
		return -1;
	}
	return 0;
}

unsigned
peer_spec_port(const struct peer_spec *p)
{
	for (size_t k = 0; k < p->lines.n; k++)
		if (strncmp(p->lines.v[k], "port = ", 7) == 0)
			return (unsigned)strtoul(p->lines.v[k] + 7, NULL, 10);
	return 0;
}

const char *
peer_spec_address(const struct peer_spec *p)
{
	for (size_t k = 0; k < p->lines.n; k++)
		if (strncmp(p->lines.v[k], "address = ", 10) == 0)
			return p->lines.v[k] + 10;
	return "127.0.0.1";
}

/* The parser's state between lines. */
struct parse {
	struct scenario *s;
	const char *path;
	int lineno;
	enum { HEADER, STEPS, PEER, TEXT } section;
	char **text; /* TEXT: the section's text ([config], [zone ...], ...) */
	size_t text_len;
	int have_config, have_steps;
};

const struct text_section *
scenario_section(const struct text_section *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Add a text section called `name` (taken) to *v; -1 when out of memory. */
static int
text_section_add(struct parse *ps, struct text_section **v, size_t *n, char *name)
{
	struct text_section *grown = realloc(*v, (*n + 1) * sizeof *grown);

	if (grown == NULL) {
		free(name);
		return -1;
	}
	*v = grown;
	grown[*n] = (struct text_section){ .name = name, .line = ps->lineno, .text = strdup("") };
	(*n)++;
	ps->text = &grown[*n - 1].text;
	ps->text_len = 0;
	return grown[*n - 1].text != NULL ? 0 : -1;
}

/* "[file NAME]" and "[config NAME]": NAME is a-z, 0-9, '.', '_', '-', once. */
static int
text_name_check(struct parse *ps, const struct text_section *v, size_t n, const char *kind,
                struct err *e)
{
	const char *name = v[n - 1].name;

	if (*name == '\0' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(name)) {
		err_set(e, 1, "%s:%d: [%s NAME]: NAME is made of a-z, 0-9, '.', '_' and '-'",
		        ps->path, ps->lineno, kind);
		return -1;
	}
	if (scenario_section(v, n - 1, name) != NULL) {
		err_set(e, 1, "%s:%d: [%s %s] given twice", ps->path, ps->lineno, kind, name);
		return -1;
	}
	return 0;
}

/* "[peer NAME]", "[zone NAME]", "[file NAME]" or "[config NAME]": a new
 * section.  0, or -1 with `e`. */
static int
parse_named_section(struct parse *ps, const char *line, struct err *e)
{
	struct scenario *s = ps->s;
	size_t skip = strchr(line, ' ') - line + 1;
	char *name = strndup(line + skip, strlen(line) - skip - 1);

	if (name == NULL)
		goto oom;
	if (strncmp(line, "[peer ", 6) == 0) {
		struct peer_spec *grown = realloc(s->peers, (s->npeers + 1) * sizeof *grown);
		if (grown == NULL)
			goto oom;
		s->peers = grown;
		s->peers[s->npeers++] = (struct peer_spec){ .name = name, .line = ps->lineno };
		ps->section = PEER;
		return 0;
	}
	ps->section = TEXT;
	if (strncmp(line, "[zone ", 6) == 0) {
		if (text_section_add(ps, &s->zones, &s->nzones, name) != 0)
			goto oom_taken;
		return zone_name_check(s, ps->path, ps->lineno, e);
	}
	if (strncmp(line, "[file ", 6) == 0) {
		if (text_section_add(ps, &s->files, &s->nfiles, name) != 0)
			goto oom_taken;
		return text_name_check(ps, s->files, s->nfiles, "file", e);
	}
	if (strncmp(line, "[redis ", 7) == 0) {
		if (text_section_add(ps, &s->redis, &s->nredis, name) != 0)
			goto oom_taken;
		return text_name_check(ps, s->redis, s->nredis, "redis", e);
	}
	if (strncmp(line, "[lmdb ", 6) == 0) {
		if (text_section_add(ps, &s->lmdbs, &s->nlmdbs, name) != 0)
			goto oom_taken;
		return text_name_check(ps, s->lmdbs, s->nlmdbs, "lmdb", e);
	}
	if (text_section_add(ps, &s->configs, &s->nconfigs, name) != 0)
		goto oom_taken;
	return text_name_check(ps, s->configs, s->nconfigs, "config", e);
oom:
	free(name);
oom_taken:
	err_set(e, 1, "%s: out of memory", ps->path);
	return -1;
}

/* A line of a [peer NAME] section. */
static int
parse_peer_line(struct parse *ps, const char *l, struct err *e)
{
	struct scenario *s = ps->s;

	if (!peer_line_valid(l)) {
		err_set(e, 1,
		        "%s:%d: a peer line is \"greeting = REPLY\", \"tls = CERT KEY\", "
		        "\"staple = FILE\", \"address = 127.0.0.N\", \"port = N\", \"tickets = "
		        "0-8\", "
		        "\"tls-version = 1.2|1.3\", \"tls-groups = NAME...\" or \"on VERB = [delay "
		        "MS] [ticket|key-update] REPLY|drop\"",
		        ps->path, ps->lineno);
		return -1;
	}
	if (strncmp(l, "address ", 8) == 0 &&
	    peer_address_check(s, strstr(l, " = ") + 3, ps->path, ps->lineno, e) != 0)
		return -1;
	if (strncmp(l, "port ", 5) == 0 &&
	    peer_port_check(s, strstr(l, " = ") + 3, ps->path, ps->lineno, e) != 0)
		return -1;
	if (strlist_push(&s->peers[s->npeers - 1].lines, l) != 0) {
		err_set(e, 1, "%s: out of memory", ps->path);
		return -1;
	}
	return 0;
}

/*
 * "cert: STEM KEY ISSUER [NAME...]": KEY rsa|ecdsa, ISSUER
 * inter|root|unrelated|self, NAMEs DNS names (a "*." label allowed).
 */
static int
cert_line_check(const struct scenario *s, const char *value, const char *path, int lineno,
                struct err *e)
{
	char stem[64] = "", key[16] = "", issuer[16] = "";
	int used = 0;

	if (sscanf(value, "%63s %15s %15s%n", stem, key, issuer, &used) != 3 ||
	    strspn(stem, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(stem) ||
	    (strcmp(key, "rsa") != 0 && strcmp(key, "ecdsa") != 0) ||
	    (strcmp(issuer, "inter") != 0 && strcmp(issuer, "root") != 0 &&
	     strcmp(issuer, "unrelated") != 0 && strcmp(issuer, "self") != 0)) {
		err_set(e, 1,
		        "%s:%d: cert: STEM rsa|ecdsa inter|root|unrelated|self [NAME...] "
		        "(STEM: a-z, 0-9 and -)",
		        path, lineno);
		return -1;
	}
	if (strspn(value + used,
	           " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.*") !=
	    strlen(value + used)) {
		err_set(e, 1, "%s:%d: cert: a NAME is a DNS name (letters, digits, '-', '.', '*')",
		        path, lineno);
		return -1;
	}
	int nnames = 0;
	for (const char *p = value + used; *p; p += strspn(p, " "))
		if (*p != ' ') {
			nnames++;
			p += strcspn(p, " ");
		}
	if (nnames > 32) {
		err_set(e, 1, "%s:%d: cert: at most 32 names", path, lineno);
		return -1;
	}
	for (size_t i = 0; i < s->certs.n; i++)
		if (strncmp(s->certs.v[i], stem, strlen(stem)) == 0 &&
		    s->certs.v[i][strlen(stem)] == ' ') {
			err_set(e, 1, "%s:%d: cert: %s given twice", path, lineno, stem);
			return -1;
		}
	return 0;
}

/* A "field: value" line of the header. */
static int
parse_header_line(struct parse *ps, char *l, struct err *e)
{
	struct scenario *s = ps->s;
	char *colon = strchr(l, ':');
	char *key, *value;

	if (colon == NULL) {
		err_set(e, 1, "%s:%d: expected \"field: value\" or a [config]/[steps] line",
		        ps->path, ps->lineno);
		return -1;
	}
	*colon = '\0';
	key = trim(l);
	value = trim(colon + 1);
	char **slot = strcmp(key, "title") == 0              ? &s->title
	              : strcmp(key, "spec") == 0             ? &s->spec
	              : strcmp(key, "keywords") == 0         ? &s->keywords
	              : strcmp(key, "client") == 0           ? &s->client
	              : strcmp(key, "backend-specific") == 0 ? &s->backend_specific
	                                                     : NULL;
	if (strcmp(key, "normalize") == 0) {
		if (strstr(value, " => ") == NULL) {
			err_set(e, 1, "%s:%d: normalize: expected \"REGEX => REPLACEMENT\"",
			        ps->path, ps->lineno);
			return -1;
		}
		return strlist_push(&s->normalize, value) == 0
		               ? 0
		               : (err_set(e, 1, "out of memory"), -1);
	}
	if (strcmp(key, "cert") == 0) {
		if (cert_line_check(s, value, ps->path, ps->lineno, e) != 0)
			return -1;
		return strlist_push(&s->certs, value) == 0 ? 0
		                                           : (err_set(e, 1, "out of memory"), -1);
	}
	if (strcmp(key, "timeout") == 0) {
		uint64_t secs;
		if (str_parse_u64(value, strlen(value), 600, &secs) != STR_NUM_OK || secs == 0) {
			err_set(e, 1, "%s:%d: timeout: 1 to 600 seconds", ps->path, ps->lineno);
			return -1;
		}
		s->timeout = (unsigned)secs;
		return 0;
	}
	if (slot == NULL) {
		err_set(e, 1, "%s:%d: unknown field \"%s\"", ps->path, ps->lineno, key);
		return -1;
	}
	if (*slot != NULL) {
		err_set(e, 1, "%s:%d: field \"%s\" given twice", ps->path, ps->lineno, key);
		return -1;
	}
	if ((*slot = strdup(value)) == NULL) {
		err_set(e, 1, "%s: out of memory", ps->path);
		return -1;
	}
	if (slot == &s->client && strcmp(value, "openssl") != 0 && strcmp(value, "gnutls") != 0) {
		err_set(e, 1, "%s:%d: client: openssl or gnutls", ps->path, ps->lineno);
		return -1;
	}
	return 0;
}

/* A line of [steps]: a verb from the table (steps.h) and its argument. */
static int
parse_step_line(struct parse *ps, const char *l, struct err *e)
{
	struct scenario *s = ps->s;
	const char *sp = l + strcspn(l, " \t");
	char *verb = strndup(l, (size_t)(sp - l));
	const struct step_verb *kind = verb ? step_verb_find(verb) : NULL;
	struct step *grown;

	if (verb != NULL && kind == NULL) {
		err_set(e, 1, "%s:%d: unknown step \"%s\"", ps->path, ps->lineno, verb);
		free(verb);
		return -1;
	}
	grown = verb ? realloc(s->steps, (s->nsteps + 1) * sizeof *grown) : NULL;
	if (grown == NULL) {
		free(verb);
		err_set(e, 1, "%s: out of memory", ps->path);
		return -1;
	}
	s->steps = grown;
	while (*sp == ' ' || *sp == '\t')
		sp++;
	s->steps[s->nsteps] =
	        (struct step){ .verb = verb, .kind = kind, .arg = strdup(sp), .line = ps->lineno };
	if (s->steps[s->nsteps++].arg == NULL) {
		err_set(e, 1, "%s: out of memory", ps->path);
		return -1;
	}
	return 0;
}

/* One line of the file, in whatever section it is. */
static int
parse_line(struct parse *ps, char *line, struct err *e)
{
	char *l;

	if (strcmp(line, "[config]") == 0) {
		ps->section = TEXT;
		ps->have_config = 1;
		ps->text = &ps->s->config;
		ps->text_len = ps->s->config ? strlen(ps->s->config) : 0;
		return 0;
	}
	if (strcmp(line, "[steps]") == 0) {
		ps->section = STEPS;
		ps->have_steps = 1;
		return 0;
	}
	if (strcmp(line, "[redis]") == 0) /* the default Redis server (run_services.c) */
		return parse_named_section(ps, "[redis default]", e);
	if ((strncmp(line, "[peer ", 6) == 0 || strncmp(line, "[zone ", 6) == 0 ||
	     strncmp(line, "[file ", 6) == 0 || strncmp(line, "[config ", 8) == 0 ||
	     strncmp(line, "[redis ", 7) == 0 || strncmp(line, "[lmdb ", 6) == 0) &&
	    line[strlen(line) - 1] == ']')
		return parse_named_section(ps, line, e);
	/* Verbatim, blank lines and comments too (zone: fakedns's line numbers
	 * then map back to this file). */
	if (ps->section == TEXT) {
		if (append(ps->text, &ps->text_len, line) == 0)
			return 0;
		err_set(e, 1, "%s: out of memory", ps->path);
		return -1;
	}
	l = trim(line);
	if (*l == '\0' || *l == '#')
		return 0;
	switch (ps->section) {
	case PEER:
		return parse_peer_line(ps, l, e);
	case HEADER:
		return parse_header_line(ps, l, e);
	default:
		return parse_step_line(ps, l, e);
	}
}

/* What can only be checked once the whole file is read. */
static int
scenario_validate(struct parse *ps, struct err *e)
{
	struct scenario *s = ps->s;
	const char *path = ps->path;

	if (s->title == NULL || s->spec == NULL) {
		err_set(e, 1, "%s: \"title:\" and \"spec:\" are required", path);
		return -1;
	}
	if (!ps->have_config || !ps->have_steps || s->nsteps == 0) {
		err_set(e, 1, "%s: a [config] section and a non-empty [steps] section are required",
		        path);
		return -1;
	}
	/* Peers without a port of their own share one, so each needs its own
	 * address; so do two with the same port. */
	for (size_t i = 0; i < s->npeers; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(peer_spec_address(&s->peers[i]),
			           peer_spec_address(&s->peers[k])) == 0 &&
			    peer_spec_port(&s->peers[i]) == peer_spec_port(&s->peers[k])) {
				err_set(e, 1,
				        "%s:%d: peers %s and %s both listen on %s (peers share one "
				        "port, so each needs its own \"address =\")",
				        path, s->peers[i].line, s->peers[k].name, s->peers[i].name,
				        peer_spec_address(&s->peers[i]));
				return -1;
			}
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step *st = &s->steps[i];
		struct err ce = { 0 };
		if (st->kind->check != NULL && st->kind->check(s, st->arg, &ce) != 0) {
			err_set(e, 1, "%s:%d: %s", path, st->line, ce.text);
			return -1;
		}
		if ((st->kind->flags & STEP_NEEDS_ZONES) && s->nzones == 0) {
			err_set(e, 1,
			        "%s:%d: %s needs at least one [zone NAME] section (it asks "
			        "the run's fakedns)",
			        path, st->line, st->verb);
			return -1;
		}
	}
	if ((s->keywords == NULL && (s->keywords = strdup("")) == NULL) ||
	    (s->config == NULL && (s->config = strdup("")) == NULL)) {
		err_set(e, 1, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

int
scenario_load(const char *path, struct scenario **out, struct err *e)
{
	struct parse ps = { .path = path, .section = HEADER };
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int rc = -1;

	ps.s = calloc(1, sizeof *ps.s);
	if (ps.s == NULL || f == NULL) {
		err_set(e, 1, "%s: cannot open", path);
		goto out;
	}
	ps.s->timeout = 30;
	if ((ps.s->path = strdup(path)) == NULL || names_from_path(ps.s, path, e) != 0)
		goto out;
	while (getline(&line, &cap, f) > 0) {
		ps.lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (parse_line(&ps, line, e) != 0)
			goto out;
	}
	rc = scenario_validate(&ps, e);
out:
	free(line);
	if (f != NULL)
		fclose(f);
	if (rc != 0) {
		scenario_free(ps.s);
		ps.s = NULL;
	}
	*out = ps.s;
	return rc;
}
