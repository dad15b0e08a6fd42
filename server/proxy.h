/*
 * proxy.h - the PROXY protocol (haproxy's proxy-protocol.txt, versions 1
 * and 2; the seed's "Proxy Protocol" section): the header a load balancer
 * sends first on a connection to tell the real client's address.
 *
 * Two layers: proxy_parse() is a pure function over the octets received so
 * far (no I/O, no allocation: the unit tests and the fuzz target drive it
 * directly); proxy_read() reads one header from a socket before the SMTP
 * session exists, within a deadline, consuming only the header's octets.
 * Nothing here knows SMTP; the worker (daemon.c) decides what a failure
 * means for the session.
 */
#ifndef REFMTA_PROXY_H
#define REFMTA_PROXY_H

#include <stddef.h>

#include "err.h"

/* proxy-protocol.txt 2.1: "a 108-byte buffer is always enough" (107 + NUL). */
#define PROXY_V1_MAX 107
/* The v2 fixed part: 12 signature octets, ver_cmd, fam, len (2.2). */
#define PROXY_V2_HEAD 16
/* Our bound on the v2 length field (addresses and TLVs): 2.2 lets it be
 * 65535, but addresses take at most 216 octets and haproxy's TLVs (ALPN,
 * authority, SSL facts) fit easily; more is refused, never buffered. */
#define PROXY_V2_MAX_LEN 1024

enum proxy_result {
	PROXY_DONE,      /* a whole, valid header: see struct proxy_header */
	PROXY_NEED_MORE, /* valid so far; `need` octets in all are needed to go on */
	PROXY_NOT_PROXY, /* the first octets are neither v1's "PROXY " nor v2's signature */
	PROXY_MALFORMED, /* a header was started and is wrong: `why` says how */
};

enum proxy_command {
	PROXY_CMD_PROXY, /* addresses relayed for a client (v1 TCP4/TCP6, v2 PROXY) */
	PROXY_CMD_LOCAL, /* the proxy's own connection (v2 LOCAL, v1 UNKNOWN, v2 AF_UNSPEC):
	                  * the addresses of the connection itself stand */
};

struct proxy_header {
	int version; /* 1 or 2 */
	enum proxy_command command;
	int family;                  /* AF_INET, AF_INET6, AF_UNSPEC */
	char src_ip[46], dst_ip[46]; /* text (inet_ntop), "" for LOCAL */
	unsigned src_port, dst_port; /* 0 for LOCAL */
	size_t len;                  /* octets of the whole header */
	unsigned ntlvs;              /* v2 TLVs seen (and skipped) */
};

/*
 * Look at the first `n` octets of a connection.  PROXY_DONE fills `h`
 * (h->len octets are the header; what follows is the session's);
 * PROXY_NEED_MORE sets `need` to the total octets required before calling
 * again (always more than n); PROXY_MALFORMED and PROXY_NOT_PROXY set
 * `why` to a static text for the log.  Never reads beyond `n`.
 */
enum proxy_result proxy_parse(const unsigned char *buf, size_t n, struct proxy_header *h,
                              size_t *need, const char **why);

/* What proxy_read() saw. */
enum proxy_read_result {
	PROXY_READ_OK,        /* h filled; its octets consumed, nothing more */
	PROXY_READ_NOT_PROXY, /* other input came first: nothing consumed */
	PROXY_READ_MALFORMED, /* the octets received were consumed; why says what was wrong */
	PROXY_READ_TIMEOUT,   /* no whole header in time; what came was consumed */
	PROXY_READ_CLOSED,    /* the peer closed or the read failed */
};

/*
 * Read one PROXY header from `fd` (a blocking socket) within `timeout_ms`.
 * Peeks (MSG_PEEK) and consumes only the header's octets on success, so a
 * client's first command sent in the same packet stays for the session.
 * `why` (static text) is set for every result but PROXY_READ_OK.
 */
enum proxy_read_result proxy_read(int fd, unsigned timeout_ms, struct proxy_header *h,
                                  const char **why);

#endif
