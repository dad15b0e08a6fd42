/*
 * spf_text.c - the SPF module's text rules that need no libspf2 (so that
 * server/spf.c, the libspf2 owner, stays about libspf2): result words,
 * DNS name shape (RFC 1035, RFC 7208 4.3 and 7.1), the record's
 * domain-specs checked as published, presentation-form escaping for the
 * resolver, and the Received-SPF key=value form (RFC 7208 9.1).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "spf_int.h"

static const char *const result_words[] = {
	[SPF_NONE] = "none",           [SPF_NEUTRAL] = "neutral",   [SPF_PASS] = "pass",
	[SPF_FAIL] = "fail",           [SPF_SOFTFAIL] = "softfail", [SPF_TEMPERROR] = "temperror",
	[SPF_PERMERROR] = "permerror",
};

const char *
spf_result_word(enum spf_result r)
{
	return (size_t)r < sizeof result_words / sizeof result_words[0] ? result_words[r] : "?";
}

int
spf_result_parse(const char *word, enum spf_result *out)
{
	for (size_t i = 0; i < sizeof result_words / sizeof result_words[0]; i++)
		if (strcmp(word, result_words[i]) == 0) {
			*out = (enum spf_result)i;
			return 0;
		}
	/* The seed's older names.  Its text swaps the two ("err_temp: same as
	 * permerror"); Exim's code and the words themselves say err_perm is
	 * permerror and err_temp temperror (docs/spf.md). */
	if (strcmp(word, "err_perm") == 0) {
		*out = SPF_PERMERROR;
		return 0;
	}
	if (strcmp(word, "err_temp") == 0) {
		*out = SPF_TEMPERROR;
		return 0;
	}
	return -1;
}

/* RFC 1035 2.3.4, RFC 7208 4.3: labels of 1 to 63 octets (a final dot
 * aside), 253 octets in all. */
int
dns_name_valid(const char *name)
{
	size_t n = strlen(name), label = 0;

	if (n > 1 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (name[i] != '.') {
			if (++label > 63)
				return 0;
		} else if (label == 0) {
			return 0;
		} else {
			label = 0;
		}
	}
	return label > 0;
}

/* RFC 7208 7.1: domain-end = ( "." toplabel [ "." ] ) / macro-expand, with
 * toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum /
 * "-" ) alphanum ): at least two labels, the last not all digits. */
int
spf_domain_end_valid(const char *name)
{
	size_t n = strlen(name), start;
	int alpha = 0;

	if (n > 1 && name[n - 1] == '.')
		n--;
	for (start = n; start > 0 && name[start - 1] != '.'; start--)
		;
	if (start == 0 || start == n)
		return 0;
	if (name[start] == '-' || name[n - 1] == '-')
		return 0;
	for (size_t i = start; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (!isalnum(ch) && ch != '-')
			return 0;
		alpha |= isalpha(ch) || ch == '-';
	}
	return alpha;
}

/* Cut a dual-cidr-length (RFC 7208 5.6: "/N", "//N", "/N//N") off the end. */
static void
strip_cidr(char *spec)
{
	for (int round = 0; round < 2; round++) {
		size_t n = strlen(spec), i = n;
		while (i > 0 && isdigit((unsigned char)spec[i - 1]))
			i--;
		if (i == n || i == 0 || spec[i - 1] != '/')
			return;
		i--;
		if (i > 0 && spec[i - 1] == '/')
			i--;
		spec[i] = '\0';
	}
}

/*
 * RFC 7208 7.1 on the record as published (not after macro expansion):
 * each domain-spec of a:, mx:, ptr:, exists:, include:, redirect= and
 * exp= either ends in a macro or in a valid domain-end.  libspf2 does not
 * check this; 0 when one breaks it (the result is then permerror).
 */
