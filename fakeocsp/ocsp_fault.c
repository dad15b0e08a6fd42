/*
 * ocsp_fault.c - the fault table of fakeocsp: parse "NAME[=VALUE]" rules,
 * resolve them per request, and print them for --help.
 *
 * Pure data: never does I/O beyond --help's FILE, never names a TLS library.
 * Every fault a user can order is in fault_table below, and nowhere else.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocsp_fault.h"
#include "strutil.h"

#define DAY (24 * 3600)

enum fault_value { VALUE_NONE, VALUE_REQUIRED };

static const struct fault_def {
	const char *name;
	enum fault_value value;
	const char *arg;
	const char *help;
} fault_table[] = {
	{ "this-update", VALUE_REQUIRED, "T", "thisUpdate at T (default -1h)" },
	{ "next-update", VALUE_REQUIRED, "T", "nextUpdate at T (default +7d)" },
	{ "no-next-update", VALUE_NONE, NULL, "omit nextUpdate" },
	{ "expired", VALUE_NONE, NULL, "thisUpdate -8d, nextUpdate -1d (stale response)" },
	{ "not-yet-valid", VALUE_NONE, NULL, "thisUpdate +1d, nextUpdate +8d" },
	{ "status", VALUE_REQUIRED, "good|revoked|unknown",
	  "answer this status whatever the index says" },
	{ "bad-signature", VALUE_NONE, NULL, "flip the last byte of the signature" },
	{ "signer", VALUE_REQUIRED, "CERT.pem,KEY.pem",
	  "sign with this one instead (the CA, ...)" },
	{ "unauthorised-signer", VALUE_REQUIRED, "CERT.pem,KEY.pem",
	  "sign with a certificate the CA did not authorise (e.g. mx-rsa)" },
	{ "expired-signer", VALUE_REQUIRED, "CERT.pem,KEY.pem",
	  "sign with an expired responder certificate (ocsp-signer-expired)" },
	{ "no-certs", VALUE_NONE, NULL, "leave the signer certificate out of the response" },
	{ "no-nonce", VALUE_NONE, NULL, "do not echo the request's nonce (RFC 8954)" },
	{ "malformedRequest", VALUE_NONE, NULL, "responseStatus malformedRequest (1)" },
	{ "internalError", VALUE_NONE, NULL, "responseStatus internalError (2)" },
	{ "tryLater", VALUE_NONE, NULL, "responseStatus tryLater (3)" },
	{ "sigRequired", VALUE_NONE, NULL, "responseStatus sigRequired (5)" },
	{ "unauthorized", VALUE_NONE, NULL, "responseStatus unauthorized (6)" },
	{ "garbage", VALUE_NONE, NULL, "HTTP 200 with a body that is not DER" },
	{ "delay", VALUE_REQUIRED, "DURATION",
	  "wait before answering (e.g. 500ms, 2s; at most 60s)" },
	{ "drop", VALUE_NONE, NULL, "close the connection without answering" },
};

#define NFAULTS (sizeof fault_table / sizeof fault_table[0])

static const struct fault_def *
fault_find(const char *name)
{
	for (size_t i = 0; i < NFAULTS; i++)
		if (strcmp(fault_table[i].name, name) == 0)
			return &fault_table[i];
	return NULL;
}

void
ocsp_faults_help(FILE *f)
{
	char left[64];

	for (size_t i = 0; i < NFAULTS; i++) {
		snprintf(left, sizeof left, "%s%s%s", fault_table[i].name,
		         fault_table[i].arg != NULL ? "=" : "",
		         fault_table[i].arg != NULL ? fault_table[i].arg : "");
		fprintf(f, "  %-38s %s\n", left, fault_table[i].help);
	}
}

int
ocsp_serial_normalise(const char *in, char *out, size_t outlen)
{
	size_t len;

	if (in == NULL || *in == '\0' || outlen == 0)
		return -1;
	for (const char *p = in; *p != '\0'; p++)
		if (!isxdigit((unsigned char)*p))
			return -1;
	while (in[0] == '0' && in[1] != '\0')
		in++;
	len = strlen(in);
	if (len >= outlen)
		return -1;
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)toupper((unsigned char)in[i]);
	return 0;
}

/* Seconds in "500ms", "2s", "3" (seconds), "1m". */
static int
duration_parse(const char *s, int64_t *ms)
{
	size_t n = strspn(s, "0123456789");
	const char *end = s + n;
	uint64_t v;

	/* At most a day, in whatever unit: no product can overflow. */
	if (str_parse_u64(s, n, 86400000, &v) != STR_NUM_OK)
		return -1;
	if (strcmp(end, "ms") == 0)
		*ms = (int64_t)v;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		*ms = (int64_t)v * 1000;
	else if (strcmp(end, "m") == 0)
		*ms = (int64_t)v * 60000;
	else
		return -1;
	return 0;
}

