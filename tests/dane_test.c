/*
 * dane_test.c - DANE matching (RFC 7672) through both TLS backends: the
 * usability rules (lib/tls_dane.c), and a corpus in the spirit of OpenSSL's
 * test/danetest.in made from the run's own PKI (tls_tlsa_make): every
 * DANE-TA(2) / DANE-EE(3) x selector x matching type case that matches,
 * ones that do not (wrong certificate, a flipped byte, a TA outside the
 * chain), the TA's name check against the reference identifiers and its
 * date check, the EE's absence of both.  Each case runs with each backend
 * as the client (the server is OpenSSL, then GnuTLS) and must give the same
 * verdict, usage and depth on both.  The same cases through
 * tls_dane_verify_chain() (no handshake) must agree with the handshake.
 *
 * test_danetest_in runs all 50 blocks of OpenSSL's test/danetest.in
 * (tests/data/danetest.in, Apache-2.0, its header kept) through both
 * backends' chain matching: every DANE-EE/DANE-TA block gives OpenSSL's
 * expected result and match depth (a name mismatch, 62, as a DANE-TA match
 * whose name check fails); blocks with only PKIX-TA(0)/PKIX-EE(1) records
 * are asserted unusable; the one block where RFC 7672 differs from
 * OpenSSL's test settings is listed with its reason.  The tally is printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include <cmocka.h>

#include "tls_pair.h"

#include "dane_chain.h"

/* One record of a case: made from certificate `depth` of PKI file `file`. */
struct rec_spec {
	uint8_t usage, selector, mtype;
	const char *file; /* NULL: end of list */
	unsigned depth;
	int flip; /* flip the last byte: a record that cannot match */
};

struct dane_case {
	const char *name;
	const char *server; /* the server's certificate stem */
	struct rec_spec recs[4];
	const char *names[3]; /* reference identifiers for DANE-TA's name check */
	int match;            /* expected: 1 DANE holds, 0 it does not */
	int usage, depth;     /* when it holds */
};

