/*
 * fakedns_zone_test.c - fakedns without ldns in sight: the answer logic
 * (answer*.c) driven with hand-made query packets against zones loaded,
 * completed and signed at set-up (positive, CNAME, NXDOMAIN, empty
 * non-terminal NODATA, DS from the parent, TC by mode and by size, every
 * per-answer failure mode, insecure and missing-dnskey zones, NOTIMP /
 * REFUSED, malformed queries, NSEC3 proofs, wildcard expansion, CNAME chains
 * across zones, --ad).  Directives and names: fakedns_directives_test.c,
 * fakedns_names_test.c.
 *
 * The new answers are read back with inspect.h: ldns's parser, NSEC3
 * hashing and denial verifier, none of answer.c's code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "directives.h"
#include "inspect.h"
#include "names.h"
#include "sign.h"
#include "zone.h"

/* --- answers ---------------------------------------------------------------- */

static const char zone_text[] =
        ";@fakedns servfail name=sf.example.test\n"
        ";@fakedns timeout name=silent.example.test\n"
        ";@fakedns truncate name=tc.example.test\n"
        "$ORIGIN example.test.\n"
        "$TTL 300\n"
        "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
        "@ IN NS ns1\n"
        "ns1 IN A 127.0.0.1\n"
        "@ IN MX 10 mx\n"
        "mx IN A 127.0.0.1\n"
        "www IN CNAME mx\n"
        "tc IN A 127.0.0.2\n"
        "_25._tcp.mx IN TLSA 3 1 1 "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

/* Per-name and zone-wide failure modes the zone above does not carry. */
static const char modes_text[] =
        ";@fakedns refused name=ref.fail.test\n"
        ";@fakedns delay=250 name=slow.fail.test\n"
        ";@fakedns bogus name=bad.fail.test\n"
        "$ORIGIN fail.test.\n"
        "$TTL 300\n"
        "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
        "@ IN NS ns1\n"
        "ns1 IN A 127.0.0.1\n"
        "ref IN A 127.0.0.3\n"
        "slow IN A 127.0.0.4\n"
        "bad IN A 127.0.0.5\n"
        "big IN TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\" "
        "\"0123456789012345678901234567890123456789012345678901234567890123456789\" "
        "\"0123456789012345678901234567890123456789012345678901234567890123456789\" "
        "\"0123456789012345678901234567890123456789012345678901234567890123456789\" "
        "\"0123456789012345678901234567890123456789012345678901234567890123456789\" "
        "\"0123456789012345678901234567890123456789012345678901234567890123456789\" "
        "\"0123456789012345678901234567890123456789012345678901234567890123456789\" "
        "\"0123456789012345678901234567890123456789012345678901234567890123456789\"\n";

static const char insecure_text[] = ";@fakedns insecure\n"
                                    "$ORIGIN unsigned.test.\n"
                                    "$TTL 300\n"
                                    "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
                                    "@ IN NS ns1\n"
                                    "ns1 IN A 127.0.0.1\n"
                                    "www IN A 127.0.0.6\n";

static const char nokey_text[] = ";@fakedns missing-dnskey\n"
                                 "$ORIGIN nokey.test.\n"
                                 "$TTL 300\n"
                                 "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
                                 "@ IN NS ns1\n"
                                 "ns1 IN A 127.0.0.1\n"
                                 "www IN A 127.0.0.7\n";

/* NSEC3 denial by directive; a wildcard, an empty non-terminal, a CNAME back. */
static const char hashed_text[] =
        ";@fakedns nsec3\n"
        "$ORIGIN hashed.test.\n"
        "$TTL 300\n"
        "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
        "@ IN NS ns1\n"
        "ns1 IN A 127.0.0.1\n"
        "mail IN A 127.0.0.8\n"
        "_25._tcp.mail IN TLSA 3 1 1 "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
        "*.wild IN A 127.0.0.10\n"
        "back IN CNAME mx.example.test.\n";

/* NSEC wildcards, and CNAMEs into other zones. */
static const char wild_text[] = "$ORIGIN wild.test.\n"
                                "$TTL 300\n"
                                "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
                                "@ IN NS ns1\n"
                                "ns1 IN A 127.0.0.1\n"
                                "*.any IN A 127.0.0.9\n"
                                "*.alias IN CNAME mail.hashed.test.\n"
                                "to-hashed IN CNAME mail.hashed.test.\n"
                                "to-gone IN CNAME gone.hashed.test.\n"
                                "to-outside IN CNAME www.example.com.\n"
                                "to-unsigned IN CNAME www.unsigned.test.\n"
                                "to-refused IN CNAME ref.fail.test.\n";

