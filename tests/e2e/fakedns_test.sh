#!/usr/bin/env bash
# fakedns_test.sh - end-to-end tests of bin/fakedns: its signed answers
# validate in a validator we did not write (delv, given only the trust
# anchor from --ta-file): NSEC and NSEC3 denial, wildcards, CNAME chains
# across zones; the failure modes fail there, dig sees RRSIGs, TCP, TC over
# small UDP, the server survives thousands of malformed packets, and a
# second run with --nsec3 --ad answers as a resolver (RA, AD only on
# validly signed data).  Prints TAP.
#
#   tests/e2e/fakedns_test.sh [--build DIR]
#
# Loopback only; the one fakedns process is started here and stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=build
[ "${1:-}" = --build ] && build=$2
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

for tool in delv dig; do
	if ! command -v "$tool" >/dev/null; then
		echo "1..0 # SKIP $tool not installed (bind9-dnsutils)"; exit 0
	fi
done

verdict() { # verdict DESCRIPTION DETAIL-FILE STATUS-OF-THE-CHECK
	if [ "$3" -eq 0 ]; then ok "$1"; else not_ok "$1" "$2"; fi
}

z="$work/zones"
mkdir -p "$z"
big=$(printf 'x%.0s' $(seq 1 250))
cat >"$z/example.test.zone" <<ZONE
; the ordinary, validly signed zone, with two per-name failure modes
;@fakedns refused name=refused.example.test
;@fakedns timeout name=silent.example.test
\$ORIGIN example.test.
\$TTL 300
@       IN SOA ns1 hostmaster 1 3600 600 86400 300
@       IN NS ns1
ns1     IN A 127.0.0.1
@       IN MX 10 mx
mx      IN A 127.0.0.1
mx      IN AAAA ::1
@       IN TXT "v=spf1 -all" "second string"
www     IN CNAME mx
_25._tcp.mx IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
big     IN TXT "$big" "$big" "$big"
*.wild  IN A 127.0.0.9
to-hashed  IN CNAME mail.hashed.test.
to-gone    IN CNAME gone.hashed.test.
to-outside IN CNAME www.example.com.
ZONE
cat >"$z/hashed.test.zone" <<ZONE
; NSEC3 denial for this zone only; a wildcard, an empty non-terminal
;@fakedns nsec3
\$ORIGIN hashed.test.
\$TTL 300
@       IN SOA ns1 hostmaster 1 3600 600 86400 300
@       IN NS ns1
ns1     IN A 127.0.0.1
@       IN MX 10 mail
mail    IN A 127.0.0.8
_25._tcp.mail IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
*.wild  IN A 127.0.0.10
ZONE
zone_with() { # zone_with NAME DIRECTIVE
	cat >"$z/$1.zone" <<ZONE
;@fakedns $2
\$ORIGIN $1.
\$TTL 300
@       IN SOA ns1 hostmaster 1 3600 600 86400 300
@       IN NS ns1
ns1     IN A 127.0.0.1
@       IN MX 10 mx
mx      IN A 127.0.0.1
ZONE
}
zone_with bogus.test bogus
zone_with expired.test expired
zone_with insecure.test insecure
zone_with servfail.test servfail
zone_with wrongds.test wrong-ds
zone_with future.test not-yet-valid
zone_with nokey.test missing-dnskey

echo "# start-up"
# A broken zone file is refused as FILE:LINE: message.
printf '$ORIGIN broken.test.\n@ IN SOA ns1 h 1 2 3 4 5\nmx IN A 300.1.1.1\n' >"$z/broken.zone"
bin/fakedns --listen 127.0.0.1:0 "$z/broken.zone" >"$work/out" 2>&1
[ $? -ne 0 ] && grep -q "^fakedns: $z/broken.zone:3: " "$work/out"
verdict "a broken zone file is refused as FILE:LINE: message" "$work/out" $?
printf ';@fakedns expired name=www.x.test\n' >"$z/baddir.zone"
bin/fakedns --listen 127.0.0.1:0 "$z/baddir.zone" >"$work/out" 2>&1
[ $? -ne 0 ] && grep -q "^fakedns: $z/baddir.zone:1: expired applies to a whole zone" "$work/out"
verdict "a wrong directive is refused as FILE:LINE: message" "$work/out" $?
bin/fakedns --listen 192.0.2.1:0 "$z/example.test.zone" >"$work/out" 2>&1
[ $? -ne 0 ] && grep -q "not a loopback address" "$work/out"
verdict "a non-loopback --listen is refused" "$work/out" $?

