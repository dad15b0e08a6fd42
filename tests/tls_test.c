/*
 * tls_test.c - loopback handshakes through lib/tls.h on every pairing of
 * backends (OpenSSL and GnuTLS, as client and as server), and the promise
 * that both report the same facts in the same canonical words.
 *
 * The capability bits and the shared verdict code are tls_verdict_test.c's.
 *
 * Each handshake runs over a socketpair: a forked child plays the server,
 * reports its own view of the connection over the encrypted channel, and the
 * parent (the client) checks it against its own.  The fixture PKI is the one
 * `make` minted ($REFMTA_PKI), or a fresh one in a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tls_pair.h"

/* ---- facts agree on both ends, for every pairing -------------------------------- */

struct matrix_case {
	enum tls_version version;
	const char *sigalgs; /* which certificate the client steers the server to */
	const char *want_version;
	const char *want_key;
};

/*
 * The server holds an RSA and an ECDSA certificate for one name, in the
 * order given (`ecdsa_first`), and must serve the one the client's
 * signature algorithms allow (RFC 8446 4.4.2.2, RFC 5246 7.4.2), whichever
 * is listed first (issue 12, bug 2), with SNI or without.
 */
static void
check_facts_agree(const struct tls_backend *sbe, const struct tls_backend *cbe,
                  const struct matrix_case *mc, int ecdsa_first, const char *sni)
{
	struct pair_spec spec = {
		.server_certs = { ecdsa_first ? "mx-ecdsa" : "mx-rsa",
		                  ecdsa_first ? "mx-rsa" : "mx-ecdsa" },
		.client_ca = "ca-bundle.pem",
		.sni = sni,
		.sigalgs = mc->sigalgs,
		.version = mc->version,
	};
	struct pair_result r;
	const struct tls_info *ci;
	char why[600] = "";

	if (run_pair(sbe, cbe, &spec, &r, why, sizeof why) != 0)
		fail_msg("server %s (%s first), client %s (TLS 1.%d, %s only, %s): %s", sbe->name,
		         ecdsa_first ? "ECDSA" : "RSA", cbe->name, mc->version - 10, mc->sigalgs,
		         sni != NULL ? "SNI" : "no SNI", why);
	ci = tls_conn_info(r.client);
	assert_string_equal(ci->backend, cbe->name);
	assert_string_equal(ci->version, mc->want_version);
	assert_string_equal(r.server.version, mc->want_version);
	/* The same IANA name from both libraries for the same connection. */
	assert_true(strncmp(ci->cipher, "TLS_", 4) == 0);
	assert_string_equal(ci->cipher, r.server.cipher);
	assert_string_equal(ci->peer_key_type, mc->want_key);
	assert_string_equal(r.server.local_key_type, mc->want_key);
	assert_string_equal(r.server.sni, sni != NULL ? sni : "");
	assert_string_equal(ci->sni, sni != NULL ? sni : "");
	assert_int_equal(ci->verify, TLS_VERIFY_OK);
	assert_int_equal(tls_conn_check_name(r.client, "mx.example.test"), TLS_VERIFY_OK);
	/* The chain as sent: leaf then intermediate. */
	assert_int_equal(ci->peer_chain_len, 2);
	assert_true(ci->peer_chain[0].len > 100 && ci->peer_chain[1].len > 100);
	free_result(&r);
}

static const struct matrix_case matrix_cases[] = {
	{ TLS_VERSION_1_2, "RSA", "TLSv1.2", "RSA" },
	{ TLS_VERSION_1_2, "ECDSA", "TLSv1.2", "ECDSA" },
	{ TLS_VERSION_1_3, "RSA", "TLSv1.3", "RSA" },
	{ TLS_VERSION_1_3, "ECDSA", "TLSv1.3", "ECDSA" },
};

static void
test_pairing(void **state)
{
	const int *pairing = *state; /* {server backend, client backend} */

	for (size_t i = 0; i < sizeof matrix_cases / sizeof matrix_cases[0]; i++)
		for (int ecdsa_first = 0; ecdsa_first <= 1; ecdsa_first++) {
			check_facts_agree(backends[pairing[0]], backends[pairing[1]],
			                  &matrix_cases[i], ecdsa_first, "mx.example.test");
			check_facts_agree(backends[pairing[0]], backends[pairing[1]],
			                  &matrix_cases[i], ecdsa_first, NULL);
		}
}

