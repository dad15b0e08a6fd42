#!/usr/bin/env bash
# deadline_test.sh - end-to-end tests of the deadlines that bound a session
# whatever the peer does (issue 13, DESIGN.md principle 5, docs/smtp.md
# "Deadlines"): a client trickling its TLS handshake after STARTTLS, a
# server trickling its handshake to the smtp transport (each backend on
# each side), the whole-session limit (smtp_session_timeout), a client that
# never reads (the write deadline), the 421 of sessions cut at the SIGTERM
# drain timeout, and the worker pool shrinking back after a burst, also
# while sessions keep coming (worker_idle_timeout).  Prints TAP and
# "# figure:" lines for docs/reliability.md.
#
#   tests/e2e/deadline_test.sh [--build DIR]
#
# Loopback only; every process is one this script started, stopped by PID;
# each step bounded in count and time (about 50 s in all).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=build
[ "${1:-}" = --build ] && build=$2
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh
load="$PWD/$build/tests/smtp_load"

verdict() { # verdict DESCRIPTION DETAIL-FILE STATUS-OF-THE-CHECK
	if [ "$3" -eq 0 ]; then ok "$1"; else not_ok "$1" "$2"; fi
}
ms_now() { date +%s%3N; }
wait_log() { # wait_log FILE REGEX SECONDS
	local i
	for i in $(seq 1 $(($3 * 20))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

conf() { # conf DIR EXTRA
	mkdir -p "$1"
	cat >"$1/refmta.conf" <<EOF
primary_hostname   = deadline.example.test
spool_directory    = spool
log_file           = log/main.log
worker_processes   = 2
local_domains      = example.test
mailbox_directory  = mail
run_as_root        = true
$2

acl_smtp_rcpt:
  accept  domains = example.test
EOF
}

echo "# a client trickling its TLS handshake (server side, each backend)"
for backend in openssl gnutls; do
	d="$work/hs-$backend"
	conf "$d" "tls_certificate = $REFMTA_PKI/mx-rsa.pem
tls_privatekey = $REFMTA_PKI/mx-rsa.key
smtp_receive_timeout = 6s
smtp_command_timeout = 2s"
	start_server "$d/refmta.conf" "$backend" || exit 1
	# A record header announcing 512 octets, then one octet every 400 ms
	# for 8 s: each restarts the 6 s idle timeout.
	script=("expect 220" "send EHLO slow.test" "expect 250" "send STARTTLS" "expect 220"
		'raw \x16\x03\x01\x02\x00')
	for _ in $(seq 1 20); do script+=("raw A" "sleep 400"); done
	script+=("wait-close")
	t0=$(ms_now)
	"$probe" "127.0.0.1:$port" >"$work/out" 2>&1 < <(printf '%s\n' "${script[@]}")
	t1=$(ms_now)
	echo "# figure: server $backend, a ClientHello trickled (smtp_command_timeout = 2s): closed after $((t1 - t0)) ms"
	wait_log "$d/log/main.log" "closed (TLS handshake deadline passed (smtp_command_timeout))" 5
	rc=$?
	[ "$rc" -eq 0 ] && [ $((t1 - t0)) -le 4500 ]
	verdict "server $backend: a trickled handshake is cut at the command deadline (2 s), not after the trickle (8 s)" "$d/log/main.log" $?
	stop_server
done

echo "# a server trickling its TLS handshake (smtp transport, each backend)"
for backend in openssl gnutls; do
	d="$work/client-$backend"
	rm -f "$work/slowport"
	timeout 30 "$load" tlsslow "$work/slowport" 20 300 >"$work/slow.out" 2>&1 &
	slow_pid=$!
	for _ in $(seq 1 100); do [ -s "$work/slowport" ] && break; sleep 0.05; done
	conf "$d" "router r:
  driver = manualroute
  route_list = * 127.0.0.1:$(cat "$work/slowport")
  transport = smtp

transport smtp:
  driver = smtp
  command_timeout = 2s
  hosts_require_tls = 127.0.0.1"
	sed -i 's/^local_domains .*/local_domains = local.test/' "$d/refmta.conf"
	printf 'Subject: slow\n\nbody\n' |
		bin/refmta -c "$d/refmta.conf" send -f a@example.test b@far.test >/dev/null 2>&1
	t0=$(ms_now)
	timeout 30 bin/refmta -c "$d/refmta.conf" --backend "$backend" queue-run >/dev/null 2>&1
	t1=$(ms_now)
	wait "$slow_pid"
	echo "# figure: smtp transport $backend, a ServerHello trickled (command_timeout = 2s): deferred after $((t1 - t0)) ms ($(cat "$work/slow.out"))"
	grep -q "== b@far.test R=r T=smtp defer.*handshake failed.*timed out" "$d/log/main.log" &&
		[ $((t1 - t0)) -le 5000 ]
	verdict "smtp transport $backend: a trickled server handshake is cut at command_timeout (2 s), the message deferred" "$d/log/main.log" $?
done

echo "# the whole session (smtp_session_timeout)"
d="$work/session"
conf "$d" "smtp_receive_timeout = 10s
smtp_command_timeout = 5s
smtp_session_timeout = 3s"
start_server "$d/refmta.conf" || exit 1
t0=$(ms_now)
"$probe" "127.0.0.1:$port" >"$work/out" 2>&1 <<EOF
expect 220
send EHLO slow.test
expect 250
send NOOP
expect 250
sleep 1000
send NOOP
expect 250
sleep 900
expect 421 4.4.2
wait-close
EOF
rc=$?
t1=$(ms_now)
echo "# figure: slow NOOPs, each within smtp_command_timeout = 5s (smtp_session_timeout = 3s): 421 after $((t1 - t0)) ms"
[ "$rc" -eq 0 ] && [ $((t1 - t0)) -ge 2500 ] && [ $((t1 - t0)) -le 4500 ] &&
	wait_log "$d/log/main.log" "closed (session deadline passed (smtp_session_timeout))" 5
verdict "a session of slow commands gets 421 4.4.2 at smtp_session_timeout" "$work/out" $?

echo "# a client that never reads (the write deadline)"
stop_server
conf "$d" "smtp_receive_timeout = 2s
smtp_command_timeout = 2s"
start_server "$d/refmta.conf" || exit 1
t0=$(ms_now)
timeout 30 "$load" noread "127.0.0.1:$port" 25 127.0.0.2 >"$work/noread.out" 2>&1 &
noread_pid=$!
wait_log "$d/log/main.log" "closed (write deadline passed: the client does not read)" 20
rc=$?
t1=$(ms_now)
kill "$noread_pid" 2>/dev/null
wait "$noread_pid" 2>/dev/null
echo "# figure: a client sending RSETs and never reading (smtp_receive_timeout = 2s): closed after $((t1 - t0)) ms ($(cat "$work/noread.out"))"
# The time includes the server working through the RSETs the kernel buffers
# took (megabytes) before its replies fill the client's window: seconds on
# a busy machine.  tests/deadline_test.c measures the deadline itself.
[ "$rc" -eq 0 ] && [ $((t1 - t0)) -le 20000 ]
verdict "a client that never reads is closed at the write deadline (smtp_receive_timeout), logged so" "$d/log/main.log" $?
stop_server

echo "# SIGTERM: sessions cut at the drain timeout get 421 4.3.2"
d="$work/drain"
conf "$d" "smtp_drain_timeout = 2s"
start_server "$d/refmta.conf" || exit 1
"$probe" "127.0.0.1:$port" >"$work/drain.out" 2>&1 <<EOF &
expect 220
send EHLO held.test
expect 250
send MAIL FROM:<a@held.test>
expect 250
expect 421 Service shutting down
wait-close
EOF
probe_pid=$!
wait_log "$d/log/main.log" "<= \|MAIL\|held.test" 1 # nothing logs MAIL: a short settle
sleep 0.5
master=$server_pid
t0=$(ms_now)
kill -TERM "$master"
wait "$probe_pid"
rc=$?
wait "$master" 2>/dev/null
t1=$(ms_now)
server_pid=
echo "# figure: SIGTERM, one session mid-transaction (smtp_drain_timeout = 2s): 421 4.3.2, master gone after $((t1 - t0)) ms"
[ "$rc" -eq 0 ] && grep -q "closed (shut down at the drain timeout (smtp_drain_timeout))" "$d/log/main.log" &&
	grep -q "SIGTERM: drain timeout (2s): 1 sessions cut, 0 workers killed" "$d/log/main.log" &&
	[ $((t1 - t0)) -le 4500 ]
verdict "SIGTERM: a session still running at smtp_drain_timeout gets 421 4.3.2 and ends by itself" "$work/drain.out" $?

# grow_pool DIR: a server (worker_processes = 2, worker_idle_timeout = 2s)
# whose pool 12 idle sessions at once have grown, then ended; sets $grown.
grow_pool() {
	local burst_pid burst_in
	conf "$1" "worker_idle_timeout = 2s
smtp_accept_max = 30"
	start_server "$1/refmta.conf" || exit 1
	coproc BURST { timeout 30 "$load" idle "127.0.0.1:$port" 10 127.0.0.2:12 2>&1; }
	burst_pid=$!
	burst_in=${BURST[1]}
	IFS= read -r -t 15 _ <&"${BURST[0]}"
	grown=$(pgrep -P "$server_pid" | grep -c .)
	eval "exec $burst_in>&-"
	wait "$burst_pid"
}

echo "# the pool shrinks back after a burst (worker_idle_timeout)"
d="$work/shrink"
grow_pool "$d"
t0=$(ms_now)
left=$grown
for _ in $(seq 1 160); do
	left=$(pgrep -P "$server_pid" | grep -c .)
	[ "$left" -le 3 ] && break
	sleep 0.05
done
t1=$(ms_now)
echo "# figure: 12 sessions grew the pool to $grown workers; after they ended, $left within $((t1 - t0)) ms (worker_idle_timeout = 2s)"
[ "$grown" -ge 12 ] && [ "$left" -le 3 ] && [ $((t1 - t0)) -ge 1000 ]
verdict "the pool grew to $grown for 12 sessions and shrank to $left (worker_processes = 2, one spare) after worker_idle_timeout" "$work/out" $?
stop_server

# The same burst, then a session every 250 ms for 5 s.  Each connection
# must wake one idle worker, not all: a wake-up restarts a worker's idle
# timer, so with every idle worker woken by every connection none ever
# reached worker_idle_timeout and the grown pool stayed (server/daemon.c).
echo "# the pool shrinks while connections keep coming (worker_idle_timeout)"
d="$work/trickle"
grow_pool "$d"
sessions=0
for _ in $(seq 1 20); do
	printf '%s\n' "expect 220" "send QUIT" "expect 221" |
		timeout 10 "$probe" "127.0.0.1:$port" >>"$work/trickle.out" 2>&1 &&
		sessions=$((sessions + 1))
	sleep 0.25
done
left=$(pgrep -P "$server_pid" | grep -c .)
echo "# figure: 12 sessions grew the pool to $grown workers; then $sessions sessions one every 250 ms for 5 s, after which $left workers were left (worker_idle_timeout = 2s)"
[ "$grown" -ge 12 ] && [ "$sessions" -eq 20 ] && [ "$left" -le 3 ]
verdict "the pool grew to $grown, and shrank to $left while a session came every 250 ms (each connection wakes one idle worker)" "$work/trickle.out" $?
stop_server

echo "1..$n"
[ "$failed" -eq 0 ]
