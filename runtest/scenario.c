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

static const char *const step_verbs[] = {
	"connect", "send", "raw", "expect", "starttls", "close", "wait-close",
	"sleep", "queue-run", "mail", "log", "repeat", "wait-log", "resolve",
};

int
scenario_step_known(const char *verb)
{
	for (size_t i = 0; i < sizeof step_verbs / sizeof step_verbs[0]; i++)
		if (strcmp(verb, step_verbs[i]) == 0)
			return 1;
	return 0;
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
	free(s->title);
	free(s->spec);
	free(s->keywords);
	free(s->client);
	free(s->backend_specific);
	strlist_free(&s->normalize);
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
	for (size_t i = 0; i < s->nzones; i++) {
		free(s->zones[i].name);
		free(s->zones[i].text);
	}
	free(s->zones);
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

/* "scenarios/<feature>/<NNNN>-<slug>.scn" -> id, slug, feature, golden path. */
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
	if (asprintf(&s->golden, "golden/%s/%s.golden", dir, base) < 0)
		s->golden = NULL;
	rc = (s->slug && s->id && s->feature && s->golden) ? 0 : -1;
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
	    strncmp(l, "address ", 8) == 0)
		return 1;
	return strncmp(l, "on ", 3) == 0 && eq > l + 3;
}