int
spf_record_targets_valid(const char *rec)
{
	static const char *const keys[] = { "a:",       "mx:",       "ptr:", "exists:",
		                            "include:", "redirect=", "exp=" };
	char term[512];

	if (strncasecmp(rec, "v=spf1 ", 7) != 0)
		return 1; /* not an SPF record: not ours to judge */
	for (const char *p = rec + 6; *p != '\0';) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		snprintf(term, sizeof term, "%.*s", (int)n, p);
		p += n;
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			const char *spec = term;
			size_t kl = strlen(keys[k]);
			if (strchr("+-~?", spec[0]) != NULL && spec[0] != '\0')
				spec++;
			if (strncasecmp(spec, keys[k], kl) != 0)
				continue;
			spec += kl;
			if (keys[k][0] == 'a' || keys[k][0] == 'm' || keys[k][0] == 'p')
				strip_cidr((char *)spec); /* a:, mx:, ptr: may end in "/N", "//N" */
			if (strchr(spec, '%') != NULL && spec[strlen(spec) - 1] == '}')
				break; /* ends in a macro: checked once expanded, as a DNS name */
			if (!spf_domain_end_valid(spec))
				return 0;
			break;
		}
	}
	return 1;
}

/* `name` in presentation form for the resolver: octets outside
 * letters, digits, '-', '_', '.' as \DDD (RFC 1035 5.1); a final dot dropped.
 * 0, or -1 when it does not fit. */
int
dns_name_escape(const char *name, char *out, size_t len)
{
	size_t o = 0, n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.') {
			if (o + 1 >= len)
				return -1;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= len)
				return -1;
			snprintf(out + o, 5, "\\%03u", c);
			o += 4;
		}
	}
	out[o] = '\0';
	return 0;
}

/* Upper-case the hex digits of each %XX escape in `s` (RFC 7208 7.3: an
 * upper-case macro letter URL-escapes; RFC 3986 2.1 prefers upper case). */
void
hex_upper(char *s)
{
	for (; *s != '\0'; s++)
		if (s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			s[1] = (char)toupper((unsigned char)s[1]);
			s[2] = (char)toupper((unsigned char)s[2]);
			s += 2;
		}
}

/* A header field value token or quoted-string (RFC 5322 3.2.4) for Received-SPF's
 * key-value pairs (RFC 7208 9.1): quoted unless plain. */
void
kv_add(struct buf *b, const char *key, const char *val)
{
	int plain = val[0] != '\0';

	for (const char *p = val; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("-._:", *p) == NULL)
			plain = 0;
	buf_addf(b, " %s=", key);
	if (plain) {
		buf_addf(b, "%s;", val);
		return;
	}
	buf_adds(b, "\"");
	for (const char *p = val; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_adds(b, "\\");
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			buf_add(b, p, 1);
	}
	buf_adds(b, "\";");
}
/* RFC 7208 7.1 macro-string outside an explanation: "%%", "%_", "%-", or
 * "%{" letter *DIGIT ["r"] *delimiter "}" with letter one of s l o d i p h
 * v (c, r, t only in exp= text).  1 when `v` is well formed. */
static int
macro_string_valid(const char *v)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '%' || *p == '_' || *p == '-')
			continue;
		if (*p != '{' || strchr("slodiphvSLODIPHV", p[1]) == NULL || p[1] == '\0')
			return 0;
		for (p += 2; isdigit((unsigned char)*p); p++)
			;
		if (*p == 'r' || *p == 'R')
			p++;
		while (*p != '\0' && strchr(".-+,/_=", *p) != NULL)
			p++;
		if (*p != '}')
			return 0;
	}
	return 1;
}

/* "/N" with no leading zero and N <= max (RFC 7208 5.6 ip4-cidr-length,
 * ip6-cidr-length); `c` points at the digits. */
static int
cidr_valid(const char *c, size_t n, unsigned max)
{
	unsigned v = 0;

	if (n == 0 || n > 3 || (n > 1 && c[0] == '0'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)c[i]))
			return 0;
		v = v * 10 + (unsigned)(c[i] - '0');
	}
	return v <= max;
}