#define MX "mx.example.test"
static const struct dane_case cases[] = {
	/* DANE-EE(3): the leaf's certificate or key, every selector x matching type. */
	{ "3 0 0", "mx-rsa", { { 3, 0, 0, "mx-rsa.pem", 0, 0 } }, { MX }, 1, 3, 0 },
	{ "3 0 1", "mx-rsa", { { 3, 0, 1, "mx-rsa.pem", 0, 0 } }, { MX }, 1, 3, 0 },
	{ "3 0 2", "mx-rsa", { { 3, 0, 2, "mx-rsa.pem", 0, 0 } }, { MX }, 1, 3, 0 },
	{ "3 1 0", "mx-rsa", { { 3, 1, 0, "mx-rsa.pem", 0, 0 } }, { MX }, 1, 3, 0 },
	{ "3 1 1", "mx-ecdsa", { { 3, 1, 1, "mx-ecdsa.pem", 0, 0 } }, { MX }, 1, 3, 0 },
	{ "3 1 2", "mx-rsa", { { 3, 1, 2, "mx-rsa.pem", 0, 0 } }, { MX }, 1, 3, 0 },
	{ "3 1 1 other key", "mx-rsa", { { 3, 1, 1, "other-rsa.pem", 0, 0 } }, { MX }, 0, 0, 0 },
	{ "3 0 1 flipped", "mx-rsa", { { 3, 0, 1, "mx-rsa.pem", 0, 1 } }, { MX }, 0, 0, 0 },
	{ "3 1 2 flipped", "mx-rsa", { { 3, 1, 2, "mx-rsa.pem", 0, 1 } }, { MX }, 0, 0, 0 },
	{ "3 1 1 of the issuer", "mx-rsa", { { 3, 1, 1, "mx-rsa.pem", 1, 0 } }, { MX }, 0, 0, 0 },
	/* RFC 7672 3.1.1: neither names nor dates under DANE-EE. */
	{ "3 1 1 name mismatch",
	  "other-rsa",
	  { { 3, 1, 1, "other-rsa.pem", 0, 0 } },
	  { MX },
	  1,
	  3,
	  0 },
	{ "3 1 1 expired leaf", "expired", { { 3, 1, 1, "expired.pem", 0, 0 } }, { MX }, 1, 3, 0 },
	{ "3 0 0 self-signed",
	  "selfsigned",
	  { { 3, 0, 0, "selfsigned.pem", 0, 0 } },
	  { MX },
	  1,
	  3,
	  0 },
	/* DANE-TA(2): the intermediate the server sends, every selector x matching type. */
	{ "2 0 0", "mx-rsa", { { 2, 0, 0, "mx-rsa.pem", 1, 0 } }, { MX }, 1, 2, 1 },
	{ "2 0 1", "mx-rsa", { { 2, 0, 1, "mx-rsa.pem", 1, 0 } }, { MX }, 1, 2, 1 },
	{ "2 0 2", "mx-ecdsa", { { 2, 0, 2, "mx-ecdsa.pem", 1, 0 } }, { MX }, 1, 2, 1 },
	{ "2 1 0", "mx-rsa", { { 2, 1, 0, "mx-rsa.pem", 1, 0 } }, { MX }, 1, 2, 1 },
	{ "2 1 1", "mx-rsa", { { 2, 1, 1, "inter-ca.pem", 0, 0 } }, { MX }, 1, 2, 1 },
	{ "2 1 2", "mx-rsa", { { 2, 1, 2, "mx-rsa.pem", 1, 0 } }, { MX }, 1, 2, 1 },
	{ "2 0 1 flipped", "mx-rsa", { { 2, 0, 1, "mx-rsa.pem", 1, 1 } }, { MX }, 0, 0, 0 },
	{ "2 1 1 unrelated CA",
	  "mx-rsa",
	  { { 2, 1, 1, "unrelated-ca.pem", 0, 0 } },
	  { MX },
	  0,
	  0,
	  0 },
	/* The root is not in the chain the server sends: a digest cannot
	 * stand for it; the full certificate can (it is the anchor itself). */
	{ "2 0 1 root not sent", "mx-rsa", { { 2, 0, 1, "root-ca.pem", 0, 0 } }, { MX }, 0, 0, 0 },
	{ "2 1 1 root not sent", "mx-rsa", { { 2, 1, 1, "root-ca.pem", 0, 0 } }, { MX }, 0, 0, 0 },
	{ "2 0 0 root not sent", "mx-rsa", { { 2, 0, 0, "root-ca.pem", 0, 0 } }, { MX }, 1, 2, 2 },
	/* Its bare key (2 1 0) can too: it signed the top certificate sent,
	 * whose depth is reported (OpenSSL's rule; danetest.in block 46). */
	{ "2 1 0 root not sent", "mx-rsa", { { 2, 1, 0, "root-ca.pem", 0, 0 } }, { MX }, 1, 2, 1 },
	{ "2 1 0 unrelated key",
	  "mx-rsa",
	  { { 2, 1, 0, "unrelated-ca.pem", 0, 0 } },
	  { MX },
	  0,
	  0,
	  0 },
	/* RFC 7672 3.2.2: under DANE-TA the leaf's names count; any reference id does. */
	{ "2 1 1 name mismatch",
	  "other-rsa",
	  { { 2, 1, 1, "inter-ca.pem", 0, 0 } },
	  { MX },
	  0,
	  0,
	  0 },
	{ "2 1 1 second name",
	  "other-rsa",
	  { { 2, 1, 1, "inter-ca.pem", 0, 0 } },
	  { MX, "mail.other.test" },
	  1,
	  2,
	  1 },
	{ "2 1 1 wildcard",
	  "wildcard",
	  { { 2, 1, 1, "inter-ca.pem", 0, 0 } },
	  { "mx.wild.example.test" },
	  1,
	  2,
	  1 },
	{ "2 1 1 expired leaf", "expired", { { 2, 1, 1, "inter-ca.pem", 0, 0 } }, { MX }, 0, 0, 0 },
	/* Several records: any usable one that matches will do. */
	{ "wrong EE + right TA",
	  "mx-rsa",
	  { { 3, 1, 1, "other-rsa.pem", 0, 0 }, { 2, 1, 1, "inter-ca.pem", 0, 0 } },
	  { MX },
	  1,
	  2,
	  1 },
	{ "wrong TA + right EE",
	  "mx-rsa",
	  { { 2, 1, 1, "unrelated-ca.pem", 0, 0 }, { 3, 0, 1, "mx-rsa.pem", 0, 0 } },
	  { MX },
	  1,
	  3,
	  0 },
	/* Unusable records are never handed to a backend: PKIX-EE(1) alone
	 * leaves nothing, so nothing matches even though the data would. */
	{ "1 1 1 only", "mx-rsa", { { 1, 1, 1, "mx-rsa.pem", 0, 0 } }, { MX }, 0, 0, 0 },
	{ "0 0 1 + right 3 1 1",
	  "mx-rsa",
	  { { 0, 0, 1, "mx-rsa.pem", 1, 0 }, { 3, 1, 1, "mx-rsa.pem", 0, 0 } },
	  { MX },
	  1,
	  3,
	  0 },
};

