#!/usr/bin/env bash
# ocsp_test.sh - OCSP stapling under load (docs/ocsp.md "Server"): the
# tls_ocsp_file is replaced 100 times with rename() while 200 STARTTLS
# sessions (4 streams of 50, `openssl s_client -status`) run against
# `bin/refmta serve`, on each server backend.  Every handshake must carry
# one whole response, the old one (good) or the new one (revoked), never
# none and never a torn file; the server must never log "not stapling".
# Responses are minted per run by bin/fakeocsp from the build's PKI.
#
#   tests/e2e/ocsp_test.sh [--build DIR]
#
# Loopback only, an ephemeral port, bounded counts and timeouts (each
# session 10 s at most), every process stopped by PID.  Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=build
[ "${1:-}" = --build ] && build=$2
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

SESSIONS_PER_STREAM=50
STREAMS=4
REPLACEMENTS=100
P=$REFMTA_PKI

mint() { # mint OUT STATUS
	bin/fakeocsp mint --cert "$P/mx-rsa.pem" --issuer "$P/inter-ca.pem" \
		--signer "$P/ocsp-signer.pem" --key "$P/ocsp-signer.key" --status "$2" --out "$1"
}

echo "1..$((2 * 4))"
if ! command -v openssl >/dev/null; then
	for b in openssl gnutls; do for i in 1 2 3 4; do skip "$b case $i" "no openssl"; done; done
	exit 0
fi

for backend in openssl gnutls; do
	d="$work/$backend"
	mkdir -p "$d/ocsp"
	if ! mint "$d/ocsp/good.der" good || ! mint "$d/ocsp/revoked.der" revoked; then
		not_ok "$backend: minted two responses"
		continue
	fi
	cp "$d/ocsp/good.der" "$d/ocsp/current.der"
	cat >"$d/refmta.conf" <<CONF
primary_hostname   = mx.example.test
spool_directory    = spool
log_file           = log/main.log
run_as_root        = true
worker_processes   = 4
tls_certificate    = $P/mx-rsa.pem
tls_privatekey     = $P/mx-rsa.key
tls_ocsp_file      = $d/ocsp/current.der
CONF
	ok "$backend: minted two responses"
	if ! start_server "$d/refmta.conf" "$backend"; then
		not_ok "$backend: refmta serve started" "$work/server.err"
		continue
	fi
	ok "$backend: refmta serve started"
	# The replacer: good and revoked in turn, each written aside then renamed.
	(
		for i in $(seq 1 $REPLACEMENTS); do
			if [ $((i % 2)) -eq 1 ]; then src=revoked; else src=good; fi
			cp "$d/ocsp/$src.der" "$d/ocsp/.next.der" && mv "$d/ocsp/.next.der" "$d/ocsp/current.der"
			sleep 0.03
		done
	) &
	replacer=$!
	for s in $(seq 1 $STREAMS); do
		(
			for i in $(seq 1 $SESSIONS_PER_STREAM); do
				timeout 10 openssl s_client -starttls smtp -status -servername mx.example.test \
					-connect "127.0.0.1:$port" </dev/null >"$d/s$s.$i.out" 2>&1
			done
		) &
		eval "stream$s=\$!"
	done
	for s in $(seq 1 $STREAMS); do eval "wait \$stream$s"; done
	wait "$replacer"
	stop_server
	good=0 revoked=0 bad=0
	for f in "$d"/s*.out; do
		if grep -q "OCSP Response Status: successful" "$f" && grep -q "Cert Status: good" "$f"; then
			good=$((good + 1))
		elif grep -q "OCSP Response Status: successful" "$f" && grep -q "Cert Status: revoked" "$f"; then
			revoked=$((revoked + 1))
		else
			bad=$((bad + 1))
			cp "$f" "$work/bad.out"
		fi
	done
	echo "# $backend: $((good + revoked + bad)) sessions: $good good, $revoked revoked, $bad without a whole staple"
	if [ $bad -eq 0 ] && [ $((good + revoked)) -eq $((STREAMS * SESSIONS_PER_STREAM)) ] &&
		[ $good -gt 0 ] && [ $revoked -gt 0 ]; then
		ok "$backend: 200 handshakes each carried the old or the new response, whole"
	else
		not_ok "$backend: 200 handshakes each carried the old or the new response, whole" "$work/bad.out"
	fi
	if grep -q "not stapling" "$d/log/main.log"; then
		grep "not stapling" "$d/log/main.log" | head -5 >"$work/notstapled"
		not_ok "$backend: the server never refused a file mid-replacement" "$work/notstapled"
	else
		ok "$backend: the server never refused a file mid-replacement"
	fi
done
exit $((failed > 0))
