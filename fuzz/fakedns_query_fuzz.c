/*
 * fakedns_query_fuzz.c - libFuzzer target: the bytes are one DNS query
 * packet for fakedns's answer_query(), over UDP and over TCP, against a
 * small zone loaded, completed and signed once (as fakedns_main.c does).
 * docs/fuzz.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "err.h"
#include "sign.h"
#include "zone.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every answer path: data, CNAME, NODATA, empty non-terminal, NXDOMAIN,
   delegation to an unserved zone (referral), and the per-name faults. */
static const char zone_text[] =
        ";@fakedns servfail name=sf.example.test\n"
        ";@fakedns refused name=rf.example.test\n"
        ";@fakedns timeout name=silent.example.test\n"
        ";@fakedns truncate name=tc.example.test\n"
        ";@fakedns bogus name=bogus.example.test\n"
        "$ORIGIN example.test.\n"
        "$TTL 300\n"
        "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
        "@ IN NS ns1\n"
        "ns1 IN A 127.0.0.1\n"
        "@ IN MX 10 mx\n"
        "mx IN A 127.0.0.1\n"
        "mx IN AAAA ::1\n"
        "www IN CNAME mx\n"
        "loop1 IN CNAME loop2\n"
        "loop2 IN CNAME loop1\n"
        "tc IN A 127.0.0.2\n"
        "bogus IN A 127.0.0.3\n"
        "big IN TXT "
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" "
        "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n"
        "sub IN NS ns.elsewhere.invalid.\n"
        "_25._tcp.mx IN TLSA 3 1 1 "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
        "to-other IN CNAME x.other.test.\n";

/* A second zone with NSEC3 denial, wildcards (an A and a CNAME into the
 * first zone), a cross-zone CNAME and an empty non-terminal. */
static const char zone2_text[] = ";@fakedns nsec3\n"
                                 "$ORIGIN other.test.\n"
                                 "$TTL 300\n"
                                 "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
                                 "@ IN NS ns1\n"
                                 "ns1 IN A 127.0.0.1\n"
                                 "*.wild IN A 127.0.0.9\n"
                                 "*.wc IN CNAME www.example.test.\n"
                                 "x IN CNAME mx.example.test.\n"
                                 "a.b.ent IN TXT \"below an empty non-terminal\"\n";

static struct fd_zoneset set = { .n = 0 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/fakedns_fuzz.XXXXXX", path[sizeof dir + 16];
	struct err e = { 0 };
	FILE *fp;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL) {
		perror("fakedns_query_fuzz: mkdtemp");
		abort();
	}
	for (int z = 0; z < 2; z++) {
		snprintf(path, sizeof path, "%s/zone%d", dir, z);
		fp = fopen(path, "w");
		if (fp == NULL || fputs(z == 0 ? zone_text : zone2_text, fp) == EOF ||
		    fclose(fp) != 0) {
			perror("fakedns_query_fuzz: writing the zone");
			abort();
		}
		if (zoneset_load_file(&set, path, &e) != 0) {
			fprintf(stderr, "fakedns_query_fuzz: set-up: %s\n", e.text);
			abort();
		}
		unlink(path);
	}
	if (zoneset_complete(&set, &e) != 0 ||
	    sign_zoneset(&set, SIGN_ALG_ECDSAP256, time(NULL), &e) != 0) {
		fprintf(stderr, "fakedns_query_fuzz: set-up: %s\n", e.text);
		abort();
	}
	rmdir(dir);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int tcp = 0; tcp <= 1; tcp++) {
		struct answer_result r;
		struct err e = { 0 };

		memset(&r, 0, sizeof r);
		if (answer_query(&set, data, size, tcp, &r, &e) != 0)
			continue; /* out of memory: not a finding */
		if (!r.drop && (r.wire == NULL || r.len < 12))
			abort(); /* a response must at least have a header */
		answer_result_free(&r);
	}
	return 0;
}
