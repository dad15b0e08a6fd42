/*
 * pki_test.c - unit tests for lib/pki.c: mint the PKI once with a fixed `now`
 * and check every file with OpenSSL's own verifier, CRL and OCSP code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"

/* 2023-11-14 22:13:20 UTC: any fixed time works, none reads the clock. */
#define NOW ((time_t)1700000000)
#define NFILES 44

/* Leaves issued by the intermediate, in index.txt order. */
static const char *const inter_leaves[] = {
	"mx-rsa",      "mx-ecdsa",
	"other-rsa",   "other-ecdsa",
	"wildcard",    "multisan",
	"cn-only",     "expired",
	"notyet",      "revoked",
	"badsig",      "client",
	"ocsp-signer", "ocsp-signer-expired",
};
#define NINTER (sizeof inter_leaves / sizeof inter_leaves[0])

static char tmpdir[] = "/tmp/pki_test.XXXXXX"; /* from mkdtemp() */
static char pkidir[64];                        /* <tmpdir>/pki, made by pki_mint */
static int nfiles;

/* <pkidir>/<name>, in a static buffer. */
static const char *
path(const char *name)
{
	static char buf[sizeof pkidir + 256 + 2];

	snprintf(buf, sizeof buf, "%s/%s", pkidir, name);
	return buf;
}

/* Every certificate in a PEM file, in file order. */
static STACK_OF(X509) * certs_load(const char *name)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *bio = BIO_new_file(path(name), "r");
	X509 *x;

	assert_non_null(sk);
	assert_non_null(bio);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		assert_true(sk_X509_push(sk, x) > 0);
	ERR_clear_error(); /* the end-of-file "no start line" */
	BIO_free(bio);
	return sk;
}

/* The first certificate of a PEM file. */
static X509 *
cert_load(const char *name)
{
	STACK_OF(X509) *sk = certs_load(name);
	X509 *x;

	assert_true(sk_X509_num(sk) >= 1);
	x = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return x;
}

static EVP_PKEY *
key_load(const char *name)
{
	BIO *bio = BIO_new_file(path(name), "r");
	EVP_PKEY *key;

	assert_non_null(bio);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	assert_non_null(key);
	BIO_free(bio);
	return key;
}

/* A store trusting ca-bundle.pem (plus the CRLs with `crls`), verifying
   at NOW. */
static X509_STORE *
store_new(int crls, unsigned long flags)
{
	X509_STORE *store = X509_STORE_new();

	assert_non_null(store);
	assert_int_equal(X509_STORE_load_file(store, path("ca-bundle.pem")), 1);
	if (crls)
		assert_int_equal(X509_STORE_load_file(store, path("crl.pem")), 1);
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), NOW);
	if (flags != 0)
		assert_int_equal(X509_STORE_set_flags(store, flags), 1);
	return store;
}

/* Verify the leaf of <stem>.pem with the rest of the file and inter-ca.pem
   as untrusted; returns the X509_V_ code. */
static int
verify(const char *stem, int crls, unsigned long flags)
{
	char name[64];
	X509_STORE *store = store_new(crls, flags);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) * untrusted;
	X509 *leaf;
	int ok, code;

	snprintf(name, sizeof name, "%s.pem", stem);
	untrusted = certs_load(name);
	leaf = sk_X509_shift(untrusted);
	assert_non_null(leaf);
	assert_int_equal(sk_X509_push(untrusted, cert_load("inter-ca.pem")) > 0, 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), NOW);
	ok = X509_verify_cert(ctx);
	code = X509_STORE_CTX_get_error(ctx);
	if (ok != 1 && code == X509_V_OK)
		code = -1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	sk_X509_pop_free(untrusted, X509_free);
	ERR_clear_error();
	return code;
}

static int
rmtree(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	char p[512];

	if (dp == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", d, de->d_name);
		unlink(p);
	}
	closedir(dp);
	return rmdir(d);
}

