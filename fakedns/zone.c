/*
 * zone.c - load master files with ldns and complete the tree of zones up to
 * a synthetic root (see zone.h).
 *
 * Never signs (sign.c does) and never answers (answer.c does).  Every
 * synthesised zone is minimal: SOA, NS, and an A record for its server name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "zone.h"

#define FD_DEFAULT_TTL 3600

static struct fd_zone *
zone_new(const char *name)
{
	struct fd_zone *z = calloc(1, sizeof(*z));

	if (z == NULL)
		return NULL;
	snprintf(z->name, sizeof(z->name), "%s", name);
	z->origin = ldns_dname_new_frm_str(name);
	z->rrs = ldns_rr_list_new();
	if (z->origin == NULL || z->rrs == NULL) {
		ldns_rdf_deep_free(z->origin);
		ldns_rr_list_free(z->rrs);
		free(z);
		return NULL;
	}
	return z;
}

static void
zone_free(struct fd_zone *z)
{
	if (z == NULL)
		return;
	ldns_rdf_deep_free(z->origin);
	ldns_rr_list_deep_free(z->rrs);
	if (z->keys != NULL)
		ldns_key_list_free(z->keys);
	ldns_rr_free(z->dnskey);
	ldns_rr_free(z->ds);
	free(z);
}

void
zoneset_free(struct fd_zoneset *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		zone_free(set->zones[i]);
	set->n = 0;
}

struct fd_zone *
zoneset_get(const struct fd_zoneset *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (name_equal(set->zones[i]->name, name))
			return set->zones[i];
	return NULL;
}

struct fd_zone *
zoneset_find(const struct fd_zoneset *set, const char *name)
{
	struct fd_zone *best = NULL;

	for (size_t i = 0; i < set->n; i++) {
		struct fd_zone *z = set->zones[i];

		if (!name_is_at_or_below(name, z->name))
			continue;
		if (best == NULL || name_label_count(z->name) > name_label_count(best->name))
			best = z;
	}
	return best;
}

MUST_CHECK static int
zoneset_add(struct fd_zoneset *set, struct fd_zone *z, struct err *e)
{
	if (set->n == FD_ZONES_MAX) {
		err_set(e, 1, "more than %d zones", FD_ZONES_MAX);
		return -1;
	}
	set->zones[set->n++] = z;
	return 0;
}

int
zoneset_load_file(struct fd_zoneset *set, const char *path, struct err *e)
{
	FILE *fp = NULL;
	ldns_zone *lz = NULL;
	struct fd_zone *z = NULL;
	ldns_status s;
	int line = 0, rc = -1; /* ldns counts the newlines it has read */
	char *owner = NULL;
	char name[FD_NAME_MAX];
	struct fd_directives dir;

	if (directives_read_file(path, &dir, e) != 0)
		goto out;
	fp = fopen(path, "r");
	if (fp == NULL) {
		err_set(e, 1, "%s: %s", path, strerror(errno));
		goto out;
	}
	s = ldns_zone_new_frm_fp_l(&lz, fp, NULL, FD_DEFAULT_TTL, LDNS_RR_CLASS_IN, &line);
	if (s != LDNS_STATUS_OK) {
		err_set(e, 1, "%s:%d: %s", path, line, ldns_get_errorstr_by_id(s));
		goto out;
	}
	if (ldns_zone_soa(lz) == NULL) {
		err_set(e, 1, "%s:%d: no SOA record", path, line);
		goto out;
	}
	owner = ldns_rdf2str(ldns_rr_owner(ldns_zone_soa(lz)));
	if (owner == NULL || strlen(owner) >= sizeof(name)) {
		err_set(e, 1, "%s: bad SOA owner", path);
		goto out;
	}
	snprintf(name, sizeof(name), "%s", owner);
	if (name_normalise(name, sizeof(name)) != 0) {
		err_set(e, 1, "%s: bad SOA owner \"%s\"", path, owner);
		goto out;
	}
	if (zoneset_get(set, name) != NULL) {
		err_set(e, 1, "%s: zone %s loaded twice", path, name);
		goto out;
	}
	z = zone_new(name);
	if (z == NULL) {
		err_set(e, 1, "out of memory");
		goto out;
	}
	snprintf(z->file, sizeof(z->file), "%s", path);
	z->dir = dir;
	if (!ldns_rr_list_push_rr(z->rrs, ldns_rr_clone(ldns_zone_soa(lz))))
		goto oom;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(lz)); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_zone_rrs(lz), i);

		if (!ldns_dname_is_subdomain(ldns_rr_owner(rr), z->origin) &&
		    ldns_dname_compare(ldns_rr_owner(rr), z->origin) != 0) {
			char *o = ldns_rdf2str(ldns_rr_owner(rr));

			err_set(e, 1, "%s: %s is outside zone %s", path, o ? o : "?", name);
			free(o);
			goto out;
		}
		if (!ldns_rr_list_push_rr(z->rrs, ldns_rr_clone(rr)))
			goto oom;
	}
	if (zoneset_add(set, z, e) != 0)
		goto out;
	z = NULL;
	rc = 0;
	goto out;
