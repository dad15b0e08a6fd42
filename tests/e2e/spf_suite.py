#!/usr/bin/env python3
"""spf_suite.py - run the RFC 7208 test suite (../shared/conformance/spf,
pyspf's rfc7208-tests.yml) through refmta's SPF module.

For each YAML document: its zone data becomes zone files served by
bin/fakedns (signed, with a chain of trust, exactly as in scenarios); each
case's host, MAIL FROM and HELO are evaluated by build/tests/spf_query,
which is server/spf.c over lib/resolver pointed at that fakedns.  The
result must be the expected one (or one of the expected ones) and, where
the suite gives one, the explanation must match ("DEFAULT" is the default
explanation, configured as that word as pyspf's harness does).

Cases listed in tests/e2e/spf_suite_deviations.txt (ID and why) are known
libspf2 deviations: reported as TAP "not ok ... # TODO reason", counted as
failed in the summary line, never as passed.

    tests/e2e/spf_suite.py [--build DIR] [--suite FILE] [--verbose]

TAP on stdout, ending with "# spf-suite: N/TOTAL".  Exit 0 when every case
passed or is a listed deviation, 1 otherwise, 2 when it cannot run.
Loopback only; each fakedns is started here and stopped by PID.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("1..0 # SKIP python3-yaml is missing (ci/deps installs it)")
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def escape_name(name):
    """A DNS name in master-file form: odd octets as \\DDD, absolute."""
    out = []
    for ch in name.encode("latin-1"):
        c = chr(ch)
        if c.isalnum() and ch < 128 or c in "-_.":
            out.append(c)
        else:
            out.append("\\%03d" % ch)
    s = "".join(out)
    return s if s.endswith(".") else s + "."


def txt_rdata(value):
    """TXT rdata: one quoted character-string per item (RFC 1035 5.1)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        # a TXT record with no strings cannot be written in a master file
        # (RFC 1035 3.3.14 needs one or more): served as one empty string
        items = [""]
    parts = []
    for item in items:
        raw = item.encode("latin-1") if isinstance(item, str) else bytes(item)
        # a character-string holds at most 255 octets (RFC 1035 3.3)
        chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
        for chunk in chunks:
            s = "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else "\\%03d" % b
                        for b in chunk)
            parts.append('"%s"' % s)
    return " ".join(parts)


def zone_of(name):
    """One zone per top-level label: no suite name is a zone apex, so a
    TIMEOUT name never hides a zone's DNSKEY from the validator."""
    return name.rstrip(".").split(".")[-1].lower()