static const int pairings[4][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };

/* ---- everything below runs on all four pairings -------------------------------- */

#define FOR_EACH_PAIRING(s, c)                                                                     \
	for (size_t s = 0; s < NBACKENDS; s++)                                                     \
		for (size_t c = 0; c < NBACKENDS; c++)

static void
test_default_version_is_tls13(void **state)
{
	struct pair_spec spec = { .server_certs = { "mx-ecdsa" }, .client_ca = "ca-bundle.pem" };
	(void)state;
	FOR_EACH_PAIRING(s, c)
	{
		struct pair_result r;
		must_pair(backends[s], backends[c], &spec, &r);
		assert_string_equal(tls_conn_info(r.client)->version, "TLSv1.3");
		assert_string_equal(r.server.sni, ""); /* no SNI sent */
		assert_string_equal(tls_conn_info(r.client)->sni, "");
		free_result(&r);
	}
}

/* The server picks its certificate by SNI, falls back to the first name. */
static void
test_sni_selection(void **state)
{
	static const struct {
		const char *sni, *want_name;
	} cases[] = {
		{ "mail.other.test", "mail.other.test" },
		{ "mx.example.test", "mx.example.test" },
		{ "MAIL.OTHER.TEST", "mail.other.test" },
		{ NULL, "mx.example.test" },
		{ "unknown.example.test", "mx.example.test" },
	};
	(void)state;
	FOR_EACH_PAIRING(s, c)
	{
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			struct pair_spec spec = {
				.server_certs = { "mx-rsa", "mx-ecdsa", "other-rsa",
				                  "other-ecdsa" },
				.client_ca = "ca-bundle.pem",
				.sni = cases[i].sni,
			};
			struct pair_result r;
			must_pair(backends[s], backends[c], &spec, &r);
			if (tls_conn_check_name(r.client, cases[i].want_name) != TLS_VERIFY_OK)
				fail_msg("server %s, client %s, SNI %s: certificate is not %s (%s)",
				         backends[s]->name, backends[c]->name,
				         cases[i].sni ? cases[i].sni : "(none)", cases[i].want_name,
				         tls_verify_word(tls_conn_info(r.client)->verify));
			assert_string_equal(r.server.sni, cases[i].sni ? cases[i].sni : "");
			free_result(&r);
		}
	}
}

/* Each canonical failure, produced on purpose, in the same word everywhere. */
struct failure_case {
	const char *server_cert;
	const char *ca, *crl;
	const char *check_name; /* run the neutral name check for this host */
	int require_staple;
	enum tls_verify want;
};

static const struct failure_case failure_cases[] = {
	{ "mx-ecdsa", "ca-bundle.pem", NULL, "mx.example.test", 0, TLS_VERIFY_OK },
	{ "unrelated", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_UNKNOWN_CA },
	{ "selfsigned", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_SELF_SIGNED },
	{ "expired", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_EXPIRED },
	{ "notyet", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_NOT_YET_VALID },
	{ "badsig", "ca-bundle.pem", NULL, NULL, 0, TLS_VERIFY_BAD_SIGNATURE },
	{ "revoked", "ca-bundle.pem", "crl.pem", NULL, 0, TLS_VERIFY_REVOKED },
	{ "mx-ecdsa", "ca-bundle.pem", "crl.pem", NULL, 0, TLS_VERIFY_OK },
	{ "mx-ecdsa", "ca-bundle.pem", NULL, "wrong.example.test", 0, TLS_VERIFY_NAME_MISMATCH },
	{ "mx-ecdsa", "ca-bundle.pem", NULL, NULL, 1, TLS_VERIFY_STAPLE_MISSING },
	{ "mx-ecdsa", NULL, NULL, NULL, 0, TLS_VERIFY_NOT_CHECKED },
	/* Precedence: the chain's problem is reported before the name's. */
	{ "expired", "ca-bundle.pem", NULL, "wrong.example.test", 0, TLS_VERIFY_EXPIRED },
	{ "unrelated", "ca-bundle.pem", NULL, "wrong.example.test", 0, TLS_VERIFY_UNKNOWN_CA },
};

