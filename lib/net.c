/*
 * net.c - "ADDR:PORT", loopback, socket timeouts (net.h).  The one place
 * the daemon, the harness, fakedns, fakeocsp and the test probe get these
 * from, so "127.0.0.1:25" means the same to each of them.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "net.h"
#include "strutil.h"

/* Fill *out from the address (hlen octets at host) and the port text. */
static int
net_fill(const char *host, size_t hlen, const char *port_text, struct net_addr *out)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
	uint64_t port;

	memset(out, 0, sizeof *out);
	if (hlen == 0 || hlen >= sizeof out->host ||
	    str_parse_u64(port_text, strlen(port_text), 65535, &port) != STR_NUM_OK)
		return -1;
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = (unsigned)port;
	if (inet_pton(AF_INET, out->host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		out->len = sizeof *v4;
		return 0;
	}
	if (inet_pton(AF_INET6, out->host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		out->len = sizeof *v6;
		return 0;
	}
	memset(out, 0, sizeof *out);
	return -1;
}

int
net_parse_addr_port(const char *spec, struct net_addr *out)
{
	const char *close, *colon;

	if (spec[0] == '[') {
		close = strchr(spec, ']');
		if (close == NULL || close[1] != ':') {
			memset(out, 0, sizeof *out);
			return -1;
		}
		return net_fill(spec + 1, (size_t)(close - spec - 1), close + 2, out);
	}
	colon = strrchr(spec, ':');
	if (colon == NULL) {
		memset(out, 0, sizeof *out);
		return -1;
	}
	return net_fill(spec, (size_t)(colon - spec), colon + 1, out);
}

int
net_parse_addr_at_port(const char *spec, struct net_addr *out)
{
	const char *at = strrchr(spec, '@');

	if (at == NULL) {
		memset(out, 0, sizeof *out);
		return -1;
	}
	return net_fill(spec, (size_t)(at - spec), at + 1, out);
}

int
net_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >>
		        24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		        &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return 0;
}

int
net_set_timeouts(int fd, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
		return -1;
	return 0;
}

void
net_format_addr(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
		snprintf(out, len, "%s:%u", ip, ntohs(v4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
		snprintf(out, len, "[%s]:%u", ip, ntohs(v6->sin6_port));
	} else {
		snprintf(out, len, "?");
	}
}
