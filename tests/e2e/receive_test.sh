#!/usr/bin/env bash
# receive_test.sh - end-to-end tests of refmta's receive path, driven by real
# clients: swaks (OpenSSL through Net::SSLeay), gnutls-cli (GnuTLS) and
# smtp_probe (tests/e2e/smtp_probe.c: either backend, and the misbehaviour
# no polite client shows).  Every case runs against `bin/refmta serve` on
# each server backend.  Prints TAP; exit 0 only when every case passed.
#
#   tests/e2e/receive_test.sh [--build DIR]
#
# Loopback only, ephemeral ports, every server stopped by PID at exit.
# These cases move into runtest scenarios once the harness lands.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=build
[ "${1:-}" = --build ] && build=$2
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

write_config() { # write_config DIR EXTRA-OPTIONS
	mkdir -p "$1"
	cat >"$1/refmta.conf" <<EOF
primary_hostname   = mx.example.test
spool_directory    = spool
log_file           = log/main.log
run_as_root        = true
worker_processes   = 4
tls_certificate    = $REFMTA_PKI/mx-rsa.pem : $REFMTA_PKI/mx-ecdsa.pem : $REFMTA_PKI/other-ecdsa.pem
tls_privatekey     = $REFMTA_PKI/mx-rsa.key : $REFMTA_PKI/mx-ecdsa.key : $REFMTA_PKI/other-ecdsa.key
tls_required_hosts = 127.0.0.2
smtp_receive_timeout = 2s
local_domains      = example.test
mailbox_directory  = mail
$2

acl_smtp_mail:
  warn    log_message = SNI=\$tls_in_sni cipher=\$tls_in_cipher
  accept

acl_smtp_rcpt:
  accept  domains = example.test
  deny    message = relay not permitted
EOF
}

# A whole polite transaction for smtp_probe, after the greeting and EHLO.
transaction() {
	cat <<EOF
send MAIL FROM:<sender@client.test>
expect 250
send RCPT TO:<$1@example.test>
expect 250
send DATA
expect 354
send Subject: $1
send
send body of $1
send .
expect 250 2.0.0 OK id=
send QUIT
expect 221
EOF
}

gnutls_cli_session() { # gnutls_cli_session PORT RCPT
	local l rc=1
	coproc GCLI { timeout -k 2 20 gnutls-cli --starttls-proto=smtp --port "$1" \
		--x509cafile "$REFMTA_PKI/ca-bundle.pem" --verify-hostname mx.example.test \
		--sni-hostname mx.example.test 127.0.0.1 2>&1; }
	local gpid=$!
	# A coproc that already ended has no fds left: that is a failure, not a crash.
	local in=${GCLI[1]:-} outfd=${GCLI[0]:-}
	if [ -z "$in" ] || [ -z "$outfd" ]; then
		echo "gnutls-cli ended at once"
		wait "$gpid" 2>/dev/null
		return 1
	fi
	reply() { while IFS= read -r -t 10 l <&"$outfd"; do echo "S: $l"; case "$l" in [0-9][0-9][0-9]" "*) return 0 ;; esac; done; return 1; }
	# CRLF written here: gnutls-cli --crlf rewrites only the first LF of each read.
	{ printf 'EHLO gnutls-cli.test\r\n' >&"$in" && reply &&
	  printf 'MAIL FROM:<g@client.test>\r\n' >&"$in" && reply &&
	  printf 'RCPT TO:<%s@example.test>\r\n' "$2" >&"$in" && reply &&
	  printf 'DATA\r\n' >&"$in" && reply &&
	  printf 'Subject: gnutls-cli\r\n\r\nhello\r\n.\r\n' >&"$in" && reply >"$work/gcli.last" &&
	  cat "$work/gcli.last" && grep -q '^S: 250 2.0.0 OK id=' "$work/gcli.last" &&
	  printf 'QUIT\r\n' >&"$in" && reply; } && rc=0
	exec {in}>&- 2>/dev/null
	wait "$gpid" 2>/dev/null
	return $rc
}