/* The zone just added: a plain domain name, not given twice. */
static int
zone_name_check(const struct scenario *s, const char *path, int lineno, struct err *e)
{
	const char *name = s->zones[s->nzones].name;
	size_t n = strlen(name);

	if (n == 0 || n > 253 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
	                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n) {
		err_set(e, 1, "%s:%d: [zone NAME]: NAME is a domain name such as partner.test",
		        path, lineno);
		return -1;
	}
	for (size_t i = 0; i < s->nzones; i++)
		if (strcasecmp(s->zones[i].name, name) == 0) {
			err_set(e, 1, "%s:%d: [zone %s] given twice (first on line %d)", path, lineno,
			        name, s->zones[i].line);
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
		err_set(e, 1, "%s:%d: address: a loopback address 127.X.Y.Z (not .0.0.0 or "
		        ".255.255.255)", path, lineno);
		return -1;
	}
	for (size_t i = 0; i < me->lines.n; i++)
		if (strncmp(me->lines.v[i], "address ", 8) == 0) {
			err_set(e, 1, "%s:%d: address given twice for peer %s", path, lineno, me->name);
			return -1;
		}
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

/* "resolve TYPE NAME" */
static int
resolve_check(const char *arg, const char *path, int lineno, struct err *e)
{
	static const char *const types[] = { "A", "AAAA", "MX", "TLSA", "TXT", "PTR" };
	char type[16] = "", name[512] = "", extra[8] = "";
	int n = sscanf(arg, "%15s %511s %7s", type, name, extra);

	for (size_t i = 0; n == 2 && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(type, types[i]) == 0)
			return 0;
	err_set(e, 1, "%s:%d: resolve TYPE NAME, TYPE one of A AAAA MX TLSA TXT PTR", path, lineno);
	return -1;
}

int
scenario_load(const char *path, struct scenario **out, struct err *e)
{
	struct scenario *s = calloc(1, sizeof *s);
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, config_len = 0;
	int lineno = 0, rc = -1;
	enum { HEADER, CONFIG, STEPS, PEER, ZONE } section = HEADER;
	size_t zone_len = 0;
	int have_config = 0, have_steps = 0;

	if (s == NULL || f == NULL) {
		err_set(e, 1, "%s: cannot open", path);
		goto out;
	}
	s->path = strdup(path);
	s->timeout = 30;
	if (names_from_path(s, path, e) != 0)
		goto out;
	while (getline(&line, &cap, f) > 0) {
		char *l;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "[config]") == 0) {
			section = CONFIG;
			have_config = 1;
			continue;
		}
		if (strcmp(line, "[steps]") == 0) {
			section = STEPS;
			have_steps = 1;
			continue;
		}
		if (strncmp(line, "[peer ", 6) == 0 && line[strlen(line) - 1] == ']') {
			struct peer_spec *grown = realloc(s->peers, (s->npeers + 1) * sizeof *grown);
			if (grown == NULL)
				goto oom;
			s->peers = grown;
			s->peers[s->npeers] = (struct peer_spec){
				.name = strndup(line + 6, strlen(line) - 7), .line = lineno };
			if (s->peers[s->npeers++].name == NULL)
				goto oom;
			section = PEER;
			continue;
		}
		if (strncmp(line, "[zone ", 6) == 0 && line[strlen(line) - 1] == ']') {
			struct zone_spec *grown = realloc(s->zones, (s->nzones + 1) * sizeof *grown);
			if (grown == NULL)
				goto oom;
			s->zones = grown;
			s->zones[s->nzones] = (struct zone_spec){
				.name = strndup(line + 6, strlen(line) - 7), .line = lineno };
			if (s->zones[s->nzones].name == NULL || (s->zones[s->nzones].text = strdup("")) == NULL) {
				s->nzones++;
				goto oom;
			}
			if (zone_name_check(s, path, lineno, e) != 0) {
				s->nzones++;
				goto out;
			}
			s->nzones++;
			zone_len = 0;
			section = ZONE;
			continue;
		}
		if (section == ZONE) {
			/* Verbatim, blank lines and comments too: fakedns's line numbers
			 * then map back to this file. */
			if (append(&s->zones[s->nzones - 1].text, &zone_len, line) != 0)
				goto oom;
			continue;
		}
		if (section == CONFIG) {
			if (append(&s->config, &config_len, line) != 0)
				goto oom;
			continue;
		}
		l = trim(line);
		if (*l == '\0' || *l == '#')
			continue;
		if (section == PEER) {
			if (!peer_line_valid(l)) {
				err_set(e, 1, "%s:%d: a peer line is \"greeting = REPLY\", \"tls = CERT KEY\", "
				        "\"staple = FILE\", \"address = 127.0.0.N\" or \"on VERB = [delay MS] REPLY|drop\"", path, lineno);
				goto out;
			}
			if (strncmp(l, "address ", 8) == 0 &&
			    peer_address_check(s, strstr(l, " = ") + 3, path, lineno, e) != 0)
				goto out;
			if (strlist_push(&s->peers[s->npeers - 1].lines, l) != 0)
				goto oom;
			continue;
		}
		if (section == HEADER) {
			char *colon = strchr(l, ':');
			char *key, *value;

			if (colon == NULL) {
				err_set(e, 1, "%s:%d: expected \"field: value\" or a [config]/[steps] line",
				        path, lineno);
				goto out;
			}
			*colon = '\0';
			key = trim(l);
			value = trim(colon + 1);
			char **slot = strcmp(key, "title") == 0      ? &s->title
			              : strcmp(key, "spec") == 0     ? &s->spec
			              : strcmp(key, "keywords") == 0 ? &s->keywords
			              : strcmp(key, "client") == 0   ? &s->client
			              : strcmp(key, "backend-specific") == 0 ? &s->backend_specific
			                                                     : NULL;
			if (strcmp(key, "normalize") == 0) {
				if (strstr(value, " => ") == NULL) {
					err_set(e, 1, "%s:%d: normalize: expected \"REGEX => REPLACEMENT\"",
					        path, lineno);
					goto out;
				}
				if (strlist_push(&s->normalize, value) != 0)
					goto oom;
				continue;
			}
			if (strcmp(key, "timeout") == 0) {
				s->timeout = (unsigned)strtoul(value, NULL, 10);
				if (s->timeout == 0 || s->timeout > 600) {
					err_set(e, 1, "%s:%d: timeout: 1 to 600 seconds", path, lineno);
					goto out;
				}
				continue;
			}
			if (slot == NULL) {
				err_set(e, 1, "%s:%d: unknown field \"%s\"", path, lineno, key);
				goto out;
			}
			if (*slot != NULL) {
				err_set(e, 1, "%s:%d: field \"%s\" given twice", path, lineno, key);
				goto out;
			}
			if ((*slot = strdup(value)) == NULL)
				goto oom;
			if (slot == &s->client && strcmp(value, "openssl") != 0 &&
			    strcmp(value, "gnutls") != 0) {
				err_set(e, 1, "%s:%d: client: openssl or gnutls", path, lineno);
				goto out;
			}
			continue;
		}
		/* STEPS */
		char *sp = l + strcspn(l, " \t");
		char *verb = strndup(l, (size_t)(sp - l));
		struct step *grown;

		if (verb == NULL)
			goto oom;
		if (!scenario_step_known(verb)) {
			err_set(e, 1, "%s:%d: unknown step \"%s\"", path, lineno, verb);
			free(verb);
			goto out;
		}
		if (strcmp(verb, "resolve") == 0 && resolve_check(sp, path, lineno, e) != 0) {
			free(verb);
			goto out;
		}
		grown = realloc(s->steps, (s->nsteps + 1) * sizeof *grown);
		if (grown == NULL) {
			free(verb);
			goto oom;
		}
		s->steps = grown;
		while (*sp == ' ' || *sp == '\t')
			sp++;
		s->steps[s->nsteps].verb = verb;
		s->steps[s->nsteps].arg = strdup(sp);
		s->steps[s->nsteps].line = lineno;
		if (s->steps[s->nsteps++].arg == NULL)
			goto oom;
	}
	if (s->title == NULL || s->spec == NULL) {
		err_set(e, 1, "%s: \"title:\" and \"spec:\" are required", path);
		goto out;
	}
	if (!have_config || !have_steps || s->nsteps == 0) {
		err_set(e, 1, "%s: a [config] section and a non-empty [steps] section are required",
		        path);
		goto out;
	}
	/* All peers share one port, so each needs its own address. */
	for (size_t i = 0; i < s->npeers; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(peer_spec_address(&s->peers[i]), peer_spec_address(&s->peers[k])) == 0) {
				err_set(e, 1, "%s:%d: peers %s and %s both listen on %s (peers share one "
				        "port, so each needs its own \"address =\")", path, s->peers[i].line,
				        s->peers[k].name, s->peers[i].name, peer_spec_address(&s->peers[i]));
				goto out;
			}
	for (size_t i = 0; i < s->nsteps; i++)
		if (strcmp(s->steps[i].verb, "resolve") == 0 && s->nzones == 0) {
			err_set(e, 1, "%s:%d: resolve needs at least one [zone NAME] section (it asks "
			        "the run's fakedns)", path, s->steps[i].line);
			goto out;
		}
	if (s->keywords == NULL && (s->keywords = strdup("")) == NULL)
		goto oom;
	if (s->config == NULL && (s->config = strdup("")) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	err_set(e, 1, "%s: out of memory", path);
out:
	free(line);
	if (f != NULL)
		fclose(f);
	if (rc != 0) {
		scenario_free(s);
		s = NULL;
	}
	*out = s;
	return rc;
}