#define NFILES 6

struct fixture {
	struct fd_zoneset set;
	char path[NFILES][64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };
	FILE *fp;
	int fd;

	const char *texts[NFILES] = { zone_text,  modes_text,  insecure_text,
		                      nokey_text, hashed_text, wild_text };

	if (f == NULL)
		return -1;
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(f->path[i], sizeof(f->path[i]), "/tmp/fakedns_zone_test.XXXXXX");
		fd = mkstemp(f->path[i]);
		if (fd < 0 || (fp = fdopen(fd, "w")) == NULL)
			return -1;
		fputs(texts[i], fp);
		fclose(fp);
		if (zoneset_load_file(&f->set, f->path[i], &e) != 0) {
			fprintf(stderr, "set-up: %s\n", e.text);
			return -1;
		}
	}
	if (zoneset_complete(&f->set, &e) != 0 ||
	    sign_zoneset(&f->set, SIGN_ALG_ECDSAP256, time(NULL), &e) != 0) {
		fprintf(stderr, "set-up: %s\n", e.text);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	zoneset_free(&f->set);
	for (size_t i = 0; i < NFILES; i++)
		unlink(f->path[i]);
	free(f);
	return 0;
}

/* A query for name/type; with EDNS (DO set) when edns_size > 0. */
static size_t
make_query(uint8_t *buf, const char *name, uint16_t type, uint16_t edns_size)
{
	size_t n = 0;
	const char *p = name;

	memcpy(buf, "\xbe\xef\x00\x00\x00\x01\x00\x00\x00\x00\x00", 11);
	buf[11] = edns_size ? 1 : 0;
	n = 12;
	while (*p != '\0' && strcmp(p, ".") != 0) { /* bounded by the name */
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		buf[n++] = (uint8_t)len;
		memcpy(buf + n, p, len);
		n += len;
		p += len + (dot ? 1 : 0);
	}
	buf[n++] = 0;
	buf[n++] = (uint8_t)(type >> 8);
	buf[n++] = (uint8_t)type;
	buf[n++] = 0;
	buf[n++] = 1;
	if (edns_size) {
		/* OPT: root owner, type 41, class = size, ttl with DO, no rdata */
		const uint8_t opt[] = {
			0, 0, 41, (uint8_t)(edns_size >> 8), (uint8_t)edns_size, 0, 0, 0x80, 0, 0, 0
		};

		memcpy(buf + n, opt, sizeof(opt));
		n += sizeof(opt);
	}
	return n;
}

struct reply {
	int drop, rcode, aa, tc, ra, ad;
	unsigned an, ns, delay_ms;
	char log[ANSWER_LOG_MAX];
};

static struct reply
ask(void **state, const char *name, uint16_t type, uint16_t edns_size, int tcp)
{
	struct fixture *f = *state;
	uint8_t q[512];
	struct answer_result r;
	struct err e = { 0 };
	struct reply out = { 0 };
	size_t len = make_query(q, name, type, edns_size);

	assert_int_equal(answer_query(&f->set, q, len, tcp, &r, &e), 0);
	out.drop = r.drop;
	out.delay_ms = r.delay_ms;
	snprintf(out.log, sizeof(out.log), "%s", r.log);
	if (!r.drop) {
		assert_true(r.len >= 12);
		assert_int_equal(r.wire[0], 0xbe);
		out.aa = (r.wire[2] & 0x04) != 0;
		out.tc = (r.wire[2] & 0x02) != 0;
		out.rcode = r.wire[3] & 0x0f;
		out.ra = (r.wire[3] & 0x80) != 0;
		out.ad = (r.wire[3] & 0x20) != 0;
		out.an = (unsigned)(r.wire[6] << 8 | r.wire[7]);
		out.ns = (unsigned)(r.wire[8] << 8 | r.wire[9]);
	}
	answer_result_free(&r);
	return out;
}

#define T_A 1
#define T_NS 2
#define T_MX 15
#define T_AAAA 28
#define T_DS 43
#define T_TLSA 52
#define T_TXT 16
#define T_DNSKEY 48

