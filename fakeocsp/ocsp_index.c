/*
 * ocsp_index.c - read an OpenSSL `ca` database (index.txt) into a table of
 * certificate statuses, so existing files work unchanged with fakeocsp.
 *
 * A line is six tab-separated fields: type (V valid, R revoked, E expired),
 * expiry time, revocation ("" or "revtime[,reason]"), serial (hex), file
 * name, subject.  Times are UTCTime YYMMDDHHMMSSZ or GeneralizedTime.
 * Errors name the file and line.  Pure C: never names a TLS library.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocsp.h"

#define INDEX_MAX_BYTES (16u * 1024 * 1024)
#define INDEX_FIELDS 6

/* RFC 5280 5.3.1, spelt as OpenSSL's `ca` writes them. */
static const char *const reason_names[] = {
	"unspecified",   "keyCompromise",        "CACompromise",    "affiliationChanged",
	"superseded",    "cessationOfOperation", "certificateHold", NULL /* 7 unused */,
	"removeFromCRL", "privilegeWithdrawn",   "AACompromise",
};

int
ocsp_reason_parse(const char *name)
{
	for (size_t i = 0; i < sizeof reason_names / sizeof reason_names[0]; i++)
		if (reason_names[i] != NULL && strcasecmp(reason_names[i], name) == 0)
			return (int)i;
	/* `ca -crl_reason` extras: the time / OID that follows is ignored. */
	if (strcasecmp(name, "holdInstruction") == 0)
		return 6;
	if (strcasecmp(name, "keyTime") == 0)
		return 1;
	if (strcasecmp(name, "CAkeyTime") == 0)
		return 2;
	return -2;
}

const char *
ocsp_reason_name(int reason)
{
	if (reason >= 0 && (size_t)reason < sizeof reason_names / sizeof reason_names[0] &&
	    reason_names[reason] != NULL)
		return reason_names[reason];
	return reason == OCSP_REASON_NONE ? "none" : "?";
}

/* YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ, exactly `len` bytes at s. */
static int
asn1_time_parse(const char *s, size_t len, time_t *t)
{
	struct tm tm;
	int v[7], nv, year;
	size_t digits = len - 1;

	if ((len != 13 && len != 15) || s[len - 1] != 'Z')
		return -1;
	for (size_t i = 0; i < digits; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	nv = 0;
	if (len == 15) {
		year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
		s += 4;
	} else {
		year = (s[0] - '0') * 10 + (s[1] - '0');
		year += year < 50 ? 2000 : 1900; /* RFC 5280 4.1.2.5.1 */
		s += 2;
	}
	for (nv = 0; nv < 5; nv++)
		v[nv] = (s[2 * nv] - '0') * 10 + (s[2 * nv + 1] - '0');
	if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 31 || v[2] > 23 || v[3] > 59 || v[4] > 60)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = v[0] - 1;
	tm.tm_mday = v[1];
	tm.tm_hour = v[2];
	tm.tm_min = v[3];
	tm.tm_sec = v[4];
	*t = timegm(&tm);
	return 0;
}

/* Split a line (NUL-terminated, no newline) at tabs into f[]; the count. */
static size_t
fields_split(char *line, char **f, size_t max)
{
	size_t n = 0;

	f[n++] = line;
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\t') {
			*p = '\0';
			if (n == max)
				return max + 1;
			f[n++] = p + 1;
		}
	return n;
}

/* "revtime[,reason[,extra]]" of an R line. */
static int
revocation_parse(const char *where, char *s, struct ocsp_index_entry *ent, struct err *e)
{
	char *comma = strchr(s, ',');
	char *reason = NULL;

	if (comma != NULL) {
		*comma = '\0';
		reason = comma + 1;
		if ((comma = strchr(reason, ',')) != NULL)
			*comma = '\0';
	}
	if (asn1_time_parse(s, strlen(s), &ent->revtime) < 0) {
		err_set(e, 1, "%s: bad revocation time \"%s\" (want YYMMDDHHMMSSZ)", where, s);
		return -1;
	}
	ent->reason = OCSP_REASON_NONE;
	if (reason != NULL && (ent->reason = ocsp_reason_parse(reason)) == -2) {
		err_set(e, 1, "%s: unknown revocation reason \"%s\"", where, reason);
		return -1;
	}
	return 0;
}

