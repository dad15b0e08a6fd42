/*
 * smtp_session_fuzz.c - libFuzzer target for a whole SMTP session
 * (server/smtpd*.c with the ACLs, smtp_parse, DATA and BDAT into a real
 * spool), driven in-process over a socket pair: no fork per input.
 *
 * smtpd_session() runs in the fuzzer's thread; a client thread plays the
 * input to it.  The first input octet picks the client's manner:
 *   bit 0 clear  lock step: read the greeting, then send one line at a
 *                time and wait for its whole reply, as a careful client
 *                does.  After a 354 the lines go on without waiting until
 *                a "." line; a "BDAT N" line is sent with the N octets
 *                after it (RFC 3030 2: the chunk follows the command).
 *   bit 0 set    after the greeting, everything at once (pipelining and
 *                its synchronization checks, RFC 2920 3.1).
 * A reply that does not come within 100 ms does not stall the client (it
 * sends on); a last line without LF is not waited for.  The rest is at
 * most 8 KiB, so every reply fits the socket buffers.  After each input the spool is emptied and
 * the log truncated. The configuration has ACLs with every kind of condition, so the session
 * evaluates them with what the client sent (expansion included), PRDR's
 * per-recipient ACL too.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"
#include "log.h"
#include "smtpd.h"
#include "spool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (8 * 1024)
#define REPLY_WAIT_MS 100

static struct config *cfg;
static char spool[128], logpath[128];
static const struct smtpd_peer peer = { "127.0.0.1", 40000, "127.0.0.1", 25 };

static const char config_text[] = "primary_hostname = mx.example.test\n"
                                  "spool_directory = @D@/spool\n"
                                  "log_file = @D@/log\n"
                                  "local_domains = example.test : localhost\n"
                                  "recipients_max = 5\n"
                                  "message_size_limit = 2000\n"
                                  "smtp_max_synprot_errors = 10\n"
                                  "smtp_max_unknown_commands = 5\n"
                                  "test_ids = true\n"
                                  "prdr_enable = true\n"
                                  "acl_smtp_connect:\n"
                                  "  accept hosts = 127.0.0.1\n"
                                  "acl_smtp_helo:\n"
                                  "  deny condition = $sender_helo_name =~ ^bad\n"
                                  "       message = no $sender_helo_name here\n"
                                  "  accept\n"
                                  "acl_smtp_mail:\n"
                                  "  deny senders = spam@example.test : *@blocked.test\n"
                                  "  warn add_header = X-Sender: $sender_address\n"
                                  "  accept\n"
                                  "acl_smtp_rcpt:\n"
                                  "  deny local_parts = ^nobody\n"
                                  "       log_message = refused $local_part@$domain\n"
                                  "  defer recipients = later@example.test\n"
                                  "  drop domains = drop.test\n"
                                  "  accept domains = example.test : localhost\n"
                                  "  accept condition = $local_part =~ ^[a-z]{1,8}$\n"
                                  "  deny message = relay not permitted\n"
                                  "acl_smtp_data_prdr:\n"
                                  "  deny local_parts = ^x\n"
                                  "       message = 5.7.0 no $local_part content\n"
                                  "  defer local_parts = later\n"
                                  "  drop local_parts = gone\n"
                                  "  accept\n"
                                  "acl_smtp_data:\n"
                                  "  warn encrypted = no\n"
                                  "       add_header = X-Clear: yes\n"
                                  "  accept\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_dir_make("smtp_session");
	char path[160], text[sizeof config_text + 256];
	struct err e = { 0 };
	size_t o = 0;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN); /* as the daemon: a closed peer is an EPIPE */
	for (const char *p = config_text; *p != '\0' && o + 80 < sizeof text;)
		if (strncmp(p, "@D@", 3) == 0) {
			o += (size_t)snprintf(text + o, sizeof text - o, "%s", dir);
			p += 3;
		} else {
			text[o++] = *p++;
		}
	text[o] = '\0';
	snprintf(path, sizeof path, "%s/refmta.conf", dir);
	fuzz_write_file(path, (const uint8_t *)text, o);
	snprintf(spool, sizeof spool, "%s/spool", dir);
	snprintf(logpath, sizeof logpath, "%s/log", dir);
	if (config_load(path, &cfg, &e) != 0 || spool_init(spool, &e) != 0 ||
	    log_open(logpath, &e) != 0) {
		fprintf(stderr, "smtp_session_fuzz: set-up: %s\n", e.text);
		abort();
	}
	return 0;
}

struct client {
	int fd;
	const uint8_t *data;
	size_t size;
	int at_once;
	char last[8]; /* the last reply's code and separator */
};

/* Read until a whole reply (a line whose 4th octet is not '-') or a pause;
   1 when the server has closed. */
static int
client_reply(struct client *c)
{
	char buf[4096], line[8] = "";
	size_t ll = 0;

	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, REPLY_WAIT_MS) <= 0)
			return 0;
		n = read(c->fd, buf, sizeof buf);
		if (n <= 0)
			return 1;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				int final = ll < 4 || line[3] != '-';
				memcpy(c->last, line, sizeof line);
				ll = 0;
				memset(line, 0, sizeof line);
				if (final && i == n - 1)
					return 0;
			} else if (ll < sizeof line - 1) {
				line[ll++] = buf[i];
			}
		}
	}
}

static int
client_send(struct client *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(c->fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *
client_run(void *arg)
{
	struct client *c = arg;
	size_t pos = 0;
	int in_data = 0;

	if (client_reply(c)) /* the greeting */
		goto out;
	if (c->at_once) {
		(void)client_send(c, c->data, c->size);
		goto out;
	}
	while (pos < c->size) {
		const uint8_t *nl = memchr(c->data + pos, '\n', c->size - pos);
		size_t n = nl != NULL ? (size_t)(nl - (c->data + pos)) + 1 : c->size - pos;
		const char *l = (const char *)c->data + pos;

		if (!in_data && n > 5 && strncasecmp(l, "BDAT ", 5) == 0) {
			unsigned long chunk =
			        strtoul(l + 5, NULL, 10); /* stops at the line's end */
			n += chunk < c->size - pos - n ? chunk : c->size - pos - n;
		}
		if (client_send(c, c->data + pos, n) != 0)
			break;
		pos += n;
		if (in_data) {
			if ((n == 2 && l[0] == '.') || (n == 3 && l[0] == '.' && l[1] == '\r'))
				in_data = 0;
			else
				continue;
		}
		if (c->data[pos - 1] != '\n')
			break; /* the server waits for the rest of that line */
		if (client_reply(c))
			break;
		in_data = strncmp(c->last, "354", 3) == 0;
	}
out:
	shutdown(c->fd, SHUT_WR);
	/* Drain whatever the server still says, so it never blocks writing. */
	while (!client_reply(c))
		;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client c = { 0 };
	pthread_t th;
	int sv[2];

	if (size < 1 || size > INPUT_MAX + 1)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	c.fd = sv[0];
	c.at_once = data[0] & 1;
	c.data = data + 1;
	c.size = size - 1;
	if (pthread_create(&th, NULL, client_run, &c) != 0)
		abort();
	smtpd_session(cfg, NULL, sv[1], &peer);
	close(sv[1]);
	pthread_join(th, NULL);
	close(sv[0]);
	fuzz_empty_tree(spool);
	if (truncate(logpath, 0) != 0)
		abort();
	return 0;
}