static int
setup(void **state)
{
	struct err e = { 0 };

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* a subdirectory that does not exist yet: pki_mint creates it */
	snprintf(pkidir, sizeof pkidir, "%s/pki", tmpdir);
	if (pki_mint_count(pkidir, NOW, &nfiles, &e) != 0) {
		fprintf(stderr, "pki_mint: %s\n", e.text);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rmtree(pkidir);
	return rmtree(tmpdir);
}

static void
test_files(void **state)
{
	DIR *dp;
	struct dirent *de;
	struct stat st;
	int n = 0;

	(void)state;
	assert_int_equal(nfiles, NFILES);
	dp = opendir(pkidir);
	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL) {
		const char *dot = strrchr(de->d_name, '.');

		if (de->d_name[0] == '.')
			continue; /* no temporary files left behind */
		n++;
		assert_int_equal(stat(path(de->d_name), &st), 0);
		if (dot != NULL && strcmp(dot, ".key") == 0) {
			FILE *f = fopen(path(de->d_name), "r");
			char line[64] = "";

			assert_int_equal(st.st_mode & 0777, 0600);
			assert_non_null(f);
			assert_non_null(fgets(line, sizeof line, f));
			assert_string_equal(line, "-----BEGIN PRIVATE KEY-----\n"); /* PKCS#8 */
			fclose(f);
		}
	}
	closedir(dp);
	assert_int_equal(n, NFILES);
}

static void
test_ca(void **state)
{
	X509 *root = cert_load("root-ca.pem");
	X509 *bundle = cert_load("ca-bundle.pem");
	X509 *inter = cert_load("inter-ca.pem");
	X509 *unrel = cert_load("unrelated-ca.pem");
	EVP_PKEY *root_pub = X509_get0_pubkey(root);
	char buf[128];

	(void)state;
	assert_int_equal(X509_cmp(root, bundle), 0);
	X509_NAME_oneline(X509_get_subject_name(root), buf, sizeof buf);
	assert_string_equal(buf, "/O=refmta/CN=refmta Test Root CA");
	X509_NAME_oneline(X509_get_subject_name(inter), buf, sizeof buf);
	assert_string_equal(buf, "/CN=refmta Test Intermediate CA");
	assert_int_equal(X509_check_ca(root), 1);
	assert_int_equal(X509_check_ca(inter), 1);
	assert_int_equal(X509_check_ca(unrel), 1);
	assert_int_equal(X509_get_pathlen(inter), 0);
	assert_int_equal(X509_get_pathlen(root), -1);
	assert_true(X509_get_key_usage(inter) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
	assert_int_equal(X509_verify(root, root_pub), 1);
	assert_int_equal(X509_verify(inter, root_pub), 1);
	assert_int_equal(X509_get_version(inter), X509_VERSION_3);
	assert_non_null(X509_get0_subject_key_id(inter));
	assert_non_null(X509_get0_authority_key_id(inter));
	assert_int_equal(EVP_PKEY_get_bits(root_pub), 256);
	X509_free(root);
	X509_free(bundle);
	X509_free(inter);
	X509_free(unrel);
}

static void
test_good_leaves_verify(void **state)
{
	static const char *const good[] = { "mx-rsa",   "mx-ecdsa", "other-rsa", "other-ecdsa",
		                            "wildcard", "multisan", "cn-only",   "client" };

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int code = verify(good[i], 0, 0);

		if (code != X509_V_OK)
			fail_msg("%s: %s", good[i], X509_verify_cert_error_string(code));
	}
}

static void
test_expired(void **state)
{
	(void)state;
	assert_int_equal(verify("expired", 0, 0), X509_V_ERR_CERT_HAS_EXPIRED);
}

