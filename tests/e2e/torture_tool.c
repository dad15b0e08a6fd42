/*
 * torture_tool.c - the client and the checker of the kill -9 durability
 * test (tests/e2e/durability_test.sh, `make torture`, docs/reliability.md).
 *
 *   torture_tool send PORT SEED CONNS MAX-PER-CONN SECONDS ACKFILE STOPFILE
 *       CONNS processes, each one SMTP connection at a time to
 *       127.0.0.1:PORT, sending messages <SEED-cC-mI@torture.test> to
 *       cC@example.test.  A message whose final reply was 250 is written
 *       to ACKFILE (one line, one O_APPEND write); on any failure the
 *       client reconnects and sends the same message again, as a real
 *       client would (RFC 5321 6.1: a duplicate, never a loss).  Each
 *       process stops after MAX-PER-CONN acknowledged messages, when
 *       STOPFILE exists, or after SECONDS.  $TORTURE_PACE_MS: a pause
 *       after each acknowledged message, so that a run's queue stays small.
 *   torture_tool verify ACKFILE MAILROOT
 *       Reads every MAILROOT/<user>/new/<file>, finds its Message-ID,
 *       rebuilds the body it must carry and compares it byte for byte.
 *       Prints "acked N delivered N lost N duplicated N corrupted N
 *       unacked N"; exit 0 when nothing acknowledged was lost and nothing
 *       was corrupted, 1 otherwise (the reasons on stderr), 2 usage.
 *
 * The body of a message is a pure function of its id (lines of printable
 * text, some starting with "." to exercise dot-stuffing, some long), so the
 * checker needs no copy of what was sent.  Loopback only; never blocks
 * longer than its socket timeouts.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TT_LINE_MAX 1200 /* RFC 5321 4.5.3.1.6: 1000 with CRLF; generous */

/* --- the body: a pure function of the message id ------------------------ */

static uint64_t
tt_rand(uint64_t *s)
{ /* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Appends the body (LF line ends) for ID to a malloc'ed buffer; the caller
 * frees *out.  Returns its length. */
static size_t
tt_body(const char *id, char **out)
{
	uint64_t s = 1469598103934665603ULL; /* FNV-1a of the id */
	for (const char *p = id; *p != '\0'; p++)
		s = (s ^ (unsigned char)*p) * 1099511628211ULL;
	if (s == 0)
		s = 1;
	size_t nlines = 1 + tt_rand(&s) % 40, cap = nlines * 1000 + 1, len = 0;
	char *b = malloc(cap);
	if (b == NULL)
		abort();
	for (size_t l = 0; l < nlines; l++) {
		uint64_t r = tt_rand(&s);
		size_t n = r % 8 == 0 ? 400 + r % 590 : r % 90; /* < 998 */
		for (size_t i = 0; i < n; i++) {
			uint64_t c = tt_rand(&s) % 96;
			b[len++] = c == 95 ? ' ' : (char)('!' + c);
		}
		if (r % 7 == 0 && n > 0)
			b[len - n] = '.'; /* RFC 5321 4.5.2: stuffed on the wire */
		if (r % 29 == 0)
			len -= n, b[len++] = '.'; /* a line that is a lone dot */
		b[len++] = '\n';
	}
	*out = b;
	return len;
}

/* --- send -------------------------------------------------------------- */

struct tt_conn {
	int fd;
	char buf[4096];
	size_t have;
};

static int
tt_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one reply (all its lines); returns its code, or -1. */
static int
tt_reply(struct tt_conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->have);
		if (nl == NULL) {
			if (c->have == sizeof c->buf)
				return -1;
			ssize_t r = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
			c->have += (size_t)r;
			continue;
		}
		size_t linelen = (size_t)(nl - c->buf) + 1;
		int code = -1, last = 0;
		if (linelen >= 4 && c->buf[0] >= '2' && c->buf[0] <= '5') {
			code = (c->buf[0] - '0') * 100 + (c->buf[1] - '0') * 10 + (c->buf[2] - '0');
			last = c->buf[3] != '-';
		}
		memmove(c->buf, nl + 1, c->have - linelen);
		c->have -= linelen;
		if (code < 0)
			return -1;
		if (last)
			return code;
	}
}

static int
tt_cmd(struct tt_conn *c, const char *line, int want)
{
	if (line != NULL && tt_write_all(c->fd, line, strlen(line)) != 0)
		return -1;
	return tt_reply(c) == want ? 0 : -1;
}