static void
test_verify_failure(void **state)
{
	const struct failure_case *fc = *state;

	FOR_EACH_PAIRING(s, c)
	{
		struct pair_spec spec = {
			.server_certs = { fc->server_cert },
			.client_ca = fc->ca,
			.crl = fc->crl,
			.sni = "mx.example.test",
			.request_staple = fc->require_staple,
		};
		struct pair_result r;
		enum tls_verify got;

		must_pair(backends[s], backends[c], &spec, &r);
		if (fc->check_name != NULL)
			(void)tls_conn_check_name(r.client, fc->check_name);
		if (fc->require_staple)
			(void)tls_conn_require_staple(r.client);
		got = tls_conn_info(r.client)->verify;
		if (got != fc->want)
			fail_msg("%s served by %s, checked by %s: want %s, got %s (%s)",
			         fc->server_cert, backends[s]->name, backends[c]->name,
			         tls_verify_word(fc->want), tls_verify_word(got),
			         tls_conn_info(r.client)->verify_detail);
		free_result(&r);
	}
}

/*
 * RFC 8446 4.6.1: a TLS 1.3 server may send NewSessionTickets at any time
 * after the handshake, and real ones (Postfix by default) do.  Every client
 * reads on through 0, 1 and 2 tickets after the handshake and one between
 * two records (issue 12, bug 1: the GnuTLS client took the "again" GnuTLS
 * returns after processing one for a receive timeout).  Only the OpenSSL
 * backend serves tickets (TLS_CAP_TICKETS).
 */
static void
test_client_reads_past_tickets(void **state)
{
	(void)state;
	for (size_t c = 0; c < NBACKENDS; c++)
		for (unsigned tickets = 0; tickets <= 2; tickets++)
			for (int between = 0; between <= 1; between++) {
				struct pair_spec spec = {
					.server_certs = { "mx-ecdsa" },
					.client_ca = "ca-bundle.pem",
					.version = TLS_VERSION_1_3,
					.server_tickets = tickets,
					.server_ticket_between = between,
				};
				struct pair_result r;
				char why[600] = "";

				if (run_pair(&tls_backend_openssl, backends[c], &spec, &r, why,
				             sizeof why) != 0)
					fail_msg("%s client, %u ticket(s)%s: %s", backends[c]->name,
					         tickets, between ? " + one between records" : "",
					         why);
				assert_string_equal(r.server.version, "TLSv1.3");
				assert_string_equal(tls_conn_info(r.client)->verify_detail, "ok");
				free_result(&r);
			}
}

/* Tickets are TLS 1.3's: none can be sent mid-session on TLS 1.2 (the other
 * refusals are tls_verdict_test.c's). */
static void
test_no_ticket_on_tls12(void **state)
{
	(void)state;
	for (size_t c = 0; c < NBACKENDS; c++) {
		struct pair_spec spec = {
			.server_certs = { "mx-ecdsa" },
			.version = TLS_VERSION_1_2,
			.server_ticket_between = 1,
		};
		struct pair_result r;
		char why[600] = "";

		/* The OpenSSL server child cannot send one mid-report on TLS 1.2. */
		assert_int_equal(
		        run_pair(&tls_backend_openssl, backends[c], &spec, &r, why, sizeof why),
		        -1);
	}
}

/*
 * RFC 8446 4.6.3: either side may send a KeyUpdate; with update_requested
 * the other must take the new keys at once and update its own.  Every
 * pairing: the server sends one between two records of its report, and the
 * client reads the rest of it under the new keys.  On TLS 1.2 there is none
 * to send (the child fails).
 */
