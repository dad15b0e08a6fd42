#!/usr/bin/env python3
# make-scenarios.py - write scenarios/dmarc/0950..0968 and 0987..0990 (SPF-based
# DMARC cases; make-messages writes the DKIM ones).
# Run from the top of the tree; then review and accept the goldens.
import os
D = "scenarios/dmarc"
PSL = "dmarc_tld_file = @SCENARIO_DIR@/../../conformance/dmarc/public_suffix_list.dat"

DATA_ACL = """acl_smtp_data:
  deny    dmarc_status = reject
          message      = Message from $dmarc_used_domain failed sender's DMARC policy, REJECT
  warn    add_header   = X-DMARC: $dmarc_status ($dmarc_status_text) used=$dmarc_used_domain policy=$dmarc_domain_policy
  accept
"""

def zone(name, records, extra=""):
    return f"""[zone {name}]
$ORIGIN {name}.
$TTL 300
@       IN SOA ns1 hostmaster 1 3600 600 86400 300
@       IN NS  ns1
ns1     IN A   127.0.0.1
{extra}{records}
"""

def steps(client="192.0.2.10", mailfrom="alice@sender.test", headers=("From: Alice <alice@sender.test>",), final="250", helo="client.sender.test", deliver=True):
    s = [f"connect from {client}", "expect 220", f"send EHLO {helo}", "expect 250",
         f"send MAIL FROM:<{mailfrom}>", "expect 250", "send RCPT TO:<bob@example.test>", "expect 250",
         "send DATA", "expect 354"]
    s += ["send " + h for h in headers]
    s += ["send Subject: dmarc", "send", "send body", "send .", f"expect {final}",
          "send QUIT", "expect 221", "wait-close"]
    if deliver:
        s += ["queue-run", "mail"]
    return "\n".join(s) + "\n"

def write(num, slug, title, spec, keywords, comment, config, zones, stps):
    path = f"{D}/{num:04d}-{slug}.scn"
    com = "".join("# " + l + "\n" if l else "#\n" for l in comment.strip().split("\n"))
    with open(path, "w") as f:
        sep = "" if zones.endswith("[file empty]\n") else "\n"
        f.write(f"title: {title}\nspec: {spec}\nkeywords: dmarc {keywords}\n{com}\n[config]\n{config}\n{zones}{sep}[steps]\n{stps}")

SPF = '@       IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'
def cfg(data=DATA_ACL, rcpt_extra="", extra=""):
    return f"""local_domains = example.test
{PSL}
{extra}acl_smtp_rcpt:
  accept  domains      = example.test
{rcpt_extra}
{data}"""

def dm(rec):
    return f'_dmarc  IN TXT "{rec}"\n'

# 0950 accept + A-R header on the delivered message
write(950, "spf-aligned-accept-authres", "SPF pass aligned with From: is DMARC accept; Authentication-Results on the delivered message",
      "RFC 7489 4.2, 3.1.2, 11.2; RFC 8601 2.2; seed DMARC section ($dmarc_status, $dmarc_ar_header)",
      "accept spf alignment authentication-results delivery",
      """The client 192.0.2.10 is in sender.test's SPF record: SPF passes for
MAIL FROM's domain sender.test, which is the From: domain (relaxed
alignment holds, RFC 7489 3.1.2), so DMARC passes ("accept") whatever
p=reject says.  The DATA ACL adds $dmarc_ar_header, a whole
Authentication-Results header with spf=, dkim= (none: no signature) and
dmarc=pass header.from=sender.test (RFC 7489 11.2).""",
      cfg(data="""acl_smtp_data:
  deny    dmarc_status = reject
          message      = Message from $dmarc_used_domain failed sender's DMARC policy, REJECT
  warn    add_header   = $dmarc_ar_header
  warn    add_header   = X-DMARC: $dmarc_status ($dmarc_status_text) used=$dmarc_used_domain policy=$dmarc_domain_policy
  accept
"""),
      zone("sender.test", SPF + dm("v=DMARC1; p=reject")), steps())