static int
tt_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One message on an open session: 0 when the final reply was 250. */
static int
tt_send_one(struct tt_conn *c, const char *id, int conn)
{
	char line[256], *body;
	size_t blen = tt_body(id, &body), cap = blen * 2 + 512, len = 0;
	char *wire = malloc(cap);
	int rc = -1;
	if (wire == NULL)
		abort();
	snprintf(line, sizeof line, "MAIL FROM:<t@client.test>\r\n");
	if (tt_cmd(c, line, 250) != 0)
		goto out;
	snprintf(line, sizeof line, "RCPT TO:<c%d@example.test>\r\n", conn);
	if (tt_cmd(c, line, 250) != 0 || tt_cmd(c, "DATA\r\n", 354) != 0)
		goto out;
	len += (size_t)snprintf(wire, cap, "Message-ID: <%s>\r\nSubject: torture\r\n\r\n", id);
	for (size_t i = 0; i < blen;) {
		const char *nl = memchr(body + i, '\n', blen - i);
		size_t n = (size_t)(nl - (body + i));
		if (n > 0 && body[i] == '.')
			wire[len++] = '.'; /* RFC 5321 4.5.2 */
		memcpy(wire + len, body + i, n);
		len += n;
		wire[len++] = '\r';
		wire[len++] = '\n';
		i += n + 1;
	}
	memcpy(wire + len, ".\r\n", 3);
	len += 3;
	if (tt_write_all(c->fd, wire, len) == 0 && tt_reply(c) == 250)
		rc = 0;
out:
	free(wire);
	free(body);
	return rc;
}

static void
tt_client(int port, const char *seed, int conn, int max, time_t deadline, int ackfd,
          const char *stopfile)
{
	struct tt_conn c = { .fd = -1 };
	int i = 0;
	const char *pace = getenv("TORTURE_PACE_MS");
	useconds_t pace_us = pace ? (useconds_t)atoi(pace) * 1000 : 0;
	while (i < max && time(NULL) < deadline && access(stopfile, F_OK) != 0) {
		if (c.fd < 0) {
			c.have = 0;
			c.fd = tt_connect(port);
			if (c.fd < 0 || tt_cmd(&c, NULL, 220) != 0 ||
			    tt_cmd(&c, "EHLO client.test\r\n", 250) != 0) {
				if (c.fd >= 0)
					close(c.fd);
				c.fd = -1;
				usleep(20000);
				continue;
			}
		}
		char id[128], ack[160];
		snprintf(id, sizeof id, "%s-c%d-m%d@torture.test", seed, conn, i);
		if (tt_send_one(&c, id, conn) == 0) {
			int n = snprintf(ack, sizeof ack, "%s\n", id);
			if (write(ackfd, ack, (size_t)n) != n)
				_exit(3);
			i++;
			if (pace_us > 0)
				usleep(pace_us);
		} else {
			close(c.fd); /* the server died or refused: same message again */
			c.fd = -1;
		}
	}
	if (c.fd >= 0) {
		if (tt_cmd(&c, "QUIT\r\n", 221) != 0) {
			/* nothing to do: the message count is already written */
		}
		close(c.fd);
	}
}

static int
tt_send(char **argv)
{
	int port = atoi(argv[0]), conns = atoi(argv[2]), max = atoi(argv[3]);
	time_t deadline = time(NULL) + atoi(argv[4]);
	int ackfd = open(argv[5], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (ackfd < 0 || conns < 1 || conns > 64) {
		perror(argv[5]);
		return 2;
	}
	pid_t kids[64], parent = getpid();
	for (int k = 0; k < conns; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			/* A test interrupted kills the parent: never outlive it. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(1);
			tt_client(port, argv[1], k, max, deadline, ackfd, argv[6]);
			_exit(0);
		}
	}
	int rc = 0, st;
	for (int k = 0; k < conns; k++)
		if (kids[k] < 0 || waitpid(kids[k], &st, 0) < 0 || st != 0)
			rc = 1;
	close(ackfd);
	return rc;
}

/* --- verify ------------------------------------------------------------ */

struct tt_ids {
	char **v;
	size_t n, cap;
};

static void
tt_ids_add(struct tt_ids *s, const char *id)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (s->v == NULL)
			abort();
	}
	s->v[s->n] = strdup(id);
	if (s->v[s->n++] == NULL)
		abort();
}

static int
tt_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One delivered file: adds its id to *got; 0 when its body and mailbox are
 * what the id says, -1 (reason on stderr) otherwise. */
static int
tt_check_file(const char *path, const char *user, struct tt_ids *got)
{
	FILE *f = fopen(path, "re");
	char *data = NULL, *body = NULL;
	size_t cap = 0, len = 0;
	int rc = -1;
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len + 4096 > cap && (data = realloc(data, cap = cap * 2 + 8192)) == NULL)
			abort();
		size_t r = fread(data + len, 1, cap - len - 1, f);
		len += r;
		if (r == 0)
			break;
	}
	fclose(f);
	data[len] = '\0';
	char *hend = strstr(data, "\n\n"), *mid = strstr(data, "\nMessage-ID: <");
	if (hend == NULL || mid == NULL || mid > hend) {
		fprintf(stderr, "corrupted: %s: no header end or Message-ID\n", path);
		goto out;
	}
	mid += strlen("\nMessage-ID: <");
	char *gt = strchr(mid, '>');
	if (gt == NULL || gt > hend) {
		fprintf(stderr, "corrupted: %s: bad Message-ID\n", path);
		goto out;
	}
	*gt = '\0';
	tt_ids_add(got, mid);
	char want_user[64];
	const char *c = strstr(mid, "-c");
	snprintf(want_user, sizeof want_user, "c%d", c ? atoi(c + 2) : -1);
	size_t blen = tt_body(mid, &body);
	hend += 2;
	if (strcmp(user, want_user) != 0)
		fprintf(stderr, "corrupted: %s: <%s> in mailbox %s\n", path, mid, user);
	else if ((size_t)(data + len - hend) != blen || memcmp(hend, body, blen) != 0)
		fprintf(stderr, "corrupted: %s: <%s> body differs (%zu octets, want %zu)\n", path,
		        mid, (size_t)(data + len - hend), blen);
	else
		rc = 0;