oom:
	err_set(e, 1, "out of memory");
out:
	zone_free(z);
	free(owner);
	if (lz != NULL)
		ldns_zone_deep_free(lz);
	if (fp != NULL)
		fclose(fp);
	return rc;
}

/* Append the record written `text` to `list`.  0 ok, -1 error. */
MUST_CHECK static int
push_rr_str(ldns_rr_list *list, const char *text, struct err *e)
{
	ldns_rr *rr = NULL;
	ldns_status s = ldns_rr_new_frm_str(&rr, text, FD_DEFAULT_TTL, NULL, NULL);

	if (s != LDNS_STATUS_OK) {
		err_set(e, 1, "internal record \"%s\": %s", text, ldns_get_errorstr_by_id(s));
		return -1;
	}
	if (!ldns_rr_list_push_rr(list, rr)) {
		ldns_rr_free(rr);
		err_set(e, 1, "out of memory");
		return -1;
	}
	return 0;
}

/* A minimal zone: SOA, NS ns.<zone>, A 127.0.0.1 for it. */
MUST_CHECK static int
zone_synthesise(struct fd_zoneset *set, const char *name, struct err *e)
{
	struct fd_zone *z = zone_new(name);
	char ns[FD_NAME_MAX + 4], text[3 * FD_NAME_MAX];

	if (z == NULL) {
		err_set(e, 1, "out of memory");
		return -1;
	}
	snprintf(ns, sizeof(ns), "ns.%s", strcmp(name, ".") == 0 ? "" : name);
	snprintf(text, sizeof(text), "%s 3600 IN SOA %s hostmaster.%s 1 3600 600 86400 300", name,
	         ns, strcmp(name, ".") == 0 ? "" : name);
	if (push_rr_str(z->rrs, text, e) != 0)
		goto fail;
	snprintf(text, sizeof(text), "%s 3600 IN NS %s", name, ns);
	if (push_rr_str(z->rrs, text, e) != 0)
		goto fail;
	snprintf(text, sizeof(text), "%s 3600 IN A 127.0.0.1", ns);
	if (push_rr_str(z->rrs, text, e) != 0)
		goto fail;
	if (zoneset_add(set, z, e) != 0)
		goto fail;
	return 0;
fail:
	zone_free(z);
	return -1;
}

/* Copy the child's apex NS records into the parent: the delegation. */
MUST_CHECK static int
zone_delegate(struct fd_zone *parent, const struct fd_zone *child, struct err *e)
{
	/* a loaded parent may already delegate: keep its records */
	for (size_t i = 0; i < ldns_rr_list_rr_count(parent->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(parent->rrs, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    ldns_dname_compare(ldns_rr_owner(rr), child->origin) == 0)
			return 0;
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(child->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(child->rrs, i), *copy;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
		    ldns_dname_compare(ldns_rr_owner(rr), child->origin) != 0)
			continue;
		copy = ldns_rr_clone(rr);
		if (copy == NULL || !ldns_rr_list_push_rr(parent->rrs, copy)) {
			ldns_rr_free(copy);
			err_set(e, 1, "out of memory");
			return -1;
		}
	}
	return 0;
}

int
zoneset_complete(struct fd_zoneset *set, struct err *e)
{
	size_t loaded = set->n;

	if (zoneset_get(set, ".") == NULL && zone_synthesise(set, ".", e) != 0)
		return -1;
	/* every ancestor of every loaded zone; bounded by the label count */
	for (size_t i = 0; i < loaded; i++) {
		const char *p = set->zones[i]->name;

		while (strcmp(p, ".") != 0) {
			p = name_parent(p);
			if (zoneset_get(set, p) == NULL && zone_synthesise(set, p, e) != 0)
				return -1;
		}
	}
	for (size_t i = 0; i < set->n; i++) {
		struct fd_zone *z = set->zones[i];

		if (strcmp(z->name, ".") == 0)
			continue;
		z->parent = zoneset_get(set, name_parent(z->name));
		if (z->parent == NULL) {
			err_set(e, 1, "zone %s has no parent zone", z->name);
			return -1;
		}
		if (zone_delegate(z->parent, z, e) != 0)
			return -1;
	}
	return 0;
}
