/*
 * dmarc_authors.c - the author domains of a message (RFC 7489 6.6.1, RFC
 * 5322 3.6.2): the From: field parsed into its mailboxes' domains
 * (display names, comments, groups and folding), and the order of
 * strictness that picks one verdict when a From: names several domains
 * (dmarc.h).  Plain C over the header text: no library, no DNS.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"

/* The next header field of the header section: name and unfolded value
 * (RFC 5322 2.2.3).  0 at the end of the header section. */
static int
next_field(const char **pp, const char *end, char *name, size_t nlen, struct buf *val)
{
	const char *p = *pp, *colon, *eol;
	size_t n;

	if (p >= end || *p == '\r' || *p == '\n')
		return 0;
	eol = memchr(p, '\n', (size_t)(end - p));
	colon = memchr(p, ':', (size_t)((eol ? eol : end) - p));
	n = colon ? (size_t)(colon - p) : 0;
	snprintf(name, nlen, "%.*s", (int)(n < nlen ? n : nlen - 1), p);
	val->len = 0;
	p = colon ? colon + 1 : (eol ? eol : end);
	for (;;) {
		eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end;
		size_t l = (size_t)(stop - p);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		buf_add(val, p, l);
		p = eol ? eol + 1 : end;
		if (p >= end || (*p != ' ' && *p != '\t'))
			break; /* no continuation line */
	}
	buf_adds(val, ""); /* a NUL-terminated value, even when empty */
	*pp = p;
	return 1;
}

/* Strip comments (nested parentheses, quoted pairs), keeping quoted strings. */
static void
strip_comments(char *s)
{
	char *w = s;
	int depth = 0, quoted = 0;

	for (char *r = s; *r != '\0'; r++) {
		if (*r == '\\' && r[1] != '\0' && (depth > 0 || quoted)) {
			if (depth == 0) {
				*w++ = *r;
				*w++ = r[1];
			}
			r++;
			continue;
		}
		if (!quoted && *r == '(') {
			depth++;
			continue;
		}
		if (!quoted && depth > 0 && *r == ')') {
			depth--;
			continue;
		}
		if (depth > 0)
			continue;
		if (*r == '"')
			quoted = !quoted;
		*w++ = *r;
	}
	*w = '\0';
}

/* The domain of one mailbox ("Name <a@b>" or "a@b"); 0 ok, -1 none. */
static int
mailbox_domain(const char *mb, char *out, size_t outlen)
{
	const char *lt = strrchr(mb, '<'), *at, *end;
	size_t n;

	if (lt != NULL) {
		end = strchr(lt, '>');
		if (end == NULL)
			return -1;
		mb = lt + 1;
	} else {
		end = mb + strlen(mb);
	}
	at = NULL;
	for (const char *p = mb; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return -1;
	at++;
	while (at < end && isspace((unsigned char)*at))
		at++;
	while (end > at && isspace((unsigned char)end[-1]))
		end--;
	if (end > at && end[-1] == '.')
		end--; /* a trailing root dot */
	n = (size_t)(end - at);
	if (n == 0 || n >= outlen || *at == '[')
		return -1; /* empty, too long, or a domain literal: no DMARC domain */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)at[i];
		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return -1;
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return 0;
}

/* Push `dom` unless it is already there (domains are lower case). */
static int
push_distinct(struct strlist *out, const char *dom)
{
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->v[i], dom) == 0)
			return 0;
	return strlist_push(out, dom);
}

/* Split a From: value at commas outside quotes and angle brackets (and
 * drop a group's "name:" and ";"); collect each mailbox's domain once. */