echo "# refmta receive path, end to end"
for backend in openssl gnutls; do
	other=gnutls
	[ $backend = gnutls ] && other=openssl
	dir="$work/$backend"
	write_config "$dir" ""
	start_server "$dir/refmta.conf" $backend || { not_ok "$backend: server starts"; continue; }
	log="$dir/log/main.log"
	t="server $backend:"

	check "$t swaks, plain" "$work/out" \
		swaks --server 127.0.0.1 --port "$port" --helo swaks.test --from s@client.test \
		--to alice@example.test --timeout 10
	check "$t swaks, STARTTLS (OpenSSL client)" "$work/out" \
		swaks --server 127.0.0.1 --port "$port" --helo swaks.test --from s@client.test \
		--to alice@example.test --tls --timeout 10
	check "$t gnutls-cli --starttls-proto=smtp, verified (GnuTLS client)" "$work/out" \
		gnutls_cli_session "$port" bob

	check "$t smtp_probe STARTTLS as $other client, ECDSA chosen by sigalgs" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send STARTTLS" "expect 220" "starttls $other mx.example.test ECDSA" \
			"tls-expect peer-key ECDSA" "tls-expect verify ok" "send EHLO probe.test" \
			"expect 250 HELP"; transaction ecdsa)
	check "$t smtp_probe STARTTLS, RSA chosen by sigalgs" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send STARTTLS" "expect 220" "starttls $other mx.example.test RSA" \
			"tls-expect peer-key RSA" "tls-expect verify ok" "send EHLO probe.test" \
			"expect 250"; transaction rsa)
	check "$t SNI mail.other.test selects that certificate, seen as \$tls_in_sni" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send STARTTLS" "expect 220" "starttls $other mail.other.test" \
			"tls-expect verify ok" "send EHLO probe.test" "expect 250"; transaction sni)
	if grep -q "Warning: SNI=mail.other.test cipher=TLS_" "$log"; then ok "$t \$tls_in_sni logged"
	else not_ok "$t \$tls_in_sni logged" "$log"; fi

	# RFC 2920 3.1: EHLO ends a group; input after it is a synchronization error.
	check "$t pipelining synchronization error: 554, then close" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" \
			'raw EHLO probe.test\r\nNOOP\r\n' "expect 554 SMTP synchronization error" "wait-close")
	if grep -q "SMTP protocol synchronization error (next input sent too soon)" "$log"; then
		ok "$t synchronization error logged"
	else not_ok "$t synchronization error logged" "$log"; fi

	# RFC 3207 4.2, CVE-2011-0411: plaintext pipelined after STARTTLS is dropped.
	check "$t STARTTLS injection: pipelined RSET is never executed" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" 'raw STARTTLS\r\nRSET\r\n' "expect 220" "starttls $other mx.example.test" \
			"send EHLO probe.test" "expect 250 HELP" "send NOOP" "expect 250 2.0.0 OK")
	if grep -q "discarded 6 octets of plaintext pipelined after STARTTLS" "$log"; then
		ok "$t injected octets discarded and logged"
	else not_ok "$t injected octets discarded and logged" "$log"; fi
	check "$t after STARTTLS, EHLO is required again" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send STARTTLS" "expect 220" "starttls $other mx.example.test" \
			"send MAIL FROM:<a@client.test>" "expect 503 5.5.1")

	# SMTP smuggling defence: a bare LF in DATA refuses the message, and
	# "\n.\n" does not end it.
	check "$t bare LF in DATA: 554 after CRLF.CRLF, nothing smuggled" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send MAIL FROM:<a@client.test>" "expect 250" \
			"send RCPT TO:<smuggle@example.test>" "expect 250" "send DATA" "expect 354" \
			'raw Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@client.test>\r\n.\r\n' \
			"expect 554 5.6.0" "send QUIT" "expect 221")
	check "$t command line over 512 octets: 500 5.5.2" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send NOOP $(head -c 600 /dev/zero | tr '\0' x)" "expect 500 5.5.2" \
			"send QUIT" "expect 221")
	check "$t 101st recipient: 452 4.5.3" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send MAIL FROM:<a@client.test>" "expect 250"
			for i in $(seq 1 100); do echo "send RCPT TO:<r$i@example.test>"; echo "expect 250"; done
			printf '%s\n' "send RCPT TO:<r101@example.test>" "expect 452 4.5.3" "send QUIT" "expect 221")
	check "$t SIZE over the limit: 552 5.3.4" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send MAIL FROM:<a@client.test> SIZE=999999999999" "expect 552 5.3.4")
	check "$t DSN parameters accepted, bad NOTIFY 501" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send MAIL FROM:<a@client.test> RET=HDRS ENVID=id+2B1" "expect 250" \
			"send RCPT TO:<d@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;d+40example.test" \
			"expect 250" "send RCPT TO:<e@example.test> NOTIFY=NEVER,DELAY" "expect 501 5.5.4")
	check "$t BDAT (CHUNKING) delivery" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "send EHLO probe.test" \
			"expect 250" "send MAIL FROM:<a@client.test>" "expect 250" \
			"send RCPT TO:<chunk@example.test>" "expect 250" \
			'raw BDAT 12\r\nSubject: c\r\n' "expect 250" \
			'raw BDAT 8 LAST\r\n\r\nbody\r\n' "expect 250 2.0.0 OK id=" "send QUIT" "expect 221")
	check "$t TLS required before MAIL for tls_required_hosts (127.0.0.2)" "$work/out" \
		env SMTP_PROBE_SOURCE=127.0.0.2 "$probe" "127.0.0.1:$port" < <(printf '%s\n' \
			"expect 220" "send EHLO probe.test" "expect 250" "send MAIL FROM:<a@client.test>" \
			"expect 530 5.7.0" "send STARTTLS" "expect 220" "starttls $other mx.example.test" \
			"send EHLO probe.test" "expect 250" "send MAIL FROM:<a@client.test>" "expect 250")
	check "$t idle client: 421 4.4.2 after smtp_receive_timeout" "$work/out" \
		"$probe" "127.0.0.1:$port" < <(printf '%s\n' "expect 220" "expect 421 4.4.2" "wait-close")

	# Everything accepted is in the spool before its 250, and queue-run delivers it.
	if bin/refmta -c "$dir/refmta.conf" queue-run >"$work/out" 2>&1 &&
		[ "$(ls "$dir/mail/alice/new" 2>/dev/null | wc -l)" -eq 2 ]; then
		ok "$t queue-run delivers accepted mail to maildir"
	else not_ok "$t queue-run delivers accepted mail to maildir" "$work/out"; fi
	if ls "$dir/mail/smuggle" >/dev/null 2>&1; then not_ok "$t the smuggling message was not delivered"
	else ok "$t the smuggling message was not delivered"; fi
	if [ "$(sed -n '/^Subject: c$/,$p' "$dir"/mail/chunk/new/* 2>/dev/null)" = $'Subject: c\n\nbody' ]; then
		ok "$t BDAT message delivered intact"
	else not_ok "$t BDAT message delivered intact" "$log"; fi

	stop_server
	# A sanitizer report or a crashed worker fails the run even if every reply was right.
	if grep -q "ended (status" "$log" || grep -Eq "AddressSanitizer|runtime error|LeakSanitizer" "$work/server.err"; then
		cat "$work/server.err" >>"$log"
		not_ok "$t no worker crashed, no sanitizer report" "$log"
	else ok "$t no worker crashed, no sanitizer report"; fi
	if pgrep -f "refmta -c $dir/refmta.conf" >/dev/null; then not_ok "$t no process left after SIGTERM"
	else ok "$t no process left after SIGTERM"; fi
done

echo "1..$n"
[ "$failed" -eq 0 ]