write(951, "spf-fail-reject", "SPF fail and no DKIM: p=reject gives dmarc_status reject and the seed's 550",
      "RFC 7489 6.6.2, 6.3 (p=reject); seed DMARC section (deny dmarc_status = reject)",
      "reject spf",
      """198.51.100.20 is not in sender.test's SPF record (fail), there is no
signature, so no identifier is aligned and authenticated: the domain's
p=reject applies; the seed's example ACL refuses with 550 and names
$dmarc_used_domain.""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=reject")),
      steps(client="198.51.100.20", final="550", deliver=False))

write(952, "spf-fail-quarantine", "p=quarantine: dmarc_status quarantine, the message accepted and marked",
      "RFC 7489 6.3 (p=quarantine), 6.6.2", "quarantine spf",
      """SPF fails, no signature: p=quarantine.  The ACL lets it in with an
X-DMARC header showing status, text, used domain and policy.""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=quarantine")), steps(client="198.51.100.20"))

write(953, "p-none-monitoring", "p=none: a failing message gets dmarc_status none (monitoring only)",
      "RFC 7489 6.3 (p=none)", "none spf",
      """SPF fails, no signature, the domain asks for no action (p=none):
status "none", text "None, Accept", policy none.""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=none")), steps(client="198.51.100.20"))

write(954, "norecord", "No DMARC record at the From: domain or its organizational domain: norecord",
      "RFC 7489 6.6.3 (no policy record)", "norecord",
      """sender.test publishes SPF but no _dmarc record: status norecord, no
policy ($dmarc_domain_policy is empty).""",
      cfg(), zone("sender.test", SPF), steps(client="198.51.100.20"))

write(955, "no-from-header", "A message without a From: field: nofrom",
      "RFC 7489 6.6.1; RFC 5322 3.6 (From: is required)", "nofrom from",
      """The message has no From: field, so there is no RFC5322.From domain
to evaluate (RFC 7489 6.6.1): status nofrom.""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=reject")), steps(headers=()))

write(956, "two-from-domains", "From: with addresses in two domains: each is checked, the failing p=reject domain's policy applies",
      "RFC 7489 6.6.1 (multi-valued RFC5322.From: the most strict policy among the checks that fail); seed DMARC section (deny dmarc_status = reject)",
      "reject from multiple",
      """One From: field with mailboxes in sender.test and other.test.  RFC
7489 6.6.1: each domain is checked as the Author Domain and the most
strict policy among the failing checks applies.  sender.test passes
(192.0.2.10 is in its SPF record, aligned); other.test has no aligned
pass and publishes p=reject: status reject, used domain other.test,
and the seed's ACL refuses with 550 (docs/dmarc.md).""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=none")) + "\n" + zone("other.test", dm("v=DMARC1; p=reject")),
      steps(headers=("From: alice@sender.test, carol@other.test",), final="550", deliver=False))

write(957, "dns-temperror", "The DMARC record lookup times out: temperror, and the ACL defers",
      "RFC 7489 6.6.3 (a transient DNS error is not \"no record\"); RFC 5321 4.2.5",
      "temperror dns timeout",
      """fakedns lets _dmarc.sender.test time out.  That is a temporary error,
not an absent record: status temperror; the ACL defers with 451 so the
client tries again later.""",
      cfg(data="""acl_smtp_data:
  defer   dmarc_status = temperror
          message      = 4.7.0 DMARC record for $dmarc_used_domain temporarily unavailable
  accept
"""), zone("sender.test", SPF + dm("v=DMARC1; p=reject"), extra=";@fakedns timeout name=_dmarc.sender.test\n"),
      steps(final="451", deliver=False))

write(958, "control-disable-verify", "control = dmarc_disable_verify: the message's status is off",
      "seed DMARC section (control = dmarc_disable_verify, status off)", "off control disable",
      """The RCPT ACL sets control = dmarc_disable_verify (the seed's name;
its older dmarc_verify_disable is refused at load time, tests/config_test.c).
The message is not evaluated: the status is off, not reject, and the
p=reject domain's failing message is accepted.  (The transcript cannot
show whether _dmarc was looked up: log_dns covers router lookups only.)""",
      cfg(rcpt_extra="          control      = dmarc_disable_verify\n"),
      zone("sender.test", SPF + dm("v=DMARC1; p=reject")), steps(client="198.51.100.20"))

write(959, "spf-relaxed-subdomain", "Relaxed SPF alignment: MAIL FROM in a subdomain of the From: domain aligns",
      "RFC 7489 3.1.2 (relaxed mode), 3.2", "accept spf alignment relaxed",
      """MAIL FROM is bounce@mail.sender.test, whose SPF record passes
192.0.2.10; From: is sender.test.  Both have the organizational domain
sender.test, so relaxed alignment (aspf=r, the default) holds: accept.""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=reject; aspf=r") + 'mail    IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'),
      steps(mailfrom="bounce@mail.sender.test"))

write(960, "spf-strict-subdomain-fails", "Strict SPF alignment: a subdomain's SPF pass does not align",
      "RFC 7489 3.1.2 (strict mode)", "reject spf alignment strict",
      """The same message as 0959, but the record says aspf=s: only an exact
match aligns, mail.sender.test is not sender.test, so the SPF pass is
not aligned and p=reject applies (550).""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=reject; aspf=s") + 'mail    IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'),
      steps(mailfrom="bounce@mail.sender.test", final="550", deliver=False))

write(961, "sp-for-subdomain", "sp= applies to a subdomain found through the organizational domain",
      "RFC 7489 6.3 (sp), 6.6.3 (organizational domain)", "quarantine sp subdomain",
      """From: is news.sender.test, which has no record; the organizational
domain sender.test has p=reject; sp=quarantine.  The subdomain policy
applies: quarantine, used domain sender.test, policy quarantine.""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=reject; sp=quarantine")),
      steps(client="198.51.100.20", headers=("From: News <news@news.sender.test>",)))

write(962, "pct-zero", "pct=0: the failing message is not sampled, reject is applied as quarantine",
      "RFC 7489 6.6.4 (pct), 6.3", "quarantine pct",
      """p=reject with pct=0: no message is in the sample, so RFC 7489 6.6.4
applies the next less strict policy, quarantine.  $dmarc_domain_policy
still shows the published reject.""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=reject; pct=0")), steps(client="198.51.100.20"))

write(963, "history-file", "dmarc_history_file: one opendmarc-format record per message",
      "seed DMARC section (dmarc_history_file); opendmarc-importstats's format", "history",
      """dmarc_history_file is put under mail/ so the mail step shows it: two
messages (an SPF-aligned accept and a failing one) give two records
(job, reporter, received, ipaddr, from, mfrom, spf, pdomain, policy,
rua, pct, adkim, aspf, p, sp, align_dkim, align_spf, action; the numbers
are opendmarc's, docs/dmarc.md).""",
      cfg(extra="dmarc_history_file = mail/dmarc.history\n"),
      zone("sender.test", SPF + dm("v=DMARC1; p=quarantine; rua=mailto:agg@sender.test")) + "\n[file empty]\n",
      "write empty mail/dmarc.history\n" + steps(deliver=False) + steps(client="198.51.100.20"))

write(964, "forensic-report", "control = dmarc_enable_forensic: an RFC 6591 failure report is queued and delivered to ruf",
      "RFC 7489 7.3, 7.1 (external destinations), 6.3 (ruf, fo); RFC 6591 3.1; seed DMARC section (dmarc_enable_forensic, dmarc_forensic_sender)",
      "forensic report ruf",
      """sender.test asks for failure reports at dmarc-ruf@example.test, a
domain outside its own: example.test agrees by publishing
sender.test._report._dmarc.example.test (RFC 7489 7.1).  The message
fails (p=quarantine), the RCPT ACL set control = dmarc_enable_forensic,
so a multipart/report (report-type=feedback-report, Feedback-Type:
auth-failure, Auth-Failure: dmarc, the original header section) is
queued from dmarc_forensic_sender and delivered with the message.
A second message, from other.test, fails the same way and its record
names the same ruf, but example.test publishes no
other.test._report._dmarc record: that destination has not agreed, so
no report is sent for it and the log says why (RFC 7489 7.1).""",
      cfg(rcpt_extra="          control      = dmarc_enable_forensic\n", extra="dmarc_forensic_sender = dmarc-reports@example.test\n"),
      zone("sender.test", SPF + dm("v=DMARC1; p=quarantine; ruf=mailto:dmarc-ruf@example.test")) + "\n" +
      zone("other.test", '@       IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n' + dm("v=DMARC1; p=quarantine; ruf=mailto:dmarc-ruf@example.test")) + "\n" +
      zone("example.test", 'sender.test._report._dmarc IN TXT "v=DMARC1"\n'),
      steps(client="198.51.100.20", mailfrom="alice@other.test", headers=("From: Alice <alice@other.test>",), deliver=False) +
      steps(client="198.51.100.20"))

write(965, "seed-example-acls", "The seed's example ACLs, as written (the parts that need no ${if})",
      "seed DMARC section (example ACLs)", "seed example acl",
      """The seed's RCPT ACL (dmarc_disable_verify for local hosts,
dmarc_enable_forensic otherwise) and DATA ACL (warn for accept : none :
off with !authenticated, and the reject deny).  refmta has no
"authenticated" condition yet (no AUTH), so those lines are left out;
the mailing-list statements are 0982 and 0983.  A failing message from
198.51.100.20 is refused with the seed's text.""",
      f"""local_domains = example.test
{PSL}
acl_smtp_rcpt:
  warn    domains        = example.test
          hosts          = 127.0.0.1
          control        = dmarc_disable_verify
  warn    control        = dmarc_enable_forensic
  accept  domains        = example.test

acl_smtp_data:
  warn    dmarc_status   = accept : none : off
          log_message    = DMARC DEBUG: $dmarc_status $dmarc_used_domain
  warn    dmarc_status   = !accept
          log_message    = DMARC DEBUG: '$dmarc_status' for $dmarc_used_domain
  warn    dmarc_status   = quarantine
          add_header     = X-DMARC-Quarantine: yes
  deny    dmarc_status   = reject
          message        = Message from $dmarc_used_domain failed sender's DMARC policy, REJECT
  accept
""", zone("sender.test", SPF + dm("v=DMARC1; p=reject")),
      steps(client="198.51.100.20", final="550", deliver=False).replace("wait-close\n", "wait-close\nlog\n"))

write(966, "inverted-status", "dmarc_status = !accept holds for every status but accept",
      "seed DMARC section (\"!\" inverts a word)", "inversion",
      """Two messages: one SPF-aligned (accept) and one failing under p=none
(none).  "!accept" adds the header only to the second.""",
      cfg(data="""acl_smtp_data:
  warn    dmarc_status = !accept
          add_header   = X-DMARC-Not-Accept: $dmarc_status
  accept
"""), zone("sender.test", SPF + dm("v=DMARC1; p=none")), steps(deliver=False) + steps(client="198.51.100.20"))

write(967, "two-from-fields", "Two From: header fields: nofrom",
      "RFC 7489 6.6.1; RFC 5322 3.6 (one From: field)", "nofrom from multiple",
      """RFC 5322 3.6 allows one From: field; with two there is no single
author domain: status nofrom, and p=reject is not applied.""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=reject")),
      steps(client="198.51.100.20", headers=("From: alice@sender.test", "From: alice@sender.test")))

write(968, "organizational-fallback", "No record at the From: subdomain: the organizational domain's record and p= apply",
      "RFC 7489 6.6.3 (organizational domain), 3.2", "reject organizational",
      """From: is deep.news.sender.test; only sender.test publishes a record
(p=reject, no sp=): the organizational domain's p= applies to the
subdomain, used domain sender.test (550).""",
      cfg(), zone("sender.test", SPF + dm("v=DMARC1; p=reject")),
      steps(client="198.51.100.20", headers=("From: x@deep.news.sender.test",), final="550", deliver=False))

# ---- several author domains (RFC 7489 6.6.1); 0986 (DKIM) is make-messages'.
AR_ACL = DATA_ACL.replace("  accept\n", "  warn    add_header   = $dmarc_ar_header\n  accept\n")

write(987, "two-from-domains-quarantine-wins", "Two author domains fail, p=none and p=quarantine: quarantine, the stricter, applies",
      "RFC 7489 6.6.1 (the most strict policy among the checks that fail), 6.3",
      "quarantine from multiple authentication-results",
      """From: names sender.test (p=none) first and other.test
(p=quarantine) second.  198.51.100.20 fails SPF and there is no
signature, so both checks fail; the most strict policy wins (RFC 7489
6.6.1): status quarantine, used domain and policy other.test's, and
the Authentication-Results item reports dmarc=fail for
header.from=other.test.""",
      cfg(data=AR_ACL), zone("sender.test", SPF + dm("v=DMARC1; p=none")) + "\n" + zone("other.test", dm("v=DMARC1; p=quarantine")),
      steps(client="198.51.100.20", headers=("From: Alice <alice@sender.test>, Carol <carol@other.test>",)))

write(988, "same-from-domain-twice", "Two mailboxes in one domain (different case): one author domain, checked once",
      "RFC 7489 6.6.1; RFC 5321 2.4 (domain names are case-insensitive)", "quarantine from multiple",
      """From: names alice@sender.test and bob@SENDER.test: one author domain
(names compare without case), so the message is checked exactly as
with one mailbox: SPF fails, p=quarantine, status quarantine, and one
dmarc= item for header.from=sender.test.""",
      cfg(data=AR_ACL), zone("sender.test", SPF + dm("v=DMARC1; p=quarantine")),
      steps(client="198.51.100.20", headers=("From: Alice <alice@sender.test>, bob@SENDER.test",)))

write(989, "acl-refuses-nofrom", "An ACL that refuses dmarc_status = nofrom: no author domain is refused, two domains are not nofrom",
      "RFC 7489 6.6.1 (a message without a single usable From: is outside DMARC; the receiver decides); seed DMARC section (dmarc_status)",
      "nofrom from acl",
      """The DATA ACL refuses nofrom with 550.  Three messages: a From: group
with no address (nofrom: refused), two From: fields (RFC 5322 3.6
allows one: nofrom, refused), and one From: with mailboxes in
sender.test and news.sender.test, which is not nofrom: both domains
are checked, both pass through relaxed SPF alignment (RFC 7489 3.1.2),
accepted with status accept for the first domain.""",
      cfg(data="""acl_smtp_data:
  deny    dmarc_status = nofrom
          message      = 5.7.1 no author domain for DMARC ($dmarc_status_text)
  warn    add_header   = X-DMARC: $dmarc_status ($dmarc_status_text) used=$dmarc_used_domain policy=$dmarc_domain_policy
  accept
"""), zone("sender.test", SPF + dm("v=DMARC1; p=reject") + '_dmarc.news IN TXT "v=DMARC1; p=reject"\n'),
      steps(client="198.51.100.21", headers=("From: undisclosed-recipients:;",), final="550", deliver=False)
      + steps(client="198.51.100.22", headers=("From: alice@sender.test", "From: carol@sender.test"), final="550", deliver=False)
      + steps(headers=("From: alice@sender.test, carol@news.sender.test",)))

write(990, "two-from-domains-temperror", "One author domain fails under p=none, the other's record times out: temperror, the ACL defers",
      "RFC 7489 6.6.1, 6.6.3 (a transient DNS error is not \"no record\"); RFC 5321 4.2.5",
      "temperror from multiple",
      """From: names sender.test (p=none, SPF fails) and slow.test, whose
_dmarc record times out.  slow.test might publish p=reject, so refmta
ranks a check that could not be made above a p=none or p=quarantine
failure (only a definite reject outranks it, docs/dmarc.md): status
temperror for slow.test, and the ACL defers with 451 so the client
retries.""",
      cfg(data="""acl_smtp_data:
  defer   dmarc_status = temperror
          message      = 4.7.0 DMARC record for $dmarc_used_domain temporarily unavailable
  warn    add_header   = X-DMARC: $dmarc_status ($dmarc_status_text) used=$dmarc_used_domain policy=$dmarc_domain_policy
  accept
"""), zone("sender.test", SPF + dm("v=DMARC1; p=none")) + "\n"
      + zone("slow.test", dm("v=DMARC1; p=reject"), extra=";@fakedns timeout name=_dmarc.slow.test\n"),
      steps(client="198.51.100.20", headers=("From: alice@sender.test, carol@slow.test",), final="451", deliver=False))