static void
test_answer_positive(void **state)
{
	struct reply r = ask(state, "example.test", T_MX, 1232, 0);

	assert_int_equal(r.rcode, 0);
	assert_true(r.aa);
	assert_int_equal(r.an, 2); /* MX + RRSIG */
	assert_string_equal(r.log, "example.test. MX -> NOERROR 2 secure data");
	r = ask(state, "example.test", T_MX, 0, 0);
	assert_int_equal(r.an, 1); /* no DO, no RRSIG */
	r = ask(state, "_25._tcp.mx.example.test", T_TLSA, 1232, 0);
	assert_int_equal(r.an, 2);
}

static void
test_answer_cname(void **state)
{
	struct reply r = ask(state, "www.example.test", T_A, 1232, 0);

	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.an, 4); /* CNAME + RRSIG, A + RRSIG */
}

static void
test_answer_negative(void **state)
{
	struct reply r = ask(state, "nope.example.test", T_A, 1232, 0);

	assert_int_equal(r.rcode, 3);
	assert_int_equal(r.an, 0);
	assert_true(r.ns >= 4); /* SOA, NSEC (name), NSEC (wildcard) and RRSIGs */
	assert_string_equal(r.log, "nope.example.test. A -> NXDOMAIN 0 secure nxdomain");
	r = ask(state, "mx.example.test", T_AAAA, 1232, 0);
	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 4); /* SOA, its RRSIG, the NSEC at mx, its RRSIG */
	/* RFC 8020: an empty non-terminal exists: NODATA, never NXDOMAIN */
	r = ask(state, "_tcp.mx.example.test", T_A, 1232, 0);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.log, "_tcp.mx.example.test. A -> NOERROR 0 secure nodata");
	r = ask(state, "_25._tcp.mx.example.test", T_A, 1232, 0);
	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.an, 0);
}

static void
test_answer_ds_from_parent(void **state)
{
	struct reply r = ask(state, "example.test", T_DS, 1232, 0);

	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.an, 2); /* DS + RRSIG by test. */
	r = ask(state, "test", T_DS, 1232, 0);
	assert_int_equal(r.an, 2); /* from the root */
	r = ask(state, "example.test", T_NS, 0, 0);
	assert_true(r.aa); /* the child's own NS, authoritative */
	assert_int_equal(r.an, 1);
}

static void
test_answer_truncation(void **state)
{
	/* the truncate mode: TC over UDP whatever the size */
	struct reply r = ask(state, "tc.example.test", T_A, 1232, 0);

	assert_true(r.tc);
	assert_int_equal(r.an, 0);
	r = ask(state, "tc.example.test", T_A, 1232, 1);
	assert_false(r.tc); /* TCP: never truncated */
	assert_int_equal(r.an, 2);
}

static void
test_answer_failure_modes(void **state)
{
	struct reply r = ask(state, "sf.example.test", T_A, 0, 0);

	assert_int_equal(r.rcode, 2);
	r = ask(state, "silent.example.test", T_A, 0, 0);
	assert_true(r.drop);
	r = ask(state, "other.invalid", T_A, 0, 0);
	assert_int_equal(r.rcode, 3); /* the synthetic root has no invalid. */
}

static void
test_answer_malformed(void **state)
{
	struct fixture *f = *state;
	struct answer_result r;
	struct err e = { 0 };
	uint8_t junk[64];

	assert_int_equal(answer_query(&f->set, (const uint8_t *)"\x01", 1, 0, &r, &e), 0);
	assert_true(r.drop); /* no header: nothing to answer */
	memset(junk, 0xff, sizeof(junk));
	junk[2] = 0x01; /* a query, not a response */
	assert_int_equal(answer_query(&f->set, junk, sizeof(junk), 0, &r, &e), 0);
	assert_false(r.drop);
	assert_int_equal(r.len, 12);
	assert_int_equal(r.wire[3] & 0x0f, 1); /* FORMERR */
	answer_result_free(&r);
	junk[2] = 0x81; /* a response: never answered (no loops) */
	assert_int_equal(answer_query(&f->set, junk, sizeof(junk), 0, &r, &e), 0);
	assert_true(r.drop);
	/* bounded: every length of a valid query cut short */
	for (size_t n = 0; n < 40; n++) {
		uint8_t q[512];
		size_t len = make_query(q, "mx.example.test", T_A, 1232);

		assert_int_equal(answer_query(&f->set, q, n < len ? n : len, 0, &r, &e), 0);
		answer_result_free(&r);
	}
}

