/*
 * dsn.c - builds the bounce: an RFC 3464 delivery status notification in a
 * multipart/report (RFC 6522) with the DSN_INFO fields of the seed.  The
 * message's shape is described in dsn.h.
 *
 * Everything that came from outside (remote replies, greetings, addresses,
 * ENVID, the returned message) passes through one of two filters before it
 * is written: dsn_field_value() for header-style fields (one line, no
 * controls, cut at DSN_FIELD_MAX) and dsn_text_add() for the human-readable
 * part (lines kept, controls made spaces, wrapped at DSN_TEXT_WIDTH).  The
 * output is a pure function of the input (no clock, no randomness), so a
 * test can compare it whole.  Must never: let a remote CR or LF start a
 * field or a MIME part of its own, write a line over 998 octets (RFC 5322
 * 2.1.1), or cut a UTF-8 sequence in half.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "dsn.h"
#include "spool.h"

#define DSN_LINE_MAX 998        /* RFC 5322 2.1.1, without the CRLF */
#define DSN_TEXT_WIDTH 78       /* RFC 5322 2.1.1 SHOULD, for the text part */
#define DSN_TEXT_REPLY_MAX 8192 /* octets of one remote reply in the text part */
#define DSN_BOUNDARY_TRIES 100

/* ---- making outside text safe ------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (RFC 3629 4: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0.  *cp gets the code point. */
static size_t
dsn_utf8_len(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c, min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1fu, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0fu, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07u, min = 0x10000;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* The next unit of `s` made safe: copies 1 to 4 octets to `out`, returns
 * how many input octets it used.  Controls (C0, DEL, C1) become a space,
 * CRLF one unit; with keep_lf, a line end (CRLF, LF) stays "\n".  An octet
 * that is not valid UTF-8 becomes "?". */
static size_t
dsn_unit(const unsigned char *s, int keep_lf, char *out, size_t *outlen)
{
	uint32_t cp = 0;
	size_t n;

	*outlen = 1;
	if (s[0] == '\r' && s[1] == '\n') {
		out[0] = keep_lf ? '\n' : ' ';
		return 2;
	}
	if (s[0] == '\n') {
		out[0] = keep_lf ? '\n' : ' ';
		return 1;
	}
	if (s[0] < 0x20 || s[0] == 0x7f) {
		out[0] = ' ';
		return 1;
	}
	if (s[0] < 0x80) {
		out[0] = (char)s[0];
		return 1;
	}
	n = dsn_utf8_len(s, &cp);
	if (n == 0) {
		out[0] = '?';
		return 1;
	}
	if (cp < 0xa0) { /* C1 controls */
		out[0] = ' ';
		return n;
	}
	memcpy(out, s, n);
	*outlen = n;
	return n;
}

/* Copy `text` made safe into `out` (room for limit + 1): at most `limit`
 * octets, ending in "..." when cut.  Returns the length written. */
static size_t
dsn_safe_copy(const char *text, int keep_lf, size_t limit, char *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t total = 0, used = 0, i, room;
	char unit[4];
	size_t ulen;

	for (i = 0; s[i] != '\0';) {
		i += dsn_unit(s + i, keep_lf, unit, &ulen);
		total += ulen;
	}
	room = total <= limit ? limit : (limit >= 3 ? limit - 3 : 0);
	for (i = 0; s[i] != '\0';) {
		size_t step = dsn_unit(s + i, keep_lf, unit, &ulen);

		if (used + ulen > room)
			break;
		memcpy(out + used, unit, ulen);
		used += ulen;
		i += step;
	}
	if (total > limit) {
		size_t dots = limit - used < 3 ? limit - used : 3;
		memcpy(out + used, "...", dots);
		used += dots;
	}
	out[used] = '\0';
	return used;
}

void
dsn_field_value(const char *text, size_t max, char *buf, size_t len)
{
	if (len == 0)
		return;
	if (text == NULL)
		text = "";
	(void)dsn_safe_copy(text, 0, max < len - 1 ? max : len - 1, buf);
}

/* A header-style field "NAME: PREFIXVALUE" with VALUE made safe. */
static void
dsn_field(struct buf *b, const char *name, const char *prefix, const char *value)
{
	char v[DSN_FIELD_MAX + 1];

	dsn_field_value(value, DSN_FIELD_MAX, v, sizeof v);
	buf_addf(b, "%s: %s%s\r\n", name, prefix, v);
}

/* Add `text` (safe already, lines separated by "\n") to the text part,
 * each line after `indent`, wrapped at spaces to DSN_TEXT_WIDTH octets
 * (hard-cut on a UTF-8 boundary when a word is longer). */
static void
dsn_text_add(struct buf *b, const char *indent, const char *text)
{
	size_t width = DSN_TEXT_WIDTH - strlen(indent);
	const char *line = text;

	for (;;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);

		do {
			size_t cut = n, skip = 0;

			if (n > width) {
				cut = width;
				while (cut > 0 && line[cut] != ' ')
					cut--;
				if (cut > 0) {
					skip = 1;
				} else {
					cut = width;
					while (cut > 0 && ((unsigned char)line[cut] & 0xc0) == 0x80)
						cut--; /* not inside a UTF-8 sequence */
					if (cut == 0)
						cut = width;
				}
			}
			buf_adds(b, indent);
			buf_add(b, line, cut);
			buf_adds(b, "\r\n");
			line += cut + skip;
			n -= cut + skip;
		} while (n > 0);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

/* A safe malloc'd copy for the text part; NULL when out of memory. */
static char *
dsn_safe_dup(const char *text, int keep_lf, size_t limit)
{
	char *out = malloc(limit + 1);

	if (out != NULL)
		(void)dsn_safe_copy(text != NULL ? text : "", keep_lf, limit, out);
	return out;
}

/* ---- the parts ------------------------------------------------------------ */

int
dsn_wants_failure_report(const char *sender, unsigned notify)
{
	if (sender == NULL || *sender == '\0')
		return 0; /* RFC 5321 6.1: never bounce a bounce */
	if (notify == 0)
		return 1; /* RFC 3461 4.1: NOTIFY not given = FAILURE (and DELAY) */
	if ((notify & DSN_NOTIFY_NEVER) != 0)
		return 0;
	return (notify & DSN_NOTIFY_FAILURE) != 0;
}

int
dsn_wants_success_report(const char *sender, unsigned notify)
{
	if (sender == NULL || *sender == '\0')
		return 0;
	return (notify & DSN_NOTIFY_SUCCESS) != 0 && (notify & DSN_NOTIFY_NEVER) == 0;
}

static int
dsn_is_success(const struct dsn_bounce *bn)
{
	return bn->nfailures > 0 && bn->failures[0].action != DSN_ACTION_FAILED;
}

static const char *
dsn_action_word(enum dsn_action a)
{
	switch (a) {
	case DSN_ACTION_DELIVERED:
		return "delivered";
	case DSN_ACTION_RELAYED:
		return "relayed";
	case DSN_ACTION_FAILED:
		break;
	}
	return "failed";
}

/* A success report's Status: a valid class 2 code as given, else 2.0.0. */
static void
dsn_success_status(const char *in, char *out, size_t len)
{
	int sub = 0, det = 0, end = 0;

	if (in != NULL && sscanf(in, "2.%3d.%3d%n", &sub, &det, &end) == 2 && in[end] == '\0' &&
	    strspn(in, "0123456789.") == strlen(in) && strlen(in) <= 9) {
		snprintf(out, len, "%s", in);
		return;
	}
	snprintf(out, len, "2.0.0");
}

/* RFC 3464 2.3.4: Action "failed" goes with a class 5 Status.  A valid
 * RFC 3463 code of class 4 (a temporary error that ran out of retries)
 * keeps its subject and detail; anything else becomes 5.0.0. */
static void
dsn_status(const char *in, char *out, size_t len)
{
	int cls = 0, sub = 0, det = 0, end = 0;

	if (in != NULL && sscanf(in, "%1d.%3d.%3d%n", &cls, &sub, &det, &end) == 3 &&
	    in[end] == '\0' && (cls == 4 || cls == 5) && strspn(in, "0123456789.") == strlen(in) &&
	    strlen(in) <= 9) {
		snprintf(out, len, "5%s", in + 1);
		return;
	}
	snprintf(out, len, "5.0.0");
}

static int
dsn_has_host(const struct dsn_failure *f)
{
	return f->host_name != NULL || f->host_address != NULL;
}

/* "mx1.partner.test [127.0.0.2]:587" for the text part. */
static void
dsn_host_text(const struct dsn_failure *f, char *out, size_t len)
{
	char name[DSN_FIELD_MAX + 1], addr[DSN_FIELD_MAX + 1], port[16] = "";

	dsn_field_value(f->host_name, DSN_FIELD_MAX, name, sizeof name);
	dsn_field_value(f->host_address, DSN_FIELD_MAX, addr, sizeof addr);
	if (f->host_port != 0 && f->host_port != 25)
		snprintf(port, sizeof port, ":%u", f->host_port);
	if (f->host_address == NULL)
		snprintf(out, len, "host %s", name);
	else if (f->host_name == NULL)
		snprintf(out, len, "host [%s]%s", addr, port);
	else
		snprintf(out, len, "host %s [%s]%s", name, addr, port);
}

static void
dsn_part_text(struct buf *b, const struct dsn_bounce *bn)
{
	if (dsn_is_success(bn))
		buf_adds(b, "This message was created automatically by mail delivery software.\r\n"
		            "\r\n"
		            "You asked to be told when your message reached the following\r\n"
		            "address(es). It was delivered to a mailbox here, or relayed to a\r\n"
		            "server that does not report delivery status (so no further\r\n"
		            "notice will come from there):\r\n");
	else
		buf_adds(b,
		         "This message was created automatically by mail delivery software.\r\n"
		         "\r\n"
		         "A message that you sent could not be delivered to one or more of its\r\n"
		         "recipients. This is a permanent error. The following address(es) "
		         "failed:\r\n");
	for (size_t i = 0; i < bn->nfailures; i++) {
		const struct dsn_failure *f = &bn->failures[i];
		char addr[DSN_FIELD_MAX + 1], host[3 * DSN_FIELD_MAX];
		char *reason;

		dsn_field_value(f->address, DSN_FIELD_MAX, addr, sizeof addr);
		buf_adds(b, "\r\n");
		dsn_text_add(b, "  ", addr);
		if (dsn_has_host(f)) {
			dsn_host_text(f, host, sizeof host);
			dsn_text_add(b, "    ", host);
		}
		if (f->action != DSN_ACTION_FAILED) {
			dsn_text_add(b, "    ",
			             f->action == DSN_ACTION_RELAYED
			                     ? "relayed; the server's reply:"
			                     : "delivered to its mailbox");
			if (f->remote_reply == NULL)
				continue;
			reason = dsn_safe_dup(f->remote_reply, 1, DSN_TEXT_REPLY_MAX);
		} else if (f->remote_reply != NULL) {
			char *stage =
			        dsn_safe_dup(f->stage != NULL ? f->stage : "", 0, DSN_FIELD_MAX);
			char *line = NULL;

			if (stage == NULL ||
			    asprintf(&line, "SMTP error from remote mail server %s:", stage) < 0) {
				free(stage);
				b->oom = 1;
				return;
			}
			dsn_text_add(b, "    ", line);
			free(line);
			free(stage);
			reason = dsn_safe_dup(f->remote_reply, 1, DSN_TEXT_REPLY_MAX);
		} else {
			reason = dsn_safe_dup(f->error_text != NULL ? f->error_text
			                                            : "unknown error",
			                      1, DSN_TEXT_REPLY_MAX);
		}
		if (reason == NULL) {
			b->oom = 1;
			return;
		}
		dsn_text_add(b, "    ", reason);
		free(reason);
	}
	if (bn->ret == DSN_RET_HDRS || dsn_is_success(bn))
		buf_adds(b, "\r\nThe header of the message is attached.\r\n");
	else
		buf_adds(b, "\r\nA copy of the message is attached.\r\n");
}

static void
dsn_part_status(struct buf *b, const struct dsn_bounce *bn)
{
	char date[64];

	/* RFC 3464 2.2: per-message fields. */
	dsn_field(b, "Reporting-MTA", "dns; ", bn->reporting_mta);
	if (bn->envid != NULL)
		dsn_field(b, "Original-Envelope-Id", "", bn->envid);
	clock_format_rfc5322(bn->arrival_date, date, sizeof date);
	buf_addf(b, "Arrival-Date: %s\r\n", date);

	/* RFC 3464 2.3: per-recipient fields, each group after a blank line. */
	for (size_t i = 0; i < bn->nfailures; i++) {
		const struct dsn_failure *f = &bn->failures[i];
		char status[16];

		buf_adds(b, "\r\n");
		if (f->orcpt != NULL)
			dsn_field(b, "Original-Recipient", "", f->orcpt);
		dsn_field(b, "Final-Recipient", "rfc822;", f->address);
		buf_addf(b, "Action: %s\r\n", dsn_action_word(f->action));
		if (f->action == DSN_ACTION_FAILED)
			dsn_status(f->status, status, sizeof status);
		else
			dsn_success_status(f->status, status, sizeof status);
		buf_addf(b, "Status: %s\r\n", status);
		if (f->host_name != NULL)
			dsn_field(b, "Remote-MTA", "dns; ", f->host_name);
		if (f->host_address != NULL) {
			/* The seed's DSN_INFO: the address, the port only when not 25. */
			char addr[DSN_FIELD_MAX + 1];

			dsn_field_value(f->host_address, DSN_FIELD_MAX, addr, sizeof addr);
			if (f->host_port != 0 && f->host_port != 25)
				buf_addf(b, "Remote-MTA: X-ip; [%s]:%u\r\n", addr, f->host_port);
			else
				buf_addf(b, "Remote-MTA: X-ip; [%s]\r\n", addr);
		}
		if (f->remote_reply != NULL)
			dsn_field(b, "Diagnostic-Code", "smtp; ", f->remote_reply);
		if (f->greeting != NULL)
			dsn_field(b, "X-Remote-MTA-smtp-greeting", "X-str; ", f->greeting);
		if (f->helo_response != NULL)
			dsn_field(b, "X-Remote-MTA-helo-response", "X-str; ", f->helo_response);
		if (f->remote_reply != NULL && f->action == DSN_ACTION_FAILED) {
			char *diag = NULL;

			if (asprintf(&diag, "SMTP error from remote mail server %s: %s",
			             f->stage != NULL ? f->stage : "", f->remote_reply) < 0) {
				b->oom = 1;
				return;
			}
			dsn_field(b, "X-Refmta-Diagnostic", "X-str; ", diag);
			free(diag);
		} else if (dsn_has_host(f) && f->error_text != NULL) {
			dsn_field(b, "X-Refmta-Diagnostic", "X-str; ", f->error_text);
		}
	}
}

/* The returned message (or its header only) with CRLF line ends and no
 * line over DSN_LINE_MAX: a longer header line is folded ("\r\n "), a
 * longer body line broken ("\r\n"). */
static void
dsn_part_message(struct buf *b, const char *data, size_t len, int header_only)
{
	size_t i = 0;
	int in_header = 1;

	while (i < len) {
		size_t start = i, n, lim;

		while (i < len && data[i] != '\n' && data[i] != '\r')
			i++;
		n = i - start;
		if (i < len && data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
			i += 2;
		else if (i < len)
			i++; /* a bare LF or CR ends the line too */
		if (n == 0 && in_header) {
			in_header = 0;
			if (header_only)
				return;
		}
		lim = DSN_LINE_MAX;
		while (n > lim) {
			buf_add(b, data + start, lim);
			buf_adds(b, in_header ? "\r\n " : "\r\n");
			start += lim;
			n -= lim;
			lim = in_header ? DSN_LINE_MAX - 1 : DSN_LINE_MAX;
		}
		buf_add(b, data + start, n);
		buf_adds(b, "\r\n");
	}
}

static int
dsn_read_file(const char *path, char **out, size_t *outlen, struct err *e)
{
	FILE *fp = fopen(path, "rb");
	struct buf b = { 0 };
	char chunk[65536];
	uint64_t left = 0;
	size_t n;

	if (fp == NULL) {
		err_set(e, errno, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	/* The message is the first spool_data_length() octets of the data file
	 * (a one-file message's envelope and trailer follow, docs/spool.md). */
	if (spool_data_length(fileno(fp), &left, e) != 0) {
		fclose(fp);
		return -1;
	}
	while (left > 0 &&
	       (n = fread(chunk, 1, left < sizeof chunk ? (size_t)left : sizeof chunk, fp)) > 0) {
		buf_add(&b, chunk, n);
		left -= n;
	}
	if (ferror(fp) || b.oom) {
		err_set(e, b.oom ? ENOMEM : EIO, "cannot read %s: %s", path,
		        b.oom ? "out of memory" : "read error");
		fclose(fp);
		buf_free(&b);
		return -1;
	}
	fclose(fp);
	*outlen = b.len;
	*out = buf_take(&b);
	if (*out == NULL) {
		err_set(e, ENOMEM, "cannot read %s: out of memory", path);
		return -1;
	}
	return 0;
}

static int
dsn_is_8bit(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if ((unsigned char)b->p[i] >= 0x80)
			return 1;
	return 0;
}

/* The message id with anything but letters, digits and "-" made "_": it
 * goes into the boundary (RFC 2046 5.1.1) and the Message-ID (RFC 5322
 * 3.6.4 dot-atom). */
static void
dsn_clean_id(const char *id, char *out, size_t len)
{
	size_t i;

	snprintf(out, len, "%s", id != NULL ? id : "");
	for (i = 0; out[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
		           out[i]) == NULL)
			out[i] = '_';
}

static void
dsn_boundary(const char *id, time_t now, unsigned attempt, char *out, size_t len)
{
	if (attempt == 0)
		snprintf(out, len, "=_refmta_%s_%lld", id, (long long)now);
	else
		snprintf(out, len, "=_refmta_%s_%lld_%u", id, (long long)now, attempt);
}

int
dsn_build_bounce(const struct dsn_bounce *bn, char **out, size_t *outlen, struct err *e)
{
	struct buf text = { 0 }, status = { 0 }, msg = { 0 }, all = { 0 };
	char *data = NULL;
	size_t datalen = 0;
	char boundary[96], date[64], id[40], mta[DSN_FIELD_MAX + 1];
	unsigned attempt;
	int rc = -1;

	if (bn->sender == NULL || *bn->sender == '\0') {
		err_set(e, EINVAL, "no bounce for the null sender (RFC 5321 6.1)");
		return -1;
	}
	if (bn->nfailures == 0) {
		err_set(e, EINVAL, "a bounce needs at least one failed recipient");
		return -1;
	}
	for (size_t i = 1; i < bn->nfailures; i++) {
		if ((bn->failures[i].action == DSN_ACTION_FAILED) != !dsn_is_success(bn)) {
			err_set(e, EINVAL, "a report holds failures only or successes only");
			return -1;
		}
	}
	const int success = dsn_is_success(bn), header_only = bn->ret == DSN_RET_HDRS || success;
	if (dsn_read_file(bn->data_path, &data, &datalen, e) != 0)
		return -1;

	dsn_part_text(&text, bn);
	dsn_part_status(&status, bn);
	dsn_part_message(&msg, data, datalen, header_only);
	if (text.oom || status.oom || msg.oom)
		goto oom;

	/* RFC 2046 5.1.1: the boundary must not occur in any part. */
	dsn_clean_id(bn->message_id, id, sizeof id);
	for (attempt = 0; attempt < DSN_BOUNDARY_TRIES; attempt++) {
		dsn_boundary(id, bn->now, attempt, boundary, sizeof boundary);
		if (strstr(text.p, boundary) == NULL && strstr(status.p, boundary) == NULL &&
		    (msg.p == NULL || strstr(msg.p, boundary) == NULL))
			break;
	}
	if (attempt == DSN_BOUNDARY_TRIES) {
		err_set(e, EINVAL, "no MIME boundary absent from the returned message");
		goto out;
	}

	dsn_field_value(bn->reporting_mta, DSN_FIELD_MAX, mta, sizeof mta);
	buf_addf(&all, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", mta);
	dsn_field(&all, "To", "", bn->sender);
	buf_adds(&all, success ? "Subject: Successful Mail Delivery Report\r\n"
	                       : "Subject: Mail delivery failed: returning message to sender\r\n");
	clock_format_rfc5322(bn->now, date, sizeof date);
	buf_addf(&all, "Date: %s\r\n", date);
	buf_addf(&all, "Message-ID: <%s-%s@%s>\r\n", id, success ? "success" : "bounce", mta);
	buf_adds(&all, "Auto-Submitted: auto-replied\r\n" /* RFC 3834 5 */
	               "MIME-Version: 1.0\r\n"
	               "Content-Type: multipart/report; report-type=delivery-status;\r\n");
	buf_addf(&all, "\tboundary=\"%s\"\r\n", boundary);
	buf_adds(&all, "\r\nThis is a MIME-formatted delivery status notification (RFC 3464).\r\n");

	buf_addf(&all, "\r\n--%s\r\n", boundary);
	if (dsn_is_8bit(&text))
		buf_adds(&all, "Content-Type: text/plain; charset=utf-8\r\n"
		               "Content-Transfer-Encoding: 8bit\r\n");
	else
		buf_adds(&all, "Content-Type: text/plain; charset=us-ascii\r\n");
	buf_adds(&all, "\r\n");
	buf_add(&all, text.p, text.len);

	buf_addf(&all, "\r\n--%s\r\n", boundary);
	if (dsn_is_8bit(&status))
		buf_adds(&all, "Content-Type: message/delivery-status\r\n"
		               "Content-Transfer-Encoding: 8bit\r\n");
	else
		buf_adds(&all, "Content-Type: message/delivery-status\r\n");
	buf_adds(&all, "\r\n");
	buf_add(&all, status.p, status.len);

	buf_addf(&all, "\r\n--%s\r\n", boundary);
	/* RFC 3461 4.3 RET; RFC 6522 (text/rfc822-headers) for the header only. */
	buf_adds(&all, header_only ? "Content-Type: text/rfc822-headers\r\n"
	                           : "Content-Type: message/rfc822\r\n");
	if (dsn_is_8bit(&msg))
		buf_adds(&all, "Content-Transfer-Encoding: 8bit\r\n");
	buf_adds(&all, "\r\n");
	if (msg.p != NULL)
		buf_add(&all, msg.p, msg.len);
	buf_addf(&all, "\r\n--%s--\r\n", boundary);
	if (all.oom)
		goto oom;

	*out = all.p;
	*outlen = all.len;
	all.p = NULL;
	rc = 0;
	goto out;
oom:
	err_set(e, ENOMEM, "out of memory building the bounce");
out:
	free(text.p);
	free(status.p);
	free(msg.p);
	free(all.p);
	free(data);
	return rc;
}
