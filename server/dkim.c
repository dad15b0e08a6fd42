/*
 * dkim.c - DKIM verification (RFC 6376) over libopendkim, and the signing
 * the harness uses to make scenario messages (dkim.h).  The only file that
 * includes <opendkim/dkim.h> (ci/layering.txt).
 *
 * Keys are never fetched by libopendkim's own resolver: its key lookup
 * callback asks the caller's txtlookup_fn.  Time comes from the caller
 * (DKIM_OPTS_FIXEDTIME), so x= checks follow refmta's injectable clock.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <opendkim/dkim.h>

#include "dkim.h"

/* What the key callback needs; the DKIM handle's user context. */
struct keyctx {
	txtlookup_fn lookup;
	void *arg;
	struct strlist tempfail; /* key names whose lookup failed temporarily */
};

/* RFC 6376 3.6.2.1: the key is at SELECTOR._domainkey.DOMAIN. */
static DKIM_CBSTAT
key_lookup(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct keyctx *k = dkim_get_user_context(d);
	struct strlist recs = { 0 };
	char name[2 * DKIMV_NAME_MAX + 16];
	enum txtlookup_status st;
	DKIM_CBSTAT rc = DKIM_CBSTAT_NOTFOUND;

	if (k == NULL)
		return DKIM_CBSTAT_ERROR;
	snprintf(name, sizeof name, "%s._domainkey.%s", (const char *)dkim_sig_getselector(sig),
	         (const char *)dkim_sig_getdomain(sig));
	st = k->lookup(k->arg, name, &recs);
	if (st == TXTLOOKUP_TEMPFAIL) {
		/* RFC 6376 6.1.2: TEMPFAIL.  Not DKIM_CBSTAT_TRYAGAIN or
		 * _ERROR: after either libopendkim 2.11 refuses to list the
		 * signatures at all.  "Not found", remembered here, keeps the
		 * others verified; sig_outcome() makes it a temperror. */
		if (strlist_push(&k->tempfail, name) != 0)
			rc = DKIM_CBSTAT_NOTFOUND;
	} else if (st == TXTLOOKUP_FOUND) {
		/* RFC 6376 3.6.2.2: several records may come back; the first
		 * is used (libopendkim's own resolver does the same). */
		if (strlen(recs.v[0]) < buflen) {
			memcpy(buf, recs.v[0], strlen(recs.v[0]) + 1);
			rc = DKIM_CBSTAT_CONTINUE;
		} else {
			rc = DKIM_CBSTAT_ERROR;
		}
	}
	strlist_free(&recs);
	return rc;
}

static void
algo_name(DKIM_SIGINFO *sig, char *out, size_t len)
{
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	(void)dkim_sig_getsignalg(sig, &alg);
	snprintf(out, len, "%s",
	         alg == DKIM_SIGN_RSASHA1         ? "rsa-sha1"
	         : alg == DKIM_SIGN_RSASHA256     ? "rsa-sha256"
	         : alg == DKIM_SIGN_ED25519SHA256 ? "ed25519-sha256"
	                                          : "unknown");
}