# Start the server; readiness from its "listening on" line, never a sleep.
mkfifo "$work/ready"
bin/fakedns --listen 127.0.0.1:0 --ta-file "$work/ta" --log "$work/query.log" \
	"$z"/example.test.zone "$z"/bogus.test.zone "$z"/expired.test.zone \
	"$z"/insecure.test.zone "$z"/servfail.test.zone "$z"/wrongds.test.zone \
	"$z"/future.test.zone "$z"/nokey.test.zone "$z"/hashed.test.zone \
	>"$work/ready" 2>"$work/server.err" &
server_pid=$!
if ! IFS= read -r -t 20 line <"$work/ready"; then
	not_ok "fakedns starts" "$work/server.err"
	echo "1..$n"; exit 1
fi
port=${line##*127.0.0.1:}
port=${port%% *}
ok "fakedns listens on 127.0.0.1:$port (UDP and TCP)"

# The trust anchor, converted from --ta-file's DS to delv's format.
awk '$4 == "DS" { printf "trust-anchors {\n\t. static-ds %s %s %s \"%s\";\n};\n", $5, $6, $7, $8 }' \
	"$work/ta" >"$work/anchor.conf"
grep -q static-ds "$work/anchor.conf" && grep -q "DNSKEY	257 3 13 " "$work/ta"
verdict "--ta-file holds the root's DS and DNSKEY" "$work/ta" $?

delv_() { delv @127.0.0.1 -p "$port" -a "$work/anchor.conf" +root=. "$@"; }
validated() { # validated DESCRIPTION delv-ARGS...
	local desc=$1
	shift
	delv_ "$@" >"$work/delv" 2>&1
	grep -q "fully validated" "$work/delv"
	verdict "$desc" "$work/delv" $?
}
fails() { # fails DESCRIPTION delv-ARGS...: delv must not validate
	local desc=$1
	shift
	delv_ "$@" >"$work/delv" 2>&1
	! grep -q "fully validated" "$work/delv" && grep -q "resolution failed" "$work/delv"
	verdict "$desc" "$work/delv" $?
}

echo "# independence: delv validates what fakedns signed"
validated "delv: MX example.test fully validated" mx example.test
validated "delv: TLSA _25._tcp.mx.example.test fully validated" tlsa _25._tcp.mx.example.test
validated "delv: TXT with two strings fully validated" txt example.test
validated "delv: CNAME www -> mx fully validated" a www.example.test
validated "delv: NODATA (AAAA at the apex) fully validated" aaaa example.test
validated "delv: NODATA for the empty non-terminal _tcp.mx fully validated" a _tcp.mx.example.test
grep -q "NXRRSET" "$work/delv"
verdict "the empty non-terminal is NODATA, not NXDOMAIN" "$work/delv" $?
validated "delv: NXDOMAIN fully validated" a nope.example.test
grep -q "NXDOMAIN" "$work/delv"
verdict "nope.example.test is NXDOMAIN" "$work/delv" $?
validated "delv: DS example.test (answered by the parent test.) fully validated" ds example.test
negative() { # negative DESCRIPTION RCODE-WORD delv-ARGS...: a validated denial
	local desc=$1 word=$2
	shift 2
	delv_ "$@" >"$work/delv" 2>&1
	grep -q "negative response, fully validated" "$work/delv" && grep -q "$word" "$work/delv"
	verdict "$desc" "$work/delv" $?
}

echo "# NSEC3 (;@fakedns nsec3), as delv sees it"
validated "delv: MX hashed.test (an NSEC3 zone) fully validated" mx hashed.test
negative "delv: NSEC3 NXDOMAIN (closest-encloser proof) fully validated" NXDOMAIN a nope.hashed.test
negative "delv: NSEC3 NXDOMAIN two labels below the encloser fully validated" NXDOMAIN \
	a x.y.mail.hashed.test
negative "delv: NSEC3 NODATA fully validated" NXRRSET aaaa mail.hashed.test
negative "delv: NSEC3 NODATA for the empty non-terminal _tcp.mail fully validated" NXRRSET \
	a _tcp.mail.hashed.test
dig_() { dig @127.0.0.1 -p "$port" +norec +time=2 +tries=1 "$@"; }
dig_ +dnssec a nope.hashed.test >"$work/dig" 2>&1
grep -q "status: NXDOMAIN" "$work/dig" &&
	[ "$(grep -cE "IN[[:space:]]+NSEC3[[:space:]]+1 0 0 - " "$work/dig")" -ge 2 ] &&
	! grep -qE "IN[[:space:]]+NSEC[[:space:]]" "$work/dig"
verdict "dig: NSEC3 NXDOMAIN carries NSEC3 records (SHA-1, no iterations, no salt), no NSEC" \
	"$work/dig" $?

echo "# wildcards"
validated "delv: x.wild.example.test from *.wild (NSEC) fully validated" a x.wild.example.test
grep -q "^x\.wild\.example\.test\.	300	IN	A	127\.0\.0\.9$" "$work/delv" &&
	grep -q "^x\.wild\.example\.test\.	300	IN	RRSIG	A 13 3 " "$work/delv"
verdict "the wildcard answer has the query name as owner, RRSIG labels 3" "$work/delv" $?
negative "delv: wildcard NODATA (AAAA at x.wild) fully validated" NXRRSET aaaa x.wild.example.test
validated "delv: a.b.wild.hashed.test from *.wild (NSEC3) fully validated" a a.b.wild.hashed.test
grep -q "127\.0\.0\.10" "$work/delv"
verdict "the NSEC3 wildcard answer carries *.wild's address" "$work/delv" $?
negative "delv: NSEC3 wildcard NODATA fully validated" NXRRSET mx b.wild.hashed.test

echo "# CNAME chains"
validated "delv: CNAME to-hashed.example.test -> mail.hashed.test fully validated" \
	a to-hashed.example.test
grep -q "^mail\.hashed\.test\.	300	IN	A	127\.0\.0\.8$" "$work/delv"
verdict "the cross-zone chain ends at mail.hashed.test's address" "$work/delv" $?
dig_ +dnssec a to-hashed.example.test >"$work/dig" 2>&1
grep -q "flags: qr aa;" "$work/dig" && grep -q "ANSWER: 4," "$work/dig" &&
	grep -q "RRSIG	A 13 3 .* hashed\.test\. " "$work/dig"
verdict "dig: one answer holds both steps, each with its RRSIG, AA set" "$work/dig" $?
dig_ +dnssec a to-gone.example.test >"$work/dig" 2>&1
grep -q "status: NXDOMAIN" "$work/dig" && grep -q "IN	CNAME	gone.hashed.test." "$work/dig" &&
	grep -qE "IN[[:space:]]+NSEC3[[:space:]]" "$work/dig"
verdict "dig: a chain to a missing name is NXDOMAIN with that zone's NSEC3 proof" "$work/dig" $?
delv_ a to-gone.example.test >"$work/delv" 2>&1
grep -q "fully validated" "$work/delv" && grep -q "gone.hashed.test.*NXDOMAIN" "$work/delv"
verdict "delv: the chain to a missing name validates, ending in NXDOMAIN" "$work/delv" $?
dig_ +dnssec a to-outside.example.test >"$work/dig" 2>&1
grep -q "status: NOERROR" "$work/dig" && grep -q "ANSWER: 2," "$work/dig"
verdict "dig: a chain leaving the served zones stops at the CNAME (NOERROR)" "$work/dig" $?

echo "# failure modes, as a validator sees them"
fails "delv: the bogus zone fails validation" mx bogus.test
fails "delv: the expired zone fails validation" mx expired.test
fails "delv: the wrong-ds zone fails validation" mx wrongds.test
fails "delv: the not-yet-valid zone fails validation" mx future.test
fails "delv: the missing-dnskey zone fails validation" mx nokey.test
delv_ mx insecure.test >"$work/delv" 2>&1
grep -q "unsigned answer" "$work/delv"
verdict "delv: the insecure zone is an unsigned answer" "$work/delv" $?

dig_ mx servfail.test >"$work/dig" 2>&1
grep -q "status: SERVFAIL" "$work/dig"
verdict "the servfail zone answers SERVFAIL" "$work/dig" $?
dig_ a refused.example.test >"$work/dig" 2>&1
grep -q "status: REFUSED" "$work/dig"
verdict "the refused name answers REFUSED" "$work/dig" $?
dig_ +time=1 a silent.example.test >"$work/dig" 2>&1
grep -q "timed out" "$work/dig"
verdict "the timeout name never answers" "$work/dig" $?

echo "# dig"
dig_ +dnssec mx example.test >"$work/dig" 2>&1
grep -q "RRSIG.MX 13 " "$work/dig" && grep -q "flags: qr aa;" "$work/dig" &&
	grep -q "flags: do; udp: 1232" "$work/dig"
verdict "dig +dnssec: AA, RRSIG (ECDSA P-256), OPT echoed with DO and size" "$work/dig" $?
dig_ mx example.test >"$work/dig" 2>&1
! grep -q RRSIG "$work/dig"
verdict "no RRSIG without the DO bit" "$work/dig" $?
dig_ +tcp +dnssec txt big.example.test >"$work/dig" 2>&1
grep -q "(TCP)" "$work/dig" && grep -q "ANSWER: 2," "$work/dig"
verdict "dig +tcp answers in full" "$work/dig" $?
dig_ +ignore +bufsize=512 +dnssec txt big.example.test >"$work/dig" 2>&1
grep -q "flags: qr aa tc;" "$work/dig"
verdict "a UDP answer over the client's size has TC set" "$work/dig" $?
dig_ +noedns txt big.example.test >"$work/dig" 2>&1
grep -q "(TCP)" "$work/dig" && grep -q "ANSWER: 1," "$work/dig"
verdict "without EDNS (512 octets) dig retries over TCP and gets the answer" "$work/dig" $?
dig_ +dnssec a sub.test >"$work/dig" 2>&1
grep -q "status: NXDOMAIN" "$work/dig" && grep -q "IN	NSEC	" "$work/dig"
verdict "NXDOMAIN in the synthesised zone test. carries NSEC" "$work/dig" $?
dig_ +dnssec ds bogus.test >"$work/dig" 2>&1
grep -q "RRSIG	DS 13 2 .* test\. " "$work/dig"
verdict "DS bogus.test is answered and signed by the parent test." "$work/dig" $?

echo "# robustness"
exec 3>"/dev/udp/127.0.0.1/$port"
for i in $(seq 1 2000); do
	head -c $(((i * 37) % 300 + 1)) /dev/urandom >&3 2>/dev/null
done
exec 3>&-
# a plausible header (QDCOUNT 1, ARCOUNT 1) before random bytes
for i in $(seq 1 200); do
	{ printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01'; head -c $((i % 60 + 1)) /dev/urandom; } \
		>"/dev/udp/127.0.0.1/$port" 2>/dev/null
done
kill -0 "$server_pid" 2>/dev/null && dig_ +dnssec mx example.test >"$work/dig" 2>&1 &&
	grep -q "status: NOERROR" "$work/dig"
verdict "after 2200 malformed UDP packets the server still answers" "$work/dig" $?

grep -q "^_tcp.mx.example.test. A -> NOERROR 0 secure nodata$" "$work/query.log" &&
	grep -q "^nope.example.test. A -> NXDOMAIN 0 secure nxdomain$" "$work/query.log" &&
	grep -q "^example.test. MX -> NOERROR 2 secure data$" "$work/query.log"
verdict "the query log has one line per query" "$work/query.log" $?

kill -TERM "$server_pid"
wait "$server_pid"
verdict "SIGTERM stops fakedns cleanly (exit 0)" "$work/server.err" $?
server_pid=

echo "# --nsec3 --ad: NSEC3 everywhere, and answers as a resolver"
rm -f "$work/ready"
mkfifo "$work/ready"
bin/fakedns --listen 127.0.0.1:0 --ta-file "$work/ta" --nsec3 --ad \
	"$z"/example.test.zone "$z"/bogus.test.zone "$z"/insecure.test.zone \
	"$z"/nokey.test.zone "$z"/hashed.test.zone \
	>"$work/ready" 2>"$work/server.err" &
server_pid=$!
if ! IFS= read -r -t 20 line <"$work/ready"; then
	not_ok "fakedns --nsec3 --ad starts" "$work/server.err"
	echo "1..$n"; exit 1
fi
port=${line##*127.0.0.1:}
port=${port%% *}
awk '$4 == "DS" { printf "trust-anchors {\n\t. static-ds %s %s %s \"%s\";\n};\n", $5, $6, $7, $8 }' \
	"$work/ta" >"$work/anchor.conf"
negative "delv --nsec3: NXDOMAIN in the synthesised zone test. fully validated" NXDOMAIN a sub.test
validated "delv --nsec3: MX example.test through NSEC3 parents fully validated" mx example.test
negative "delv --nsec3: NODATA for the empty non-terminal _tcp.mx fully validated" NXRRSET \
	a _tcp.mx.example.test
delv_ mx insecure.test >"$work/delv" 2>&1
grep -q "unsigned answer" "$work/delv"
verdict "delv --nsec3: the insecure zone (no DS, proved by NSEC3) is an unsigned answer" \
	"$work/delv" $?
fails "delv --nsec3: the bogus zone still fails validation" mx bogus.test
flags() { dig @127.0.0.1 -p "$port" +time=2 +tries=1 "$@" 2>&1 | grep "^;; flags:"; }
flags +dnssec mx example.test >"$work/dig"
grep -q "flags: qr aa rd ra ad;" "$work/dig"
verdict "--ad: validly signed data has RA and AD" "$work/dig" $?
flags +dnssec a nope.example.test >"$work/dig"
grep -q " ra ad;" "$work/dig"
verdict "--ad: a validly signed NXDOMAIN has AD" "$work/dig" $?
flags +dnssec a to-hashed.example.test >"$work/dig"
grep -q " ra ad;" "$work/dig"
verdict "--ad: a cross-zone CNAME chain of signed zones has AD" "$work/dig" $?
flags +dnssec mx insecure.test >"$work/dig"
grep -q " ra;" "$work/dig"
verdict "--ad: the insecure zone has RA but no AD" "$work/dig" $?
flags +dnssec mx bogus.test >"$work/dig"
grep -q " ra;" "$work/dig"
verdict "--ad: the bogus zone has no AD" "$work/dig" $?
flags +dnssec mx nokey.test >"$work/dig"
grep -q " ra;" "$work/dig"
verdict "--ad: the missing-dnskey zone has no AD" "$work/dig" $?
kill -TERM "$server_pid"
wait "$server_pid"
verdict "SIGTERM stops fakedns --ad cleanly (exit 0)" "$work/server.err" $?
server_pid=

echo "1..$n"
[ "$failed" -eq 0 ]