static int
line_parse(const char *where, char *line, struct ocsp_index_entry *ent, struct err *e)
{
	char *f[INDEX_FIELDS + 1];
	size_t n = fields_split(line, f, INDEX_FIELDS);
	time_t expiry;

	memset(ent, 0, sizeof *ent);
	ent->reason = OCSP_REASON_NONE;
	if (n != INDEX_FIELDS) {
		err_set(e, 1, "%s: want %d tab-separated fields, found %s%zu", where, INDEX_FIELDS,
		        n > INDEX_FIELDS ? "more than " : "",
		        n > INDEX_FIELDS ? (size_t)INDEX_FIELDS : n);
		return -1;
	}
	if (strlen(f[0]) != 1 || strchr("VRE", f[0][0]) == NULL) {
		err_set(e, 1, "%s: bad type \"%s\" (want V, R or E)", where, f[0]);
		return -1;
	}
	ent->type = f[0][0];
	if (asn1_time_parse(f[1], strlen(f[1]), &expiry) < 0) {
		err_set(e, 1, "%s: bad expiry time \"%s\" (want YYMMDDHHMMSSZ)", where, f[1]);
		return -1;
	}
	if (ent->type == 'R') {
		if (f[2][0] == '\0') {
			err_set(e, 1, "%s: R line without a revocation time", where);
			return -1;
		}
		if (revocation_parse(where, f[2], ent, e) < 0)
			return -1;
	} else if (f[2][0] != '\0') {
		err_set(e, 1, "%s: %c line with a revocation field \"%s\"", where, ent->type, f[2]);
		return -1;
	}
	if (ocsp_serial_normalise(f[3], ent->serial, sizeof ent->serial) < 0) {
		err_set(e, 1, "%s: bad serial \"%s\" (want hex, at most 64 digits)", where, f[3]);
		return -1;
	}
	return 0;
}

int
ocsp_index_parse(const char *name, const char *text, size_t len, struct ocsp_index *idx,
                 struct err *e)
{
	char where[300], *copy = NULL, *line, *next;
	struct ocsp_index_entry ent, *grown;
	size_t lineno = 0;
	int rc = -1;

	memset(idx, 0, sizeof *idx);
	if ((copy = malloc(len + 1)) == NULL) {
		err_set(e, 1, "%s: out of memory", name);
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (strlen(copy) != len) {
		err_set(e, 1, "%s: contains a NUL byte", name);
		goto out;
	}
	for (line = copy; line != NULL && *line != '\0'; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] != '\0' && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		if (line[0] == '\0')
			continue;
		snprintf(where, sizeof where, "%s:%zu", name, lineno);
		if (line_parse(where, line, &ent, e) < 0)
			goto out;
		if (ocsp_index_find(idx, ent.serial) != NULL) {
			err_set(e, 1, "%s: serial %s listed twice", where, ent.serial);
			goto out;
		}
		if ((grown = realloc(idx->entry, (idx->n + 1) * sizeof *grown)) == NULL) {
			err_set(e, 1, "%s: out of memory", where);
			goto out;
		}
		idx->entry = grown;
		idx->entry[idx->n++] = ent;
	}
	rc = 0;
out:
	free(copy);
	if (rc < 0)
		ocsp_index_free(idx);
	return rc;
}

int
ocsp_index_load(const char *path, struct ocsp_index *idx, struct err *e)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	memset(idx, 0, sizeof *idx);
	if ((f = fopen(path, "r")) == NULL) {
		err_set(e, 1, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(INDEX_MAX_BYTES + 1)) == NULL) {
		err_set(e, 1, "%s: out of memory", path);
		goto out;
	}
	len = fread(buf, 1, INDEX_MAX_BYTES + 1, f);
	if (ferror(f)) {
		err_set(e, 1, "%s: read error", path);
		goto out;
	}
	if (len > INDEX_MAX_BYTES) {
		err_set(e, 1, "%s: larger than 16 MiB", path);
		goto out;
	}
	rc = ocsp_index_parse(path, buf, len, idx, e);
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

const struct ocsp_index_entry *
ocsp_index_find(const struct ocsp_index *idx, const char *serial)
{
	/* Linear: test indexes hold tens of lines. */
	for (size_t i = 0; serial != NULL && i < idx->n; i++)
		if (strcmp(idx->entry[i].serial, serial) == 0)
			return &idx->entry[i];
	return NULL;
}

void
ocsp_index_free(struct ocsp_index *idx)
{
	if (idx == NULL)
		return;
	free(idx->entry);
	idx->entry = NULL;
	idx->n = 0;
}
