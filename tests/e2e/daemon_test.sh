#!/usr/bin/env bash
# daemon_test.sh - end-to-end tests of `refmta serve` as a process: SIGHUP
# reloads (and refuses a broken config), SIGTERM lets a session finish,
# a killed worker is replaced, connection limits, privilege drop, the
# bad-command limit, and test mode's byte-identical log.  Prints TAP.
#
#   tests/e2e/daemon_test.sh [--build DIR]
#
# Loopback only; every process is one this script started, stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=build
[ "${1:-}" = --build ] && build=$2
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

verdict() { # verdict DESCRIPTION DETAIL-FILE STATUS-OF-THE-CHECK
	if [ "$3" -eq 0 ]; then ok "$1"; else not_ok "$1" "$2"; fi
}

# Wait (bounded) until the log has a line matching $2.
wait_log() {
	for _ in $(seq 1 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

workers_of() { pgrep -P "$1" | sort; }

conf() { # conf DIR HOSTNAME EXTRA
	mkdir -p "$1"
	cat >"$1/refmta.conf" <<EOF
primary_hostname   = $2
spool_directory    = spool
log_file           = log/main.log
run_as_root        = true
worker_processes   = 3
local_domains      = example.test
mailbox_directory  = mail
smtp_max_unknown_commands = 3
$3

acl_smtp_rcpt:
  accept  domains = example.test
EOF
}

greeting_is() { # greeting_is HOSTNAME
	"$probe" "127.0.0.1:$port" >"$work/out" 2>&1 <<EOF
expect 220 $1
send QUIT
expect 221
EOF
}

echo "# refmta serve as a process"
d="$work/hup"
conf "$d" one.example.test ""
start_server "$d/refmta.conf" || exit 1
greeting_is one.example.test
verdict "greeting names primary_hostname" "$work/out" $?

# SIGHUP with a good configuration: new workers, new greeting.
old_workers=$(workers_of "$server_pid")
conf "$d" two.example.test ""
kill -HUP "$server_pid"
wait_log "$d/log/main.log" "SIGHUP: configuration reloaded"
verdict "SIGHUP reloads the configuration" "$d/log/main.log" $?
for _ in $(seq 1 100); do greeting_is two.example.test && break; sleep 0.05; done
greeting_is two.example.test
verdict "after SIGHUP the greeting uses the new primary_hostname" "$work/out" $?
still=$(comm -12 <(echo "$old_workers") <(workers_of "$server_pid") | grep -c .)
[ "$still" -eq 0 ]
verdict "after SIGHUP the old workers are gone" /dev/null $?

# SIGHUP with a broken configuration: logged, nothing changes.
printf 'no_such_option = 1\n' >>"$d/refmta.conf"
kill -HUP "$server_pid"
wait_log "$d/log/main.log" "configuration not reloaded, keeping the old one: .*refmta.conf:[0-9]*: unknown option"
verdict "SIGHUP with a bad config: file:line error logged, old config kept" "$d/log/main.log" $?
greeting_is two.example.test
verdict "after the refused reload the server still answers" "$work/out" $?

# SIGHUP with a broken transport block: the whole configuration is checked
# as `check` does, the old one stays, and mail still flows.
conf "$d" two.example.test "
transport broken:
  driver = smtp
  colour = blue"
kill -HUP "$server_pid"
wait_log "$d/log/main.log" "configuration not reloaded, keeping the old one: .*refmta.conf:[0-9]*: transport broken: unknown option \"colour\""
verdict "SIGHUP with a broken transport block: file:line error logged, old config kept" "$d/log/main.log" $?
"$probe" "127.0.0.1:$port" >"$work/out" 2>&1 <<EOF
expect 220 two.example.test
send EHLO client.test
expect 250
send MAIL FROM:<a@client.test>
expect 250
send RCPT TO:<u@example.test>
expect 250
send DATA
expect 354
send Subject: after a refused reload
send .
expect 250 2.0.0 OK id=
send QUIT
expect 221
EOF
verdict "after the refused reload mail is still accepted" "$work/out" $?
conf "$d" two.example.test ""

# A worker that dies is replaced.
victim=$(workers_of "$server_pid" | head -1)
kill -KILL "$victim"
for _ in $(seq 1 100); do
	[ "$(workers_of "$server_pid" | grep -c .)" -eq 3 ] && ! workers_of "$server_pid" | grep -qx "$victim" && break
	sleep 0.05
done
[ "$(workers_of "$server_pid" | grep -c .)" -eq 3 ] && ! workers_of "$server_pid" | grep -qx "$victim"
verdict "a killed worker is restarted (3 workers again)" "$d/log/main.log" $?
wait_log "$d/log/main.log" "worker $victim ended"
verdict "the worker's death is logged" "$d/log/main.log" $?

# Too many unknown commands: 421 and close.
"$probe" "127.0.0.1:$port" >"$work/out" 2>&1 <<EOF
expect 220
send FOO
expect 500 5.5.1
send BAR
expect 500 5.5.1
send BAZ
expect 421 4.7.0
wait-close
EOF
verdict "the 3rd unknown command gets 421 4.7.0 as its one reply, then close" "$work/out" $?

# SIGTERM drains: a session in progress completes its message.
coproc SESS { "$probe" "127.0.0.1:$port" 2>&1; }
sess_pid=$!
sin=${SESS[1]}
printf '%s\n' "expect 220" "send EHLO drain.test" "expect 250" "send MAIL FROM:<a@client.test>" \
	"expect 250" >&$sin
# Wait until the server has answered MAIL: the session is really in progress.
: >"$work/out"
while IFS= read -r -t 10 l <&"${SESS[0]}"; do
	echo "$l" >>"$work/out"
	[ "$l" = "S: 250 2.1.0 OK" ] && break
done
master=$server_pid
kill -TERM "$master"
printf '%s\n' "send RCPT TO:<drain@example.test>" "expect 250" "send DATA" "expect 354" \
	"send Subject: drain" "send" "send ." "expect 250 2.0.0 OK id=" "send QUIT" \
	"expect 221" >&$sin
eval "exec $sin>&-" # the probe sees the end of its script
cat <&"${SESS[0]}" >>"$work/out" 2>/dev/null
wait "$sess_pid"
verdict "SIGTERM: the session in progress still delivers its message" "$work/out" $?
wait "$master" 2>/dev/null
server_pid=
! kill -0 "$master" 2>/dev/null && [ -z "$(pgrep -P "$master")" ]
verdict "SIGTERM: master and workers exit" /dev/null $?
grep -q "refmta daemon stopped (SIGTERM)" "$d/log/main.log"
verdict "SIGTERM logged" "$d/log/main.log" $?

# Connection limits across workers.
d="$work/limits"
conf "$d" limits.example.test "smtp_accept_max_per_host = 1"
start_server "$d/refmta.conf" || exit 1
coproc HOLD { "$probe" "127.0.0.1:$port" 2>&1; }
hold_pid=$!
hin=${HOLD[1]}
printf '%s\n' "expect 220" "send EHLO hold.test" "expect 250" >&$hin
while IFS= read -r -t 10 l <&"${HOLD[0]}"; do [ "$l" = "S: 250 HELP" ] && break; done
"$probe" "127.0.0.1:$port" >"$work/out" 2>&1 <<<"expect 421 4.7.0 limits.example.test Too many connections from your host"
verdict "smtp_accept_max_per_host = 1: a second connection gets 421 4.7.0" "$work/out" $?
SMTP_PROBE_SOURCE=127.0.0.3 "$probe" "127.0.0.1:$port" >"$work/out" 2>&1 <<<"expect 220"
verdict "another client address is still served" "$work/out" $?
printf '%s\n' "send QUIT" "expect 221" >&$hin
eval "exec $hin>&-"
cat <&"${HOLD[0]}" >/dev/null 2>&1
wait "$hold_pid"
stop_server

# Privilege drop (only meaningful as root; CI runs as root, so it runs there).
if [ "$(id -u)" -ne 0 ]; then
	skip "privilege drop to user = nobody" "needs root (CI runs as root; run make check as root to cover it)"
elif ! id nobody >/dev/null 2>&1; then
	skip "privilege drop to user = nobody" "this system has no user nobody"
else
	d="$work/user"
	conf "$d" user.example.test "user = nobody"
	start_server "$d/refmta.conf" || exit 1
	w=$(workers_of "$server_pid" | head -1)
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$w/status")" = "$(id -u nobody)" ] &&
		[ "$(awk '/^Uid:/ {print $2}' "/proc/$server_pid/status")" = "$(id -u nobody)" ]
	verdict "started as root with user = nobody: master and workers run as nobody" /dev/null $?
	"$probe" "127.0.0.1:$port" >"$work/out" 2>&1 <<EOF
expect 220
send EHLO user.test
expect 250
send MAIL FROM:<a@client.test>
expect 250
send RCPT TO:<u@example.test>
expect 250
send DATA
expect 354
send Subject: as nobody
send .
expect 250 2.0.0 OK id=
EOF
	verdict "as nobody, a message is still spooled" "$work/out" $?
	stop_server
fi

# A broken transport block: serve refuses to start, with the file:line error.
d="$work/broken-transport"
conf "$d" broken.example.test "
transport broken:
  driver = smtp
  colour = blue"
timeout 10 bin/refmta -c "$d/refmta.conf" serve --listen 127.0.0.1:0 >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "refmta.conf:[0-9]*: transport broken: unknown option \"colour\"" "$work/out"
verdict "serve with a broken transport block refuses to start (exit 1, file:line error)" "$work/out" $?

# Test mode: the same session twice gives byte-identical log lines.
for run in 1 2; do
	d="$work/test-mode-$run"
	conf "$d" tm.example.test "test_clock = 2030-01-02T03:04:05Z
test_ids = true"
	start_server "$d/refmta.conf" || exit 1
	"$probe" "127.0.0.1:$port" >"$work/out" 2>&1 <<EOF
expect 220
send EHLO tm.test
expect 250
send MAIL FROM:<a@client.test>
expect 250
send RCPT TO:<t@example.test>
expect 250
send DATA
expect 354
send Subject: test mode
send .
expect 250 2.0.0 OK id=T-000001
send QUIT
expect 221
EOF
	verdict "test mode run $run: id T-000001" "$work/out" $?
	stop_server
	bin/refmta -c "$d/refmta.conf" queue-run
	# Ports differ between runs: that is the one thing normalised.
	sed -E 's/\]:[0-9]+/]:PORT/g; s/127\.0\.0\.1:[0-9]+/127.0.0.1:PORT/g; s/pid [0-9]+/pid PID/' \
		"$d/log/main.log" >"$work/log.$run"
	cp "$d"/mail/t/new/* "$work/mail.$run"
done
diff -u "$work/log.1" "$work/log.2" >"$work/out"
verdict "test mode: logs identical between runs (timestamps 2030-01-02 03:04:05)" "$work/out" $?
grep -q "^2030-01-02 03:04:05 T-000001 <= a@client.test" "$work/log.1"
verdict "test mode: log timestamp is the frozen clock" "$work/log.1" $?
diff -u "$work/mail.1" "$work/mail.2" >"$work/out"
verdict "test mode: delivered messages byte-identical (Received: date frozen)" "$work/out" $?

# Test mode belongs to the loaded configuration: a reload's test_clock is
# the one in force for the new workers.
d="$work/test-mode-reload"
conf "$d" tm1.example.test "test_clock = 2030-01-02T03:04:05Z
test_ids = true"
start_server "$d/refmta.conf" || exit 1
conf "$d" tm2.example.test "test_clock = 2031-02-03T04:05:06Z
test_ids = true"
kill -HUP "$server_pid"
wait_log "$d/log/main.log" "SIGHUP: configuration reloaded"
for _ in $(seq 1 100); do greeting_is tm2.example.test && break; sleep 0.05; done
"$probe" "127.0.0.1:$port" >"$work/out" 2>&1 <<EOF
expect 220 tm2.example.test
send EHLO tm.test
expect 250
send MAIL FROM:<a@client.test>
expect 250
send RCPT TO:<t@example.test>
expect 250
send DATA
expect 354
send Subject: test mode after a reload
send .
expect 250 2.0.0 OK id=T-000001
send QUIT
expect 221
EOF
grep -q "^2031-02-03 04:05:06 T-000001 <= a@client.test" "$d/log/main.log"
verdict "test mode after SIGHUP: the new config's test_clock is the clock" "$d/log/main.log" $?
stop_server

# No worker crashed in any of the above (the deliberate KILL aside), no sanitizer report.
if grep -h "ended (status" "$work"/*/log/main.log | grep -v "status 0x9)" | grep -q . ||
	grep -Eq "AddressSanitizer|runtime error|LeakSanitizer" "$work/server.err"; then
	not_ok "no worker crashed" <(grep -h "ended (status" "$work"/*/log/main.log)
else
	ok "no worker crashed"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