static void
test_key_update_between_records(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof pairings / sizeof pairings[0]; k++)
		for (int version = 12; version <= 13; version++) {
			const struct tls_backend *sb = backends[pairings[k][0]],
			                         *cb = backends[pairings[k][1]];
			struct pair_spec spec = {
				.server_certs = { "mx-ecdsa" },
				.client_ca = "ca-bundle.pem",
				.version = (enum tls_version)version,
				.server_key_update_between = 1,
			};
			struct pair_result r;
			char why[600] = "";
			int rc = run_pair(sb, cb, &spec, &r, why, sizeof why);

			if (version == 12) {
				assert_int_equal(rc, -1);
				continue;
			}
			if (rc != 0)
				fail_msg("%s server, %s client: %s", sb->name, cb->name, why);
			assert_string_equal(r.server.version, "TLSv1.3");
			free_result(&r);
		}
}

/*
 * tls_config.groups (RFC 8446 4.2.7, RFC 8422 5.1.1): whichever end limits
 * the groups, both agree on one of them, and tls_info.group names it the
 * same on every pairing, TLS 1.2 and 1.3.  A server that takes only P-384
 * makes a client whose first key share is X25519 retry (HelloRetryRequest,
 * RFC 8446 4.1.4).  A name outside the set is a configuration error.
 */
static void
test_groups(void **state)
{
	static const struct {
		const char *server, *client, *want;
	} cases[] = {
		{ "P-384", NULL, "P-384" },
		{ NULL, "P-256", "P-256" },
		/* P-256 in the client's list too: a TLS 1.2 ECDSA certificate
		 * must be on a curve the client offers (RFC 8422 5.1). */
		{ "X25519 P-256", "P-521:X25519:P-256", "X25519" },
	};
	(void)state;
	for (size_t k = 0; k < sizeof pairings / sizeof pairings[0]; k++)
		for (int version = 12; version <= 13; version++)
			for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
				const struct tls_backend *sb = backends[pairings[k][0]],
				                         *cb = backends[pairings[k][1]];
				struct pair_spec spec = {
					.server_certs = { "mx-ecdsa" },
					.client_ca = "ca-bundle.pem",
					.version = (enum tls_version)version,
					.server_groups = cases[i].server,
					.client_groups = cases[i].client,
				};
				struct pair_result r;
				char why[600] = "";

				if (run_pair(sb, cb, &spec, &r, why, sizeof why) != 0)
					fail_msg("%s server, %s client, TLS 1.%d, case %zu: %s",
					         sb->name, cb->name, version - 10, i, why);
				if (strcmp(tls_conn_info(r.client)->group, cases[i].want) != 0)
					fail_msg("%s server, %s client, TLS 1.%d, case %zu: group "
					         "\"%s\"",
					         sb->name, cb->name, version - 10, i,
					         tls_conn_info(r.client)->group);
				free_result(&r);
			}
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct tls_config cfg = { .role = TLS_ROLE_CLIENT, .groups = "P-256 brainpool" };
		struct err e = { 0 };
		assert_null(tls_ctx_new(backends[b], &cfg, &e));
		assert_int_equal(e.code, TLS_ERR_CONFIG);
		assert_non_null(strstr(e.text, "brainpool"));
	}
}

static void
test_client_certificate(void **state)
{
	(void)state;
	FOR_EACH_PAIRING(s, c)
	{
		struct pair_spec with = {
			.server_certs = { "mx-rsa" },
			.server_request_client_cert = 1,
			.client_cert = "client",
			.client_ca = "ca-bundle.pem",
		};
		struct pair_spec without = with;
		struct pair_result r;

		without.client_cert = NULL;
		must_pair(backends[s], backends[c], &with, &r);
		assert_string_equal(r.server.verify, "ok");
		assert_string_equal(r.server.peer_key_type, "ECDSA");
		assert_string_equal(tls_conn_info(r.client)->local_key_type, "ECDSA");
		free_result(&r);

		must_pair(backends[s], backends[c], &without, &r);
		assert_string_equal(r.server.verify, "no-certificate");
		free_result(&r);
	}
}