static int
from_value_domains(char *v, struct strlist *out, char *why, size_t whylen)
{
	char dom[DMARC_DOMAIN_MAX];
	int quoted = 0, angle = 0;
	char *start = v;

	strip_comments(v);
	for (char *p = v;; p++) {
		if (*p == '"' && (p == v || p[-1] != '\\'))
			quoted = !quoted;
		else if (!quoted && *p == '<')
			angle = 1;
		else if (!quoted && *p == '>')
			angle = 0;
		else if (!quoted && !angle && *p == ':' && strchr(start, '@') != NULL &&
		         (strchr(start, '@') > p))
			start = p + 1; /* "group: a@b, c@d;" */
		if (*p != '\0' && (quoted || angle || (*p != ',' && *p != ';')))
			continue;
		char save = *p;
		*p = '\0';
		if (strspn(start, " \t") != strlen(start)) {
			if (mailbox_domain(start, dom, sizeof dom) != 0) {
				snprintf(why, whylen, "From: address without a usable domain");
				return -1;
			}
			if (push_distinct(out, dom) != 0) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
		}
		if (save == '\0')
			break;
		start = p + 1;
	}
	if (out->n == 0) {
		snprintf(why, whylen, "From: without an address");
		return -1;
	}
	return 0;
}

int
dmarc_from_domains(const char *msg, size_t len, struct strlist *out, char *why, size_t whylen)
{
	const char *p = msg, *end = msg + len;
	struct buf val = { 0 }, from = { 0 };
	char name[64];
	int nfrom = 0, rc = -1;

	while (next_field(&p, end, name, sizeof name, &val)) {
		if (strcasecmp(name, "From") != 0)
			continue;
		/* RFC 5322 3.6: exactly one From: field.  Two are "forbidden
		 * under [MAIL]", outside RFC 7489's scope (6.6.1): no domain. */
		if (nfrom++ > 0) {
			snprintf(why, whylen, "more than one From: header field");
			goto out;
		}
		buf_add(&from, val.p, val.len);
	}
	if (val.oom || from.oom) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (nfrom == 0) {
		snprintf(why, whylen, "no From: header field");
		goto out;
	}
	rc = from_value_domains(from.p, out, why, whylen);
	/* Each domain costs up to two DNS queries: draft-ietf-dmarc-dmarcbis
	 * warns that many author domains are a denial of service, and lets the
	 * receiver limit them.  Beyond the limit there is no evaluation at all
	 * (nofrom), never a partial one that could skip a p=reject domain. */
	if (rc == 0 && out->n > DMARC_AUTHORS_MAX) {
		snprintf(why, whylen, "more than %d author domains in From:", DMARC_AUTHORS_MAX);
		rc = -1;
	}
out:
	if (rc != 0)
		strlist_free(out);
	buf_free(&val);
	buf_free(&from);
	return rc;
}

int
dmarc_from_domain(const char *msg, size_t len, char *out, size_t outlen, char *why, size_t whylen)
{
	struct strlist doms = { 0 };
	int rc = dmarc_from_domains(msg, len, &doms, why, whylen);

	out[0] = '\0';
	if (rc == 0 && doms.n > 1) {
		snprintf(why, whylen, "From: addresses in two domains (%s, %s)", doms.v[0],
		         doms.v[1]);
		rc = -1;
	}
	if (rc == 0)
		snprintf(out, outlen, "%s", doms.v[0]);
	strlist_free(&doms);
	return rc;
}

/*
 * RFC 7489 6.6.1: with several author domains "apply the most strict
 * policy selected among the checks that fail".  reject, then quarantine,
 * then none.  A temperror ranks between reject and quarantine: a domain
 * that could not be checked may publish p=reject, so only a definite
 * reject outranks it (the client retries; docs/dmarc.md).  With no
 * failing check: accept when a domain passed, else norecord.
 */
int
dmarc_status_strictness(enum dmarc_status s)
{
	switch (s) {
	case DMARC_REJECT:
		return 6;
	case DMARC_TEMPERROR:
		return 5;
	case DMARC_QUARANTINE:
		return 4;
	case DMARC_NONE:
		return 3;
	case DMARC_ACCEPT:
		return 2;
	case DMARC_NORECORD:
		return 1;
	case DMARC_NOFROM:
	case DMARC_OFF:
		break;
	}
	return 0;
}