/* Per-name refused, delay and bogus; what the log says a validator sees. */
static void
test_answer_more_modes(void **state)
{
	struct reply r = ask(state, "ref.fail.test", T_A, 1232, 0);

	assert_int_equal(r.rcode, 5); /* REFUSED */
	assert_int_equal(r.an, 0);
	r = ask(state, "slow.fail.test", T_A, 1232, 0);
	assert_int_equal(r.delay_ms, 250); /* answered, after the caller waits */
	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.an, 2);
	r = ask(state, "ns1.fail.test", T_A, 1232, 0);
	assert_int_equal(r.delay_ms, 0); /* only the named name */
	assert_string_equal(r.log, "ns1.fail.test. A -> NOERROR 2 secure data");
	r = ask(state, "bad.fail.test", T_A, 1232, 0);
	assert_int_equal(r.rcode, 0); /* served as usual, signature corrupted */
	assert_int_equal(r.an, 2);
	assert_non_null(strstr(r.log, " bogus data"));
}

/* insecure: no DS at the parent, the parent's NSEC proves it. */
static void
test_answer_insecure(void **state)
{
	struct reply r = ask(state, "unsigned.test", T_DS, 1232, 0);

	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.an, 0);
	assert_true(r.ns >= 2); /* SOA of test., the NSEC at unsigned.test. (+ RRSIGs) */
	r = ask(state, "www.unsigned.test", T_A, 1232, 0);
	assert_int_equal(r.rcode, 0);
	assert_true(r.an >= 1);
	assert_non_null(strstr(r.log, " insecure data"));
	r = ask(state, "example.test", T_DS, 1232, 0);
	assert_int_equal(r.an, 2); /* a signed sibling keeps its DS */
}

/* missing-dnskey: the DS is published but the DNSKEY RRset is absent. */
static void
test_answer_missing_dnskey(void **state)
{
	struct reply r = ask(state, "nokey.test", T_DS, 1232, 0);

	assert_int_equal(r.an, 2); /* DS + RRSIG from test. */
	r = ask(state, "nokey.test", T_DNSKEY, 1232, 0);
	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.an, 0);
	r = ask(state, "www.nokey.test", T_A, 1232, 0);
	assert_non_null(strstr(r.log, " bogus "));
	r = ask(state, "example.test", T_DNSKEY, 1232, 0);
	assert_true(r.an >= 2); /* the others still have theirs */
}

/* TC from size alone: 560 octets of TXT over 512-octet UDP, then TCP. */
static void
test_answer_size_truncation(void **state)
{
	struct reply r = ask(state, "big.fail.test", T_TXT, 0, 0);

	assert_true(r.tc);
	assert_int_equal(r.an, 0);
	assert_non_null(strstr(r.log, "truncated"));
	r = ask(state, "big.fail.test", T_TXT, 4096, 0);
	assert_false(r.tc); /* fits the client's EDNS size */
	assert_int_equal(r.an, 2);
	r = ask(state, "big.fail.test", T_TXT, 0, 1);
	assert_false(r.tc);
	assert_int_equal(r.an, 1); /* (the " tcp" log mark is the server's) */
}

/* Other opcodes NOTIMP, other classes and names outside every zone REFUSED. */
static void
test_answer_opcode_class(void **state)
{
	struct fixture *f = *state;
	struct answer_result r;
	struct err e = { 0 };
	uint8_t q[512];
	size_t len = make_query(q, "mx.example.test", T_A, 0);

	q[2] |= 2 << 3; /* opcode 2: STATUS */
	assert_int_equal(answer_query(&f->set, q, len, 0, &r, &e), 0);
	assert_false(r.drop);
	assert_int_equal(r.wire[3] & 0x0f, 4); /* NOTIMP */
	answer_result_free(&r);
	len = make_query(q, "mx.example.test", T_A, 0);
	q[len - 1] = 3; /* class CH */
	assert_int_equal(answer_query(&f->set, q, len, 0, &r, &e), 0);
	assert_false(r.drop);
	assert_int_equal(r.wire[3] & 0x0f, 5); /* REFUSED */
	answer_result_free(&r);
}