/* The expired delegated OCSP responder: OCSPSigning, now-100d .. now-10d. */
static void
test_ocsp_signer_expired(void **state)
{
	X509 *x = cert_load("ocsp-signer-expired.pem");
	X509 *inter = cert_load("inter-ca.pem");
	EVP_PKEY *key = key_load("ocsp-signer-expired.key");
	ASN1_TIME *now = ASN1_TIME_set(NULL, NOW);
	char buf[128];
	int days, secs;

	(void)state;
	assert_int_equal(verify("ocsp-signer-expired", 0, 0), X509_V_ERR_CERT_HAS_EXPIRED);
	assert_true(X509_get_extended_key_usage(x) == XKU_OCSP_SIGN);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(inter)), 1);
	assert_int_equal(X509_check_private_key(x, key), 1);
	X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof buf);
	assert_string_equal(buf, "/CN=refmta Expired OCSP Signer");
	assert_int_equal(ASN1_TIME_diff(&days, &secs, now, X509_get0_notBefore(x)), 1);
	assert_true(days == -100 && secs == 0);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, now, X509_get0_notAfter(x)), 1);
	assert_true(days == -10 && secs == 0);
	ASN1_TIME_free(now);
	EVP_PKEY_free(key);
	X509_free(inter);
	X509_free(x);
	ERR_clear_error();
}

static void
test_notyet(void **state)
{
	(void)state;
	assert_int_equal(verify("notyet", 0, 0), X509_V_ERR_CERT_NOT_YET_VALID);
}

static void
test_badsig(void **state)
{
	X509 *leaf = cert_load("badsig.pem");
	X509 *inter = cert_load("inter-ca.pem");
	EVP_PKEY *key = key_load("badsig.key");

	(void)state;
	assert_int_equal(verify("badsig", 0, 0), X509_V_ERR_CERT_SIGNATURE_FAILURE);
	assert_true(X509_verify(leaf, X509_get0_pubkey(inter)) <= 0);
	assert_int_equal(X509_check_private_key(leaf, key), 1); /* key pair intact */
	assert_int_equal(X509_check_host(leaf, "mx.example.test", 0, 0, NULL), 1);
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(leaf);
	X509_free(inter);
}

