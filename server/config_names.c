/*
 * config_names.c - the parts of the configuration that give names to text
 * (Exim spec 6.4 and 10.5): macros (an upper-case "NAME = value" line;
 * every later line has NAME replaced before it is parsed), named lists
 * ("hostlist NAME = ...", "domainlist", "addresslist", "localpartlist",
 * used as "+NAME" in a list of the same kind), and named ACLs ("acl NAME:"
 * blocks, run by ${acl{NAME}}).  Lists' values are kept as written and
 * expanded when used, as Exim does.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "buf.h"
#include "config.h"
#include "strlist.h"

static int
is_macro_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Replace every whole-word macro name in `line`; caller frees. */
static char *
substitute(const struct expand_store *m, const char *line)
{
	struct buf b = { 0 };

	buf_add(&b, "", 0);
	for (const char *p = line; *p != '\0';) {
		size_t best = 0, bi = 0;
		if (isupper((unsigned char)*p) && (p == line || !is_macro_char(p[-1]))) {
			for (size_t i = 0; i < m->n; i++) {
				size_t n = strlen(m->names[i]);
				if (n > best && strncmp(p, m->names[i], n) == 0 &&
				    !is_macro_char(p[n])) {
					best = n;
					bi = i;
				}
			}
		}
		if (best > 0) {
			buf_adds(&b, m->values[bi]);
			p += best;
		} else {
			buf_add(&b, p, 1);
			p++;
		}
	}
	return buf_take(&b);
}

int
config_macro_process(struct expand_store *m, const char *line, char **out, char *why, size_t whylen)
{
	const char *p = line, *name;
	char *value, *nm;
	size_t n;
	int rc;

	*out = NULL;
	while (isspace((unsigned char)*p))
		p++;
	name = p;
	if (p == line && isupper((unsigned char)*p)) {
		while (is_macro_char(*p))
			p++;
		n = (size_t)(p - name);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '=') { /* a definition: its value has earlier macros replaced */
			p++;
			while (isspace((unsigned char)*p))
				p++;
			nm = strndup(name, n);
			value = substitute(m, p);
			if (nm == NULL || value == NULL ||
			    (expand_store_get(m, nm) == NULL &&
			     expand_store_set(m, nm, value) != 0)) {
				rc = -1;
				snprintf(why, whylen, "out of memory");
			} else if (expand_store_get(m, nm) != NULL &&
			           strcmp(expand_store_get(m, nm), value) != 0) {
				rc = -1;
				snprintf(why, whylen, "macro %s defined twice", nm);
			} else {
				rc = 1;
			}
			free(nm);
			free(value);
			return rc;
		}
	}
	*out = substitute(m, line);
	if (*out == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

static const char *const list_kinds[] = { "hostlist", "domainlist", "addresslist",
	                                  "localpartlist" };

int
config_named_list_line(struct config *cfg, const char *text, int line, char *why, size_t whylen)
{
	size_t wlen = strcspn(text, " \t"), k;
	const char *name, *eq, *value;
	struct config_list *grown;
	char *nm;

	for (k = 0; k < 4; k++)
		if (strlen(list_kinds[k]) == wlen && strncmp(text, list_kinds[k], wlen) == 0)
			break;
	if (k == 4)
		return 0;
	name = text + wlen;
	while (isspace((unsigned char)*name))
		name++;
	eq = name;
	while (isalnum((unsigned char)*eq) || *eq == '_' || *eq == '-')
		eq++;
	nm = strndup(name, (size_t)(eq - name));
	while (isspace((unsigned char)*eq))
		eq++;
	if (nm == NULL || *nm == '\0' || *eq != '=') {
		snprintf(why, whylen, "%s: expected \"%s NAME = LIST\"", list_kinds[k],
		         list_kinds[k]);
		free(nm);
		return -1;
	}
	value = eq + 1;
	while (isspace((unsigned char)*value))
		value++;
	for (size_t i = 0; i < cfg->nlists; i++)
		if (strcmp(cfg->lists[i].name, nm) == 0) {
			snprintf(why, whylen, "duplicate named list \"%s\" (first on line %d)", nm,
			         cfg->lists[i].line);
			free(nm);
			return -1;
		}
	grown = realloc(cfg->lists, (cfg->nlists + 1) * sizeof *grown);
	if (grown == NULL) {
		free(nm);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	cfg->lists = grown;
	cfg->lists[cfg->nlists++] = (struct config_list){
		.kind = list_kinds[k], .name = nm, .value = strdup(value), .line = line
	};
	if (cfg->lists[cfg->nlists - 1].value == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 1;
}

const char *
config_named_list(const struct config *cfg, const char *kind, const char *name)
{
	for (size_t i = 0; cfg != NULL && i < cfg->nlists; i++)
		if (strcmp(cfg->lists[i].name, name) == 0 &&
		    (kind == NULL || strcmp(cfg->lists[i].kind, kind) == 0))
			return cfg->lists[i].value;
	return NULL;
}

const struct acl *
config_acl_find(const struct config *cfg, const char *name)
{
	const struct acl *fixed[] = { cfg->acl_smtp_connect, cfg->acl_smtp_helo, cfg->acl_smtp_mail,
		                      cfg->acl_smtp_rcpt, cfg->acl_smtp_data };

	for (size_t i = 0; i < cfg->nacls; i++)
		if (strcmp(cfg->acls[i]->name, name) == 0)
			return cfg->acls[i];
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (fixed[i] != NULL && strcmp(fixed[i]->name, name) == 0)
			return fixed[i];
	return NULL;
}

void
config_names_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlists; i++) {
		free(cfg->lists[i].name);
		free(cfg->lists[i].value);
	}
	free(cfg->lists);
	for (size_t i = 0; i < cfg->nacls; i++)
		acl_free(cfg->acls[i]);
	free(cfg->acls);
}

/* The kind of named list an ACL condition's items may name, or NULL. */
static const char *
kind_of(const char *condition)
{
	static const char *const map[][2] = {
		{ "hosts", "hostlist" },
		{ "domains", "domainlist" },
		{ "local_parts", "localpartlist" },
		{ "senders", "addresslist" },
		{ "recipients", "addresslist" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i][0], condition) == 0)
			return map[i][1];
	return NULL;
}