/* One signature's outcome from libopendkim's flags and error code. */
static void
sig_outcome(DKIM *d, DKIM_SIGINFO *sig, const struct keyctx *k, struct dkimv_sig *o)
{
	unsigned flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig);
	int bh = dkim_sig_getbh(sig);
	ssize_t msglen = -1, canonlen = -1, signlen = -1;
	const char *s;

	s = (const char *)dkim_sig_getdomain(sig);
	snprintf(o->domain, sizeof o->domain, "%s", s != NULL ? s : "");
	s = (const char *)dkim_sig_getselector(sig);
	snprintf(o->selector, sizeof o->selector, "%s", s != NULL ? s : "");
	algo_name(sig, o->algo, sizeof o->algo);
	o->body_length = -1;
	if (dkim_sig_getcanonlen(d, sig, &msglen, &canonlen, &signlen) == DKIM_STAT_OK &&
	    signlen >= 0)
		o->body_length = (long)signlen;
	s = dkim_sig_geterrorstr(err);
	snprintf(o->detail, sizeof o->detail, "%s", s != NULL ? s : "unknown error");

	if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH) {
		o->status = DKIMV_PASS;
		o->reason = DKIMV_REASON_NONE;
		snprintf(o->detail, sizeof o->detail, "ok");
		return;
	}
	o->status = DKIMV_INVALID;
	switch (err) {
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_BADSIG:
		/* Processed: the header hash or the body hash did not match. */
		o->status = DKIMV_FAIL;
		o->reason = bh == DKIM_SIGBH_MISMATCH ? DKIMV_REASON_BODYHASH_MISMATCH
		                                      : DKIMV_REASON_SIGNATURE_INCORRECT;
		if (bh == DKIM_SIGBH_MISMATCH)
			snprintf(o->detail, sizeof o->detail, "body hash mismatch");
		break;
	case DKIM_SIGERROR_NOKEY:
		o->reason = DKIMV_REASON_PUBKEY_UNAVAILABLE;
		for (size_t i = 0; i < k->tempfail.n; i++) {
			char name[2 * DKIMV_NAME_MAX + 16];
			snprintf(name, sizeof name, "%s._domainkey.%s", o->selector, o->domain);
			if (strcmp(name, k->tempfail.v[i]) == 0) {
				o->temperror = 1; /* the lookup failed, not "no key" */
				snprintf(o->detail, sizeof o->detail,
				         "key lookup failed temporarily");
			}
		}
		break;
	case DKIM_SIGERROR_KEYFAIL:
		o->reason = DKIMV_REASON_PUBKEY_UNAVAILABLE;
		o->temperror = 1; /* RFC 6376 6.1.2: the key lookup failed temporarily */
		break;
	case DKIM_SIGERROR_EXPIRED:
		o->reason = DKIMV_REASON_SIGNATURE_EXPIRED;
		break;
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_MULTIREPLY:
	case DKIM_SIGERROR_KEYVERSION:
	case DKIM_SIGERROR_KEYUNKNOWNHASH:
	case DKIM_SIGERROR_KEYHASHMISMATCH:
	case DKIM_SIGERROR_NOTEMAILKEY:
	case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
	case DKIM_SIGERROR_KEYREVOKED:
	case DKIM_SIGERROR_KEYDECODE:
	case DKIM_SIGERROR_KEYTOOSMALL:
		o->reason = DKIMV_REASON_PUBKEY_SYNTAX;
		break;
	default:
		o->reason = DKIMV_REASON_SIGNATURE_SYNTAX;
		break;
	}
}

static DKIM_LIB *
lib_new(time_t now, struct err *e)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	uint64_t t = (uint64_t)now;
	unsigned flags = DKIM_LIBFLAGS_BADSIGHANDLES;

	if (lib == NULL) {
		err_set(e, DKIMV_ERR_LIB, "libopendkim: dkim_init failed");
		return NULL;
	}
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &t, sizeof t) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) !=
	            DKIM_STAT_OK) {
		err_set(e, DKIMV_ERR_LIB, "libopendkim: options refused");
		dkim_close(lib);
		return NULL;
	}
	return lib;
}

int
dkimv_verify(const char *msg, size_t len, txtlookup_fn lookup, void *arg, time_t now,
             struct dkimv_result *out, struct err *e)
{
	struct keyctx k = { lookup, arg, { 0 } };
	DKIM_LIB *lib;
	DKIM *d = NULL;
	DKIM_STAT st;
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0, rc = -1;