static void
test_unrelated(void **state)
{
	STACK_OF(X509) *sk = certs_load("unrelated.pem");
	X509 *ca = cert_load("unrelated-ca.pem");

	(void)state;
	assert_int_equal(sk_X509_num(sk), 1);
	assert_int_equal(X509_verify(sk_X509_value(sk, 0), X509_get0_pubkey(ca)), 1);
	assert_int_equal(verify("unrelated", 0, 0), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	sk_X509_pop_free(sk, X509_free);
	X509_free(ca);
}

static void
test_selfsigned(void **state)
{
	STACK_OF(X509) *sk = certs_load("selfsigned.pem");
	X509 *x = sk_X509_value(sk, 0);

	(void)state;
	assert_int_equal(sk_X509_num(sk), 1);
	assert_int_equal(X509_self_signed(x, 1), 1);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(verify("selfsigned", 0, 0), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
	sk_X509_pop_free(sk, X509_free);
}

static void
test_revoked_crl(void **state)
{
	(void)state;
	assert_int_equal(verify("revoked", 0, 0), X509_V_OK);
	assert_int_equal(verify("revoked", 1, X509_V_FLAG_CRL_CHECK), X509_V_ERR_CERT_REVOKED);
	/* both CRLs (intermediate's and root's) verify for a good chain */
	assert_int_equal(verify("mx-ecdsa", 1, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL),
	                 X509_V_OK);
}

static void
test_chain_files(void **state)
{
	static const struct {
		const char *name;
		int ncerts;
	} files[] = {
		{ "mx-rsa.pem", 2 },    { "badsig.pem", 2 },
		{ "cn-only.pem", 2 },   { "ocsp-signer.pem", 1 },
		{ "unrelated.pem", 1 }, { "selfsigned.pem", 1 },
		{ "root-ca.pem", 1 },   { "inter-ca.pem", 1 },
		{ "ca-bundle.pem", 1 }, { "ocsp-signer-expired.pem", 1 },
	};
	X509 *inter = cert_load("inter-ca.pem");

	(void)state;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		STACK_OF(X509) *sk = certs_load(files[i].name);

		if (sk_X509_num(sk) != files[i].ncerts)
			fail_msg("%s: %d certificates", files[i].name, sk_X509_num(sk));
		if (files[i].ncerts == 2) {
			assert_int_equal(X509_cmp(sk_X509_value(sk, 1), inter), 0);
			assert_int_equal(X509_check_ca(sk_X509_value(sk, 0)), 0);
		}
		sk_X509_pop_free(sk, X509_free);
	}
	X509_free(inter);
}

static void
test_key_types(void **state)
{
	static const struct {
		const char *stem;
		int type;
	} keys[] = {
		{ "mx-rsa", EVP_PKEY_RSA },      { "other-rsa", EVP_PKEY_RSA },
		{ "mx-ecdsa", EVP_PKEY_EC },     { "other-ecdsa", EVP_PKEY_EC },
		{ "wildcard", EVP_PKEY_EC },     { "client", EVP_PKEY_EC },
		{ "ocsp-signer", EVP_PKEY_EC },  { "selfsigned", EVP_PKEY_EC },
		{ "root-ca", EVP_PKEY_EC },      { "inter-ca", EVP_PKEY_EC },
		{ "unrelated-ca", EVP_PKEY_EC }, { "ocsp-signer-expired", EVP_PKEY_EC },
	};

	(void)state;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char name[64];
		X509 *x;
		EVP_PKEY *key;

		snprintf(name, sizeof name, "%s.pem", keys[i].stem);
		x = cert_load(name);
		snprintf(name, sizeof name, "%s.key", keys[i].stem);
		key = key_load(name);
		assert_int_equal(EVP_PKEY_get_base_id(key), keys[i].type);
		assert_int_equal(EVP_PKEY_get_bits(key), keys[i].type == EVP_PKEY_RSA ? 2048 : 256);
		assert_int_equal(X509_check_private_key(x, key), 1);
		if (keys[i].type == EVP_PKEY_RSA)
			assert_true(X509_get_key_usage(x) ==
			            (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
		EVP_PKEY_free(key);
		X509_free(x);
	}
}

static void
test_names(void **state)
{
	X509 *x;
	GENERAL_NAMES *san;

	(void)state;
	x = cert_load("cn-only.pem");
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1);
	assert_int_equal(X509_check_host(x, "cnonly.example.test", 0, 0, NULL), 1);
	X509_free(x);

	x = cert_load("multisan.pem");
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 3);
	GENERAL_NAMES_free(san);
	assert_int_equal(X509_check_host(x, "mx2.multi.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "mx.partner.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "multi.example.test", 0, 0, NULL), 0);
	X509_free(x);

	x = cert_load("wildcard.pem");
	assert_int_equal(X509_check_host(x, "a.wild.example.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "wild.example.test", 0, 0, NULL), 0);
	X509_free(x);

	x = cert_load("client.pem");
	assert_true(X509_get_extended_key_usage(x) == XKU_SSL_CLIENT);
	X509_free(x);
	x = cert_load("mx-ecdsa.pem");
	assert_true(X509_get_extended_key_usage(x) == (XKU_SSL_SERVER | XKU_SSL_CLIENT));
	X509_free(x);
	x = cert_load("ocsp-signer.pem");
	assert_true(X509_get_extended_key_usage(x) == XKU_OCSP_SIGN);
	X509_free(x);
	ERR_clear_error();
}

/* Check <stem>.ocsp.der: verifies with the signer and says `want`. */
static void
ocsp_check(const char *stem, int want)
{
	char name[64];
	BIO *bio;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	OCSP_CERTID *id;
	X509 *leaf, *inter, *signer;
	X509_STORE *store = store_new(0, 0);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	ASN1_TIME *now = ASN1_TIME_set(NULL, NOW);
	int status = -1, reason = -1, days, secs;

	snprintf(name, sizeof name, "%s.ocsp.der", stem);
	bio = BIO_new_file(path(name), "rb");
	assert_non_null(bio);
	resp = d2i_OCSP_RESPONSE_bio(bio, NULL);
	assert_non_null(resp);
	assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);

	snprintf(name, sizeof name, "%s.pem", stem);
	leaf = cert_load(name);
	inter = cert_load("inter-ca.pem");
	signer = cert_load("ocsp-signer.pem");
	/* the signer certificate is included in the response */
	assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
	assert_int_equal(X509_cmp(sk_X509_value(OCSP_resp_get0_certs(bs), 0), signer), 0);
	assert_int_equal(sk_X509_push(untrusted, X509_dup(inter)) > 0, 1);
	if (OCSP_basic_verify(bs, untrusted, store, 0) != 1) {
		unsigned long err = ERR_peek_last_error();

		fail_msg("%s: OCSP_basic_verify: %s", stem, ERR_error_string(err, NULL));
	}

	id = OCSP_cert_to_id(NULL, leaf, inter);
	assert_non_null(id);
	assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd),
	                 1);
	assert_int_equal(status, want);
	if (want == V_OCSP_CERTSTATUS_REVOKED) {
		assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
		assert_int_equal(ASN1_TIME_diff(&days, &secs, now, rev), 1);
		assert_true(days == 0 && secs == -3600);
	}
	assert_int_equal(ASN1_TIME_diff(&days, &secs, now, thisupd), 1);
	assert_true(days == 0 && secs == -3600);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, now, nextupd), 1);
	assert_true(days == 7 && secs == 0);
	/* producedAt is `now` too, not the clock of the minting machine */
	assert_int_equal(ASN1_TIME_diff(&days, &secs, now, OCSP_resp_get0_produced_at(bs)), 1);
	assert_true(days == 0 && secs == 0);

	OCSP_CERTID_free(id);
	ASN1_TIME_free(now);
	sk_X509_pop_free(untrusted, X509_free);
	X509_STORE_free(store);
	X509_free(signer);
	X509_free(inter);
	X509_free(leaf);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	BIO_free(bio);
	ERR_clear_error();
}

