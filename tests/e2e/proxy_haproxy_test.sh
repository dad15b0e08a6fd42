#!/usr/bin/env bash
# proxy_haproxy_test.sh - refmta behind a real HAProxy (Debian's package):
# the PROXY protocol end to end (docs/proxy.md).  HAProxy runs on loopback
# with a configuration of its own, one frontend whose backend sends a v1
# header (send-proxy) and one that sends v2 (send-proxy-v2), both
# connecting to refmta from 127.0.0.3, the only address in
# proxy_required_hosts.  swaks sends mail through each from 127.0.0.5; the
# log must show that client and PRX=127.0.0.3.  Then the per-host limit is
# counted on the real client behind the proxy.  Every case runs on both
# refmta backends.  Prints TAP; exit 0 only when every case passed.
#
#   tests/e2e/proxy_haproxy_test.sh [--build DIR]
#
# Loopback only; HAProxy and refmta are stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=build
[ "${1:-}" = --build ] && build=$2
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

haproxy_pid=
stop_haproxy() {
	if [ -n "$haproxy_pid" ] && kill -0 "$haproxy_pid" 2>/dev/null; then
		kill -TERM "$haproxy_pid" 2>/dev/null
		wait "$haproxy_pid" 2>/dev/null
	fi
	haproxy_pid=
}
trap 'stop_haproxy; e2e_cleanup' EXIT

write_config() { # write_config DIR EXTRA-OPTIONS
	mkdir -p "$1"
	cat >"$1/refmta.conf" <<CONF
primary_hostname     = mx.example.test
spool_directory      = spool
log_file             = log/main.log
run_as_root          = true
worker_processes     = 4
tls_certificate      = $REFMTA_PKI/mx-rsa.pem
tls_privatekey       = $REFMTA_PKI/mx-rsa.key
proxy_required_hosts = 127.0.0.3
log_selector         = +proxy
local_domains        = example.test
$2

acl_smtp_rcpt:
  accept  domains = example.test
CONF
}

# Wait (at most 5 s) until something accepts on 127.0.0.1:$1.
wait_port() {
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# HAProxy in front of refmta's $port: frontends on $p1 (v1) and $p2 (v2).
start_haproxy() {
	local tries
	for tries in 1 2 3 4 5; do
		p1=$(shuf -i 20000-45000 -n 1)
		p2=$((p1 + 1))
		cat >"$work/haproxy.cfg" <<CFG
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend v1
    bind 127.0.0.1:$p1
    default_backend refmta_v1

frontend v2
    bind 127.0.0.1:$p2
    default_backend refmta_v2

backend refmta_v1
    server mx 127.0.0.1:$port send-proxy source 127.0.0.3

backend refmta_v2
    server mx 127.0.0.1:$port send-proxy-v2 source 127.0.0.3
CFG
		haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
		haproxy_pid=$!
		if wait_port "$p1" && wait_port "$p2" && kill -0 "$haproxy_pid" 2>/dev/null; then
			return 0
		fi
		stop_haproxy
	done
	return 1
}

swaks_via() { # swaks_via PORT SOURCE [SWAKS-OPTIONS...]
	local p=$1 src=$2
	shift 2
	swaks --server "127.0.0.1:$p" --local-interface "$src" --helo client.test \
		--from alice@client.test --to bob@example.test --timeout 10 "$@"
}

if ! command -v haproxy >/dev/null || ! command -v swaks >/dev/null; then
	skip "refmta behind HAProxy" "haproxy or swaks not installed (ci/deps installs both)"
	exit 0
fi

for backend in openssl gnutls; do
	dir="$work/$backend"
	write_config "$dir" "smtp_accept_max_per_host = 1"
	if ! start_server "$dir/refmta.conf" "$backend"; then
		not_ok "$backend: refmta starts"
		continue
	fi
	if ! start_haproxy; then
		not_ok "$backend: haproxy starts" "$work/haproxy.log"
		stop_server
		continue
	fi
	log="$dir/log/main.log"

	check "$backend: mail through HAProxy send-proxy (v1)" "$work/out" \
		swaks_via "$p1" 127.0.0.5
	if grep -Eq '<= alice@client.test H=client.test \[127.0.0.5\]:[0-9]+ P=esmtp PRX=127.0.0.3 ' "$log"; then
		ok "$backend: v1: the log shows the client 127.0.0.5 and PRX=127.0.0.3"
	else
		not_ok "$backend: v1: the log shows the client 127.0.0.5 and PRX=127.0.0.3" "$log"
	fi

	check "$backend: mail through HAProxy send-proxy-v2, STARTTLS after the header" \
		"$work/out" swaks_via "$p2" 127.0.0.6 -tls
	if grep -Eq '<= alice@client.test H=client.test \[127.0.0.6\]:[0-9]+ P=esmtps PRX=127.0.0.3 X=TLS' "$log"; then
		ok "$backend: v2: the log shows the client 127.0.0.6, PRX=127.0.0.3 and TLS"
	else
		not_ok "$backend: v2: the log shows the client 127.0.0.6, PRX=127.0.0.3 and TLS" "$log"
	fi

	# Per-host limit (1) on the real client: 127.0.0.1 holds a session
	# through the proxy; a second from 127.0.0.1 is refused, one from
	# 127.0.0.7 through the same proxy is not (the proxy's own address is
	# exempt: all three come from 127.0.0.3).
	exec 3<>"/dev/tcp/127.0.0.1/$p2"
	IFS= read -r -t 10 banner <&3
	if [[ "$banner" == 220* ]]; then
		ok "$backend: a first session from 127.0.0.1 through the proxy"
	else
		not_ok "$backend: a first session from 127.0.0.1 through the proxy"
	fi
	exec 4<>"/dev/tcp/127.0.0.1/$p2"
	IFS= read -r -t 10 second <&4
	exec 4<&-
	if [[ "$second" == "421 4.7.0 "*"Too many connections from your host"* ]]; then
		ok "$backend: a second from 127.0.0.1 gets 421 4.7.0 (per-host limit on the real client)"
	else
		echo "# got: $second"
		not_ok "$backend: a second from 127.0.0.1 gets 421 4.7.0 (per-host limit on the real client)"
	fi
	check "$backend: a session from 127.0.0.7 through the same proxy is served" \
		"$work/out" swaks_via "$p2" 127.0.0.7
	printf 'QUIT\r\n' >&3
	exec 3<&-
	if grep -Eq 'Connection from \[127.0.0.1\]:[0-9]+ refused: too many connections from that IP' "$log"; then
		ok "$backend: the refusal is logged with the real client's address"
	else
		not_ok "$backend: the refusal is logged with the real client's address" "$log"
	fi

	stop_haproxy
	stop_server
done

echo "1..$n"
[ "$failed" -eq 0 ]
