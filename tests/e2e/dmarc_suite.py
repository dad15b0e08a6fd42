#!/usr/bin/env python3
"""dmarc_suite.py - run refmta's DMARC suite (conformance/dmarc/) through
server/dmarc.c.

Each case of conformance/dmarc/rfc7489-tests.yml becomes one run of
build/tests/dmarc_query: the document's zone data, the case's SPF and
DKIM results, its pct roll and a message with its From: field(s).  The
status must be the expected one, and so must the policy, used domain,
alignment and failure-report decision where the case gives them.

    tests/e2e/dmarc_suite.py [--build DIR] [--suite FILE] [--verbose]

TAP on stdout, ending with "# dmarc-suite: N/TOTAL".  Exit 0 when every
case passed, 1 otherwise, 2 when it cannot run.
"""
import argparse
import os
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("1..0 # SKIP python3-yaml is missing (ci/deps installs it)")
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SUITE = os.path.join(ROOT, "conformance", "dmarc", "rfc7489-tests.yml")
PSL = os.path.join(ROOT, "conformance", "dmarc", "public_suffix_list.dat")


def yesno(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def case_input(zone, case):
    lines = ["tld " + PSL]
    for name, recs in (zone or {}).items():
        for r in recs:
            if r == "TIMEOUT":
                lines.append("timeout " + name)
            elif isinstance(r, dict) and "TXT" in r:
                lines.append("txt %s %s" % (name, r["TXT"]))
            else:
                raise ValueError("zone %s: unknown record %r" % (name, r))
    spf = case.get("spf")
    if spf:
        lines.append("spf %s %s%s" % (spf["result"], spf["domain"],
                                      " helo" if spf.get("helo") else ""))
    for d in case.get("dkim") or []:
        lines.append("dkim %s %s %s" % (d["d"], d["s"], d["result"]))
    lines.append("roll %d" % int(case.get("roll", 0)))
    lines.append("msg")
    msg = ""
    frm = case.get("from")
    if frm is not None:
        for f in frm if isinstance(frm, list) else [frm]:
            msg += "From: %s\r\n" % f
    msg += "To: someone@receiver.test\r\nSubject: DMARC suite\r\n\r\nbody\r\n"
    return "\n".join(lines) + "\n" + msg


def check(out, case):
    got = {}
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        if k != "query":
            got[k] = v
    want = {"status": case["result"]}
    if "policy" in case:
        want["policy"] = case["policy"] or ""
    if "used_domain" in case:
        want["used_domain"] = case["used_domain"]
    if "forensic" in case:
        want["forensic"] = yesno(case["forensic"])
    for k, v in (case.get("align") or {}).items():
        want[k + "_aligned"] = yesno(v)
    bad = ["%s: got %r, expected %r" % (k, got.get(k), v)
           for k, v in want.items() if got.get(k) != v]
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--suite", default=SUITE)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    tool = os.path.join(ROOT, a.build, "tests", "dmarc_query")
    if not os.access(tool, os.X_OK):
        print("1..0 # SKIP %s is not built" % tool)
        return 2
    with open(a.suite, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    cases = [(doc, name, case) for doc in docs for name, case in doc["tests"].items()]
    print("1..%d" % len(cases))
    passed = 0
    for i, (doc, name, case) in enumerate(cases, 1):
        p = subprocess.run([tool], input=case_input(doc.get("zonedata"), case).encode(),
                           capture_output=True, timeout=30)
        out = p.stdout.decode(errors="replace")
        bad = check(out, case) if p.returncode == 0 else \
            ["dmarc_query exited %d: %s" % (p.returncode, p.stderr.decode().strip())]
        label = "%s (RFC 7489 %s)" % (name, case.get("spec", "?"))
        if bad:
            print("not ok %d - %s" % (i, label))
            for b in bad:
                print("#   " + b)
            if a.verbose:
                for line in out.splitlines():
                    print("#   | " + line)
        else:
            passed += 1
            print("ok %d - %s" % (i, label))
    print("# dmarc-suite: %d/%d" % (passed, len(cases)))
    return 0 if passed == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
