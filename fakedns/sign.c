/*
 * sign.c - generate keys and sign every zone with ldns (see sign.h).
 *
 * One combined key (flags 257) per zone.  The failure modes that live in
 * keys and signatures (insecure, bogus, expired, not-yet-valid,
 * missing-dnskey, wrong-ds) are made here and nowhere else; answer.c only
 * serves what this file produced.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "sign.h"

#define SIGN_HOUR 3600
#define SIGN_DAY (24 * SIGN_HOUR)

int
sign_algorithm_parse(const char *s, enum sign_algorithm *out)
{
	if (strcmp(s, "ecdsap256") == 0)
		*out = SIGN_ALG_ECDSAP256;
	else if (strcmp(s, "rsasha256") == 0)
		*out = SIGN_ALG_RSASHA256;
	else if (strcmp(s, "ed25519") == 0)
		*out = SIGN_ALG_ED25519;
	else
		return -1;
	return 0;
}

/* The validity window for a zone, from its directives. */
static void
validity(const struct fd_zone *z, time_t now, uint32_t *inception, uint32_t *expiration)
{
	if (directives_find(&z->dir, FD_MODE_EXPIRED, NULL) != NULL) {
		/* Two days: validators forgive up to a day of clock skew
		 * (unbound's val-sig-skew-max), so one day ago still validates. */
		*inception = (uint32_t)(now - 32 * SIGN_DAY);
		*expiration = (uint32_t)(now - 2 * SIGN_DAY);
	} else if (directives_find(&z->dir, FD_MODE_NOT_YET_VALID, NULL) != NULL) {
		*inception = (uint32_t)(now + 2 * SIGN_DAY);
		*expiration = (uint32_t)(now + 32 * SIGN_DAY);
	} else {
		*inception = (uint32_t)(now - SIGN_HOUR);
		*expiration = (uint32_t)(now + 30 * SIGN_DAY);
	}
}

/* Flip bits in the last octet of an RDATA field: still well-formed, no longer right. */
static void
corrupt_rdf(ldns_rdf *rdf)
{
	if (rdf != NULL && ldns_rdf_size(rdf) > 0)
		ldns_rdf_data(rdf)[ldns_rdf_size(rdf) - 1] ^= 0x5a;
}

MUST_CHECK static int
zone_make_key(struct fd_zone *z, enum sign_algorithm alg, time_t now, struct err *e)
{
	ldns_signing_algorithm la = LDNS_SIGN_ECDSAP256SHA256;
	uint16_t bits = 256;
	ldns_key *k = NULL;
	uint32_t inception, expiration;

	if (alg == SIGN_ALG_RSASHA256) {
		la = LDNS_SIGN_RSASHA256;
		bits = 2048;
	} else if (alg == SIGN_ALG_ED25519) {
		la = LDNS_SIGN_ED25519;
	}
	k = ldns_key_new_frm_algorithm(la, bits);
	if (k == NULL)
		goto fail;
	ldns_key_set_flags(k, LDNS_KEY_ZONE_KEY | LDNS_KEY_SEP_KEY);
	ldns_key_set_pubkey_owner(k, ldns_rdf_clone(z->origin));
	validity(z, now, &inception, &expiration);
	ldns_key_set_inception(k, inception);
	ldns_key_set_expiration(k, expiration);
	z->dnskey = ldns_key2rr(k);
	if (z->dnskey == NULL)
		goto fail;
	ldns_rr_set_ttl(z->dnskey, 3600);
	ldns_key_set_keytag(k, ldns_calc_keytag(z->dnskey));
	z->keys = ldns_key_list_new();
	if (z->keys == NULL || !ldns_key_list_push_key(z->keys, k))
		goto fail;
	k = NULL;
	z->ds = ldns_key_rr2ds(z->dnskey, LDNS_SHA256);
	if (z->ds == NULL)
		goto fail;
	ldns_rr_set_ttl(z->ds, 3600);
	if (directives_find(&z->dir, FD_MODE_WRONG_DS, NULL) != NULL)
		corrupt_rdf(ldns_rr_rdf(z->ds, 3));
	return 0;
fail:
	if (k != NULL)
		ldns_key_deep_free(k);
	err_set(e, 1, "zone %s: cannot make a signing key", z->name);
	return -1;
}

MUST_CHECK static int
push_clone(ldns_rr_list *list, const ldns_rr *rr, struct err *e)
{
	ldns_rr *copy = ldns_rr_clone(rr);

	if (copy == NULL || !ldns_rr_list_push_rr(list, copy)) {
		ldns_rr_free(copy);
		err_set(e, 1, "out of memory");
		return -1;
	}
	return 0;
}

