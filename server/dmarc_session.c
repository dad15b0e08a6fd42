/*
 * dmarc_session.c - DKIM and DMARC for one SMTP transaction
 * (dmarc_session.h): run the checks before acl_smtp_data, answer the ACL
 * conditions and variables, write the history record and queue failure
 * reports once the message is on the spool.
 *
 * A DNS failure is never "no record": DKIM keys that cannot be fetched are
 * temperror, a DMARC record that cannot be fetched is status temperror.
 * Each evaluation uses a fresh resolver (LIBRARIES.md: after a timeout a
 * libunbound context marks its forwarder down), made at its first lookup:
 * a message with no DKIM-Signature and DMARC off asks no question, and a
 * libunbound context costs more to make (it seeds its generator) than the
 * rest of a message's receipt (docs/bench.md).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "dmarc_session.h"
#include "log.h"
#include "resolver.h"
#include "spf.h"
#include "spool.h"
#include "version.h"

static enum dmarc_spf
spf_for_dmarc(enum spf_result r)
{
	switch (r) {
	case SPF_PASS:
		return DMARC_SPF_PASS;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return DMARC_SPF_FAIL;
	case SPF_TEMPERROR:
		return DMARC_SPF_TEMPERROR;
	case SPF_PERMERROR:
		return DMARC_SPF_PERMERROR;
	case SPF_NONE:
		break;
	}
	return DMARC_SPF_NONE;
}

/* $dkim_signers: every signing domain that passed, colon-separated (Exim). */
static void
signers_build(struct dmarc_session *d)
{
	size_t n = 0;

	d->signers[0] = '\0';
	for (size_t i = 0; i < d->dkim.n && n < sizeof d->signers; i++)
		if (d->dkim.sigs[i].status == DKIMV_PASS)
			n += (size_t)snprintf(d->signers + n, sizeof d->signers - n, "%s%s",
			                      n ? ":" : "", d->dkim.sigs[i].domain);
}

/* RFC 7489 6.6.4: the pct= sample, 0..99 (the policy applies when it is
 * below pct).  From the kernel's generator: random() was never seeded, so
 * every forked worker drew the same sequence.  test_dmarc_pct_roll fixes
 * it, for tests. */
static unsigned
pct_roll(const struct config *cfg)
{
	unsigned char b[2] = { 0, 0 };

	if (cfg->test_dmarc_pct_roll_set)
		return cfg->test_dmarc_pct_roll;
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		return (unsigned)(random() % 100);
	return (unsigned)((b[0] << 8 | b[1]) % 100); /* bias 36/65536: immaterial here */
}

/* $dmarc_ar_header: RFC 8601 with spf, dkim and dmarc (RFC 7489 11.2). */
static void
ar_build(struct dmarc_session *d, const struct spf_verdict *spf)
{
	struct buf b = { 0 };

	buf_addf(&b, "Authentication-Results: %s",
	         d->cfg->primary_hostname ? d->cfg->primary_hostname : "localhost");
	if (spf != NULL)
		spf_authres_append(&b, spf);
	else
		buf_adds(&b, "; spf=none");
	dkimv_authres_append(&b, &d->dkim);
	dmarc_authres_append(&b, &d->verdict);
	snprintf(d->ar_header, sizeof d->ar_header, "%s", b.p != NULL && !b.oom ? b.p : "");
	buf_free(&b);
}

/* A resolver made at the first lookup through it (lazy_txtlookup), or never. */
struct lazy_resolver {
	const struct config *cfg;
	const char *ip; /* for the log line if it cannot be made */
	struct resolver *r;
	int tried;
};

static struct resolver *
lazy_resolver_get(struct lazy_resolver *lr)
{
	struct err e = { 0 };

	if (!lr->tried) {
		lr->tried = 1;
		lr->r = resolver_new(lr->cfg->dns_server, lr->cfg->dns_trust_anchor, &e);
		if (lr->r == NULL)
			log_write("[%s] DKIM/DMARC: no resolver: %s", lr->ip, e.text);
	}
	return lr->r;
}

/* A txtlookup_fn over a lazy_resolver: no resolver is a temporary failure. */
static enum txtlookup_status
lazy_txtlookup(void *arg, const char *name, struct strlist *out)
{
	struct resolver *r = lazy_resolver_get(arg);

	return r != NULL ? txtlookup_resolver(r, name, out) : TXTLOOKUP_TEMPFAIL;
}