/* One term's mechanism name and its CIDR lengths. */
static int
term_valid(const char *t, size_t n, unsigned *nexp, unsigned *nredirect)
{
	static const char *const mechs[] = { "all", "include", "a",   "mx",
		                             "ptr", "ip4",     "ip6", "exists" };
	size_t name = strcspn(t, ":/=");
	char term[512];

	if (name > n)
		name = n;
	snprintf(term, sizeof term, "%.*s", (int)n, t);
	if (name < n && t[name] == '=') { /* a modifier: name "=" macro-string */
		/* RFC 7208 12: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
		if (name == 0 || !isalpha((unsigned char)t[0]))
			return 0;
		for (size_t i = 1; i < name; i++)
			if (!isalnum((unsigned char)t[i]) && strchr("-_.", t[i]) == NULL)
				return 0;
		*nexp += name == 3 && strncasecmp(t, "exp", 3) == 0;
		*nredirect += name == 8 && strncasecmp(t, "redirect", 8) == 0;
		return macro_string_valid(term + name + 1);
	}
	if (strchr("+-~?", t[0]) != NULL) {
		t++, n--, name--;
		memmove(term, term + 1, strlen(term));
	}
	for (size_t k = 0; k < sizeof mechs / sizeof mechs[0]; k++) {
		if (strlen(mechs[k]) != name || strncasecmp(t, mechs[k], name) != 0)
			continue;
		if (!macro_string_valid(term + name))
			return 0;
		/* ip4:ADDR/N: RFC 7208 5.6 writes N without a leading zero */
		if (k == 5) {
			const char *slash = strchr(term, '/');
			return slash == NULL || cidr_valid(slash + 1, strlen(slash + 1), 32);
		}
		return 1;
	}
	return 0; /* RFC 7208 4.6.1: an unknown mechanism ("redirect:" too) */
}

int
spf_record_lint(const char *rec, size_t len)
{
	unsigned nexp = 0, nredirect = 0;

	if (len < 6 || strncasecmp(rec, "v=spf1", 6) != 0 || (len > 6 && rec[6] != ' '))
		return 1; /* not an SPF record: not ours to judge */
	for (size_t i = 0; i < len; i++)
		if (rec[i] == '\0' || (unsigned char)rec[i] > 0x7e)
			return 0; /* RFC 7208 3.1, 4.6.1: US-ASCII, no NUL */
	for (const char *p = rec + 6; *p != '\0';) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n > 0 && !term_valid(p, n, &nexp, &nredirect))
			return 0;
		p += n;
	}
	return nexp <= 1 && nredirect <= 1; /* RFC 7208 6: each at most once */
}

/* The qualifier's length at the start of a term (0 or 1). */
static int
qual(const char *t)
{
	return strchr("+-~?", t[0]) != NULL && t[0] != '\0';
}

/* Is the term `t` (n octets) "[q]KIND...ADDR/0"? */
static int
cidr_zero(const char *t, size_t n, const char *kind)
{
	size_t q = (size_t)qual(t), k = strlen(kind);

	return n > q + k + 2 && strncasecmp(t + q, kind, k) == 0 && t[n - 2] == '/' &&
	       t[n - 1] == '0' && t[n - 3] != '/';
}

/* The trailing "/N" of t[0..*end) when it is exactly "/0" (after `slashes`
 * slashes); *end moves before it.  1 when it was "/0", 0 otherwise (and
 * *end moves past any other CIDR length, whose value does not matter). */
static int
cidr_tail(const char *t, size_t *end, int slashes)
{
	size_t e = *end, d = e;

	while (d > 0 && isdigit((unsigned char)t[d - 1]))
		d--;
	if (d == e || d < (size_t)slashes || t[d - 1] != '/' ||
	    (slashes == 2 ? t[d - 2] != '/' : d >= 2 && t[d - 2] == '/'))
		return 0;
	*end = d - (size_t)slashes;
	return e - d == 1 && t[d] == '0';
}