/* Corrupt the RRSIGs of a zone (bogus zone-wide) or of one owner name. */
static void
apply_bogus(struct fd_zone *z)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		char *owner;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG)
			continue;
		owner = ldns_rdf2str(ldns_rr_owner(rr));
		if (owner != NULL && directives_find(&z->dir, FD_MODE_BOGUS, owner) != NULL)
			corrupt_rdf(ldns_rr_rdf(rr, 8));
		free(owner);
	}
}

MUST_CHECK static int
zone_sign(struct fd_zone *z, struct err *e)
{
	ldns_zone *in = NULL, *out = NULL;
	ldns_rr_list *signed_rrs = NULL;
	int rc = -1;

	in = ldns_zone_new();
	if (in == NULL)
		goto oom;
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (i == 0) { /* zone_new() callers put the SOA first */
			ldns_rr *soa = ldns_rr_clone(rr);

			if (soa == NULL)
				goto oom;
			ldns_zone_set_soa(in, soa);
			continue;
		}
		if (push_clone(ldns_zone_rrs(in), rr, e) != 0)
			goto out;
	}
	if (directives_find(&z->dir, FD_MODE_MISSING_DNSKEY, NULL) == NULL &&
	    push_clone(ldns_zone_rrs(in), z->dnskey, e) != 0)
		goto out;
	/* RFC 9276 3.1: SHA-1, no extra iterations, no salt, no opt-out */
	if (z->nsec3)
		out = ldns_zone_sign_nsec3(in, z->keys, LDNS_SHA1, 0, 0, 0, NULL);
	else
		out = ldns_zone_sign(in, z->keys);
	if (out == NULL) {
		err_set(e, 1, "zone %s: ldns could not sign it", z->name);
		goto out;
	}
	signed_rrs = ldns_rr_list_new();
	if (signed_rrs == NULL)
		goto oom;
	if (ldns_zone_soa(out) != NULL && push_clone(signed_rrs, ldns_zone_soa(out), e) != 0)
		goto out;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(out)); i++)
		if (push_clone(signed_rrs, ldns_rr_list_rr(ldns_zone_rrs(out), i), e) != 0)
			goto out;
	ldns_rr_list_deep_free(z->rrs);
	z->rrs = signed_rrs;
	signed_rrs = NULL;
	apply_bogus(z);
	rc = 0;
	goto out;
oom:
	err_set(e, 1, "out of memory");
out:
	if (signed_rrs != NULL)
		ldns_rr_list_deep_free(signed_rrs);
	if (out != NULL)
		ldns_zone_deep_free(out);
	if (in != NULL)
		ldns_zone_deep_free(in);
	return rc;
}

int
sign_zoneset(struct fd_zoneset *set, enum sign_algorithm alg, time_t now, struct err *e)
{
	for (size_t i = 0; i < set->n; i++) {
		struct fd_zone *z = set->zones[i];

		z->nsec3 = set->nsec3 || directives_find(&z->dir, FD_MODE_NSEC3, NULL) != NULL;
		if (zone_make_key(z, alg, now, e) != 0)
			return -1;
	}
	/* RFC 4035 2.4: the parent publishes the DS of a signed child */
	for (size_t i = 0; i < set->n; i++) {
		struct fd_zone *z = set->zones[i];

		if (z->parent == NULL || directives_find(&z->dir, FD_MODE_INSECURE, NULL) != NULL)
			continue;
		if (push_clone(z->parent->rrs, z->ds, e) != 0)
			return -1;
	}
	for (size_t i = 0; i < set->n; i++)
		if (zone_sign(set->zones[i], e) != 0)
			return -1;
	return 0;
}

int
sign_write_trust_anchor(const struct fd_zoneset *set, const char *path, struct err *e)
{
	const struct fd_zone *root = zoneset_get(set, ".");
	FILE *fp;

	if (root == NULL || root->ds == NULL) {
		err_set(e, 1, "no signed root zone");
		return -1;
	}
	fp = fopen(path, "w");
	if (fp == NULL) {
		err_set(e, 1, "%s: %s", path, strerror(errno));
		return -1;
	}
	ldns_rr_print(fp, root->ds);
	ldns_rr_print(fp, root->dnskey);
	if (fclose(fp) != 0) {
		err_set(e, 1, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
