/*
 * smtpd_proxy.c - the PROXY header on a connection from a proxy host, read
 * by the worker before the SMTP session exists (smtpd.h,
 * smtpd_proxy_negotiate): which hosts must send one (proxy_required_hosts),
 * how long they have (proxy_protocol_timeout), and what the session then
 * sees as the client.  The header's grammar is proxy.c's; what a failure
 * means for the session (503 to all but QUIT) is smtpd.c's command loop.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "match.h"
#include "proxy.h"
#include "smtpd.h"

int
smtpd_proxy_negotiate(const struct config *cfg, int fd, struct smtpd_peer *peer)
{
	struct proxy_header h;
	const char *why = NULL;
	enum proxy_read_result rr;

	/* The seed: "proxy_required_hosts ... will require any IP in that
	 * hostlist to use Proxy Protocol"; from others a PROXY line is an
	 * ordinary (unknown) command. */
	if (cfg->proxy_required_hosts == NULL || !match_host(cfg->proxy_required_hosts, peer->ip))
		return 0;
	peer->proxy_session = 1;
	/* At most an hour (docs/config.md), so the milliseconds fit. */
	rr = proxy_read(
	        fd,
	        1000U * (cfg->proxy_protocol_timeout > 3600 ? 3600 : cfg->proxy_protocol_timeout),
	        &h, &why);
	if (rr != PROXY_READ_OK) {
		peer->proxy_failed = 1;
		log_write("PROXY negotiation failed from [%s]:%u: %s", peer->ip, peer->port, why);
		return 1;
	}
	/* $proxy_host_*: the proxy's own side of this TCP connection. */
	snprintf(peer->proxy_host_ip, sizeof peer->proxy_host_ip, "%s", peer->ip);
	peer->proxy_host_port = peer->port;
	if (h.command == PROXY_CMD_LOCAL) {
		/* proxy-protocol 2.2 LOCAL (a health check), v1 UNKNOWN, v2
		 * AF_UNSPEC: the connection's own addresses stand. */
		snprintf(peer->proxy_target_ip, sizeof peer->proxy_target_ip, "%s", peer->local_ip);
		peer->proxy_target_port = peer->local_port;
		return 1;
	}
	snprintf(peer->ip, sizeof peer->ip, "%s", h.src_ip);
	peer->port = h.src_port;
	snprintf(peer->proxy_target_ip, sizeof peer->proxy_target_ip, "%s", h.dst_ip);
	peer->proxy_target_port = h.dst_port;
	return 1;
}
