/*
 * resolver_decode_fuzz.c - libFuzzer target for lib/resolver.c's record
 * decoding (decode_rr, decode_name: what libunbound hands over as RDATA).
 * The input is a sequence of records, each "TYPE LENGTH RDATA" (TYPE one
 * octet, taken modulo the six types; LENGTH one octet).  As
 * resolver_lookup() does, they are decoded into one answer in order until
 * one is malformed (then the answer is freed: tempfail), then formatted into a small buffer (the
 * log's form, resolver_answer_format) and freed with
 * resolver_answer_free().  decode_rr() is static, so this file includes
 * resolver.c itself; libunbound is linked but never called.
 */
#include "../lib/resolver.c"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RRS 16

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resolver_answer a = { .status = RESOLVER_SECURE, .secure = 1, .ttl = 300 };
	enum resolver_type type = RESOLVER_A;
	size_t pos = 0;
	char buf[512];

	a.rrs = calloc(MAX_RRS, sizeof *a.rrs);
	if (a.rrs == NULL)
		abort();
	while (pos + 2 <= size && a.nrrs < MAX_RRS) {
		size_t len = data[pos + 1];
		unsigned char *rdata;
		int rc;

		/* One answer holds one type, as from one lookup: the first record's. */
		if (a.nrrs == 0)
			type = (enum resolver_type)(data[pos] % 6);
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		rdata = malloc(len ? len : 1); /* exactly sized: overreads are found */
		if (rdata == NULL)
			abort();
		memcpy(rdata, data + pos, len);
		pos += len;
		a.nrrs++;
		rc = decode_rr(type, rdata, len, &a.rrs[a.nrrs - 1]);
		free(rdata);
		if (rc != 0) {
			resolver_answer_free(&a); /* as resolver_lookup: tempfail, no records */
			break;
		}
	}
	resolver_answer_format(&a, type, "fuzz.example.test", buf, sizeof buf);
	if (strlen(buf) >= sizeof buf)
		abort();
	resolver_answer_free(&a);
	return 0;
}