/* --- NSEC3, wildcards, CNAME chains, --ad (read back by inspect.h) --------- */

#define AN INSPECT_ANSWER
#define NS INSPECT_AUTHORITY

/* The response to name/type with DO set, parsed; the caller frees it. */
static struct inspect *
ask_pkt(void **state, const char *name, uint16_t type)
{
	struct fixture *f = *state;
	uint8_t q[512];
	struct answer_result r;
	struct err e = { 0 };
	struct inspect *p;
	size_t len = make_query(q, name, type, 4096);

	assert_int_equal(answer_query(&f->set, q, len, 1, &r, &e), 0);
	assert_false(r.drop);
	p = inspect_parse(r.wire, r.len);
	assert_non_null(p);
	answer_result_free(&r);
	return p;
}

static void
test_nsec3_nxdomain(void **state)
{
	struct inspect *p = ask_pkt(state, "nope.hashed.test", T_A);

	assert_int_equal(inspect_rcode(p), 3);
	assert_int_equal(inspect_count(p, NS, "NSEC", NULL), 0);
	/* RFC 5155 7.2.2: the closest encloser (the apex) matched, the next
	 * closer name and the wildcard covered, each NSEC3 signed */
	assert_true(inspect_nsec3_for(p, "hashed.test.", 1));
	assert_true(inspect_nsec3_for(p, "nope.hashed.test.", 0));
	assert_true(inspect_nsec3_for(p, "*.hashed.test.", 0));
	assert_int_equal(inspect_count(p, NS, "RRSIG", NULL),
	                 inspect_count(p, NS, "NSEC3", NULL) + 1);
	assert_true(inspect_nsec3_denial_ok(p, 0));
	inspect_free(p);
	/* deeper: closest encloser mail, next closer x.mail, wildcard *.mail */
	p = ask_pkt(state, "y.x.mail.hashed.test", T_A);
	assert_int_equal(inspect_rcode(p), 3);
	assert_true(inspect_nsec3_for(p, "mail.hashed.test.", 1));
	assert_true(inspect_nsec3_for(p, "x.mail.hashed.test.", 0));
	assert_true(inspect_nsec3_for(p, "*.mail.hashed.test.", 0));
	assert_false(inspect_nsec3_for(p, "y.x.mail.hashed.test.", 1));
	assert_true(inspect_nsec3_denial_ok(p, 0));
	inspect_free(p);
}

static void
test_nsec3_nodata(void **state)
{
	struct inspect *p = ask_pkt(state, "mail.hashed.test", T_AAAA);
	char hashed[FD_NAME_MAX];

	assert_int_equal(inspect_rcode(p), 0);
	assert_int_equal(inspect_count(p, AN, "A", NULL), 0);
	/* RFC 5155 7.2.3: the one NSEC3 matching the name */
	assert_int_equal(inspect_count(p, NS, "NSEC3", NULL), 1);
	assert_true(inspect_nsec3_for(p, "mail.hashed.test.", 1));
	assert_int_equal(inspect_count(p, NS, "SOA", NULL), 1);
	assert_true(inspect_nsec3_denial_ok(p, 1));
	inspect_free(p);
	/* an empty non-terminal has an NSEC3 of its own */
	p = ask_pkt(state, "_tcp.mail.hashed.test", T_A);
	assert_int_equal(inspect_rcode(p), 0);
	assert_int_equal(inspect_count(p, AN, "A", NULL), 0);
	assert_int_equal(inspect_count(p, NS, "NSEC3", NULL), 1);
	assert_true(inspect_nsec3_for(p, "_tcp.mail.hashed.test.", 1));
	assert_true(inspect_nsec3_denial_ok(p, 1));
	assert_int_equal(inspect_owner(p, NS, "NSEC3", 0, hashed, sizeof(hashed)), 0);
	inspect_free(p);
	/* the NSEC3 chain is not zone data: its hashed owner name is NXDOMAIN */
	p = ask_pkt(state, hashed, T_A);
	assert_int_equal(inspect_rcode(p), 3);
	inspect_free(p);
}

/* Wildcard answers: the owner is the query name, the RRSIG keeps the
 * wildcard's label count, and the exact name is proved absent. */