out:
	free(body);
	free(data);
	return rc;
}

static int
tt_verify(const char *ackfile, const char *root)
{
	struct tt_ids acked = { 0 }, got = { 0 };
	size_t corrupted = 0, lost = 0, dup = 0, unacked = 0;
	char line[256], path[4096];
	FILE *a = fopen(ackfile, "re");
	if (a != NULL) {
		while (fgets(line, sizeof line, a) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			tt_ids_add(&acked, line);
		}
		fclose(a);
	}
	DIR *top = opendir(root);
	struct dirent *u, *m;
	while (top != NULL && (u = readdir(top)) != NULL) {
		if (u->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/new", root, u->d_name);
		DIR *nd = opendir(path);
		while (nd != NULL && (m = readdir(nd)) != NULL) {
			if (m->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s/new/%s", root, u->d_name, m->d_name);
			if (tt_check_file(path, u->d_name, &got) != 0)
				corrupted++;
		}
		if (nd != NULL)
			closedir(nd);
	}
	if (top != NULL)
		closedir(top);
	qsort(acked.v, acked.n, sizeof *acked.v, tt_cmp);
	qsort(got.v, got.n, sizeof *got.v, tt_cmp);
	for (size_t i = 0; i + 1 < acked.n; i++)
		if (strcmp(acked.v[i], acked.v[i + 1]) == 0)
			fprintf(stderr, "client bug: %s acknowledged twice\n", acked.v[i]);
	for (size_t i = 0; i < acked.n; i++)
		if (bsearch(&acked.v[i], got.v, got.n, sizeof *got.v, tt_cmp) == NULL) {
			fprintf(stderr, "lost: <%s> was acknowledged, never delivered\n",
			        acked.v[i]);
			lost++;
		}
	for (size_t i = 0; i < got.n; i++) {
		if (i > 0 && strcmp(got.v[i], got.v[i - 1]) == 0) {
			fprintf(stderr, "duplicate: <%s>\n", got.v[i]);
			dup++;
		} else if (bsearch(&got.v[i], acked.v, acked.n, sizeof *acked.v, tt_cmp) == NULL) {
			unacked++;
		}
	}
	printf("acked %zu delivered %zu lost %zu duplicated %zu corrupted %zu unacked %zu\n",
	       acked.n, got.n, lost, dup, corrupted, unacked);
	for (size_t i = 0; i < acked.n; i++)
		free(acked.v[i]);
	for (size_t i = 0; i < got.n; i++)
		free(got.v[i]);
	free(acked.v);
	free(got.v);
	return lost == 0 && corrupted == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 9 && strcmp(argv[1], "send") == 0)
		return tt_send(argv + 2);
	if (argc == 4 && strcmp(argv[1], "verify") == 0)
		return tt_verify(argv[2], argv[3]);
	fprintf(stderr, "usage: torture_tool send PORT SEED CONNS MAX-PER-CONN SECONDS ACKFILE "
	                "STOPFILE\n       torture_tool verify ACKFILE MAILROOT\n");
	return 2;
}
