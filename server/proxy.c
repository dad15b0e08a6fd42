/*
 * proxy.c - the PROXY protocol header, v1 (text) and v2 (binary), after
 * haproxy's proxy-protocol.txt (section numbers below are that file's),
 * the way OpenSMTPD's proxy.c does it: parsed before the SMTP session
 * exists, strictly, and never trusting a length it has not checked.
 *
 * proxy_parse() is pure (octets in, verdict out); proxy_read() is the only
 * I/O: it peeks at the socket and consumes exactly the header.  What a
 * failure means for the session is the caller's (daemon.c, docs/proxy.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "proxy.h"

/* 2.1: the v1 header starts with this (the space included). */
static const char v1_sig[] = "PROXY ";
#define V1_SIG_LEN 6
/* 2.2: the v2 signature. */
static const unsigned char v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
	                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

static enum proxy_result
malformed(const char **why, const char *text)
{
	*why = text;
	return PROXY_MALFORMED;
}

/* Is buf[0..n) a prefix of sig (or sig a prefix of it)? */
static int
prefix_of(const unsigned char *buf, size_t n, const void *sig, size_t siglen)
{
	return memcmp(buf, sig, n < siglen ? n : siglen) == 0;
}

/* 2.1: a port is 0-65535 in decimal, without leading zeros. */
static int
v1_port(const char *s, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = v;
	return 0;
}

/* 2.1: an address of the stated family, in its canonical text.  inet_pton
 * refuses leading zeros in IPv4 ("010.0.0.1" is ambiguous) and a family
 * mismatch; the character check keeps out what it might tolerate. */
static int
v1_addr(const char *s, int family, char *out, size_t outlen)
{
	unsigned char bin[16];
	const char *ok = family == AF_INET ? "0123456789." : "0123456789abcdefABCDEF:.";

	if (*s == '\0' || s[strspn(s, ok)] != '\0' || inet_pton(family, s, bin) != 1)
		return -1;
	return inet_ntop(family, bin, out, (socklen_t)outlen) != NULL ? 0 : -1;
}

static enum proxy_result
parse_v1(const unsigned char *buf, size_t n, struct proxy_header *h, size_t *need, const char **why)
{
	char line[PROXY_V1_MAX + 1], *f[7], *p;
	size_t lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX, len, nf = 0;
	const unsigned char *lf = memchr(buf, '\n', lim);

	if (lf == NULL) {
		if (n >= PROXY_V1_MAX)
			return malformed(why,
			                 "v1 header longer than 107 octets (proxy-protocol 2.1)");
		*need = n + 1;
		return PROXY_NEED_MORE;
	}
	len = (size_t)(lf - buf) + 1;
	if (len < 2 || buf[len - 2] != '\r')
		return malformed(why, "v1 header not ended by CRLF (proxy-protocol 2.1)");
	memcpy(line, buf, len - 2);
	line[len - 2] = '\0';
	if (strlen(line) != len - 2)
		return malformed(why, "v1 header holds a NUL octet");
	for (p = line; *p; p++)
		if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
			return malformed(why, "v1 header holds a control or non-ASCII octet");
	/* 2.1: fields separated by exactly one space. */
	for (p = line; nf < 7; nf++) {
		f[nf] = p;
		p = strchr(p, ' ');
		if (p == NULL) {
			nf++;
			break;
		}
		*p++ = '\0';
	}
	for (size_t i = 0; i < nf; i++)
		if (f[i][0] == '\0')
			return malformed(why, "v1 fields must be separated by exactly one space "
			                      "(proxy-protocol 2.1)");
	memset(h, 0, sizeof *h);
	h->version = 1;
	h->len = len;
	if (nf >= 2 && strcmp(f[1], "UNKNOWN") == 0) {
		/* 2.1: the rest of the line is ignored; the connection's own
		 * addresses stand. */
		h->command = PROXY_CMD_LOCAL;
		h->family = AF_UNSPEC;
		return PROXY_DONE;
	}
	if (nf < 2 || (strcmp(f[1], "TCP4") != 0 && strcmp(f[1], "TCP6") != 0))
		return malformed(why,
		                 "v1 protocol is not TCP4, TCP6 or UNKNOWN (proxy-protocol 2.1)");
	if (nf != 6)
		return malformed(why, "v1 header needs exactly: PROXY TCPx SRC DST SPORT DPORT");
	h->family = f[1][3] == '4' ? AF_INET : AF_INET6;
	if (v1_addr(f[2], h->family, h->src_ip, sizeof h->src_ip) != 0 ||
	    v1_addr(f[3], h->family, h->dst_ip, sizeof h->dst_ip) != 0)
		return malformed(why, "v1 address malformed or not of the stated family");
	if (v1_port(f[4], &h->src_port) != 0 || v1_port(f[5], &h->dst_port) != 0)
		return malformed(why, "v1 port malformed (0-65535, no leading zeros)");
	h->command = PROXY_CMD_PROXY;
	return PROXY_DONE;
}

/* 2.2: TLVs after the addresses, each type (1), length (2), value; skipped,
 * every length checked against what the header's length leaves. */
static enum proxy_result
v2_tlvs(const unsigned char *p, size_t left, struct proxy_header *h, const char **why)
{
	while (left > 0) {
		size_t vlen;

		if (left < 3)
			return malformed(why, "v2 TLV truncated (proxy-protocol 2.2.7)");
		vlen = (size_t)p[1] << 8 | p[2];
		if (vlen > left - 3)
			return malformed(why,
			                 "v2 TLV longer than the header (proxy-protocol 2.2.7)");
		p += 3 + vlen;
		left -= 3 + vlen;
		h->ntlvs++;
	}
	return PROXY_DONE;
}

