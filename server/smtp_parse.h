/*
 * smtp_parse.h - the SMTP grammar refmta accepts, as pure functions:
 * MAIL/RCPT paths (RFC 5321 4.1.2), ESMTP parameters (RFC 5321 4.1.2
 * Mail-parameters), SIZE (RFC 1870), BODY (RFC 6152), PRDR
 * (draft-hall-prdr-00), the DSN parameters (RFC 3461 4) with xtext (RFC
 * 3461 4), and BDAT arguments (RFC 3030).
 * No I/O, no policy: the session decides what a parse error means.
 */
#ifndef REFMTA_SMTP_PARSE_H
#define REFMTA_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "dsn_param.h"
#include "err.h"

#define SMTP_PATH_MAX 256       /* RFC 5321 4.5.3.1.3: 256 octets, brackets included */
#define SMTP_LOCAL_PART_MAX 64  /* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX 255     /* RFC 5321 4.5.3.1.2 */
#define SMTP_ENVID_MAX 100      /* RFC 3461 4.4 */
#define SMTP_TEXT_LINE_MAX 1000 /* RFC 5321 4.5.3.1.6, CRLF included */

struct smtp_mail_args {
	char path[SMTP_PATH_MAX + 1]; /* the mailbox without brackets; "" = null sender */
	uint64_t size;                /* SIZE=, 0 when absent */
	int has_size;
	char body[16];                  /* "7BIT" | "8BITMIME" | "" */
	char ret[8];                    /* "FULL" | "HDRS" | "" (dsn_param_ret_parse reads it) */
	char envid[SMTP_ENVID_MAX + 1]; /* xtext-decoded; "" when absent */
	int has_envid;
	int prdr; /* the PRDR parameter (draft-hall-prdr-00 3): no value; the
	           * session refuses it (555) when PRDR was not offered */
};

struct smtp_rcpt_args {
	char path[SMTP_PATH_MAX + 1]; /* "user@domain" or "postmaster" */
	unsigned notify;              /* DSN_NOTIFY_* bits (dsn_param.h), 0 = absent */
	char orcpt[512];              /* "addr-type;decoded address", "" = absent */
};

/* Parse what follows "MAIL FROM:" / "RCPT TO:" (leading spaces allowed).
 * 0 on success; otherwise the reply code (501 syntax, 555 unknown
 * parameter, RFC 5321 4.1.1.11) with `why` = "X.Y.Z text" for the reply. */
int smtp_parse_mail(const char *args, struct smtp_mail_args *out, char *why, size_t whylen);
int smtp_parse_rcpt(const char *args, struct smtp_rcpt_args *out, char *why, size_t whylen);

/* Split a mailbox "local@domain" (from the above) into its parts.
 * `local` gets the local part as written (quotes kept), `domain` the
 * domain or address literal.  -1 if there is no '@'. */
int smtp_split_mailbox(const char *mailbox, char *local, size_t llen, char *domain, size_t dlen);

/* The meaning of a local part (RFC 5322 3.2.4: the quotes of a
 * quoted-string are not part of it): "\"bob\"" -> "bob", "\"a\\\"b\"" -> "a\"b";
 * a dot-string is copied.  -1 when it does not fit in `out`. */
int smtp_unquote_local_part(const char *in, char *out, size_t outlen);

/* "BDAT <size> [LAST]" arguments (RFC 3030 2). */
int smtp_parse_bdat(const char *args, uint64_t *size, int *last);

/*
 * DATA (RFC 5321 4.1.1.4, 4.5.2): feed each line as read, LF included.
 * Returns 1 at the end of data (CRLF "." CRLF, and only that); otherwise 0
 * with *out and *outlen = the octets to keep (one leading dot removed).  Bare CR
 * or LF (RFC 5321 2.3.8) and over-long lines are remembered in the state,
 * for the session to refuse the message after its end.
 */
struct smtp_data_state {
	int prev_crlf; /* the previous line ended in CRLF (start: 1, DATA's own CRLF) */
	int bare;      /* a bare CR or LF was seen */
	int nul;       /* a NUL octet was seen */
	int long_line; /* a line longer than 1000 octets was seen */
};
void smtp_data_begin(struct smtp_data_state *st);
int smtp_data_line(struct smtp_data_state *st, const char *line, size_t len, int too_long,
                   const char **out, size_t *outlen);

/*
 * BDAT (RFC 3030): the same content rules as DATA, over chunks that may
 * split a CRLF or a line.  Feed every chunk's octets in order, then call
 * smtp_chunk_end once after the LAST chunk (a final CR is bare).  Lines
 * are held to SMTP_TEXT_LINE_MAX as in DATA (RFC 5321 4.5.3.1.6; BDAT
 * lifts it only for BINARYMIME, RFC 3030 3, which is not offered), counted
 * across chunk boundaries.
 */
struct smtp_chunk_state {
	int prev_cr;     /* the last octet fed was CR */
	int bare;        /* a bare CR or LF was seen */
	int nul;         /* a NUL octet was seen */
	size_t line_len; /* octets of the current line so far */
	int long_line;   /* a line longer than SMTP_TEXT_LINE_MAX (CRLF included) was seen */
};
void smtp_chunk_begin(struct smtp_chunk_state *st);
void smtp_chunk_scan(struct smtp_chunk_state *st, const char *data, size_t n);
void smtp_chunk_end(struct smtp_chunk_state *st);

/* Is `name` a syntactically valid EHLO/HELO argument (a domain or an
 * address literal, RFC 5321 4.1.1.1)? */
int smtp_valid_helo(const char *name);

#endif