/*
 * An "a" or "mx" term with a CIDR length of 0 (RFC 7208 5.6 allows it;
 * libspf2's compiler refuses it), rewritten for the client's family where
 * the same can be said: only one of the two lengths applies to a client
 * (5.6), so a 0 for the other family is dropped; for an IPv4 client,
 * "a[:D]/0" is "exists:D" (any A record matches, 5.3).  1 with the term
 * added to `b`, 0 when nothing applies (the term goes as it is).
 */
static int
cidr_zero_dual(struct buf *b, const char *t, size_t n, int client_v6)
{
	size_t q = (size_t)qual(t), k, end6 = n, end4;
	int z6, z4, is_a;

	is_a = n > q && (t[q] == 'a' || t[q] == 'A') &&
	       (n == q + 1 || t[q + 1] == ':' || t[q + 1] == '/');
	k = is_a ? 1 : 2;
	if (!is_a && !(n >= q + 2 && strncasecmp(t + q, "mx", 2) == 0 &&
	               (n == q + 2 || t[q + 2] == ':' || t[q + 2] == '/')))
		return 0;
	z6 = cidr_tail(t, &end6, 2); /* t[end6..n): "//N6" or "" */
	end4 = end6;
	z4 = cidr_tail(t, &end4, 1); /* t[end4..end6): "/N4" or "" */
	if (end4 < q + k || (!z4 && !z6) || (client_v6 ? z6 : z4 && !is_a))
		return 0;       /* nothing to do, or the client's own length is 0 */
	if (!client_v6 && z4) { /* "a[:D]/0": any A record of D */
		if (end4 > q + k + 1 && t[q + k] == ':')
			buf_addf(b, " %.*sexists:%.*s", (int)q, t, (int)(end4 - q - k - 1),
			         t + q + k + 1);
		else
			buf_addf(b, " %.*sexists:%%{d}", (int)q, t);
		return 1;
	}
	/* The term without the other family's "/0". */
	buf_addf(b, " %.*s", (int)end4, t);
	if (!z4)
		buf_add(b, t + end4, end6 - end4);
	if (!z6)
		buf_add(b, t + end6, n - end6);
	return 1;
}

int
spf_record_normalize(const char *rec, char *out, size_t len, int client_v6)
{
	struct buf mech = { 0 }, mods = { 0 };
	int rc = -1;

	if (strncasecmp(rec, "v=spf1 ", 7) != 0)
		return -1;
	buf_adds(&mech, "v=spf1");
	buf_adds(&mods, "");
	for (const char *p = rec + 6; *p != '\0';) {
		size_t n, name;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		name = strcspn(p, ":/=");
		if (n == 0)
			break;
		if (name < n && p[name] == '=') {
			/* RFC 7208 6: modifiers may stand anywhere and unknown ones
			 * are ignored; libspf2 wants redirect= last and refuses some
			 * names (moo.cow-far_out=...). */
			if ((name == 8 && strncasecmp(p, "redirect", 8) == 0) ||
			    (name == 3 && strncasecmp(p, "exp", 3) == 0))
				buf_addf(&mods, " %.*s", (int)n, p);
		} else if (cidr_zero(p, n, "ip4:")) {
			/* RFC 7208 5.6 allows "/0" (every address); libspf2 refuses
			 * it: the two halves of the address space say the same. */
			buf_addf(&mech, " %.*sip4:0.0.0.0/1 %.*sip4:128.0.0.0/1", qual(p), p,
			         qual(p), p);
		} else if (cidr_zero(p, n, "ip6:")) {
			buf_addf(&mech, " %.*sip6:::/1 %.*sip6:8000::/1", qual(p), p, qual(p), p);
		} else if (cidr_zero_dual(&mech, p, n, client_v6)) {
			/* a/0, mx//0: added for the client's family */
		} else {
			buf_addf(&mech, " %.*s", (int)n, p);
		}
		p += n;
	}
	if (!mech.oom && !mods.oom && mech.len + mods.len < len) {
		snprintf(out, len, "%s%s", mech.p, mods.p);
		rc = 0;
	}
	buf_free(&mech);
	buf_free(&mods);
	return rc;
}
