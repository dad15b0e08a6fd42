#!/usr/bin/env bash
# fakeocsp_test.sh - end-to-end tests of `fakeocsp serve` and `mint`:
# interop with `openssl ocsp` and GnuTLS's `ocsptool` (good, revoked,
# unknown; POST and GET), a minted staple read by `openssl ocsp -respin`,
# faults over HTTP, and robustness (sequential load, connect-then-close,
# garbage, partial and oversize requests, a stalled client).  Prints TAP.
#
#   tests/e2e/fakeocsp_test.sh [--build DIR]
#
# Loopback only; every process is one this script started, stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=build
[ "${1:-}" = --build ] && build=$2
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

P=$REFMTA_PKI
ocsp_pid=
# A PKI minted before ocsp-signer-expired existed (make re-mints only when a
# week old): use a fresh one.
if [ ! -e "$P/ocsp-signer-expired.pem" ]; then
	bin/mkpki --out "$work/pki" >/dev/null || exit 1
	P=$work/pki
fi
expired_signer="$P/ocsp-signer-expired.pem,$P/ocsp-signer-expired.key"
ocsp_cleanup() {
	if [ -n "$ocsp_pid" ] && kill -0 "$ocsp_pid" 2>/dev/null; then
		kill -TERM "$ocsp_pid" 2>/dev/null
		wait "$ocsp_pid" 2>/dev/null
	fi
	e2e_cleanup
}
trap ocsp_cleanup EXIT

verdict() { # verdict DESCRIPTION DETAIL-FILE STATUS-OF-THE-CHECK
	if [ "$3" -eq 0 ]; then ok "$1"; else not_ok "$1" "$2"; fi
}

