#!/usr/bin/env python3
"""interop/tool.py - the small checks interop/run needs that shell does badly:
submitting a message over SMTP (with DSN parameters), comparing a delivered
message's body byte for byte with what was submitted, and checking that a
delivery status notification is a valid RFC 3464 report.

  tool.py submit HOST PORT SENDER FILE RCPT... [--mail-opt X]... [--rcpt-opt X]...
  tool.py samebody SUBMITTED DELIVERED
  tool.py bounce FILE RCPT                 a failure report for RCPT
  tool.py success FILE RCPT ENVID ORCPT    a success report (NOTIFY=SUCCESS, RET=HDRS)
  tool.py success-loose FILE RCPT          the same, for a peer whose report is
                                           multipart/mixed and names no ENVID or
                                           ORCPT (OpenSMTPD 6.8)

Exit 0 when the check holds; otherwise 1 and one line on stdout saying why.
"""
import email
import email.policy
import re
import smtplib
import sys


def fail(why):
    print(why)
    sys.exit(1)


def submit(args):
    mail_opts, rcpt_opts, rest = [], [], []
    i = 0
    while i < len(args):
        if args[i] in ("--mail-opt", "--rcpt-opt") and i + 1 < len(args):
            (mail_opts if args[i] == "--mail-opt" else rcpt_opts).append(args[i + 1])
            i += 2
        else:
            rest.append(args[i])
            i += 1
    host, port, sender, path, rcpts = rest[0], int(rest[1]), rest[2], rest[3], rest[4:]
    with open(path, "rb") as f:
        data = f.read()
    # the file has LF line ends; SMTP wants CRLF (smtplib fixes them only in str)
    data = re.sub(rb"\r?\n", b"\r\n", data)
    try:
        with smtplib.SMTP(host, port, local_hostname="submit.interop.test", timeout=20) as s:
            s.ehlo()
            refused = s.sendmail(sender, rcpts, data, mail_options=mail_opts, rcpt_options=rcpt_opts)
    except (smtplib.SMTPException, OSError) as e:
        fail("submission to %s:%d failed: %s" % (host, port, e))
    if refused:
        fail("recipients refused at submission: %r" % refused)


def split_body(raw):
    """The body: everything after the first empty line, line ends as LF."""
    raw = raw.replace(b"\r\n", b"\n")
    i = raw.find(b"\n\n")
    return raw[i + 2:] if i >= 0 else b""


def samebody(args):
    with open(args[0], "rb") as f:
        want = split_body(f.read())
    with open(args[1], "rb") as f:
        got = split_body(f.read())
    if want != got:
        wl, gl = want.split(b"\n"), got.split(b"\n")
        for n, (a, b) in enumerate(zip(wl, gl)):
            if a != b:
                fail("body differs at line %d: sent %r, delivered %r" % (n + 1, a[:60], b[:60]))
        fail("body differs in length: sent %d lines, delivered %d" % (len(wl), len(gl)))


def report(path, loose=False):
    """Parse FILE as an RFC 3464 report -> (message, parts, per-message fields, per-recipient list).
    loose: accept a multipart/mixed container (what OpenSMTPD 6.8 sends)."""
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.compat32)
    if loose and msg.get_content_type() == "multipart/mixed":
        pass
    elif msg.get_content_type() != "multipart/report":
        fail("not multipart/report but %s" % msg.get_content_type())
    elif msg.get_param("report-type") != "delivery-status":
        fail("report-type is %r, not delivery-status" % msg.get_param("report-type"))
    parts = msg.get_payload()
    if len(parts) < 2 or not parts[0].get_content_type().startswith("text/"):
        fail("the first part is not human-readable text (RFC 6522 3)")
    status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    if len(status) != 1 or parts[1] is not status[0]:
        fail("the second part is not message/delivery-status (RFC 3464 2)")
    blocks = status[0].get_payload()
    if len(blocks) < 2:
        fail("message/delivery-status has no per-recipient block")
    if not blocks[0].get("Reporting-MTA", "").lower().startswith("dns;"):
        fail("no Reporting-MTA: dns;NAME in the per-message fields")
    return msg, parts, blocks[0], blocks[1:]


def recipient_block(blocks, rcpt):
    for b in blocks:
        fr = b.get("Final-Recipient", "")
        if fr.split(";", 1)[-1].strip().lower() == rcpt.lower():
            return b
    fail("no per-recipient block with Final-Recipient rfc822;%s" % rcpt)


def bounce(args):
    path, rcpt = args
    _msg, _parts, _pm, blocks = report(path)
    b = recipient_block(blocks, rcpt)
    if b.get("Action", "").strip().lower() != "failed":
        fail("Action is %r, not failed" % b.get("Action"))
    if not re.fullmatch(r"5\.\d{1,3}\.\d{1,3}", b.get("Status", "").strip()):
        fail("Status %r is not 5.X.Y" % b.get("Status"))
    if not b.get("Diagnostic-Code", "").lower().startswith("smtp;"):
        fail("no Diagnostic-Code: smtp; with the remote reply")


def success(args, loose=False):
    if loose:
        path, rcpt = args
    else:
        path, rcpt, envid, orcpt = args
    _msg, parts, pm, blocks = report(path, loose)
    got = pm.get("Original-Envelope-Id", "").strip()
    if not loose and got != envid:
        fail("Original-Envelope-Id is %r, not %r (ENVID lost)" % (got, envid))
    b = recipient_block(blocks, rcpt)
    if b.get("Action", "").strip().lower() != "delivered":
        fail("Action is %r, not delivered" % b.get("Action"))
    if not re.fullmatch(r"2\.\d{1,3}\.\d{1,3}", b.get("Status", "").strip()):
        fail("Status %r is not 2.X.Y" % b.get("Status"))
    o = re.sub(r"\s+", "", b.get("Original-Recipient", ""))
    if not loose and o.lower() != orcpt.lower():
        fail("Original-Recipient is %r, not %r (ORCPT lost)" % (o, orcpt))
    returned = parts[2].get_content_type() if len(parts) > 2 else None
    if returned == "message/rfc822":
        fail("the whole message came back: RET=HDRS was not passed on")


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    {"submit": submit, "samebody": samebody, "bounce": bounce, "success": success,
     "success-loose": lambda a: success(a, True)}.get(
        cmd, lambda a: fail("unknown command %r" % cmd))(args)


if __name__ == "__main__":
    main()