static void
test_usable(void **state)
{
	static const unsigned char d32[32], d64[64], d1[1];
	const struct {
		struct tls_tlsa r;
		int usable;
	} v[] = {
		{ { 3, 1, 1, d32, 32 }, 1 }, { { 2, 0, 2, d64, 64 }, 1 },
		{ { 3, 0, 0, d1, 1 }, 1 },   { { 0, 0, 1, d32, 32 }, 0 }, /* PKIX-TA */
		{ { 1, 1, 1, d32, 32 }, 0 },                              /* PKIX-EE */
		{ { 4, 1, 1, d32, 32 }, 0 },                              /* unknown usage */
		{ { 3, 2, 1, d32, 32 }, 0 },                              /* unknown selector */
		{ { 3, 1, 3, d32, 32 }, 0 }, /* unknown matching type */
		{ { 3, 1, 1, d64, 64 }, 0 }, /* SHA-256 of the wrong length */
		{ { 3, 1, 2, d32, 32 }, 0 }, /* SHA-512 of the wrong length */
		{ { 3, 1, 0, d1, 0 }, 0 },   /* empty */
	};
	struct tls_tlsa all[sizeof v / sizeof v[0]];
	(void)state;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (tls_tlsa_usable(&v[i].r) != v[i].usable)
			fail_msg("record %zu: usable %d", i, !v[i].usable);
		all[i] = v[i].r;
	}
	assert_int_equal(tls_tlsa_count_usable(all, sizeof v / sizeof v[0]), 3);
	assert_int_equal(tls_tlsa_count_usable(all + 3, 8), 0);
}

static void
test_make(void **state)
{
	unsigned char a[4096], b[4096];
	size_t la = 0, lb = 0;
	struct err e = { 0 };
	(void)state;

	/* mx-rsa.pem's second certificate is inter-ca.pem's first. */
	assert_int_equal(tls_tlsa_make(pki("mx-rsa.pem"), 1, 1, 1, a, sizeof a, &la, &e), 0);
	assert_int_equal(tls_tlsa_make(pki("inter-ca.pem"), 0, 1, 1, b, sizeof b, &lb, &e), 0);
	assert_int_equal(la, 32);
	assert_memory_equal(a, b, 32);
	assert_int_equal(tls_tlsa_make(pki("mx-rsa.pem"), 0, 0, 2, a, sizeof a, &la, &e), 0);
	assert_int_equal(la, 64);
	assert_int_equal(tls_tlsa_make(pki("mx-rsa.pem"), 0, 0, 0, a, sizeof a, &la, &e), 0);
	assert_true(la > 300 && a[0] == 0x30); /* a DER SEQUENCE */
	assert_int_equal(tls_tlsa_make(pki("mx-rsa.pem"), 5, 1, 1, a, sizeof a, &la, &e), -1);
	assert_int_equal(tls_tlsa_make(pki("mx-rsa.pem"), 0, 2, 1, a, sizeof a, &la, &e), -1);
	assert_int_equal(tls_tlsa_make(pki("mx-rsa.pem"), 0, 1, 3, a, sizeof a, &la, &e), -1);
	assert_int_equal(tls_tlsa_make(pki("no-such.pem"), 0, 1, 1, a, sizeof a, &la, &e), -1);
}