static void
test_wildcard_nsec(void **state)
{
	struct inspect *p = ask_pkt(state, "host.any.wild.test", T_A);
	char addr[64];

	assert_int_equal(inspect_rcode(p), 0);
	assert_true(inspect_aa(p));
	assert_int_equal(inspect_count(p, AN, "A", "host.any.wild.test."), 1);
	assert_int_equal(inspect_rdata(p, AN, "A", "host.any.wild.test.", addr, sizeof(addr)), 0);
	assert_string_equal(addr, "127.0.0.9");
	/* RFC 4035 5.3.4: labels 3 (any.wild.test), fewer than the owner's 4 */
	assert_int_equal(inspect_rrsig_labels(p, AN, "A", "host.any.wild.test."), 3);
	assert_int_equal(inspect_count(p, AN, "A", "*.any.wild.test."), 0);
	assert_int_equal(inspect_count(p, NS, "NSEC", NULL), 1);
	assert_true(inspect_nsec_covers(p, "host.any.wild.test."));
	assert_int_equal(inspect_count(p, NS, "SOA", NULL), 0);
	inspect_free(p);
	/* wildcard NODATA (RFC 4035 3.1.3.4): the NSEC covering the name and
	 * the NSEC at the wildcard, which has no AAAA */
	p = ask_pkt(state, "host.any.wild.test", T_AAAA);
	assert_int_equal(inspect_rcode(p), 0);
	assert_int_equal(inspect_count(p, AN, "AAAA", NULL), 0);
	assert_int_equal(inspect_count(p, NS, "NSEC", "*.any.wild.test."), 1);
	assert_int_equal(inspect_count(p, NS, "SOA", NULL), 1);
	assert_true(inspect_nsec_covers(p, "host.any.wild.test."));
	inspect_free(p);
	/* no wildcard at the closest encloser: NXDOMAIN */
	p = ask_pkt(state, "host.other.wild.test", T_A);
	assert_int_equal(inspect_rcode(p), 3);
	inspect_free(p);
}

static void
test_wildcard_nsec3(void **state)
{
	struct inspect *p = ask_pkt(state, "a.b.wild.hashed.test", T_A);

	assert_int_equal(inspect_rcode(p), 0);
	assert_int_equal(inspect_count(p, AN, "A", "a.b.wild.hashed.test."), 1);
	assert_int_equal(inspect_rrsig_labels(p, AN, "A", "a.b.wild.hashed.test."), 3);
	/* RFC 5155 7.2.6: the NSEC3 covering the next closer name b.wild */
	assert_true(inspect_nsec3_for(p, "b.wild.hashed.test.", 0));
	assert_false(inspect_nsec3_for(p, "wild.hashed.test.", 1));
	inspect_free(p);
	/* RFC 5155 7.2.5: wildcard NODATA */
	p = ask_pkt(state, "b.wild.hashed.test", T_MX);
	assert_int_equal(inspect_rcode(p), 0);
	assert_int_equal(inspect_count(p, AN, "MX", NULL), 0);
	assert_true(inspect_nsec3_for(p, "wild.hashed.test.", 1));
	assert_true(inspect_nsec3_for(p, "b.wild.hashed.test.", 0));
	assert_true(inspect_nsec3_for(p, "*.wild.hashed.test.", 1));
	inspect_free(p);
}

/* CNAME chains: into another served zone, to a name that does not exist
 * there, out of every served zone, and from a wildcard. */
