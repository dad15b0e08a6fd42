#!/usr/bin/env bash
# ocsp_fetch_test.sh - `refmta ocsp-fetch` against bin/fakeocsp and its
# faults (docs/ocsp.md "Fetching"), on each backend: a good answer replaces
# the file (exit 0); revoked keeps it (exit 1); garbage, an expired signer
# and a bad signature keep it (exit 2); a slow responder (delay past
# --timeout) and a responder that is down keep it (exit 3).  The kept file
# must be byte for byte the one before.  Prints TAP.
#
#   tests/e2e/ocsp_fetch_test.sh [--build DIR]
#
# Loopback only, ephemeral ports, each fakeocsp stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=build
[ "${1:-}" = --build ] && build=$2
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh
P=$REFMTA_PKI
ocsp_pid=

stop_ocsp() {
	if [ -n "$ocsp_pid" ]; then
		kill -TERM "$ocsp_pid" 2>/dev/null
		wait "$ocsp_pid" 2>/dev/null
		ocsp_pid=
	fi
}
trap 'stop_ocsp; e2e_cleanup' EXIT

start_ocsp() { # start_ocsp [FAULT...]: sets $ocsp_port
	local line args=()
	for f in "$@"; do args+=(--fault "$f"); done
	rm -f "$work/ocsp.ready"
	mkfifo "$work/ocsp.ready"
	bin/fakeocsp serve --listen 127.0.0.1:0 --issuer "$P/inter-ca.pem" \
		--signer "$P/ocsp-signer.pem" --key "$P/ocsp-signer.key" --index "$P/index.txt" \
		--log "$work/ocsp.log" "${args[@]}" >"$work/ocsp.ready" 2>>"$work/ocsp.err" &
	ocsp_pid=$!
	IFS= read -r -t 10 line <"$work/ocsp.ready" || return 1
	ocsp_port=${line##*127.0.0.1:}
}

cat >"$work/refmta.conf" <<CONF
spool_directory = spool
log_file        = log/main.log
run_as_root     = true
tls_certificate = $P/mx-rsa.pem
tls_privatekey  = $P/mx-rsa.key
tls_ocsp_file   = $work/mx.der
CONF
EXP=$P/ocsp-signer-expired.pem,$P/ocsp-signer-expired.key

# case: NAME EXPECTED-EXIT FILE-REPLACED(yes|no) FETCH-ARGS -- FAULTS...
cases=(
	"good|0|yes||"
	"revoked|1|no||status=revoked"
	"garbage|2|no||garbage"
	"expired-signer|2|no||expired-signer=$EXP"
	"bad-signature|2|no||bad-signature"
	"slow|3|no|--timeout 1|delay=3s"
	"down|3|no||DOWN"
)
echo "1..$((2 * ${#cases[@]} + 2))"
for backend in openssl gnutls; do
	for c in "${cases[@]}"; do
		IFS='|' read -r name want replaced fargs fault <<<"$c"
		printf 'old bytes\n' >"$work/mx.der"
		cp "$work/mx.der" "$work/before"
		if [ "$fault" = DOWN ]; then
			# A port nobody listens on: take one fakeocsp had, after it stopped.
			start_ocsp && stop_ocsp
		elif [ -n "$fault" ]; then
			start_ocsp "$fault"
		else
			start_ocsp
		fi
		# shellcheck disable=SC2086
		timeout 30 bin/refmta -c "$work/refmta.conf" --backend "$backend" ocsp-fetch \
			--url "http://127.0.0.1:$ocsp_port/" $fargs >"$work/out" 2>&1
		got=$?
		stop_ocsp
		if [ "$replaced" = yes ]; then
			cmp -s "$work/mx.der" "$work/before" && same=yes || same=no
			[ "$same" = no ] && openssl ocsp -respin "$work/mx.der" -resp_text -noverify 2>/dev/null |
				grep -q "Cert Status: good" || same=yes
			want_same=no
		else
			cmp -s "$work/mx.der" "$work/before" && same=yes || same=no
			want_same=yes
		fi
		echo "# $backend $name: exit $got: $(head -1 "$work/out")"
		if [ "$got" = "$want" ] && [ "$same" = "$want_same" ]; then
			ok "$backend: $name: exit $want, file $([ $want_same = yes ] && echo kept || echo replaced)"
		else
			not_ok "$backend: $name: exit $got (want $want), file kept=$same" "$work/out"
		fi
	done
done

# A "PEM" item holds the whole chain's responses (docs/ocsp.md "Responses
# for the chain"): fetching the leaf's would drop the others, so it is
# left alone, exit 64, even with a good responder up.
sed 's|^tls_ocsp_file .*|tls_ocsp_file   = PEM '"$work"'/chain.pem|' "$work/refmta.conf" >"$work/pem.conf"
for backend in openssl gnutls; do
	printf -- '-----BEGIN OCSP RESPONSE-----\nb2xk\n-----END OCSP RESPONSE-----\n' >"$work/chain.pem"
	cp "$work/chain.pem" "$work/before"
	start_ocsp
	timeout 30 bin/refmta -c "$work/pem.conf" --backend "$backend" ocsp-fetch \
		--url "http://127.0.0.1:$ocsp_port/" >"$work/out" 2>&1
	got=$?
	stop_ocsp
	if [ "$got" = 64 ] && cmp -s "$work/chain.pem" "$work/before" &&
		grep -q "a PEM item holds the responses of the whole chain" "$work/out"; then
		ok "$backend: PEM item: exit 64, file kept"
	else
		not_ok "$backend: PEM item: exit $got (want 64)" "$work/out"
	fi
done
exit $((failed > 0))
