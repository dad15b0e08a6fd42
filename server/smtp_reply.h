/*
 * smtp_reply.h - what an SMTP client reads: replies (RFC 5321 4.2) with
 * their enhanced status codes (RFC 3463), the EHLO keywords the smtp
 * transport acts on (xtext for the DSN parameters it passes on is
 * dsn_param.h's xtext).  Used by server/deliver_smtp.c.
 */
#ifndef REFMTA_SMTP_REPLY_H
#define REFMTA_SMTP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct bio;

#define SMTP_REPLY_LINE_MAX 2048 /* a longer line is kept cut (RFC 5321 4.5.3.1.5: 512) */
#define SMTP_REPLY_MAX_LINES 100 /* a longer reply is malformed */

enum smtp_reply_read {
	SMTP_REPLY_OK = 0,
	SMTP_REPLY_EOF,       /* the server closed the connection */
	SMTP_REPLY_TIMEOUT,   /* SO_RCVTIMEO expired */
	SMTP_REPLY_IO,        /* read error (e says which) */
	SMTP_REPLY_MALFORMED, /* not "ddd[ -]text" lines of one code (e quotes it) */
};

struct smtp_reply {
	int code;        /* 200..599; 0 = none read */
	char *text;      /* every line, CRLF stripped, joined by "\n"; owned, NULL when none */
	char status[16]; /* the enhanced code when the first line starts with one of the
	                  * reply's class ("550 5.1.1 ..."), else "X.0.0" */
};

/* Read one reply, all its lines.  Anything but SMTP_REPLY_OK leaves `r`
 * cleared.  Free r->text with smtp_reply_clear(). */
enum smtp_reply_read smtp_reply_read(struct bio *b, struct smtp_reply *r, struct err *e) MUST_CHECK;
void smtp_reply_clear(struct smtp_reply *r);

/* EHLO keywords (RFC 5321 4.1.1.1: the lines after the first). */
#define SMTP_EXT_PIPELINING 0x01u /* RFC 2920 */
#define SMTP_EXT_SIZE 0x02u       /* RFC 1870 */
#define SMTP_EXT_8BITMIME 0x04u   /* RFC 6152 */
#define SMTP_EXT_DSN 0x08u        /* RFC 3461 */
#define SMTP_EXT_CHUNKING 0x10u   /* RFC 3030 */
#define SMTP_EXT_STARTTLS 0x20u   /* RFC 3207 */
#define SMTP_EXT_PRDR 0x40u       /* draft-hall-prdr-00 */

struct smtp_ehlo {
	unsigned ext;        /* SMTP_EXT_* */
	uint64_t size_limit; /* SIZE's argument; 0 = none given (no limit stated) */
};

/* The keywords of an EHLO reply's text (as smtp_reply_read() joins it). */
void smtp_ehlo_parse(const char *text, struct smtp_ehlo *out);

#endif