static void
run_case(const struct dane_case *k, const struct tls_backend *sbe, const struct tls_backend *cbe)
{
	static unsigned char data[4][4096];
	struct tls_tlsa recs[4];
	struct pair_spec spec = { .server_certs = { k->server }, .sni = MX, .tlsa = recs };
	struct pair_result r;
	struct err e = { 0 };
	size_t names = 0;
	int held;

	for (size_t i = 0; i < 4 && k->recs[i].file != NULL; i++) {
		const struct rec_spec *s = &k->recs[i];
		size_t len = 0;
		if (tls_tlsa_make(pki(s->file), s->depth, s->selector, s->mtype, data[i],
		                  sizeof data[i], &len, &e) != 0)
			fail_msg("%s: %s", k->name, e.text);
		if (s->flip)
			data[i][len - 1] ^= 0x01;
		recs[i] = (struct tls_tlsa){ s->usage, s->selector, s->mtype, data[i], len };
		spec.ntlsa++;
	}
	while (names < 3 && k->names[names] != NULL)
		names++;
	must_pair(sbe, cbe, &spec, &r);
	held = tls_conn_dane_check_names(r.client, k->names, names);
	const struct tls_info *ti = tls_conn_info(r.client);
	if (held != k->match || (ti->dane == TLS_DANE_MATCH) != k->match)
		fail_msg("%s (server %s, client %s): DANE %s, want %s", k->name, sbe->name,
		         cbe->name, held ? "holds" : "fails", k->match ? "holds" : "fails");
	if (k->match && (ti->dane_usage != k->usage || ti->dane_depth != k->depth))
		fail_msg("%s (client %s): usage %d depth %d, want %d %d", k->name, cbe->name,
		         ti->dane_usage, ti->dane_depth, k->usage, k->depth);
	/* Which record matched (the log line's): a real, unflipped one of that usage. */
	int which = tls_conn_dane_matched(r.client, recs, spec.ntlsa);
	if (k->match && (which < 0 || recs[which].usage != k->usage || k->recs[which].flip))
		fail_msg("%s (client %s): tls_conn_dane_matched says %d", k->name, cbe->name,
		         which);
	if (!k->match && which != -1)
		fail_msg("%s (client %s): no match, yet record %d", k->name, cbe->name, which);
	/* Without a handshake, on the chain the server sent: the same verdict. */
	int u = -1, d = -1;
	enum tls_dane_result cr = tls_dane_verify_chain(cbe, ti->peer_chain, ti->peer_chain_len,
	                                                recs, spec.ntlsa, k->names, names, &u, &d);
	if ((cr == TLS_DANE_MATCH) != k->match || (k->match && (u != k->usage || d != k->depth)))
		fail_msg("%s (%s): tls_dane_verify_chain disagrees with the handshake", k->name,
		         cbe->name);
	free_result(&r);
}

/* ---- OpenSSL's danetest.in ------------------------------------------------------ */

static unsigned char
hexval(char c)
{
	return (unsigned char)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

/* One block: its header, records and certificates (written to a PEM file
 * so that tls_tlsa_make() gives each one's DER).  0 at the end of input.
 * Exactly <TLSA-count> record lines are read; any further line before the
 * certificates is skipped (blocks 39-42 list one more than they declare). */
static int
read_block(FILE *f, int *ntlsa, int *ncert, int *noname, int *want, int *depth,
           struct tls_tlsa *recs, unsigned char data[][1024], const char *pem)
{
	char line[2560];
	FILE *out = NULL;
	int certs = 0, t = 0, in_pem = 0;

	while (fgets(line, sizeof line, f) != NULL)
		if (line[0] != '#' && line[0] != '\n')
			break;
	if (feof(f))
		return 0;
	assert_int_equal(sscanf(line, "%d %d %d %d %d", ntlsa, ncert, noname, want, depth), 5);
	assert_true(*ntlsa <= 4);
	for (; t < *ntlsa; t++) {
		unsigned u, s, m;
		int off = 0;
		assert_non_null(fgets(line, sizeof line, f));
		assert_int_equal(sscanf(line, "%u %u %u %n", &u, &s, &m, &off), 3);
		size_t len = 0;
		for (const char *h = line + off; h[0] && h[1] && h[0] != '\n' && len < 1024; h += 2)
			data[t][len++] = (unsigned char)(hexval(h[0]) << 4 | hexval(h[1]));
		recs[t] = (struct tls_tlsa){ (uint8_t)u, (uint8_t)s, (uint8_t)m, data[t], len };
	}
	out = fopen(pem, "w");
	assert_non_null(out);
	while (certs < *ncert && fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "-----BEGIN", 10) == 0)
			in_pem = 1;
		if (in_pem)
			fputs(line, out);
		if (strncmp(line, "-----END", 8) == 0) {
			in_pem = 0;
			certs++;
		}
	}
	fclose(out);
	assert_int_equal(certs, *ncert);
	return 1;
}