static void
test_ocsp_good(void **state)
{
	(void)state;
	ocsp_check("mx-rsa", V_OCSP_CERTSTATUS_GOOD);
	ocsp_check("mx-ecdsa", V_OCSP_CERTSTATUS_GOOD);
}

static void
test_ocsp_revoked(void **state)
{
	(void)state;
	ocsp_check("revoked", V_OCSP_CERTSTATUS_REVOKED);
}

static void
test_index(void **state)
{
	FILE *f = fopen(path("index.txt"), "r");
	char line[512];
	size_t n = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		char name[64], want[512], subject[256], expiry[32] = "";
		X509 *x;
		BIGNUM *bn;
		char *hex;
		int revoked;

		assert_true(n < NINTER);
		revoked = strcmp(inter_leaves[n], "revoked") == 0;
		snprintf(name, sizeof name, "%s.pem", inter_leaves[n]);
		x = cert_load(name);
		bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		hex = BN_bn2hex(bn);
		X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
		memcpy(expiry, ASN1_STRING_get0_data(X509_get0_notAfter(x)), 13);
		/* NOW - 1 hour = 2023-11-14 21:13:20 UTC */
		snprintf(want, sizeof want, "%s\t%s\t%s\t%s\tunknown\t%s\n", revoked ? "R" : "V",
		         expiry, revoked ? "231114211320Z,keyCompromise" : "", hex, subject);
		assert_string_equal(line, want);
		OPENSSL_free(hex);
		BN_free(bn);
		X509_free(x);
		n++;
	}
	fclose(f);
	assert_int_equal(n, NINTER);
}

static void
test_serials_unique(void **state)
{
	static const char *const others[] = { "root-ca", "inter-ca", "unrelated-ca", "unrelated",
		                              "selfsigned" };
	const char *stems[NINTER + 5];
	BIGNUM *bn[NINTER + 5];
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < NINTER; i++)
		stems[n++] = inter_leaves[i];
	for (size_t i = 0; i < 5; i++)
		stems[n++] = others[i];
	for (size_t i = 0; i < n; i++) {
		char name[64];
		X509 *x;

		snprintf(name, sizeof name, "%s.pem", stems[i]);
		x = cert_load(name);
		bn[i] = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		assert_false(BN_is_negative(bn[i]));
		assert_true(BN_num_bits(bn[i]) > 32 && BN_num_bits(bn[i]) <= 64);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(BN_cmp(bn[i], bn[j]), 0);
		X509_free(x);
	}
	for (size_t i = 0; i < n; i++)
		BN_free(bn[i]);
}