int
ocsp_when_parse(const char *s, struct ocsp_when *w, struct err *e)
{
	struct tm tm;
	char *end;
	long long v;
	int64_t unit;
	int rc = -1, used = 0;

	memset(w, 0, sizeof *w);
	if (strchr(s, 'T') != NULL) {
		memset(&tm, 0, sizeof tm);
		if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 ||
		    s[used] != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
		    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
			err_set(e, 1, "bad time \"%s\" (want -1h, +7d or 2026-01-01T00:00:00Z)", s);
			goto out;
		}
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		w->value = (int64_t)timegm(&tm);
		w->absolute = 1;
		w->set = 1;
		rc = 0;
		goto out;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno != 0 || v > 100000000LL || v < -100000000LL) {
		err_set(e, 1, "bad time \"%s\" (want -1h, +7d or 2026-01-01T00:00:00Z)", s);
		goto out;
	}
	if (*end == '\0' || strcmp(end, "s") == 0)
		unit = 1;
	else if (strcmp(end, "m") == 0)
		unit = 60;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	else if (strcmp(end, "d") == 0)
		unit = DAY;
	else {
		err_set(e, 1, "bad time unit in \"%s\" (s, m, h or d)", s);
		goto out;
	}
	w->value = (int64_t)v * unit;
	w->set = 1;
	rc = 0;
out:
	return rc;
}

time_t
ocsp_when_resolve(const struct ocsp_when *w, time_t now, int64_t dflt)
{
	if (!w->set)
		return (time_t)((int64_t)now + dflt);
	if (w->absolute)
		return (time_t)w->value;
	return (time_t)((int64_t)now + w->value);
}

/* Check a rule's value for its fault. */
static int
fault_check_value(const struct fault_def *d, const char *value, struct err *e)
{
	struct ocsp_when w;
	int64_t ms;
	const char *comma;

	if (d->value == VALUE_NONE) {
		if (value != NULL) {
			err_set(e, 1, "fault \"%s\" takes no value", d->name);
			return -1;
		}
		return 0;
	}
	if (value == NULL || *value == '\0') {
		err_set(e, 1, "fault \"%s\" needs a value: %s=%s", d->name, d->name, d->arg);
		return -1;
	}
	if (strcmp(d->name, "this-update") == 0 || strcmp(d->name, "next-update") == 0)
		return ocsp_when_parse(value, &w, e);
	if (strcmp(d->name, "status") == 0) {
		if (strcmp(value, "good") != 0 && strcmp(value, "revoked") != 0 &&
		    strcmp(value, "unknown") != 0) {
			err_set(e, 1, "fault status=%s: want good, revoked or unknown", value);
			return -1;
		}
		return 0;
	}
	if (strcmp(d->name, "delay") == 0) {
		if (duration_parse(value, &ms) < 0 || ms > 60000) {
			err_set(e, 1, "fault delay=%s: want a duration up to 60s (500ms, 2s)",
			        value);
			return -1;
		}
		return 0;
	}
	/* signer, unauthorised-signer, expired-signer */
	comma = strchr(value, ',');
	if (comma == NULL || comma == value || comma[1] == '\0' || strlen(value) >= OCSP_SPEC_MAX) {
		err_set(e, 1, "fault %s=%s: want CERT.pem,KEY.pem", d->name, value);
		return -1;
	}
	return 0;
}

int
ocsp_faults_add(struct ocsp_faults *fs, const char *serial, const char *spec, struct err *e)
{
	char name[32];
	const char *eq = strchr(spec, '='), *value = NULL;
	const struct fault_def *d;
	struct ocsp_fault_rule *grown, *r;
	size_t nlen = eq != NULL ? (size_t)(eq - spec) : strlen(spec);
	int rc = -1;

	if (nlen == 0 || nlen >= sizeof name) {
		err_set(e, 1, "unknown fault \"%s\" (see --help)", spec);
		goto out;
	}
	memcpy(name, spec, nlen);
	name[nlen] = '\0';
	if (eq != NULL)
		value = eq + 1;
	if (strcmp(name, "unauthorized-signer") == 0)
		strcpy(name, "unauthorised-signer");
	if ((d = fault_find(name)) == NULL) {
		err_set(e, 1, "unknown fault \"%s\" (see --help)", name);
		goto out;
	}
	if (fault_check_value(d, value, e) < 0)
		goto out;
	if (fs->n >= 1000) {
		err_set(e, 1, "too many faults (at most 1000)");
		goto out;
	}
	if ((grown = realloc(fs->rule, (fs->n + 1) * sizeof *grown)) == NULL) {
		err_set(e, 1, "out of memory");
		goto out;
	}
	fs->rule = grown;
	r = &fs->rule[fs->n];
	memset(r, 0, sizeof *r);
	if (serial != NULL && ocsp_serial_normalise(serial, r->serial, sizeof r->serial) < 0) {
		err_set(e, 1, "bad serial \"%s\" (want hex)", serial);
		goto out;
	}
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->value, sizeof r->value, "%s", value != NULL ? value : "");
	fs->n++;
	rc = 0;
out:
	return rc;
}

