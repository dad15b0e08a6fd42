/*
 * fakeocsp_request_fuzz.c - libFuzzer target: the bytes are a (hostile) DER
 * OCSPRequest for ocsp_req_parse(); a parsed request is walked and freed.
 * docs/fuzz.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocsp_req *req = NULL;
	struct err e = { 0 };

	if (ocsp_req_parse(data, size, &req, &e) == 0 && req != NULL) {
		size_t n = ocsp_req_count(req);
		volatile size_t sink = 0;

		for (size_t i = 0; i < n; i++)
			sink += strlen(ocsp_req_serial(req, i));
		sink += (size_t)ocsp_req_has_nonce(req);
		(void)sink;
		ocsp_req_free(req);
	}
	return 0;
}