static void
test_staple_round_trip(void **state)
{
	size_t want_len = 0;
	unsigned char *want = read_file(pki("mx-rsa.ocsp.der"), &want_len);
	(void)state;

	assert_non_null(want);
	FOR_EACH_PAIRING(s, c)
	{
		for (int version = 12; version <= 13; version++) {
			struct pair_spec spec = {
				.server_certs = { "mx-rsa" },
				.server_staple = "mx-rsa.ocsp.der",
				.client_ca = "ca-bundle.pem",
				.request_staple = 1,
				.version = (enum tls_version)version,
			};
			struct pair_result r;
			const struct tls_info *ci;

			must_pair(backends[s], backends[c], &spec, &r);
			ci = tls_conn_info(r.client);
			assert_int_equal(r.server.staple_requested, 1);
			assert_int_equal(r.server.staple_sent, 1);
			assert_int_equal(ci->staple_requested, 1);
			if (ci->staple.len != want_len ||
			    memcmp(ci->staple.data, want, want_len) != 0)
				fail_msg("server %s, client %s, TLS 1.%d: staple of %zu bytes, "
				         "want %zu",
				         backends[s]->name, backends[c]->name, version - 10,
				         ci->staple.len, want_len);
			assert_int_equal(tls_conn_require_staple(r.client), TLS_VERIFY_OK);
			free_result(&r);

			/*
			 * Not asked: not sent, except that a GnuTLS 3.7 client
			 * always sends status_request (docs/tls.md, "Known
			 * differences"); both ends then say so truthfully.
			 */
			spec.request_staple = 0;
			must_pair(backends[s], backends[c], &spec, &r);
			ci = tls_conn_info(r.client);
			if (backends[c] == &tls_backend_gnutls) {
				assert_int_equal(ci->staple_requested, 1);
				assert_int_equal(r.server.staple_requested, 1);
				assert_int_equal(r.server.staple_sent, 1);
				assert_int_equal(ci->staple.len, want_len);
			} else {
				assert_int_equal(ci->staple_requested, 0);
				assert_int_equal(r.server.staple_requested, 0);
				assert_int_equal(r.server.staple_sent, 0);
				assert_int_equal(ci->staple.len, 0);
			}
			free_result(&r);
		}
	}
	free(want);
}

/* Both clients see the very same chain bytes from the same server. */
static void
test_peer_chain_identical(void **state)
{
	struct pair_spec spec = { .server_certs = { "mx-ecdsa" }, .client_ca = "ca-bundle.pem" };
	struct pair_result r[NBACKENDS];
	(void)state;

	for (size_t c = 0; c < NBACKENDS; c++)
		must_pair(backends[0], backends[c], &spec, &r[c]);
	const struct tls_info *a = tls_conn_info(r[0].client), *b = tls_conn_info(r[1].client);
	assert_int_equal(a->peer_chain_len, b->peer_chain_len);
	for (size_t i = 0; i < a->peer_chain_len; i++) {
		assert_int_equal(a->peer_chain[i].len, b->peer_chain[i].len);
		assert_memory_equal(a->peer_chain[i].data, b->peer_chain[i].data,
		                    a->peer_chain[i].len);
	}
	for (size_t c = 0; c < NBACKENDS; c++)
		free_result(&r[c]);
}

static void
test_keylog(void **state)
{
	(void)state;
	for (size_t c = 0; c < NBACKENDS; c++) {
		for (int version = 12; version <= 13; version++) {
			char path[600], *text;
			size_t len = 0;
			struct pair_spec spec = {
				.server_certs = { "mx-ecdsa" },
				.client_ca = "ca-bundle.pem",
				.version = (enum tls_version)version,
				.keylog = path,
			};
			struct pair_result r;

			snprintf(path, sizeof path, "%s/keylog-%s-%d.txt",
			         tmp_dir[0] ? tmp_dir : "/tmp", backends[c]->name,
			         (int)getpid() + version);
			unlink(path);
			must_pair(backends[1 - c], backends[c], &spec, &r);
			free_result(&r);
			text = (char *)read_file(path, &len);
			assert_non_null(text);
			text = realloc(text, len + 1);
			text[len] = '\0';
			if (version == 12)
				assert_non_null(strstr(text, "CLIENT_RANDOM "));
			else
				assert_non_null(strstr(text, "CLIENT_TRAFFIC_SECRET_0 "));
			free(text);
			unlink(path);
		}
	}
}