/* Blocks whose expected result refmta's rules change, and why. */
static const struct {
	int block, usage, depth;
	const char *why;
} danetest_differs[] = {
	{ 50, TLS_TLSA_DANE_EE, 0,
	  "OpenSSL's test keeps DANE-EE name checks; RFC 7672 3.1.1 drops them" },
};

/* The verdict refmta must give for one block on one backend, or a message. */
static const char *
danetest_check(int block, const struct tls_backend *be, const struct tls_der *chain, int ncert,
               const struct tls_tlsa *recs, int ntlsa, int noname, int want, int depth, int *kind)
{
	static char msg[200];
	const char *names[] = { "example.com" };
	int u = -1, d = -1;
	enum tls_dane_result r = tls_dane_verify_chain(
	        be, chain, (size_t)ncert, recs, (size_t)ntlsa, names, noname ? 0 : 1, &u, &d);

	for (size_t i = 0; i < sizeof danetest_differs / sizeof danetest_differs[0]; i++)
		if (danetest_differs[i].block == block) {
			*kind = 2;
			if (r != TLS_DANE_MATCH || u != danetest_differs[i].usage ||
			    d != danetest_differs[i].depth)
				return "want refmta's match (RFC 7672), got something else";
			return NULL;
		}
	/* Only PKIX-TA(0) / PKIX-EE(1): unusable for SMTP (RFC 7672 3.1.3). */
	if (tls_tlsa_count_usable(recs, (size_t)ntlsa) == 0) {
		*kind = 1;
		return r == TLS_DANE_NO_MATCH ? NULL : "usages 0/1 only, yet a match";
	}
	*kind = 0;
	if (want == 0 && (r != TLS_DANE_MATCH || d != depth)) {
		snprintf(msg, sizeof msg, "want a match at depth %d, got %s %d", depth,
		         r == TLS_DANE_MATCH ? "a match at" : "no match", d);
		return msg;
	}
	if (want == 65 && r != TLS_DANE_NO_MATCH)
		return "want no match";
	if (want == 62) {
		/* X509_V_ERR_HOSTNAME_MISMATCH: the chain matches at `depth`,
		 * the name does not (RFC 7672 3.2.2, DANE-TA). */
		if (r != TLS_DANE_NO_MATCH)
			return "want a name mismatch, got a match";
		r = tls_dane_verify_chain(be, chain, (size_t)ncert, recs, (size_t)ntlsa, names, 0,
		                          &u, &d);
		if (r != TLS_DANE_MATCH || u != TLS_TLSA_DANE_TA || d != depth)
			return "without names, want the DANE-TA match at OpenSSL's depth";
	}
	if (want != 0 && want != 65 && want != 62)
		return "an OpenSSL result this runner does not know";
	return NULL;
}