int
ocsp_faults_add_serial(struct ocsp_faults *fs, const char *arg, struct err *e)
{
	char serial[OCSP_SERIAL_MAX];
	const char *colon = strchr(arg, ':');

	if (colon == NULL || colon == arg || (size_t)(colon - arg) >= sizeof serial) {
		err_set(e, 1, "bad --fault-serial \"%s\" (want HEX:NAME[=VALUE])", arg);
		return -1;
	}
	memcpy(serial, arg, (size_t)(colon - arg));
	serial[colon - arg] = '\0';
	return ocsp_faults_add(fs, serial, colon + 1, e);
}

static void
fault_apply(const struct ocsp_fault_rule *r, struct ocsp_fault *f)
{
	struct ocsp_when w;
	int64_t ms;
	size_t used = strlen(f->names);

	snprintf(f->names + used, sizeof f->names - used, "%s%s%s%s", used > 0 ? "," : "", r->name,
	         r->value[0] != '\0' && strstr(r->name, "signer") == NULL ? "=" : "",
	         r->value[0] != '\0' && strstr(r->name, "signer") == NULL ? r->value : "");
	if (strcmp(r->name, "this-update") == 0 && ocsp_when_parse(r->value, &w, NULL) == 0)
		f->this_update = w;
	else if (strcmp(r->name, "next-update") == 0 && ocsp_when_parse(r->value, &w, NULL) == 0)
		f->next_update = w;
	else if (strcmp(r->name, "no-next-update") == 0)
		f->flags |= OCSP_FAULT_NO_NEXT;
	else if (strcmp(r->name, "expired") == 0) {
		f->this_update = (struct ocsp_when){ 1, 0, -8 * DAY };
		f->next_update = (struct ocsp_when){ 1, 0, -1 * DAY };
	} else if (strcmp(r->name, "not-yet-valid") == 0) {
		f->this_update = (struct ocsp_when){ 1, 0, 1 * DAY };
		f->next_update = (struct ocsp_when){ 1, 0, 8 * DAY };
	} else if (strcmp(r->name, "status") == 0)
		f->force_status = strcmp(r->value, "good") == 0      ? OCSP_CERT_GOOD
		                  : strcmp(r->value, "revoked") == 0 ? OCSP_CERT_REVOKED
		                                                     : OCSP_CERT_UNKNOWN;
	else if (strcmp(r->name, "bad-signature") == 0)
		f->flags |= OCSP_FAULT_BAD_SIGNATURE;
	else if (strstr(r->name, "signer") != NULL)
		snprintf(f->signer, sizeof f->signer, "%s", r->value);
	else if (strcmp(r->name, "no-certs") == 0)
		f->flags |= OCSP_FAULT_NO_CERTS;
	else if (strcmp(r->name, "no-nonce") == 0)
		f->flags |= OCSP_FAULT_NO_NONCE;
	else if (strcmp(r->name, "malformedRequest") == 0)
		f->resp_status = OCSP_RESP_MALFORMED_REQUEST;
	else if (strcmp(r->name, "internalError") == 0)
		f->resp_status = OCSP_RESP_INTERNAL_ERROR;
	else if (strcmp(r->name, "tryLater") == 0)
		f->resp_status = OCSP_RESP_TRY_LATER;
	else if (strcmp(r->name, "sigRequired") == 0)
		f->resp_status = OCSP_RESP_SIG_REQUIRED;
	else if (strcmp(r->name, "unauthorized") == 0)
		f->resp_status = OCSP_RESP_UNAUTHORIZED;
	else if (strcmp(r->name, "garbage") == 0)
		f->flags |= OCSP_FAULT_GARBAGE;
	else if (strcmp(r->name, "drop") == 0)
		f->flags |= OCSP_FAULT_DROP;
	else if (strcmp(r->name, "delay") == 0 && duration_parse(r->value, &ms) == 0)
		f->delay_ms = (unsigned)ms;
}

void
ocsp_faults_resolve(const struct ocsp_faults *fs, const char *serial, struct ocsp_fault *out)
{
	memset(out, 0, sizeof *out);
	out->resp_status = OCSP_RESP_SUCCESSFUL;
	out->force_status = -1;
	/* Global rules first, then the serial's: the more specific one wins. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < fs->n; i++) {
			const struct ocsp_fault_rule *r = &fs->rule[i];

			if (pass == 0 && r->serial[0] == '\0')
				fault_apply(r, out);
			else if (pass == 1 && r->serial[0] != '\0' && serial != NULL &&
			         strcmp(r->serial, serial) == 0)
				fault_apply(r, out);
		}
	if (out->names[0] == '\0')
		snprintf(out->names, sizeof out->names, "none");
}

const char *
ocsp_faults_signer(const struct ocsp_faults *fs, size_t i)
{
	for (size_t k = 0; k < fs->n; k++) {
		if (strstr(fs->rule[k].name, "signer") == NULL)
			continue;
		if (i-- == 0)
			return fs->rule[k].value;
	}
	return NULL;
}

void
ocsp_faults_free(struct ocsp_faults *fs)
{
	if (fs == NULL)
		return;
	free(fs->rule);
	fs->rule = NULL;
	fs->n = 0;
}