static void
test_bad_config_names_the_file(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct tls_config cfg = { .role = TLS_ROLE_SERVER, .ncerts = 1 };
		struct err e = { 0 };

		cfg.certs[0].cert_file = "/nonexistent/cert.pem";
		cfg.certs[0].key_file = "/nonexistent/cert.key";
		assert_null(tls_ctx_new(backends[b], &cfg, &e));
		assert_int_equal(e.code, TLS_ERR_CONFIG);
		assert_non_null(strstr(e.text, "/nonexistent/cert.pem"));

		/* A key that belongs to another certificate. */
		fill_keypair(&cfg.certs[0], "mx-rsa");
		free((char *)cfg.certs[0].key_file);
		cfg.certs[0].key_file = strdup(pki("mx-ecdsa.key"));
		assert_null(tls_ctx_new(backends[b], &cfg, &e));
		assert_int_equal(e.code, TLS_ERR_CONFIG);
		free_keypairs(&cfg);

		/* A server without a certificate. */
		cfg.ncerts = 0;
		assert_null(tls_ctx_new(backends[b], &cfg, &e));
	}
}

static void
test_handshake_failure_is_reported(void **state)
{
	(void)state;
	/* A peer that speaks no TLS at all: both backends fail cleanly. */
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct tls_config cfg = { .role = TLS_ROLE_CLIENT };
		struct err e = { 0 };
		struct tls_ctx *ctx = tls_ctx_new(backends[b], &cfg, &e);
		int sv[2];
		struct tls_conn *c;

		assert_non_null(ctx);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		set_timeouts(sv[0]);
		assert_int_equal(write(sv[1], "220 not TLS at all\r\n", 20), 20);
		close(sv[1]);
		c = tls_conn_new(ctx, sv[0], NULL, &e);
		assert_non_null(c);
		assert_int_equal(tls_conn_handshake(c, &e), TLS_ERR_HANDSHAKE);
		assert_true(e.text[0] != '\0');
		tls_conn_free(c);
		tls_ctx_free(ctx);
		close(sv[0]);
	}
}

#define NFAIL (sizeof failure_cases / sizeof failure_cases[0])

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_default_version_is_tls13),
		cmocka_unit_test(test_sni_selection),
		cmocka_unit_test(test_client_certificate),
		cmocka_unit_test(test_client_reads_past_tickets),
		cmocka_unit_test(test_no_ticket_on_tls12),
		cmocka_unit_test(test_key_update_between_records),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_staple_round_trip),
		cmocka_unit_test(test_peer_chain_identical),
		cmocka_unit_test(test_keylog),
		cmocka_unit_test(test_bad_config_names_the_file),
		cmocka_unit_test(test_handshake_failure_is_reported),
	};
	struct CMUnitTest tests[4 + NFAIL + sizeof fixed / sizeof fixed[0]];
	char names[4 + NFAIL][160];
	size_t n = 0;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (setup_pki() != 0)
		return 1;
	for (size_t p = 0; p < 4; p++) {
		snprintf(names[n], sizeof names[n],
		         "handshake %s server, %s client: TLS 1.2/1.3, RSA/ECDSA, both orders",
		         backends[pairings[p][0]]->name, backends[pairings[p][1]]->name);
		tests[n] = (struct CMUnitTest){ .name = names[n],
			                        .test_func = test_pairing,
			                        .initial_state = (void *)pairings[p] };
		n++;
	}
	for (size_t i = 0; i < NFAIL; i++) {
		const struct failure_case *fc = &failure_cases[i];
		snprintf(names[n], sizeof names[n], "verify %s%s%s%s -> %s", fc->server_cert,
		         fc->crl ? " +crl" : "", fc->check_name ? " as " : "",
		         fc->check_name ? fc->check_name : "", tls_verify_word(fc->want));
		if (fc->require_staple)
			strncat(names[n], " (staple required)",
			        sizeof names[n] - strlen(names[n]) - 1);
		if (fc->ca == NULL)
			strncat(names[n], " (no trust anchors)",
			        sizeof names[n] - strlen(names[n]) - 1);
		tests[n] = (struct CMUnitTest){ .name = names[n],
			                        .test_func = test_verify_failure,
			                        .initial_state = (void *)fc };
		n++;
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	failed = _cmocka_run_group_tests("tls", tests, n, NULL, NULL);
	cleanup_tmp();
	return failed;
}