static void
test_danetest_in(void **state)
{
	static unsigned char data[4][1024], der[4][2048];
	char pem[600];
	const char *srcdir = getenv("srcdir");
	char path[600];
	FILE *f;
	int blocks = 0, count[3] = { 0, 0, 0 };
	(void)state;

	snprintf(path, sizeof path, "%s/tests/data/danetest.in", srcdir ? srcdir : ".");
	snprintf(pem, sizeof pem, "%s/danetest.%d.pem", tmp_dir[0] ? tmp_dir : "/tmp",
	         (int)getpid());
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot read %s (run from the top of the tree)", path);
	for (;;) {
		struct tls_tlsa recs[4];
		struct tls_der chain[4];
		int ntlsa, ncert, noname, want, depth, kind = 0;

		if (!read_block(f, &ntlsa, &ncert, &noname, &want, &depth, recs, data, pem))
			break;
		blocks++;
		for (int i = 0; i < ncert && i < 4; i++) {
			size_t len = 0;
			struct err e = { 0 };
			if (tls_tlsa_make(pem, (unsigned)i, 0, 0, der[i], sizeof der[i], &len,
			                  &e) != 0)
				fail_msg("block %d: certificate %d: %s", blocks, i, e.text);
			chain[i] = (struct tls_der){ der[i], len };
		}
		for (size_t b = 0; b < NBACKENDS; b++) {
			const char *why = danetest_check(blocks, backends[b], chain, ncert, recs,
			                                 ntlsa, noname, want, depth, &kind);
			if (why != NULL)
				fail_msg("danetest.in block %d (%s): %s", blocks, backends[b]->name,
				         why);
		}
		count[kind]++;
	}
	fclose(f);
	unlink(pem);
	/* The honest tally: nothing is skipped; every block ran on both backends. */
	printf("# danetest.in: %d blocks on %d backends: %d give OpenSSL's result, %d "
	       "(usages 0/1 only) asserted unusable, %d differ by an RFC 7672 rule, 0 "
	       "skipped\n",
	       blocks, NBACKENDS, count[0], count[1], count[2]);
	assert_int_equal(blocks, 50);
	assert_int_equal(count[0], 31);
	assert_int_equal(count[1], 18);
	assert_int_equal(count[2], 1);
}

/* ---- the CNAME chain walk (server/dane_chain.c) --------------------------------- */

/* A fake DNS for the walk: NAME -> (status, CNAME target). */
static const struct {
	const char *name;
	enum resolver_status status;
	const char *target; /* NULL: no CNAME (nodata) */
} fake_cnames[] = {
	{ "a.test", RESOLVER_SECURE, "b.test" },   { "b.test", RESOLVER_SECURE, "c.test" },
	{ "c.test", RESOLVER_SECURE, "d.test." },  { "d.test", RESOLVER_NODATA, NULL },
	{ "l1.test", RESOLVER_SECURE, "l2.test" }, { "l2.test", RESOLVER_SECURE, "L1.test." },
	{ "i.test", RESOLVER_SECURE, "j.test" },   { "j.test", RESOLVER_INSECURE, "d.test" },
	{ "x.test", RESOLVER_BOGUS, NULL },        { "n0", RESOLVER_SECURE, "n1" },
	{ "n1", RESOLVER_SECURE, "n2" },           { "n2", RESOLVER_SECURE, "n3" },
	{ "n3", RESOLVER_SECURE, "n4" },           { "n4", RESOLVER_SECURE, "n5" },
	{ "n5", RESOLVER_SECURE, "n6" },           { "n6", RESOLVER_SECURE, "n7" },
	{ "n7", RESOLVER_SECURE, "n8" },           { "n8", RESOLVER_SECURE, "n9" },
};

static int
fake_lookup(void *arg, const char *name, enum resolver_type type, struct resolver_answer *out,
            struct err *e)
{
	int *calls = arg;
	char bare[256];
	size_t len = strlen(name);
	(void)e;

	snprintf(bare, sizeof bare, "%.*s", (int)(len > 1 && name[len - 1] == '.' ? len - 1 : len),
	         name); /* DNS names end in an implied dot */