static enum proxy_result
parse_v2(const unsigned char *buf, size_t n, struct proxy_header *h, size_t *need, const char **why)
{
	unsigned ver, cmd, fam, proto;
	size_t len, alen;
	const unsigned char *a = buf + PROXY_V2_HEAD;

	if (n < PROXY_V2_HEAD) {
		*need = PROXY_V2_HEAD;
		return PROXY_NEED_MORE;
	}
	ver = buf[12] >> 4;
	cmd = buf[12] & 0xF;
	fam = buf[13] >> 4;
	proto = buf[13] & 0xF;
	len = (size_t)buf[14] << 8 | buf[15];
	if (ver != 2)
		return malformed(why, "v2 version is not 2 (proxy-protocol 2.2)");
	if (cmd > 1)
		return malformed(why, "v2 command is neither LOCAL nor PROXY (proxy-protocol 2.2)");
	if (len > PROXY_V2_MAX_LEN)
		return malformed(why, "v2 length over refmta's bound of 1024 octets");
	if (n < PROXY_V2_HEAD + len) {
		*need = PROXY_V2_HEAD + len;
		return PROXY_NEED_MORE;
	}
	memset(h, 0, sizeof *h);
	h->version = 2;
	h->len = PROXY_V2_HEAD + len;
	h->family = AF_UNSPEC;
	h->command = PROXY_CMD_LOCAL;
	/* 2.2: LOCAL (the proxy's own health check) and AF_UNSPEC: the
	 * protocol block is ignored, the connection's addresses stand. */
	if (cmd == 0 || fam == 0)
		return PROXY_DONE;
	if (fam != 1 && fam != 2)
		return malformed(why, "v2 address family is not AF_INET or AF_INET6 (TCP only)");
	if (proto != 1)
		return malformed(why, "v2 transport is not STREAM (TCP only)");
	alen = fam == 1 ? 12 : 36;
	if (len < alen)
		return malformed(why,
		                 "v2 length shorter than its address block (proxy-protocol 2.2)");
	h->family = fam == 1 ? AF_INET : AF_INET6;
	h->command = PROXY_CMD_PROXY;
	{
		size_t asz = fam == 1 ? 4 : 16;
		inet_ntop(h->family, a, h->src_ip, sizeof h->src_ip);
		inet_ntop(h->family, a + asz, h->dst_ip, sizeof h->dst_ip);
		h->src_port = (unsigned)a[2 * asz] << 8 | a[2 * asz + 1];
		h->dst_port = (unsigned)a[2 * asz + 2] << 8 | a[2 * asz + 3];
	}
	return v2_tlvs(a + alen, len - alen, h, why);
}

enum proxy_result
proxy_parse(const unsigned char *buf, size_t n, struct proxy_header *h, size_t *need,
            const char **why)
{
	*why = NULL;
	if (n == 0) {
		*need = 1;
		return PROXY_NEED_MORE;
	}
	if (prefix_of(buf, n, v2_sig, sizeof v2_sig)) {
		if (n < sizeof v2_sig) {
			*need = n + 1;
			return PROXY_NEED_MORE;
		}
		return parse_v2(buf, n, h, need, why);
	}
	if (prefix_of(buf, n, v1_sig, V1_SIG_LEN)) {
		if (n < V1_SIG_LEN) {
			*need = n + 1;
			return PROXY_NEED_MORE;
		}
		return parse_v1(buf, n, h, need, why);
	}
	*why = "input is not a PROXY header";
	return PROXY_NOT_PROXY;
}

/* ---- reading from the socket ------------------------------------------------- */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SO_RCVLOWAT: poll() says readable only once `n` octets wait. */
static void
set_lowat(int fd, size_t n)
{
	int v = (int)n;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v);
}

/* Take `n` octets that are known to be waiting. */
static void
consume(int fd, size_t n)
{
	unsigned char sink[256];

	while (n > 0) {
		ssize_t r = recv(fd, sink, n < sizeof sink ? n : sizeof sink, MSG_DONTWAIT);
		if (r <= 0)
			return;
		n -= (size_t)r;
	}
}

enum proxy_read_result
proxy_read(int fd, unsigned timeout_ms, struct proxy_header *h, const char **why)
{
	unsigned char buf[PROXY_V2_HEAD + PROXY_V2_MAX_LEN];
	long long end = now_ms() + timeout_ms;
	enum proxy_read_result rr;
	size_t want = 1;
	ssize_t got = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };
		long long left = end - now_ms();
		size_t need = 0;
		int pr;

		if (left <= 0) {
			rr = PROXY_READ_TIMEOUT;
			*why = got > 0 ? "incomplete PROXY header at the timeout"
			               : "no PROXY header within proxy_protocol_timeout";
			break;
		}
		set_lowat(fd, want);
		pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue; /* the deadline check above ends it */
		got = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0 || ((size_t)got < want && (pfd.revents & (POLLRDHUP | POLLHUP)))) {
			rr = PROXY_READ_CLOSED;
			*why = "connection closed before a whole PROXY header";
			break;
		}
		switch (proxy_parse(buf, (size_t)got, h, &need, why)) {
		case PROXY_DONE:
			set_lowat(fd, 1);
			consume(fd, h->len);
			return PROXY_READ_OK;
		case PROXY_NEED_MORE:
			want = need;
			continue;
		case PROXY_NOT_PROXY:
			set_lowat(fd, 1);
			return PROXY_READ_NOT_PROXY;
		case PROXY_MALFORMED:
			set_lowat(fd, 1);
			consume(fd, (size_t)got);
			return PROXY_READ_MALFORMED;
		}
	}
	set_lowat(fd, 1);
	got = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
	if (got > 0)
		consume(fd, (size_t)got);
	return rr;
}
