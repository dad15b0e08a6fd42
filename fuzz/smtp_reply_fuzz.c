/*
 * smtp_reply_fuzz.c - libFuzzer target: what a remote SMTP server may send
 * refmta's client (server/smtp_reply.h), and what becomes of it in a
 * bounce (server/dsn.h).  The input is written to one end of a socket pair
 * and read back as replies with smtp_reply_read() until it fails; each
 * reply's text goes through smtp_ehlo_parse() and dsn_field_value(), and
 * the input's first line through dsn_param_xtext_encode().  Checked: codes stay in
 * 200..599, enhanced codes look like one, a field value has no control
 * characters and never exceeds its limit.  docs/fuzz.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bio.h"
#include "dsn.h"
#include "smtp_parse.h"
#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct bio io;
	struct err e = { 0 };
	char first[600], xt[600], field[DSN_FIELD_MAX + 1];
	size_t n;

	if (size > 60000)
		return 0; /* more than a socket buffer surely holds: not interesting */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	for (size_t done = 0; done < size;) {
		ssize_t w = write(sv[1], data + done, size - done);
		if (w <= 0)
			abort();
		done += (size_t)w;
	}
	close(sv[1]);
	bio_init(&io, sv[0]);
	for (int i = 0; i < 1000; i++) {
		struct smtp_reply r = { 0 };
		struct smtp_ehlo ehlo;

		if (smtp_reply_read(&io, &r, &e) != SMTP_REPLY_OK)
			break;
		if (r.code < 200 || r.code > 599 || r.text == NULL)
			abort();
		if (r.status[0] != '\0' &&
		    (r.status[1] != '.' || r.status[0] != '0' + r.code / 100))
			abort();
		smtp_ehlo_parse(r.text, &ehlo);
		dsn_field_value(r.text, DSN_FIELD_MAX, field, sizeof field);
		if (strlen(field) > DSN_FIELD_MAX)
			abort();
		for (const char *p = field; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		smtp_reply_clear(&r);
	}
	close(sv[0]);

	n = 0;
	while (n < size && n < sizeof first - 1 && data[n] != '\n' && data[n] != '\0')
		n++;
	memcpy(first, data, n);
	first[n] = '\0';
	if (dsn_param_xtext_encode(first, xt, sizeof xt) == 0) {
		for (const char *p = xt; *p != '\0'; p++)
			if (*p < '!' || *p > '~' || *p == '=')
				abort();
	}
	return 0;
}