	assert_int_equal(type, RESOLVER_CNAME);
	(*calls)++;
	memset(out, 0, sizeof *out);
	out->status = RESOLVER_NXDOMAIN;
	for (size_t i = 0; i < sizeof fake_cnames / sizeof fake_cnames[0]; i++) {
		if (strcasecmp(fake_cnames[i].name, bare) != 0)
			continue;
		out->status = fake_cnames[i].status;
		out->secure = out->status == RESOLVER_SECURE || out->status == RESOLVER_NODATA;
		if (fake_cnames[i].target != NULL && out->status <= RESOLVER_INSECURE) {
			out->rrs = calloc(1, sizeof *out->rrs);
			assert_non_null(out->rrs);
			out->rrs[0].type = RESOLVER_CNAME;
			out->rrs[0].u.name = strdup(fake_cnames[i].target);
			out->nrrs = 1;
		}
	}
	return 0;
}

static void
test_chain_walk(void **state)
{
	const struct {
		const char *start, *target;
		int rc;
		size_t links;
		const char *why; /* rc -1: a part of out.why */
	} v[] = {
		{ "a.test", "d.test", 0, 3, NULL }, /* three secure links */
		{ "A.test", "D.TEST", 0, 3, NULL }, /* case; "d.test." ends in a dot */
		{ "b.test", "d.test", 0, 2, NULL },
		{ "a.test", "a.test", 0, 0, NULL },
		{ "l1.test", "z.test", -1, 0, "CNAME loop at L1.test." },
		{ "i.test", "d.test", -1, 0, "CNAME j.test insecure" },
		{ "x.test", "d.test", -1, 0, "CNAME x.test bogus" },
		{ "a.test", "z.test", -1, 0, "no CNAME at d.test. (nodata)" },
		{ "q.test", "d.test", -1, 0, "no CNAME at q.test (nxdomain)" },
		{ "n0", "n8", 0, 8, NULL }, /* DANE_CHAIN_MAX links: the bound itself */
		{ "n0", "n9", -1, 0, "longer than 8 links" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct dane_chain c;
		int calls = 0;
		int rc = dane_chain_walk(fake_lookup, &calls, v[i].start, v[i].target, NULL, NULL,
		                         &c);
		if (rc != v[i].rc)
			fail_msg("walk %s -> %s: rc %d (%s)", v[i].start, v[i].target, rc, c.why);
		assert_true(calls <= DANE_CHAIN_MAX); /* bounded */
		if (rc == 0) {
			assert_int_equal(c.n, v[i].links);
			assert_string_equal(c.names[0], v[i].start);
		} else if (strstr(c.why, v[i].why) == NULL) {
			fail_msg("walk %s: why \"%s\", want \"%s\"", v[i].start, c.why, v[i].why);
		}
	}
	/* The names, in order: every one a reference identifier (RFC 7672 3.2.2). */
	struct dane_chain c;
	int calls = 0;
	assert_int_equal(dane_chain_walk(fake_lookup, &calls, "a.test", "d.test", NULL, NULL, &c),
	                 0);
	assert_string_equal(c.names[1], "b.test");
	assert_string_equal(c.names[2], "c.test");
	assert_string_equal(c.names[3], "d.test.");
}

static void
test_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (size_t s = 0; s < NBACKENDS; s++)
			for (size_t c = 0; c < NBACKENDS; c++)
				run_case(&cases[i], backends[s], backends[c]);
}

/* Without TLSA records nothing is asked, and the name check says so. */
static void
test_not_asked(void **state)
{
	struct pair_spec spec = { .server_certs = { "mx-rsa" }, .sni = MX };
	const char *names[] = { MX };
	struct pair_result r;
	(void)state;

	for (size_t c = 0; c < NBACKENDS; c++) {
		must_pair(backends[0], backends[c], &spec, &r);
		assert_int_equal(tls_conn_info(r.client)->dane, TLS_DANE_NOT_ASKED);
		assert_int_equal(tls_conn_dane_check_names(r.client, names, 1), 0);
		free_result(&r);
	}
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usable),      cmocka_unit_test(test_make),
		cmocka_unit_test(test_corpus),      cmocka_unit_test(test_not_asked),
		cmocka_unit_test(test_danetest_in), cmocka_unit_test(test_chain_walk),
	};
	int failed;

	signal(SIGPIPE, SIG_IGN); /* the server child's close_notify after the client left */
	if (setup_pki() != 0)
		return 1;
	failed = cmocka_run_group_tests_name("dane", tests, NULL, NULL);
	cleanup_tmp();
	return failed;
}
