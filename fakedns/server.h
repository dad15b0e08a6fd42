/*
 * server.h - fakedns on the wire: one UDP and one TCP socket on the same
 * loopback port, answered one query at a time until SIGTERM.
 *
 * Refuses non-loopback addresses.  Never exits on a bad packet or a bad
 * client; only a signal or a socket failure at start ends it.
 */
#ifndef FAKEDNS_SERVER_H
#define FAKEDNS_SERVER_H

#include <stdio.h>

#include "err.h"
#include "zone.h"

struct server {
	int udp;
	int tcp;
	char addr[64]; /* the bound address */
	unsigned port; /* the bound port (both sockets) */
};

/* Bind "ADDR:PORT" (IPv4 or [IPv6], loopback only; port 0 = a free one). */
MUST_CHECK int server_open(struct server *s, const char *listen, struct err *e);
/* Serve until SIGTERM or SIGINT; one log line per query to `log`. */
MUST_CHECK int server_run(struct server *s, const struct fd_zoneset *set, FILE *log, struct err *e);
void server_close(struct server *s);

#endif
