/*
 * proxy_fuzz.c - libFuzzer target: the PROXY protocol header parser
 * (server/proxy.h, proxy_parse).  The input is copied into a buffer of
 * exactly its size (an over-read is caught by ASan) and parsed whole, then
 * every prefix of it is parsed too, as the reader does while a header
 * arrives in pieces.  The parser's own promises are checked: a whole
 * header never claims more octets than it was given, "need more" always
 * asks for more than it has, and the v2 length bound holds.  docs/fuzz.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const unsigned char *buf, size_t n)
{
	struct proxy_header h;
	size_t need = 0;
	const char *why = NULL;

	switch (proxy_parse(buf, n, &h, &need, &why)) {
	case PROXY_DONE:
		if (h.len == 0 || h.len > n || h.len > PROXY_V2_HEAD + PROXY_V2_MAX_LEN)
			abort();
		if (h.version == 1 && h.len > PROXY_V1_MAX)
			abort();
		if (strlen(h.src_ip) >= sizeof h.src_ip || h.src_port > 65535 || h.dst_port > 65535)
			abort();
		break;
	case PROXY_NEED_MORE:
		if (need <= n || need > PROXY_V2_HEAD + PROXY_V2_MAX_LEN)
			abort();
		break;
	case PROXY_NOT_PROXY:
	case PROXY_MALFORMED:
		if (why == NULL)
			abort();
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf;

	if (size > 4096)
		return 0;
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	check(buf, size);
	for (size_t i = 0; i < size && i < 300; i++)
		check(buf, i);
	free(buf);
	return 0;
}