def write_zones(zonedata, directory):
    """One zone file per zone (the name's last two labels); returns paths."""
    zones = {}
    for name, records in (zonedata or {}).items():
        zones.setdefault(zone_of(name), []).append((name, records or []))
    paths = []
    for zone, names in sorted(zones.items()):
        lines = []
        body = []
        for name, records in names:
            owner = escape_name(name)
            has_txt = any(isinstance(r, dict) and "TXT" in r for r in records)
            for rec in records:
                if rec == "TIMEOUT":
                    # pyspf's harness times out only the types the name
                    # has no records of; fakedns times out a whole name.
                    # The types SPF asks for are the ones listed (TXT, A,
                    # MX, PTR), so a name with records answers them and
                    # its other types read as nodata (docs/spf.md).
                    if len(records) > 1:
                        continue
                    lines.append(";@fakedns timeout name=%s" % escape_name(name).rstrip("."))
                    continue
                for rtype, value in rec.items():
                    if rtype == "SPF":
                        # The suite's SPF records are served as TXT (the
                        # SPF RR type is obsolete, RFC 7208 14.1) unless
                        # the name has TXT records of its own.
                        if has_txt:
                            continue
                        rtype = "TXT"
                    if rtype == "TXT":
                        body.append("%s 300 IN TXT %s" % (owner, txt_rdata(value)))
                    elif rtype in ("A", "AAAA"):
                        body.append("%s 300 IN %s %s" % (owner, rtype, value))
                    elif rtype == "MX":
                        body.append("%s 300 IN MX %d %s" % (owner, value[0],
                                                             escape_name(value[1])))
                    elif rtype in ("PTR", "CNAME"):
                        body.append("%s 300 IN %s %s" % (owner, rtype, escape_name(value)))
                    else:
                        raise ValueError("unknown record type %s at %s" % (rtype, name))
        lines.append("$TTL 300")
        lines.append("%s. 300 IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300"
                     % (zone, zone, zone))
        lines.append("%s. 300 IN NS ns.%s." % (zone, zone))
        if not any(n.lower() == "ns." + zone for n, _ in names):
            lines.append("ns.%s. 300 IN A 127.0.0.1" % zone)
        lines.extend(body)
        path = os.path.join(directory, zone + ".zone")
        with open(path, "w", encoding="latin-1") as f:
            f.write("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def start_fakedns(build_bin, zones, work):
    ta = os.path.join(work, "ta")
    proc = subprocess.Popen([os.path.join(build_bin, "fakedns"), "--listen", "127.0.0.1:0",
                             "--ta-file", ta] + zones,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "127.0.0.1:" not in line:
        err = proc.stderr.read()
        proc.kill()
        proc.wait()
        raise RuntimeError("fakedns did not start: %s %s" % (line.strip(), err.strip()))
    port = line.split("127.0.0.1:")[1].split()[0]
    return proc, port, ta


def load_deviations(path):
    dev = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    cid, _, why = line.partition(" ")
                    dev[cid] = why.strip()
    return dev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--suite", default=os.path.join(ROOT, "..", "shared", "conformance", "spf",
                                                   "rfc7208-tests.yml"))
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    suite = args.suite
    if not os.path.exists(suite):
        suite = "/work/shared/conformance/spf/rfc7208-tests.yml"
    if not os.path.exists(suite):
        print("1..0 # SKIP the RFC 7208 suite file is not here (%s)" % args.suite)
        return 2
    query = os.path.join(ROOT, args.build, "tests", "spf_query")
    with open(suite, encoding="latin-1") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    deviations = load_deviations(os.path.join(HERE, "spf_suite_deviations.txt"))
    total = sum(len(d.get("tests") or {}) for d in docs)
    print("1..%d" % total)
    n = passed = 0
    bad = 0
    for di, doc in enumerate(docs):
        work = tempfile.mkdtemp(prefix="refmta-spf-suite.")
        proc = None
        try:
            zones = write_zones(doc.get("zonedata"), work)
            proc, port, ta = start_fakedns(os.path.join(ROOT, "bin"), zones, work)
            cases = list((doc.get("tests") or {}).items())
            stdin = "".join("%d\t%s\t%s\t%s\n" % (i, c.get("host", ""), c.get("helo", ""),
                                                  c.get("mailfrom", ""))
                            for i, (_, c) in enumerate(cases))
            out = subprocess.run([query, "--dns", "127.0.0.1@" + port, "--ta", ta,
                                  "--explanation", "DEFAULT"],
                                 input=stdin.encode("latin-1"), capture_output=True,
                                 timeout=600)
            got = {}
            for line in out.stdout.decode("latin-1").splitlines():
                parts = line.split("\t")
                if len(parts) >= 2:
                    got[int(parts[0])] = (parts[1], parts[2] if len(parts) > 2 else "")
            for i, (name, c) in enumerate(cases):
                n += 1
                cid = "%s" % name
                want = c["result"] if isinstance(c["result"], list) else [c["result"]]
                res, expl = got.get(i, ("(no answer)", ""))
                ok = res in want
                why = ""
                if ok and "explanation" in c and expl != c["explanation"]:
                    ok = False
                    why = "explanation %r, want %r" % (expl, c["explanation"])
                elif not ok:
                    why = "got %s, want %s" % (res, "|".join(want))
                desc = "%s (spec %s)" % (cid, c.get("spec", "?"))
                if ok and cid in deviations:
                    # a listed deviation that passes: the list is stale
                    bad += 1
                    passed += 1
                    print("not ok %d - %s passes: take it off spf_suite_deviations.txt"
                          % (n, desc))
                elif ok:
                    passed += 1
                    print("ok %d - %s" % (n, desc))
                elif cid in deviations:
                    print("not ok %d - %s: %s # TODO %s" % (n, desc, why, deviations[cid]))
                else:
                    bad += 1
                    print("not ok %d - %s: %s" % (n, desc, why))
            if args.verbose and out.stderr:
                sys.stderr.write(out.stderr.decode("latin-1"))
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
            for name in doc.get("tests") or {}:
                n += 1
                bad += 1
                print("not ok %d - %s: %s" % (n, name, exc))
        finally:
            if proc is not None:
                proc.kill()
                proc.wait()
            if args.verbose:
                print("# zones of document %d kept in %s" % (di, work))
            else:
                shutil.rmtree(work, ignore_errors=True)
    print("# spf-suite: %d/%d" % (passed, total))
    # a listed case the suite no longer has is stale too
    names = {name for d in docs for name in (d.get("tests") or {})}
    for cid in sorted(set(deviations) - names):
        print("# spf_suite_deviations.txt names %s, which the suite does not have" % cid)
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