/* Every "+NAME" in `list` (when it has no "${": known only once expanded)
 * names a list of `kind`.  0, or -1 with why. */
static int
check_refs(const struct config *cfg, const char *kind, const char *list, char *why, size_t whylen)
{
	struct strlist l = { 0 };
	int rc = 0;

	if (strstr(list, "${") != NULL)
		return 0;
	if (strlist_split(&l, list) != 0) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		const char *it = l.v[i] + (l.v[i][0] == '!');
		it += strspn(it, " ");
		if (*it == '+' && config_named_list(cfg, kind, it + 1) == NULL) {
			snprintf(why, whylen, "no %s named \"%s\"", kind, it + 1);
			rc = -1;
		}
	}
	strlist_free(&l);
	return rc;
}

static int
check_acl_refs(const struct config *cfg, const struct acl *a, int *line, char *why, size_t whylen)
{
	for (size_t s = 0; a != NULL && s < a->nstmts; s++)
		for (size_t i = 0; i < a->stmts[s].nitems; i++) {
			const struct acl_item *it = &a->stmts[s].items[i];
			const char *kind = kind_of(it->name);
			char sub[200];
			if (kind != NULL &&
			    check_refs(cfg, kind, it->value, sub, sizeof sub) != 0) {
				*line = it->line;
				snprintf(why, whylen, "%s: %s", it->name, sub);
				return -1;
			}
		}
	return 0;
}

int
config_names_check(const struct config *cfg, int *line, char *why, size_t whylen)
{
	const struct acl *fixed[] = { cfg->acl_smtp_connect, cfg->acl_smtp_helo, cfg->acl_smtp_mail,
		                      cfg->acl_smtp_rcpt, cfg->acl_smtp_data };

	for (size_t i = 0; i < cfg->nlists; i++)
		if (check_refs(cfg, cfg->lists[i].kind, cfg->lists[i].value, why, whylen) != 0) {
			*line = cfg->lists[i].line;
			return -1;
		}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (check_acl_refs(cfg, fixed[i], line, why, whylen) != 0)
			return -1;
	for (size_t i = 0; i < cfg->nacls; i++)
		if (check_acl_refs(cfg, cfg->acls[i], line, why, whylen) != 0)
			return -1;
	return 0;
}
