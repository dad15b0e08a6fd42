#!/usr/bin/env bash
# delivery_test.sh - end-to-end tests of the sending half as processes:
# the queuefile transport's copies put back into a spool and delivered,
# two queue runners at once delivering each message exactly once, retry
# times honoured (and --force), the daemon's queue runner, and `refmta
# check` on router/transport errors.  Prints TAP.
#
#   tests/e2e/delivery_test.sh [--build DIR]
#
# Loopback only; every process is one this script started, stopped by PID.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
build=build
[ "${1:-}" = --build ] && build=$2
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

# Wait (bounded: 10 s) until file $1 has a line matching $2.
wait_log() {
	for _ in $(seq 1 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

conf() { # conf DIR EXTRA...
	mkdir -p "$1"
	{
		echo "primary_hostname = mx.example.test"
		echo "spool_directory  = spool"
		echo "log_file         = log/main.log"
		echo "run_as_root      = true"
		echo "local_domains    = example.test"
		echo "mailbox_directory = mail"
		shift
		printf '%s\n' "$@"
	} >"$1/refmta.conf"
}

submit() { # submit DIR RCPT [SENDER]
	printf 'Subject: e2e\n\nbody line\n' |
		bin/refmta -c "$1/refmta.conf" send -f "${3:-alice@example.test}" "$2" >/dev/null
}

echo "# queuefile: copy out, put back, deliver"
q="$work/qf"
mkdir -p "$q/outside"
conf "$q" "" "router scan:" "  driver = accept" "  domains = example.test" \
	"  transport = to_scanner" "" "transport to_scanner:" "  driver = queuefile" \
	"  directory = $q/outside"
# local_domains would win over the router: route example.test through it
sed -i 's/^local_domains .*/local_domains = local.test/' "$q/refmta.conf"
submit "$q" bob@example.test
id=$(ls "$q/spool/input" | sed -n 's/-D$//p')
# The data alone: a one-file message's envelope and 56-octet trailer follow
# it (docs/spool.md); the copy is the two-file form.
size=$(tail -c 56 "$q/spool/input/$id-D" | cut -d' ' -f2)
head -c "$((10#$size))" "$q/spool/input/$id-D" >"$work/qf-data-before"
bin/refmta -c "$q/refmta.conf" queue-run
if [ -f "$q/outside/$id-D" ] && [ -f "$q/outside/$id-H" ] &&
	cmp -s "$work/qf-data-before" "$q/outside/$id-D"; then
	ok "queuefile copied $id-D (byte-identical) and $id-H"
else
	ls -l "$q/outside" >"$work/out" 2>&1; not_ok "queuefile copied the spool files" "$work/out"
fi
if grep -q "$id => bob@example.test R=scan T=to_scanner" "$q/log/main.log" &&
	grep -q "$id Completed" "$q/log/main.log" && [ ! -e "$q/spool/input/$id-D" ]; then
	ok "queuefile counts as delivered; the message left the spool"
else
	not_ok "queuefile counts as delivered" "$q/log/main.log"
fi
# Put the copies back into another spool whose configuration delivers locally.
p="$work/putback"
conf "$p"
sed -i 's/^local_domains .*/local_domains = example.test/' "$p/refmta.conf"
mkdir -p "$p/spool/input"
cp "$q/outside/$id-D" "$q/outside/$id-H" "$p/spool/input/"
bin/refmta -c "$p/refmta.conf" queue-run
if ls "$p/mail/bob/new/"* >/dev/null 2>&1 && grep -q "^body line" "$p/mail/bob/new/"* &&
	grep -q "$id => bob@example.test R=local_delivery T=maildir" "$p/log/main.log"; then
	ok "the copies put back into a spool are delivered"
else
	not_ok "the copies put back into a spool are delivered" "$p/log/main.log"
fi
r="$work/qf-rel"
conf "$r" "router scan:" "  driver = accept" "  transport = t" "" "transport t:" \
	"  driver = queuefile" "  directory = relative/dir"
submit "$r" bob@far.test
bin/refmta -c "$r/refmta.conf" queue-run
if grep -q "== bob@far.test R=scan T=t defer (retry 1 at .*): .*relative/dir.*not absolute" \
	"$r/log/main.log" && [ -n "$(ls "$r/spool/input")" ]; then
	ok "queuefile with a relative directory defers and keeps the message"
else
	not_ok "queuefile with a relative directory defers" "$r/log/main.log"
fi

echo "# two queue runners at once deliver each message exactly once"
c="$work/concurrent"
conf "$c"
for i in $(seq 1 40); do submit "$c" "u$i@example.test"; done
bin/refmta -c "$c/refmta.conf" queue-run & a=$!
bin/refmta -c "$c/refmta.conf" queue-run & b=$!
wait "$a" "$b"
delivered=$(grep -c " => " "$c/log/main.log")
files=$(find "$c/mail" -path '*/new/*' -type f | wc -l)
if [ "$delivered" -eq 40 ] && [ "$files" -eq 40 ] && [ -z "$(ls "$c/spool/input")" ]; then
	ok "40 messages, 2 runners: 40 deliveries, 40 files, empty queue"
else
	echo "deliveries $delivered files $files" >"$work/out"; not_ok "exactly-once delivery" "$work/out"
fi

echo "# retry times: a deferred recipient waits; --force tries it now"
t="$work/retry"
conf "$t" "router r:" "  driver = manualroute" "  route_list = * 127.0.0.1:1" \
	"  transport = smtp" "" "transport smtp:" "  driver = smtp" "  connect_timeout = 5s"
submit "$t" bob@far.test
bin/refmta -c "$t/refmta.conf" queue-run
bin/refmta -c "$t/refmta.conf" queue-run
bin/refmta -c "$t/refmta.conf" queue-list >"$work/list" 2>&1
tries=$(grep -c "== bob@far.test R=r T=smtp defer" "$t/log/main.log")
if [ "$tries" -eq 1 ] && grep -q "Connection refused" "$t/log/main.log" &&
	grep -q "bob@far.test  (deferred 1 time, next try" "$work/list"; then
	ok "connection refused defers once; the second run waits for the retry time"
else
	cat "$t/log/main.log" "$work/list" >"$work/out"; not_ok "retry time honoured" "$work/out"
fi
bin/refmta -c "$t/refmta.conf" queue-run --force
if grep -q "== bob@far.test R=r T=smtp defer (retry 2 at" "$t/log/main.log"; then
	ok "queue-run --force tries again (deferral 2)"
else
	not_ok "queue-run --force tries again" "$t/log/main.log"
fi

echo "# the daemon's queue runner"
d="$work/daemon"
conf "$d" "queue_run_interval = 1s" "worker_processes = 1"
submit "$d" carol@example.test
start_server "$d/refmta.conf" || exit 1
if wait_log "$d/log/main.log" "=> carol@example.test R=local_delivery"; then
	ok "the daemon's queue runner delivered a queued message"
else
	not_ok "the daemon's queue runner delivered" "$d/log/main.log"
fi
submit "$d" dave@example.test
if wait_log "$d/log/main.log" "=> dave@example.test R=local_delivery"; then
	ok "a later message goes out on a later pass"
else
	not_ok "a later pass" "$d/log/main.log"
fi
daemon=$server_pid
stop_server
if [ -z "$(pgrep -P "$daemon")" ] && ! kill -0 "$daemon" 2>/dev/null; then
	ok "SIGTERM: daemon, workers and queue runner gone"
else
	not_ok "SIGTERM leaves nothing running"
fi

echo "# refmta send: the null sender"
ns="$work/nullsender"
conf "$ns"
for f in '' '<>'; do
	rm -f "$ns/log/main.log"
	printf 'Subject: e2e\n\nbody line\n' |
		bin/refmta -c "$ns/refmta.conf" send -f "$f" bob@example.test >/dev/null
	if grep -q "<= <> P=local S=[0-9]* for bob@example.test" "$ns/log/main.log"; then
		ok "send -f '$f' logs the null sender as <>"
	else
		not_ok "send -f '$f' logs the null sender as <>" "$ns/log/main.log"
	fi
done

echo "# refmta check reads routers and transports"
k="$work/check"
conf "$k" "router r:" "  driver = dnslookup" "  transport = nowhere"
if ! bin/refmta -c "$k/refmta.conf" check >"$work/out" 2>&1 &&
	grep -q "refmta.conf:[0-9]*: router r: .*nowhere" "$work/out"; then
	ok "a router naming a missing transport: FILE:LINE error"
else
	not_ok "router naming a missing transport" "$work/out"
fi
conf "$k" "transport t:" "  driver = smtp" "  prot = 25"
if ! bin/refmta -c "$k/refmta.conf" check >"$work/out" 2>&1 &&
	grep -q "refmta.conf:[0-9]*: transport t: .*prot" "$work/out"; then
	ok "an unknown transport option: FILE:LINE error"
else
	not_ok "unknown transport option" "$work/out"
fi
conf "$k" "retry_rule = F,2h"
if ! bin/refmta -c "$k/refmta.conf" check >"$work/out" 2>&1 &&
	grep -q "retry_rule" "$work/out"; then
	ok "a bad retry_rule is refused"
else
	not_ok "a bad retry_rule is refused" "$work/out"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
