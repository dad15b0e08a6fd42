#!/usr/bin/env bash
# tests/e2e/report_browser_test.sh - the teaching view (runtest --html,
# docs/teaching.md) opened in a real browser: headless Chromium loads the
# index and three scenario pages from file://, and the test asserts from
# the DOM Chromium built (--dump-dom) that
#   - no page logged anything on the console (a page that does is shown to
#     be caught first, so the check can fail);
#   - the chart of a known scenario has the lanes and arrows its golden
#     implies (0040: 2 lanes, 11 arrows; 0232: 4 lanes; 0102: fakedns;
#     0551: 3 lanes with fakeocsp, the request and its garbage answer;
#     0644: the DANE block naming TLSA 2 1 1 at depth 1 and the intermediate
#     there, and "How DANE decided");
#   - the chart has its text alternative (role=img, title and desc, the
#     list of events) and the page its skip link and language;
#   - nothing is loaded from the network (no http(s) src/href, no script);
# and saves screenshots under BUILD/report-screenshots/ (CI artefacts).
# Then --keylog: the key log's client random appears in the capture's
# ClientHello (when root and tcpdump allow a capture).
#
# Without chromium every case is "skipped: no chromium", never passed.
# Every chromium is bounded (timeout 60 s) and runs in a session of its own
# that is killed by its id afterwards.
set -uo pipefail
build=build
[ "${1:-}" = --build ] && build=$2
. tests/e2e/lib.sh

# CHROMIUM= (empty) shows the skipped path on a machine that has it.
chromium_bin=${CHROMIUM-$(command -v chromium || true)}
shots="$PWD/$build/report-screenshots"

# A failing run gets its page too, with the golden against what it produced
# (a copy of 0040 whose golden expects another greeting), and runtest's exit
# status stays the suite's.
mkdir -p "$work/coll/scenarios/tls" "$work/coll/golden/tls"
cp scenarios/tls/0040-starttls-ehlo-again.scn "$work/coll/scenarios/tls/"
sed 's/^S: 220 mx.example.test ESMTP.*/S: 220 elsewhere.test ESMTP/' \
	golden/tls/0040-starttls-ehlo-again.golden >"$work/coll/golden/tls/0040-starttls-ehlo-again.golden"
TMPDIR=$work bin/runtest -j2 --html "$work/failing" "$work/coll/scenarios/" >"$work/failing.out" 2>&1
rc=$?
f=$work/failing/0040-starttls-ehlo-again.html
if [ $rc -eq 1 ] && grep -q '<del><span class="who">golden</span> S: 220 elsewhere.test ESMTP</del>' "$f" &&
	grep -q '<ins><span class="who">actual</span> S: 220 mx.example.test ESMTP' "$f" &&
	grep -q '<td class="fail">fail' "$work/failing/index.html"; then
	ok "a failing run: exit 1, its page shows golden against actual, the index says fail"
else
	echo "# exit $rc"
	not_ok "a failing run: exit 1, its page shows golden against actual, the index says fail" \
		"$work/failing.out"
fi

if [ -z "$chromium_bin" ]; then
	for c in index console-control console dom-0040 tls-0040 dom-0232 peer-tls-0232 dom-0102 \
		ocsp-0551 dane-0644 dane-explain-0644 a11y offline print screenshots; do
		skip "report in a browser: $c" "no chromium"
	done
