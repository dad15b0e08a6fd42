/*
 * fakeocsp_http_fuzz.c - libFuzzer target for fakeocsp/http.c's request
 * parser: the input is what an HTTP client sends.  As conn_one() does, the
 * header block (up to "\r\n\r\n" or "\n\n", at most HTTP_MAX_HEADER) goes
 * through request_parse(); a GET's target through get_decode() (URL then
 * base64 decoding into a DER buffer); http_url_decode() and
 * http_base64_decode() also see the whole input.  request_parse() and
 * friends are static, so this file includes http.c itself (the archive's
 * http.o is then never linked into this target).
 */
#include "../fakeocsp/http.c"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	size_t have = size < HTTP_MAX_HEADER ? size : HTTP_MAX_HEADER;
	size_t end = header_end(text, have);
	unsigned char der[HTTP_MAX_BODY];

	if (end > 0) {
		char *head = malloc(end); /* exactly the header block, as conn_one has it */
		struct request rq;
		const char *why = NULL;
		int code;

		if (head == NULL)
			abort();
		memcpy(head, text, end);
		code = request_parse(head, end, &rq, &why);
		if (code != 0 && why == NULL)
			abort(); /* a refusal always says why */
		if (code == 0 && strcmp(rq.method, "GET") == 0) {
			long n = get_decode(rq.target, der, sizeof der);
			if (n > (long)sizeof der)
				abort();
		}
		free(head);
	}
	{
		long n = http_base64_decode(text, der, sizeof der);
		if (n > (long)sizeof der)
			abort();
	}
	(void)http_url_decode(text);
	free(text);
	return 0;
}