static void
test_errors(void **state)
{
	struct err e = { 0 };
	char bad[128], blocker[160];

	(void)state;
	assert_int_equal(pki_mint("/proc/no/such/dir", NOW, &e), -1);
	assert_int_equal(e.code, PKI_ERR_IO);
	assert_non_null(strstr(e.text, "/proc/no"));

	/* a late failure: crl.pem cannot replace a directory of that name */
	snprintf(bad, sizeof bad, "%s/bad", tmpdir);
	snprintf(blocker, sizeof blocker, "%s/crl.pem", bad);
	assert_int_equal(mkdir(bad, 0755), 0);
	assert_int_equal(mkdir(blocker, 0755), 0);
	memset(&e, 0, sizeof e);
	assert_int_equal(pki_mint(bad, NOW, &e), -1);
	assert_int_equal(e.code, PKI_ERR_IO);
	assert_non_null(strstr(e.text, "crl.pem"));
	snprintf(blocker, sizeof blocker, "%s/.crl.pem.tmp", bad);
	assert_int_equal(access(blocker, F_OK), -1); /* no temporary left behind */
	snprintf(blocker, sizeof blocker, "%s/crl.pem", bad);
	assert_int_equal(rmdir(blocker), 0);
	assert_int_equal(rmtree(bad), 0);
}

/* pki_mint_leaf(): an extra leaf for one scenario, from the PKI on disk.
   Runs last: test_files counts the files pki_mint() wrote. */
static void
test_mint_leaf(void **state)
{
	static const char *const names[] = { "mx.partner.test", "*.alt.partner.test" };
	struct pki_leaf req = { .stem = "extra-leaf",
		                .key = PKI_KEY_RSA,
		                .issuer = PKI_ISSUER_INTER,
		                .names = names,
		                .nnames = 2 };
	struct pki_leaf self = { .stem = "extra-self",
		                 .key = PKI_KEY_ECDSA,
		                 .issuer = PKI_ISSUER_SELF,
		                 .names = names,
		                 .nnames = 1 };
	struct err e = { 0 };
	STACK_OF(X509) * sk;
	X509 *x;
	EVP_PKEY *key;

	(void)state;
	assert_int_equal(pki_mint_leaf(pkidir, pkidir, &req, NOW, &e), 0);
	assert_int_equal(verify("extra-leaf", 0, 0), X509_V_OK);
	sk = certs_load("extra-leaf.pem");
	assert_int_equal(sk_X509_num(sk), 2); /* leaf, then the intermediate */
	x = sk_X509_value(sk, 0);
	assert_int_equal(X509_check_host(x, "mx.partner.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "a.alt.partner.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "mx.example.test", 0, 0, NULL), 0);
	key = key_load("extra-leaf.key");
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_RSA);
	assert_int_equal(X509_check_private_key(x, key), 1);
	EVP_PKEY_free(key);
	sk_X509_pop_free(sk, X509_free);

	assert_int_equal(pki_mint_leaf(pkidir, pkidir, &self, NOW, &e), 0);
	assert_int_equal(verify("extra-self", 0, 0), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
	/* A PKI directory without the issuer: an error, not a crash. */
	assert_int_equal(pki_mint_leaf("/nonexistent", pkidir, &req, NOW, &e), -1);
	ERR_clear_error();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_ca),
		cmocka_unit_test(test_good_leaves_verify),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_ocsp_signer_expired),
		cmocka_unit_test(test_notyet),
		cmocka_unit_test(test_badsig),
		cmocka_unit_test(test_unrelated),
		cmocka_unit_test(test_selfsigned),
		cmocka_unit_test(test_revoked_crl),
		cmocka_unit_test(test_chain_files),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ocsp_good),
		cmocka_unit_test(test_ocsp_revoked),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_serials_unique),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_mint_leaf),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