else
	# chromium ARGS... > OUT, bounded; its whole session killed by id after.
	browse() {
		local out=$1
		shift
		setsid timeout -k 5 60 "$chromium_bin" --headless --no-sandbox --disable-gpu \
			--no-first-run --user-data-dir="$work/chrome" --enable-logging=stderr --v=0 \
			"$@" >"$out" 2>"$out.err" &
		local pid=$!
		wait "$pid"
		kill -KILL -- "-$pid" 2>/dev/null
		return 0
	}
	console_clean() { # console_clean ERRFILE: no console message, no load error
		! grep -E 'CONSOLE|ERR_FILE_NOT_FOUND|Not allowed to load' "$1"
	}

	TMPDIR=$work bin/runtest -j2 --html "$work/report" 0040 0102 0232 0551 0644 \
		>"$work/runtest.out" 2>&1
	if [ -f "$work/report/index.html" ]; then ok "runtest --html wrote the index"; else
		not_ok "runtest --html wrote the index" "$work/runtest.out"; fi

	# The console check catches a page that logs (else it could never fail).
	printf '<!DOCTYPE html><html lang="en"><body><script>console.error("x")</script>' \
		>"$work/bad.html"
	browse "$work/bad.dom" --dump-dom "file://$work/bad.html"
	if console_clean "$work/bad.dom.err" >/dev/null; then
		not_ok "console check catches a console.error (control)" "$work/bad.dom.err"
	else ok "console check catches a console.error (control)"; fi

	bad=0
	for p in index 0040-starttls-ehlo-again 0102-bogus-signature 0232-unknown-ca-verify-hosts \
		0551-fetch-garbage-kept 0644-several-records-any-matches; do
		browse "$work/$p.dom" --dump-dom "file://$work/report/$p.html"
		console_clean "$work/$p.dom.err" >"$work/console.txt" || {
			bad=1; cat "$work/console.txt"; }
		[ -s "$work/$p.dom" ] || { bad=1; echo "# no DOM for $p"; }
	done
	[ $bad -eq 0 ] && ok "index and five pages: no console messages" ||
		not_ok "index and five pages: no console messages" "$work/console.txt"

	# count FILE PATTERN: elements in Chromium's DOM
	count() { grep -o "$2" "$1" | wc -l; }
	d=$work/0040-starttls-ehlo-again.dom
	lanes=$(count "$d" '<g class="lane"')
	arrows=$(count "$d" '<g class="arrow')
	# golden/tls/0040: connect, 220, EHLO, 250 (one reply of 9 lines), STARTTLS, 220,
	# EHLO, 250, QUIT, 221, (closed): 11 arrows, once (both backends agree); two lanes.
	if [ "$lanes" -eq 2 ] && [ "$arrows" -eq 11 ]; then ok "0040: 2 lanes, 11 arrows in the DOM"
	else echo "# lanes $lanes arrows $arrows"; not_ok "0040: 2 lanes, 11 arrows in the DOM"; fi
	tls=$(count "$d" '<g class="tls"')
	[ "$tls" -eq 1 ] && grep -q 'depth 0: CN=mx.example.test' "$d" &&
		ok "0040: one TLS block naming the leaf at depth 0" ||
		not_ok "0040: one TLS block naming the leaf at depth 0"
	d=$work/0232-unknown-ca-verify-hosts.dom
	lanes=$(count "$d" '<g class="lane"')
	# harness client, refmta, the peer mx, fakedns
	[ "$lanes" -eq 4 ] && grep -q '>mx</text>' "$d" && grep -q '>fakedns</text>' "$d" &&
		ok "0232: 4 lanes (client, refmta, peer mx, fakedns)" ||
		{ echo "# lanes $lanes"; not_ok "0232: 4 lanes (client, refmta, peer mx, fakedns)"; }
	# The delivery's TLS block says what the peer presents: the unknown CA.
	grep -q 'presents depth 0: CN=mx.example.test, issued by CN=refmta Unrelated CA' "$d" &&
		ok "0232: the peer's TLS block shows its chain from the unrelated CA" ||
		not_ok "0232: the peer's TLS block shows its chain from the unrelated CA"
	d=$work/0102-bogus-signature.dom
	grep -q 'class="badge bogus"' "$d" && ok "0102: a DNS answer badged bogus" ||
		not_ok "0102: a DNS answer badged bogus"

	# golden/ocsp/0551: the client's 9 arrows (connect, 220, EHLO, 250, STARTTLS, 220,
	# QUIT, 221, closed) and the fetch's request and answer on the fakeocsp lane, once
	# (both backends agree): 3 lanes, 11 arrows, one of them the garbage answer.
	d=$work/0551-fetch-garbage-kept.dom
	lanes=$(count "$d" '<g class="lane"')
	arrows=$(count "$d" '<g class="arrow')
	asks=$(count "$d" '<title>OCSP request (POST) serial [0-9A-F]*')
	[ "$lanes" -eq 3 ] && [ "$arrows" -eq 11 ] && [ "$asks" -eq 1 ] &&
		grep -q '>fakeocsp</text>' "$d" && grep -q 'class="badge garbage"' "$d" &&
		grep -q 'garbage (fault garbage)' "$d" &&
		ok "0551: a fakeocsp lane, 3 lanes, 11 arrows, the request and its garbage answer" ||
		{ echo "# lanes $lanes arrows $arrows requests $asks"
		  not_ok "0551: a fakeocsp lane, 3 lanes, 11 arrows, the request and its garbage answer"; }
	# 0644: a wrong 3 1 1 and a right 2 1 1 for the intermediate; refmta logs the match,
	# the block names the record, the depth and the certificate the peer presents there.
	d=$work/0644-several-records-any-matches.dom
	grep -q 'DANE: TLSA 2 1 1 (usable record 2 of 2) matched at depth 1' "$d" &&
		grep -q 'depth 1, as mail presents it: CN=refmta Test Intermediate CA' "$d" &&
		grep -q 'selector SPKI(1): its public key only' "$d" &&
		ok "0644: the DANE block names TLSA 2 1 1, depth 1 and the intermediate there" ||
		not_ok "0644: the DANE block names TLSA 2 1 1, depth 1 and the intermediate there"
	grep -q '<h2 id="dane">How DANE decided</h2>' "$d" &&
		grep -q 'D: TLSA _PORT._tcp.mail.other.test secure: 3 1 1 (hex), 2 1 1 (hex)' "$d" &&
		grep -q 'RFC 7672: SMTP Security via Opportunistic DANE TLS' "$d" &&
		ok "0644: the page explains DANE (records, log, rules, RFC 7672 cited)" ||
		not_ok "0644: the page explains DANE (records, log, rules, RFC 7672 cited)"

	a11y=0
	for p in 0040-starttls-ehlo-again 0232-unknown-ca-verify-hosts; do
		d=$work/$p.dom
		svgs=$(count "$d" '<svg [^>]*role="img"')
		descs=$(count "$d" '<desc id=')
		lists=$(count "$d" '<ol id="seq-')
		[ "$svgs" -ge 1 ] && [ "$svgs" -eq "$descs" ] && [ "$svgs" -eq "$lists" ] &&
			grep -q '<html lang="en"' "$d" && grep -q 'href="#main"' "$d" || a11y=1
	done
	[ $a11y -eq 0 ] && ok "charts have role=img, a desc and a list in words; pages a skip link" ||
		not_ok "charts have role=img, a desc and a list in words; pages a skip link"

	if grep -lE '(src|href)="https?:|<script' "$work/report/"*.html >"$work/online.txt"; then
		not_ok "no network resource and no script in the report" "$work/online.txt"
	else ok "no network resource and no script in the report"; fi

	# It prints: Chromium's print path (the @media print rules) makes a PDF.
	browse "$work/pdf.out" --print-to-pdf="$work/0040.pdf" \
		"file://$work/report/0040-starttls-ehlo-again.html"
	if head -c 5 "$work/0040.pdf" 2>/dev/null | grep -q '%PDF-'; then
		ok "0040 prints (Chromium's --print-to-pdf)"
	else not_ok "0040 prints (Chromium's --print-to-pdf)" "$work/pdf.out.err"; fi

	mkdir -p "$shots"
	for p in index 0040-starttls-ehlo-again 0232-unknown-ca-verify-hosts 0551-fetch-garbage-kept \
		0644-several-records-any-matches; do
		browse "$work/shot.out" --window-size=1280,2000 --screenshot="$shots/$p.png" \
			"file://$work/report/$p.html"
	done
	[ -s "$shots/index.png" ] && [ -s "$shots/0040-starttls-ehlo-again.png" ] &&
		ok "screenshots saved in $build/report-screenshots" ||
		not_ok "screenshots saved in $build/report-screenshots" "$work/shot.out.err"
fi

# --keylog: the key log belongs to the captured handshake.
if [ "$(id -u)" -ne 0 ] || [ ! -x /usr/bin/tcpdump ]; then
	skip "--keylog: the capture holds the key log's ClientHello" "not root or no tcpdump"
else
	TMPDIR=$work bin/runtest -j1 --backend openssl --html "$work/keys" --keylog 0040 \
		>"$work/keylog.out" 2>&1
	k=$work/keys/keys/0040-starttls-ehlo-again-openssl
	if [ -s "$k/keylog.txt" ] && [ -s "$k/traffic.pcap" ] && python3 - "$k" <<'PY'
import sys
d = sys.argv[1]
pcap = open(d + "/traffic.pcap", "rb").read()
randoms = {l.split()[1] for l in open(d + "/keylog.txt") if len(l.split()) == 3}
sys.exit(0 if randoms and all(bytes.fromhex(r) in pcap for r in randoms) else 1)
PY
	then ok "--keylog: the capture holds the key log's ClientHello"
	else not_ok "--keylog: the capture holds the key log's ClientHello" "$work/keylog.out"; fi
fi

echo "1..$n"
[ "$failed" -eq 0 ]
