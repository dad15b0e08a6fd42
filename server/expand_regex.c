/*
 * expand_regex.c - regular expressions for the expansion language
 * (${if match}, ${sg}) through PCRE2, the library Exim uses; the one owner
 * of libpcre2 (ci/layering.txt).
 *
 * Matching is bounded (match and depth limits), so a pathological pattern
 * applied to a client's text is an expansion error, never a stuck worker.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

#include "expand_regex.h"

#define XRE_MAX_LEN 4096
#define XRE_MATCH_LIMIT 1000000u
#define XRE_DEPTH_LIMIT 10000u

struct xre {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

struct xre *
xre_compile(const char *re, size_t len, char *why, size_t whylen)
{
	struct xre *r;
	int err;
	PCRE2_SIZE off;

	if (len > XRE_MAX_LEN) {
		snprintf(why, whylen, "regular expression longer than %d octets", XRE_MAX_LEN);
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	r->code = pcre2_compile((PCRE2_SPTR)re, len, 0, &err, &off, NULL);
	if (r->code == NULL) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(err, msg, sizeof msg);
		snprintf(why, whylen, "bad regular expression \"%.*s\" at character %zu: %s",
		         (int)(len > 100 ? 100 : len), re, (size_t)off, (char *)msg);
		free(r);
		return NULL;
	}
	r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
	r->mc = pcre2_match_context_create(NULL);
	if (r->md == NULL || r->mc == NULL) {
		snprintf(why, whylen, "out of memory");
		xre_free(r);
		return NULL;
	}
	pcre2_set_match_limit(r->mc, XRE_MATCH_LIMIT);
	pcre2_set_depth_limit(r->mc, XRE_DEPTH_LIMIT);
	return r;
}

int
xre_match(struct xre *r, const char *subj, size_t len, size_t start, size_t *ovec, size_t nvec,
          size_t *npairs, char *why, size_t whylen)
{
	PCRE2_SIZE *ov;
	uint32_t n;
	int rc = pcre2_match(r->code, (PCRE2_SPTR)subj, len, start, 0, r->md, r->mc);

	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(rc, msg, sizeof msg);
		snprintf(why, whylen, "regular expression match failed: %s", (char *)msg);
		return -1;
	}
	ov = pcre2_get_ovector_pointer(r->md);
	n = pcre2_get_ovector_count(r->md);
	if (rc > 0 && (uint32_t)rc < n)
		n = (uint32_t)rc; /* pairs past the last set one are unset */
	*npairs = 0;
	for (uint32_t i = 0; i < n && 2 * i + 1 < nvec; i++) {
		int unset = ov[2 * i] == PCRE2_UNSET;
		ovec[2 * i] = unset ? 0 : ov[2 * i];
		ovec[2 * i + 1] = unset ? 0 : ov[2 * i + 1];
		*npairs = i + 1;
	}
	return 1;
}

void
xre_free(struct xre *r)
{
	if (r == NULL)
		return;
	pcre2_match_data_free(r->md);
	pcre2_match_context_free(r->mc);
	pcre2_code_free(r->code);
	free(r);
}