static void
test_cname_across_zones(void **state)
{
	struct inspect *p = ask_pkt(state, "to-hashed.wild.test", T_A);

	assert_int_equal(inspect_rcode(p), 0);
	assert_true(inspect_aa(p));
	assert_int_equal(inspect_count(p, AN, "CNAME", "to-hashed.wild.test."), 1);
	assert_int_equal(inspect_rrsig_labels(p, AN, "CNAME", "to-hashed.wild.test."), 3);
	assert_int_equal(inspect_count(p, AN, "A", "mail.hashed.test."), 1);
	assert_int_equal(inspect_rrsig_labels(p, AN, "A", "mail.hashed.test."), 3);
	inspect_free(p);
	/* RFC 6604: the rcode of the last name, with its zone's proof */
	p = ask_pkt(state, "to-gone.wild.test", T_A);
	assert_int_equal(inspect_rcode(p), 3);
	assert_int_equal(inspect_count(p, AN, "CNAME", NULL), 1);
	assert_int_equal(inspect_count(p, NS, "SOA", "hashed.test."), 1);
	assert_true(inspect_nsec3_for(p, "gone.hashed.test.", 0));
	inspect_free(p);
	/* leaving the served zones: the CNAME alone, NOERROR */
	p = ask_pkt(state, "to-outside.wild.test", T_A);
	assert_int_equal(inspect_rcode(p), 0);
	assert_int_equal(inspect_count(p, AN, "CNAME", NULL), 1);
	assert_int_equal(inspect_count(p, AN, "RRSIG", NULL), 1);
	assert_int_equal(inspect_count(p, NS, "SOA", NULL), 0);
	inspect_free(p);
	/* a name answered REFUSED: the chain stops for the resolver to meet it */
	p = ask_pkt(state, "to-refused.wild.test", T_A);
	assert_int_equal(inspect_rcode(p), 0);
	assert_int_equal(inspect_count(p, AN, "CNAME", NULL), 1);
	assert_int_equal(inspect_count(p, AN, "A", NULL), 0);
	inspect_free(p);
	/* a CNAME synthesised from a wildcard, then on into hashed.test */
	p = ask_pkt(state, "x.alias.wild.test", T_A);
	assert_int_equal(inspect_count(p, AN, "CNAME", "x.alias.wild.test."), 1);
	assert_int_equal(inspect_count(p, AN, "A", "mail.hashed.test."), 1);
	assert_true(inspect_nsec_covers(p, "x.alias.wild.test."));
	inspect_free(p);
	/* and back from the NSEC3 zone into example.test */
	p = ask_pkt(state, "back.hashed.test", T_A);
	assert_int_equal(inspect_count(p, AN, "A", "mx.example.test."), 1);
	inspect_free(p);
}

/* --ad: RA always; AD only on data every zone of which validates. */
static void
test_ad_mode(void **state)
{
	struct fixture *f = *state;
	struct reply r = ask(state, "mx.example.test", T_A, 1232, 0);

	assert_false(r.ra);
	assert_false(r.ad);
	f->set.ad = 1;
	r = ask(state, "mx.example.test", T_A, 1232, 0);
	assert_true(r.ra);
	assert_true(r.ad);
	r = ask(state, "nope.hashed.test", T_A, 1232, 0);
	assert_int_equal(r.rcode, 3);
	assert_true(r.ad);
	r = ask(state, "to-hashed.wild.test", T_A, 1232, 0);
	assert_true(r.ad);
	r = ask(state, "mx.example.test", T_A, 0, 0); /* neither DO nor AD asked */
	assert_true(r.ra);
	assert_false(r.ad);
	r = ask(state, "www.unsigned.test", T_A, 1232, 0);
	assert_true(r.ra);
	assert_false(r.ad);
	r = ask(state, "to-unsigned.wild.test", T_A, 1232, 0); /* secure, then insecure */
	assert_int_equal(r.an, 4); /* insecure.test is signed, just not chained */
	assert_false(r.ad);
	r = ask(state, "www.nokey.test", T_A, 1232, 0);
	assert_false(r.ad);
	r = ask(state, "bad.fail.test", T_A, 1232, 0);
	assert_false(r.ad);
	r = ask(state, "ref.fail.test", T_A, 1232, 0);
	assert_int_equal(r.rcode, 5);
	assert_false(r.ad);
	f->set.ad = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_positive),
		cmocka_unit_test(test_answer_cname),
		cmocka_unit_test(test_answer_negative),
		cmocka_unit_test(test_answer_ds_from_parent),
		cmocka_unit_test(test_answer_truncation),
		cmocka_unit_test(test_answer_failure_modes),
		cmocka_unit_test(test_answer_malformed),
		cmocka_unit_test(test_answer_more_modes),
		cmocka_unit_test(test_answer_insecure),
		cmocka_unit_test(test_answer_missing_dnskey),
		cmocka_unit_test(test_answer_size_truncation),
		cmocka_unit_test(test_answer_opcode_class),
		cmocka_unit_test(test_nsec3_nxdomain),
		cmocka_unit_test(test_nsec3_nodata),
		cmocka_unit_test(test_wildcard_nsec),
		cmocka_unit_test(test_wildcard_nsec3),
		cmocka_unit_test(test_cname_across_zones),
		cmocka_unit_test(test_ad_mode),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
