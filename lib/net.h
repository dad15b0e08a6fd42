/*
 * net.h - socket addresses and options every program needs the same way:
 * "ADDR:PORT" parsing, the loopback rule of the test fixtures, and the I/O
 * timeouts that bound every blocking read and write (DESIGN.md principle 5).
 * Numeric addresses only: nothing here consults the DNS.
 */
#ifndef REFMTA_NET_H
#define REFMTA_NET_H

#include <arpa/inet.h>
#include <stddef.h>
#include <sys/socket.h>

#include "err.h"

struct net_addr {
	struct sockaddr_storage ss;  /* family, address and port set */
	socklen_t len;               /* of the sockaddr_in or sockaddr_in6 in ss */
	char host[INET6_ADDRSTRLEN]; /* the address as written, without brackets */
	unsigned port;
};

/*
 * "ADDR:PORT" or "[ADDR]:PORT": ADDR a numeric IPv4 or IPv6 address (an
 * IPv6 address without brackets is split at its last colon: "::1:25" is
 * [::1]:25), PORT decimal digits from 0 to 65535.  Callers that want a
 * narrower form (a port of at least 1, brackets for IPv6) check the result.  0 with *out filled;
 * -1 on anything else (*out then zeroed).
 */
int net_parse_addr_port(const char *spec, struct net_addr *out) MUST_CHECK;

/* "ADDR@PORT", libunbound's forwarder form (dns_server): ADDR a numeric
 * IPv4 or IPv6 address without brackets, PORT as above.  0 or -1. */
int net_parse_addr_at_port(const char *spec, struct net_addr *out) MUST_CHECK;

/* Is `sa` in 127.0.0.0/8 or ::1?  0 for any other address or family. */
int net_is_loopback(const struct sockaddr *sa);

/* SO_RCVTIMEO and SO_SNDTIMEO both set to `ms` milliseconds (0: no limit);
 * a blocking read or write that waits longer fails with EAGAIN.  0, or -1
 * with errno set. */
int net_set_timeouts(int fd, unsigned ms) MUST_CHECK;

/* "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6) of an address, into `out`
 * ("?" for another family). */
void net_format_addr(const struct sockaddr *sa, char *out, size_t len);

#endif