static void
dmarc_run(struct dmarc_session *d, struct lazy_resolver *lr, const char *msg, size_t len,
          const char *ip, const struct spf_verdict *spf)
{
	struct err e = { 0 };
	struct dmarc_input in = {
		.msg = msg,
		.len = len,
		.ip = ip,
		.spf = spf ? spf_for_dmarc(spf->result) : DMARC_SPF_NONE,
		.spf_domain = spf ? spf->domain : "",
		.spf_helo = spf ? spf->identity == SPF_ID_HELO : 0,
		.dkim = &d->dkim,
		.lookup = lazy_txtlookup,
		.lookup_arg = lr,
		.pct_roll = pct_roll(d->cfg),
	};
	struct resolver *r = lazy_resolver_get(lr); /* DMARC always asks _dmarc.DOMAIN */

	if (r == NULL || dmarc_tld_load(d->cfg->dmarc_tld_file, &e) != 0 ||
	    dmarc_evaluate(&in, &d->verdict, &e) != 0) {
		dmarc_verdict_free(&d->verdict);
		d->verdict.status = DMARC_TEMPERROR;
		d->verdict.status_text = "Temporary error";
		snprintf(d->verdict.why, sizeof d->verdict.why, "%s",
		         r == NULL ? "no resolver" : e.text);
		log_write("[%s] DMARC check not possible: %s", ip, d->verdict.why);
	}
}

void
dmarc_session_evaluate(struct dmarc_session *d, const char *msg, size_t len, const char *ip,
                       struct spf_session *spf)
{
	struct err e = { 0 };
	struct lazy_resolver lr = { .cfg = d->cfg, .ip = ip };
	const struct spf_verdict *sv = NULL;

	dkimv_result_free(&d->dkim);
	dmarc_verdict_free(&d->verdict);
	d->evaluated = 1;
	if (dkimv_verify(msg, len, lazy_txtlookup, &lr, clock_now(), &d->dkim, &e) != 0)
		log_write("[%s] DKIM verification not possible: %s", ip, e.text);
	signers_build(d);
	d->dmarc_on = d->cfg->dmarc_tld_file != NULL;
	if (d->dmarc_on) {
		/* DMARC needs the transaction's SPF verdict (RFC 7489 4.1). */
		sv = spf != NULL ? spf_session_verdict(spf, 0) : NULL;
		if (d->disable_verify)
			dmarc_verdict_off(&d->verdict);
		else
			dmarc_run(d, &lr, msg, len, ip, sv);
	} else {
		dmarc_verdict_off(&d->verdict);
	}
	ar_build(d, sv);
	resolver_free(lr.r);
}

/* One block per message, in one write (O_APPEND), so that workers
 * writing at once never interleave their records. */
static void
history_write(const struct dmarc_session *d, const char *id, const char *sender, const char *ip)
{
	struct buf b = { 0 };
	const char *at = strrchr(sender, '@');
	int fd;

	dmarc_history_format(&b, &d->verdict, id, d->cfg->primary_hostname, (long long)clock_now(),
	                     ip, at ? at + 1 : "");
	if (b.oom || b.p == NULL) {
		log_write("%s DMARC history not written: out of memory", id);
		goto out;
	}
	fd = open(d->cfg->dmarc_history_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len)
		log_write("%s DMARC history not written to %s: %m", id, d->cfg->dmarc_history_file);
	if (fd >= 0)
		close(fd);
out:
	buf_free(&b);
}

/* Queue one failure report to `to`; its id is logged like any arrival. */
static void
forensic_queue(const struct dmarc_session *d, const char *to, const char *sender, const char *ip,
               const char *msg, size_t len, const char *id)
{
	struct buf b = { 0 };
	struct err e = { 0 };
	struct spool_rcpt rcpt = { .address = (char *)to };
	struct envelope env = { 0 };
	struct spool_message *m = NULL;
	char date[64], msgid[128], from[300], hdr[512];
	const char *fs = d->cfg->dmarc_forensic_sender;
	int h;

	clock_format_rfc5322(clock_now(), date, sizeof date);
	snprintf(msgid, sizeof msgid, "dmarc-%s@%s", id, d->cfg->primary_hostname);
	snprintf(from, sizeof from, "%s", fs ? fs : "mailer-daemon@");
	if (fs == NULL)
		snprintf(from, sizeof from, "mailer-daemon@%s", d->cfg->primary_hostname);
	struct dmarc_forensic_info fi = {
		.reporter = d->cfg->primary_hostname,
		.from = from,
		.to = to,
		.mfrom = sender,
		.ip = ip,
		.date = date,
		.msgid = msgid,
		.authres = d->ar_header,
		.msg = msg,
		.len = len,
	};
	dmarc_forensic_format(&b, &d->verdict, &fi);
	m = spool_message_begin(d->cfg->spool_directory, &e);
	if (b.oom || m == NULL)
		goto fail;
	h = snprintf(hdr, sizeof hdr, "Received: by %s (refmta %s) with local-dmarc;\r\n\t%s\r\n",
	             d->cfg->primary_hostname, REFMTA_VERSION, date);
	if (spool_message_write(m, hdr, (size_t)h, &e) != 0 ||
	    spool_message_write(m, b.p, b.len, &e) != 0)
		goto fail;
	/* The null sender unless dmarc_forensic_sender says otherwise: a
	 * report about a report must never come back (RFC 5321 4.5.5). */
	env.sender = (char *)(fs ? fs : "");
	env.rcpts = &rcpt;
	env.nrcpts = 1;
	env.received_at = clock_now();
	env.protocol = "local";
	if (spool_message_commit(m, &env, &e) != 0) {
		m = NULL;
		goto fail;
	}
	m = NULL;
	log_write("%s <= %s R=%s P=local S=%llu for %s (DMARC failure report)", env.id,
	          fs ? fs : "<>", id, (unsigned long long)env.size, to);
	goto out;
fail:
	log_write("%s DMARC failure report to <%s> not queued: %s", id, to,
	          b.oom ? "out of memory" : e.text);
out:
	spool_message_abort(m);
	buf_free(&b);
}