# start_ocsp [ARGS...]: fakeocsp serve on 127.0.0.1:0; sets $port, $ocsp_pid.
start_ocsp() {
	local line
	rm -f "$work/ready"
	mkfifo "$work/ready"
	bin/fakeocsp serve --listen 127.0.0.1:0 --issuer "$P/inter-ca.pem" \
		--signer "$P/ocsp-signer.pem" --key "$P/ocsp-signer.key" --index "$work/index.txt" \
		--log "$work/ocsp.log" --timeout 1 "$@" >"$work/ready" 2>>"$work/ocsp.err" &
	ocsp_pid=$!
	if ! IFS= read -r -t 10 line <"$work/ready"; then
		echo "# fakeocsp did not start:"; sed 's/^/#   /' "$work/ocsp.err"
		return 1
	fi
	rm -f "$work/ready"
	port=${line##*127.0.0.1:}
}

stop_ocsp() {
	kill -TERM "$ocsp_pid" 2>/dev/null
	wait "$ocsp_pid"
	local rc=$?
	ocsp_pid=
	return $rc
}

# openssl_ask CERT: `openssl ocsp` against the server, output in $work/out.
openssl_ask() {
	openssl ocsp -issuer "$P/inter-ca.pem" -cert "$P/$1" -url "http://127.0.0.1:$port" \
		-CAfile "$P/ca-bundle.pem" -verify_other "$P/inter-ca.pem" >"$work/out" 2>&1
}

# still_good: a good request is answered "good" (after an abuse).
still_good() {
	openssl_ask mx-rsa.pem && grep -q "mx-rsa.pem: good" "$work/out" &&
		grep -q "Response verify OK" "$work/out"
}

# An index without wildcard.pem: a certificate of our CA that is not listed.
wild=$(openssl x509 -in "$P/wildcard.pem" -noout -serial | sed 's/serial=//')
grep -v "	$wild	" "$P/index.txt" >"$work/index.txt"
cat "$P/ca-bundle.pem" "$P/inter-ca.pem" >"$work/trust.pem"

echo "# fakeocsp serve: interop"
start_ocsp || exit 1
ok "serve prints \"fakeocsp: listening on 127.0.0.1:$port\""

openssl_ask mx-rsa.pem
grep -q "mx-rsa.pem: good" "$work/out" && grep -q "Response verify OK" "$work/out"
verdict "openssl ocsp: mx-rsa.pem is good, response verifies" "$work/out" $?
openssl_ask revoked.pem
grep -q "revoked.pem: revoked" "$work/out" && grep -q "Reason: keyCompromise" "$work/out" &&
	grep -q "Response verify OK" "$work/out"
verdict "openssl ocsp: revoked.pem is revoked (keyCompromise)" "$work/out" $?
openssl_ask wildcard.pem
grep -q "wildcard.pem: unknown" "$work/out" && grep -q "Response verify OK" "$work/out"
verdict "openssl ocsp: a certificate not in the index is unknown" "$work/out" $?
grep -q "nonce=yes" "$work/ocsp.log" && ! grep -q "WARNING: no nonce" "$work/out"
verdict "openssl ocsp's nonce is echoed (RFC 8954)" "$work/ocsp.log" $?

gnutls_ask() { # gnutls_ask CERT
	ocsptool --ask="http://127.0.0.1:$port" --load-cert "$P/$1" \
		--load-issuer "$P/inter-ca.pem" --load-trust "$work/trust.pem" >"$work/out" 2>&1
}
gnutls_ask mx-rsa.pem
grep -q "Certificate Status: good" "$work/out" && grep -q "Verifying OCSP Response: Success" "$work/out"
verdict "ocsptool --ask: mx-rsa.pem is good, response verifies" "$work/out" $?
gnutls_ask revoked.pem
grep -q "Certificate Status: revoked" "$work/out" && grep -q "Verifying OCSP Response: Success" "$work/out"
verdict "ocsptool --ask: revoked.pem is revoked" "$work/out" $?
gnutls_ask wildcard.pem
grep -q "Certificate Status: unknown" "$work/out"
verdict "ocsptool --ask: a certificate not in the index is unknown" "$work/out" $?

# GET (RFC 6960 A.1): base64 in the path, URL-encoded and not.
openssl ocsp -issuer "$P/inter-ca.pem" -cert "$P/mx-rsa.pem" -no_nonce -reqout "$work/req.der" \
	>/dev/null 2>&1
b64=$(base64 -w0 "$work/req.der")
enc=$(sed 's/%/%25/g; s/+/%2B/g; s/\//%2F/g; s/=/%3D/g' <<<"$b64")
get_good() { # get_good PATH
	curl -sS -o "$work/resp.der" "http://127.0.0.1:$port/$1" >"$work/out" 2>&1 &&
		openssl ocsp -respin "$work/resp.der" -CAfile "$P/ca-bundle.pem" \
			-verify_other "$P/inter-ca.pem" -issuer "$P/inter-ca.pem" -cert "$P/mx-rsa.pem" \
			>>"$work/out" 2>&1 && grep -q "mx-rsa.pem: good" "$work/out"
}
get_good "$enc"
verdict "GET with the URL-encoded base64 request: good" "$work/out" $?
get_good "$b64"
verdict "GET with the raw base64 request: good" "$work/out" $?

# Keep-alive: several requests on one connection (curl reuses it).
cfg="$work/curl.cfg"
: >"$cfg"
for _ in $(seq 1 5); do printf 'url = "http://127.0.0.1:%s/%s"\noutput = "/dev/null"\n' "$port" "$enc" >>"$cfg"; done
curl -sS -v -K "$cfg" >"$work/out" 2>&1
[ "$(grep -c "Re-using existing connection" "$work/out")" -eq 4 ]
verdict "keep-alive: 5 requests on one connection" "$work/out" $?

echo "# fakeocsp serve: robustness"
# 2000 sequential requests, each on its own connection.
# (curl's header and write-out options are global: given once.)
printf 'header = "Connection: close"\nwrite-out = "%%{http_code}\\n"\n' >"$cfg"
for _ in $(seq 1 2000); do
	printf 'url = "http://127.0.0.1:%s/%s"\noutput = "/dev/null"\n' "$port" "$enc" >>"$cfg"
done
before=$(grep -c "status=good" "$work/ocsp.log")
curl -sS -K "$cfg" >"$work/codes" 2>"$work/out"
after=$(grep -c "status=good" "$work/ocsp.log")
[ "$(grep -c '^200$' "$work/codes")" -eq 2000 ] && [ $((after - before)) -eq 2000 ]
verdict "2000 sequential requests: 2000 answers of 200, 2000 log lines" "$work/out" $?

for _ in $(seq 1 200); do
	exec 3<>"/dev/tcp/127.0.0.1/$port" && exec 3>&-
done
still_good
verdict "200 connect-then-close, then a good request is answered" "$work/out" $?

bad=0
for i in $(seq 1 100); do
	exec 3<>"/dev/tcp/127.0.0.1/$port" || { bad=1; break; }
	head -c $((i * 7)) /dev/urandom >"$work/junk"
	{ printf 'POST / HTTP/1.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' \
		$((i * 7)); cat "$work/junk"; } >&3
	IFS= read -r -t 5 status <&3 || bad=1
	exec 3>&-
	[[ "$status" == "HTTP/1.1 200 OK"* ]] || bad=1
done
[ "$bad" -eq 0 ] && [ "$(grep -c "status=malformed" "$work/ocsp.log")" -ge 100 ]
verdict "100 garbage bodies: each gets 200 with malformedRequest, logged as malformed" "$work/ocsp.log" $?
still_good
verdict "after the garbage bodies a good request is answered" "$work/out" $?

exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GARBAGE LINE\r\n\r\n' >&3
IFS= read -r -t 5 status <&3
exec 3>&-
[[ "$status" == "HTTP/1.1 400 "* ]]
verdict "a request line that is not HTTP gets 400" /dev/null $?

exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST / HTTP/1.1\r\nContent-Length: 500\r\n\r\nabc' >&3
exec 3>&-
still_good
verdict "a partial request then close: the server still answers" "$work/out" $?

exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST / HTTP/1.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: 100000\r\n\r\n' >&3
head -c 100000 /dev/zero >&3 2>/dev/null
IFS= read -r -t 5 status <&3
exec 3>&-
[[ "$status" == "HTTP/1.1 413 "* ]] && still_good
verdict "an oversize body (100000 bytes) gets 413, the server still answers" "$work/out" $?

# A client that stalls past the read timeout (--timeout 1): dropped, nothing else waits.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST / HTTP/1.1\r\nContent-Le' >&3
still_good
verdict "while a client stalls, another is answered" "$work/out" $?
t0=$SECONDS
IFS= read -r -t 5 _ <&3
closed=$?
exec 3>&-
# read returns 1 at EOF (closed by the server), >128 on its own timeout.
[ "$closed" -eq 1 ] && [ $((SECONDS - t0)) -le 3 ] && grep -q "status=timeout" "$work/ocsp.log"
verdict "a stalled client is dropped after the timeout and logged" "$work/ocsp.log" $?
still_good
verdict "after the stalled client a good request is answered" "$work/out" $?

stop_ocsp
verdict "SIGTERM: serve exits 0" "$work/ocsp.err" $?
# Only this script's servers: their --log is in this script's $work.
! pgrep -af "fakeocsp serve .*--log $work/" >"$work/out"
verdict "no fakeocsp process left" "$work/out" $?

echo "# fakeocsp serve: faults over HTTP"
ecdsa=$(openssl x509 -in "$P/mx-ecdsa.pem" -noout -serial | sed 's/serial=//')
start_ocsp --fault-serial "$wild:tryLater" --fault expired \
	--fault-serial "$ecdsa:expired-signer=$expired_signer" \
	--fault-serial "$(openssl x509 -in "$P/revoked.pem" -noout -serial | sed 's/serial=//'):garbage" || exit 1
openssl_ask mx-rsa.pem
grep -q "Status times invalid" "$work/out"
verdict "--fault expired: openssl ocsp reports invalid status times" "$work/out" $?
openssl_ask wildcard.pem
grep -qi "tryLater" "$work/out"
verdict "--fault-serial HEX:tryLater: openssl ocsp reports tryLater" "$work/out" $?
openssl_ask revoked.pem
! grep -q "revoked.pem:" "$work/out"
verdict "--fault-serial HEX:garbage: openssl ocsp cannot decode the answer" "$work/out" $?
openssl_ask mx-ecdsa.pem
grep -q "Response Verify Failure" "$work/out" && grep -q "certificate has expired" "$work/out"
verdict "--fault-serial HEX:expired-signer=...: openssl ocsp refuses it (certificate has expired)" \
	"$work/out" $?
grep -q "status=garbage fault=expired,garbage" "$work/ocsp.log"
verdict "the log names the faults applied" "$work/ocsp.log" $?
stop_ocsp
verdict "SIGTERM: serve exits 0 (faults run)" "$work/ocsp.err" $?

echo "# fakeocsp mint"
bin/fakeocsp mint --cert "$P/mx-rsa.pem" --issuer "$P/inter-ca.pem" --signer "$P/ocsp-signer.pem" \
	--key "$P/ocsp-signer.key" --status good --this-update -1h --next-update +7d \
	--out "$work/mx.ocsp.der" >"$work/out" 2>&1 &&
	openssl ocsp -respin "$work/mx.ocsp.der" -CAfile "$P/ca-bundle.pem" \
		-verify_other "$P/inter-ca.pem" -issuer "$P/inter-ca.pem" -cert "$P/mx-rsa.pem" \
		>>"$work/out" 2>&1 && grep -q "mx-rsa.pem: good" "$work/out"
verdict "mint --status good: openssl ocsp -respin accepts it" "$work/out" $?
bin/fakeocsp mint --cert "$P/revoked.pem" --issuer "$P/inter-ca.pem" --signer "$P/inter-ca.pem" \
	--key "$P/inter-ca.key" --status revoked --reason superseded --out "$work/rev.der" \
	>"$work/out" 2>&1 &&
	openssl ocsp -respin "$work/rev.der" -CAfile "$P/ca-bundle.pem" \
		-verify_other "$P/inter-ca.pem" -issuer "$P/inter-ca.pem" -cert "$P/revoked.pem" \
		>>"$work/out" 2>&1 && grep -q "revoked.pem: revoked" "$work/out" &&
	grep -q "Reason: superseded" "$work/out"
verdict "mint signed by the CA itself, revoked (superseded): accepted" "$work/out" $?
bin/fakeocsp mint --cert "$P/mx-rsa.pem" --issuer "$P/inter-ca.pem" --signer "$P/ocsp-signer.pem" \
	--key "$P/ocsp-signer.key" --status good --out "$work/bad.der" --fault bad-signature \
	>"$work/out" 2>&1 &&
	! openssl ocsp -respin "$work/bad.der" -CAfile "$P/ca-bundle.pem" \
		-verify_other "$P/inter-ca.pem" -issuer "$P/inter-ca.pem" -cert "$P/mx-rsa.pem" \
		>>"$work/out" 2>&1
verdict "mint --fault bad-signature: openssl ocsp -respin refuses it" "$work/out" $?
bin/fakeocsp mint --cert "$P/mx-rsa.pem" --issuer "$P/inter-ca.pem" --signer "$P/ocsp-signer.pem" \
	--key "$P/ocsp-signer.key" --status good --out "$work/exp.der" \
	--fault "expired-signer=$expired_signer" >"$work/out" 2>&1 &&
	! openssl ocsp -respin "$work/exp.der" -CAfile "$P/ca-bundle.pem" \
		-verify_other "$P/inter-ca.pem" -issuer "$P/inter-ca.pem" -cert "$P/mx-rsa.pem" \
		>>"$work/out" 2>&1 &&
	grep -q "Response Verify Failure" "$work/out" && grep -q "certificate has expired" "$work/out"
verdict "mint --fault expired-signer=...: openssl ocsp -respin refuses it (certificate has expired)" \
	"$work/out" $?
# The seed's case: the intermediate between the signer and the root rides in
# the staple, so a client that has only the root verifies it.
bin/fakeocsp mint --cert "$P/mx-rsa.pem" --issuer "$P/inter-ca.pem" --signer "$P/ocsp-signer.pem" \
	--key "$P/ocsp-signer.key" --status good --extra-certs "$P/inter-ca.pem" \
	--out "$work/extra.der" >"$work/out" 2>&1 &&
	openssl ocsp -respin "$work/extra.der" -resp_text -noverify >"$work/text" 2>&1 &&
	[ "$(grep -c "^Certificate:" "$work/text")" -eq 2 ] &&
	grep -q "Subject: CN *= *refmta OCSP Signer" "$work/text" &&
	grep -q "Subject: CN *= *refmta Test Intermediate CA" "$work/text"
verdict "mint --extra-certs inter-ca.pem: the response carries the signer and the intermediate" \
	"$work/text" $?
openssl ocsp -respin "$work/extra.der" -CAfile "$P/ca-bundle.pem" -issuer "$P/inter-ca.pem" \
	-cert "$P/mx-rsa.pem" >"$work/out" 2>&1 && grep -q "mx-rsa.pem: good" "$work/out" &&
	grep -q "Response verify OK" "$work/out"
verdict "mint --extra-certs: openssl ocsp -respin verifies it with the root alone" "$work/out" $?
bin/fakeocsp mint --cert "$P/mx-rsa.pem" --issuer "$P/inter-ca.pem" --signer "$P/ocsp-signer.pem" \
	--key "$P/ocsp-signer.key" --status good --out "$work/x.der" \
	--extra-certs "$P/index.txt" >"$work/out" 2>&1
[ $? -eq 1 ] && grep -q "^fakeocsp: .*index.txt: no PEM certificate" "$work/out"
verdict "mint --extra-certs with a file without certificates: exit 1" "$work/out" $?
bin/fakeocsp mint --cert "$P/mx-rsa.pem" --status good --out "$work/x.der" >"$work/out" 2>&1
[ $? -eq 2 ] && grep -q "^fakeocsp: mint needs" "$work/out"
verdict "mint without --issuer: usage error, exit 2" "$work/out" $?
bin/fakeocsp serve --listen 127.0.0.1:0 --issuer "$P/inter-ca.pem" --signer "$P/ocsp-signer.pem" \
	--key "$P/ocsp-signer.key" --index "$P/ca-bundle.pem" >"$work/out" 2>&1
[ $? -eq 1 ] && grep -q "^fakeocsp: .*ca-bundle.pem:1: " "$work/out"
verdict "serve with a bad index: \"fakeocsp: FILE:LINE: ...\", exit 1" "$work/out" $?
bin/fakeocsp serve --listen 192.0.2.1:80 --issuer "$P/inter-ca.pem" --signer "$P/ocsp-signer.pem" \
	--key "$P/ocsp-signer.key" --index "$P/index.txt" >"$work/out" 2>&1
[ $? -eq 1 ] && grep -q "loopback addresses only" "$work/out"
verdict "serve refuses a non-loopback address" "$work/out" $?

if grep -Eq "AddressSanitizer|runtime error|LeakSanitizer" "$work/ocsp.err"; then
	not_ok "no sanitizer report" "$work/ocsp.err"
else
	ok "no sanitizer report"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