	memset(out, 0, sizeof *out);
	lib = lib_new(now, e);
	if (lib == NULL)
		return -1;
	if (dkim_set_key_lookup(lib, key_lookup) != DKIM_STAT_OK) {
		err_set(e, DKIMV_ERR_LIB, "libopendkim: cannot set the key lookup");
		goto out;
	}
	d = dkim_verify(lib, (const u_char *)"refmta", NULL, &st);
	if (d == NULL || dkim_set_user_context(d, &k) != DKIM_STAT_OK) {
		err_set(e, DKIMV_ERR_LIB, "libopendkim: dkim_verify failed (%d)", (int)st);
		goto out;
	}
	st = dkim_chunk(d, (u_char *)msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK || st == DKIM_STAT_NOSIG || st == DKIM_STAT_SYNTAX)
		(void)dkim_eom(d, NULL); /* outcomes are per signature, read below */
	if (dkim_getsiglist(d, &sigs, &nsigs) != DKIM_STAT_OK || nsigs <= 0) {
		rc = 0; /* no signature: status none */
		goto out;
	}
	out->sigs = calloc((size_t)nsigs, sizeof *out->sigs);
	if (out->sigs == NULL) {
		err_set(e, DKIMV_ERR_LIB, "out of memory");
		goto out;
	}
	for (int i = 0; i < nsigs; i++) {
		/* A signature libopendkim skipped (after a key lookup that asked
		 * to try again) is processed now, so each gets its own outcome. */
		if (!(dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_PROCESSED) &&
		    dkim_sig_geterror(sigs[i]) == DKIM_SIGERROR_UNKNOWN)
			(void)dkim_sig_process(d, sigs[i]);
		sig_outcome(d, sigs[i], &k, &out->sigs[out->n++]);
	}
	rc = 0;
out:
	if (d != NULL)
		dkim_free(d);
	dkim_close(lib);
	strlist_free(&k.tempfail);
	return rc;
}

void
dkimv_result_free(struct dkimv_result *r)
{
	if (r == NULL)
		return;
	free(r->sigs);
	memset(r, 0, sizeof *r);
}

const struct dkimv_sig *
dkimv_result_best(const struct dkimv_result *r)
{
	if (r == NULL || r->n == 0)
		return NULL;
	for (size_t i = 0; i < r->n; i++)
		if (r->sigs[i].status == DKIMV_PASS)
			return &r->sigs[i];
	return &r->sigs[0];
}

static const char *const status_words[] = { "none", "pass", "fail", "invalid" };

const char *
dkimv_status_word(enum dkimv_status s)
{
	return (unsigned)s < 4 ? status_words[s] : "invalid";
}

int
dkimv_status_parse(const char *word, enum dkimv_status *out)
{
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(word, status_words[i]) == 0) {
			*out = (enum dkimv_status)i;
			return 0;
		}
	return -1;
}

const char *
dkimv_reason_word(enum dkimv_reason r)
{
	static const char *const w[] = { "",
		                         "pubkey_unavailable",
		                         "pubkey_syntax",
		                         "bodyhash_mismatch",
		                         "signature_incorrect",
		                         "signature_syntax",
		                         "signature_expired" };

	return (unsigned)r < sizeof w / sizeof w[0] ? w[r] : "";
}

/* RFC 8601 2.7.1 and RFC 6376 6.1: a missing key or bad key record is
 * permerror, a key lookup that failed temporarily temperror, a signature
 * with bad tags or expired neutral (RFC 6376 6.1.1: PERMFAIL, "ignore"). */
const char *
dkimv_authres_word(const struct dkimv_sig *s)
{
	switch (s->status) {
	case DKIMV_PASS:
		return "pass";
	case DKIMV_FAIL:
		return "fail";
	case DKIMV_NONE:
		return "none";
	case DKIMV_INVALID:
		break;
	}
	if (s->temperror)
		return "temperror";
	if (s->reason == DKIMV_REASON_PUBKEY_UNAVAILABLE || s->reason == DKIMV_REASON_PUBKEY_SYNTAX)
		return "permerror";
	return "neutral";
}

void
dkimv_authres_append(struct buf *b, const struct dkimv_result *r)
{
	if (r == NULL || r->n == 0) {
		buf_adds(b, "; dkim=none");
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct dkimv_sig *s = &r->sigs[i];
		buf_addf(b, "; dkim=%s", dkimv_authres_word(s));
		if (s->status != DKIMV_PASS)
			buf_addf(b, " (%s)", s->detail);
		buf_addf(b, " header.d=%s header.s=%s header.a=%s", s->domain, s->selector,
		         s->algo);
	}
}