void
dmarc_session_finish(struct dmarc_session *d, const char *id, const char *sender, const char *ip,
                     const char *msg, size_t len)
{
	struct resolver *r = NULL;
	struct err e = { 0 };
	char addr[300];

	if (!d->evaluated || !d->dmarc_on || d->verdict.status == DMARC_OFF)
		return;
	if (d->cfg->dmarc_history_file != NULL)
		history_write(d, id, sender, ip);
	if (!d->enable_forensic || !dmarc_forensic_wanted(&d->verdict, &d->dkim))
		return;
	r = resolver_new(d->cfg->dns_server, d->cfg->dns_trust_anchor, &e);
	for (size_t i = 0; r != NULL && i < d->verdict.ruf.n; i++) {
		if (!dmarc_report_uri_ok(d->verdict.ruf.v[i], d->verdict.used_domain,
		                         txtlookup_resolver, r, addr, sizeof addr)) {
			log_write("%s DMARC failure report: %s not authorized (RFC 7489 7.1)", id,
			          d->verdict.ruf.v[i]);
			continue;
		}
		forensic_queue(d, addr, sender, ip, msg, len, id);
	}
	resolver_free(r);
}

void
dmarc_session_reset(struct dmarc_session *d)
{
	dkimv_result_free(&d->dkim);
	dmarc_verdict_free(&d->verdict);
	d->evaluated = d->dmarc_on = 0;
	d->disable_verify = d->enable_forensic = 0;
	d->ar_header[0] = d->signers[0] = '\0';
}

/* ---- controls ------------------------------------------------------------------------- */

/* The seed's later names; its older ones are refused with a pointer to
 * these (docs/dmarc.md: one name per control). */
static const struct {
	const char *name, *old;
} controls[] = {
	{ "dmarc_disable_verify", "dmarc_verify_disable" },
	{ "dmarc_enable_forensic", "dmarc_forensic_enable" },
};

int
dmarc_control_check(const char *name, char *why, size_t whylen)
{
	for (size_t i = 0; i < sizeof controls / sizeof controls[0]; i++) {
		if (strcmp(name, controls[i].name) == 0)
			return 0;
		if (strcmp(name, controls[i].old) == 0) {
			snprintf(why, whylen,
			         "control \"%s\" is the seed's older name: did you mean \"%s\"?",
			         name, controls[i].name);
			return -1;
		}
	}
	snprintf(why, whylen,
	         "unknown control \"%s\" (known: dmarc_disable_verify, "
	         "dmarc_enable_forensic)",
	         name);
	return -1;
}

void
dmarc_session_control(struct dmarc_session *d, const char *name)
{
	if (strcmp(name, "dmarc_disable_verify") == 0)
		d->disable_verify = 1;
	else if (strcmp(name, "dmarc_enable_forensic") == 0)
		d->enable_forensic = 1;
}

/* ---- variables ------------------------------------------------------------------------ */

const char *
dmarc_session_var(const struct dmarc_session *d, const char *name)
{
	const struct dkimv_sig *best = dkimv_result_best(&d->dkim);
	const struct dmarc_verdict *v = &d->verdict;

	if (!d->evaluated)
		return "";
	if (strcmp(name, "dmarc_status") == 0)
		return dmarc_status_word(v->status);
	if (strcmp(name, "dmarc_status_text") == 0)
		return v->status_text ? v->status_text : "";
	if (strcmp(name, "dmarc_used_domain") == 0)
		return v->used_domain;
	if (strcmp(name, "dmarc_domain_policy") == 0)
		return v->domain_policy;
	if (strcmp(name, "dmarc_ar_header") == 0)
		return d->ar_header;
	if (strcmp(name, "dkim_signers") == 0)
		return d->signers;
	if (strcmp(name, "dkim_verify_status") == 0)
		return best ? dkimv_status_word(best->status) : "none";
	if (best == NULL)
		return "";
	if (strcmp(name, "dkim_verify_reason") == 0)
		return dkimv_reason_word(best->reason);
	if (strcmp(name, "dkim_domain") == 0 || strcmp(name, "dkim_cur_signer") == 0)
		return best->domain;
	if (strcmp(name, "dkim_selector") == 0)
		return best->selector;
	if (strcmp(name, "dkim_algo") == 0)
		return best->algo;
	return "";
}
