/*
 * dsn_param.h - the DSN parameters of RFC 3461 as values, parsed and
 * formatted in one place: xtext (4), NOTIFY (4.1), RET (4.3).
 *
 * Below both the SMTP grammar (smtp_parse.c: what a client sends) and the
 * spool (spool.c: what is stored), so neither includes the other; the smtp
 * transport uses it to pass the parameters on.  Pure functions, no I/O, no
 * allocation: every output goes into the caller's buffer.
 */
#ifndef REFMTA_DSN_PARAM_H
#define REFMTA_DSN_PARAM_H

#include <stddef.h>

#include "err.h"

/* RFC 3461 4.1 NOTIFY bits; 0 = not given. */
#define DSN_NOTIFY_NEVER 0x1u
#define DSN_NOTIFY_SUCCESS 0x2u
#define DSN_NOTIFY_FAILURE 0x4u
#define DSN_NOTIFY_DELAY 0x8u

/* Room for the longest NOTIFY value, "SUCCESS,FAILURE,DELAY", and its NUL. */
#define DSN_NOTIFY_NAMES_MAX 32

enum dsn_ret { DSN_RET_UNSET = 0, DSN_RET_FULL, DSN_RET_HDRS }; /* RFC 3461 4.3 */

/*
 * xtext (RFC 3461 4): "!" to "~" but "+" and "=" stand for themselves,
 * every other octet is "+HH" with upper-case hex.
 *
 * Encode `in` into `out` (`len` octets with the NUL; 3 * strlen(in) + 1
 * always suffices).  0; -1 when it does not fit (then out = "").
 */
int dsn_param_xtext_encode(const char *in, char *out, size_t len) MUST_CHECK;

/* Decode `in` into `out` (`outlen` octets with the NUL; strlen(in) + 1
 * always suffices).  0; -1 on bad syntax (a raw octet outside "!".."~" or
 * "=", a "+" not followed by two upper-case hex digits, an encoded NUL,
 * which no C string can carry) or when it does not fit. */
int dsn_param_xtext_decode(const char *in, char *out, size_t outlen) MUST_CHECK;

/* NOTIFY value (RFC 3461 4.1): "NEVER", or a comma list of SUCCESS,
 * FAILURE, DELAY, each at most once, in any case.  Sets *out to the bits;
 * -1 (and *out = 0) on anything else, NEVER with another word included. */
int dsn_param_notify_parse(const char *val, unsigned *out) MUST_CHECK;

/* The NOTIFY value of `notify` ("NEVER" or e.g. "SUCCESS,DELAY", in that
 * order), "" for 0, into `out` (DSN_NOTIFY_NAMES_MAX suffices).  0; -1 when
 * it does not fit or `notify` has bits that are not NOTIFY's. */
int dsn_param_notify_format(unsigned notify, char *out, size_t len) MUST_CHECK;

/* RET value (RFC 3461 4.3): "FULL" or "HDRS", in any case.  -1 otherwise. */
int dsn_param_ret_parse(const char *val, enum dsn_ret *out) MUST_CHECK;

/* "FULL", "HDRS", or NULL for DSN_RET_UNSET (and anything else). */
const char *dsn_param_ret_name(enum dsn_ret ret);

#endif