int
dkimv_has_ed25519(void)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	int yes = lib != NULL && dkim_libfeature(lib, DKIM_FEATURE_ED25519);

	if (lib != NULL)
		dkim_close(lib);
	return yes;
}

static dkim_alg_t
sign_alg(const char *name)
{
	if (name == NULL || strcmp(name, "rsa-sha256") == 0)
		return DKIM_SIGN_RSASHA256;
	if (strcmp(name, "rsa-sha1") == 0)
		return DKIM_SIGN_RSASHA1;
	if (strcmp(name, "ed25519-sha256") == 0)
		return DKIM_SIGN_ED25519SHA256;
	return DKIM_SIGN_UNKNOWN;
}

/* Signing options: which headers, l=, and t= / x= (negative x= offsets
 * move t= back so that x= lies in the past and t= < x= still holds). */
static int
sign_setopts(DKIM_LIB *lib, const struct dkimv_sign_opts *o)
{
	static const char *hdrs[] = { "from", "to", "subject", "date", "message-id", NULL };
	uint64_t t = (uint64_t)o->now, ttl = 0;
	unsigned flags = o->body_length ? DKIM_LIBFLAGS_SIGNLEN : 0;

	if (o->expire_after > 0) {
		ttl = (uint64_t)o->expire_after;
	} else if (o->expire_after < 0) {
		ttl = 3600;
		t = (uint64_t)(o->now + o->expire_after - 3600);
	}
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &t, sizeof t) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, hdrs, sizeof(char **)) !=
	            DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) !=
	            DKIM_STAT_OK)
		return -1;
	if (ttl != 0 && dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL, &ttl,
	                             sizeof ttl) != DKIM_STAT_OK)
		return -1;
	return 0;
}

char *
dkimv_sign(const char *msg, size_t len, const struct dkimv_sign_opts *o, struct err *e)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM *d = NULL;
	DKIM_STAT st = DKIM_STAT_OK;
	char hdr[4096], *res = NULL;
	dkim_alg_t alg = sign_alg(o->algo);

	if (lib == NULL || alg == DKIM_SIGN_UNKNOWN || sign_setopts(lib, o) != 0) {
		err_set(e, DKIMV_ERR_LIB, "libopendkim: cannot sign with %s",
		        o->algo ? o->algo : "rsa-sha256");
		goto out;
	}
	d = dkim_sign(lib, (const u_char *)"refmta", NULL, (const dkim_sigkey_t)o->key_pem,
	              (const u_char *)o->selector, (const u_char *)o->domain, DKIM_CANON_RELAXED,
	              DKIM_CANON_RELAXED, alg, -1, &st);
	if (d == NULL) {
		err_set(e, DKIMV_ERR_LIB, "libopendkim: dkim_sign failed (%d)", (int)st);
		goto out;
	}
	(void)dkim_set_margin(d, 0); /* one line: no folding to undo */
	st = dkim_chunk(d, (u_char *)msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	if (st == DKIM_STAT_OK)
		st = dkim_getsighdr(d, (u_char *)hdr, sizeof hdr, strlen(DKIM_SIGNHEADER) + 2);
	if (st != DKIM_STAT_OK) {
		err_set(e, DKIMV_ERR_LIB, "libopendkim: signing failed: %s",
		        dkim_geterror(d) ? dkim_geterror(d) : "unknown error");
		goto out;
	}
	if (asprintf(&res, "%s: %s\r\n", DKIM_SIGNHEADER, hdr) < 0) {
		res = NULL;
		err_set(e, DKIMV_ERR_LIB, "out of memory");
	}
out:
	if (d != NULL)
		dkim_free(d);
	if (lib != NULL)
		dkim_close(lib);
	return res;
}
