#!/usr/bin/env bash
# privileges_test.sh - end-to-end tests of who refmta runs as and which
# files it trusts or gives away (docs/config.md "user", "run_as_root";
# docs/spool.md "Ownership"): a world-writable or foreign configuration is
# refused, root without `user` is refused, a log file refmta did not create
# keeps its owner, a symbolic link is never followed for the log, and the
# whole spool (a message `refmta send` queued as root included) and the
# mailbox directory belong to `user`.  Root-only cases skip elsewhere
# (CI runs as root).  Prints TAP.
#
#   tests/e2e/privileges_test.sh [--build DIR]
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

conf() { # conf DIR EXTRA-LINES...
	mkdir -p "$1"
	{
		echo "primary_hostname  = mx.example.test"
		echo "spool_directory   = spool"
		echo "log_file          = log/main.log"
		echo "worker_processes  = 2"
		echo "local_domains     = example.test"
		echo "mailbox_directory = mail"
		echo "test_ids          = true"
		shift
		printf '%s\n' "$@"
	} >"$1/refmta.conf"
}

submit() { # submit CONF RCPT
	printf 'Subject: e2e\n\nbody line\n' | bin/refmta -c "$1" send -f alice@example.test "$2"
}

owner() { stat -c %U "$1"; }

# --- configuration files (docs/config.md "The configuration file") ---------
d="$work/ww"
conf "$d" "run_as_root = true"
chmod 666 "$d/refmta.conf"
bin/refmta -c "$d/refmta.conf" check >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "^$d/refmta.conf: world-writable (mode 0666)" "$work/out"
verdict "check refuses a world-writable configuration (exit 1, FILE: message)" "$work/out" $?
timeout 5 bin/refmta -c "$d/refmta.conf" serve --listen 127.0.0.1:0 >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "^$d/refmta.conf: world-writable" "$work/out"
verdict "serve refuses a world-writable configuration" "$work/out" $?
chmod 644 "$d/refmta.conf"
check "the same file, chmod o-w, is accepted" "$work/out" bin/refmta -c "$d/refmta.conf" check

# --- the log file is opened without following a symbolic link -------------
d="$work/link"
conf "$d" "run_as_root = true"
mkdir -p "$d/log"
echo "precious" >"$work/target"
ln -s "$work/target" "$d/log/main.log"
printf 'x\n' | bin/refmta -c "$d/refmta.conf" send bob@example.test >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "symbolic link: refused" "$work/out" &&
	[ "$(cat "$work/target")" = precious ]
verdict "a symbolic link where the log goes is refused, its target untouched" "$work/out" $?

if [ "$(id -u)" -ne 0 ]; then
	for t in "configuration owned by another user is refused" \
		"root without user is refused" "a log file refmta did not create keeps its owner" \
		"the whole spool is given to user" "a message sent as root is delivered by the daemon running as user"; do
		skip "$t" "needs root (CI runs as root; run make check as root to cover it)"
	done
	[ "$failed" -eq 0 ]; exit $?
fi
if ! id nobody >/dev/null 2>&1; then
	skip "privilege cases" "this system has no user nobody"
	[ "$failed" -eq 0 ]; exit $?
fi

# --- a configuration owned by another user --------------------------------
d="$work/foreign"
conf "$d" "run_as_root = true"
chown nobody "$d/refmta.conf"
bin/refmta -c "$d/refmta.conf" check >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "^$d/refmta.conf: owned by uid $(id -u nobody), not by root" "$work/out"
verdict "check refuses a configuration owned by another user" "$work/out" $?

# --- root needs `user` (or run_as_root) -----------------------------------
d="$work/root"
conf "$d" ""
timeout 5 bin/refmta -c "$d/refmta.conf" serve --listen 127.0.0.1:0 >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q 'running as root without "user"' "$work/out"
verdict "serve as root without user is refused" "$work/out" $?
submit "$d/refmta.conf" bob@example.test >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q 'running as root without "user"' "$work/out" &&
	[ -z "$(ls "$d/spool/input" 2>/dev/null)" ]
verdict "send as root without user is refused, nothing queued" "$work/out" $?
bin/refmta -c "$d/refmta.conf" queue-run >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q 'running as root without "user"' "$work/out"
verdict "queue-run as root without user is refused" "$work/out" $?
check "check as root without user still works" "$work/out" bin/refmta -c "$d/refmta.conf" check

# --- the log file: only what refmta created changes owner -----------------
d="$work/log"
conf "$d" "user = nobody"
mkdir -p "$d/log"
echo "root's own" >"$d/log/main.log"
chmod 600 "$d/log/main.log"
start_server "$d/refmta.conf" || exit 1
[ "$(owner "$d/log/main.log")" = root ] && [ "$(stat -c %a "$d/log/main.log")" = 600 ]
verdict "a root-owned 0600 log file named by log_file is not handed to user" /dev/null $?
stop_server
d="$work/log2"
conf "$d" "user = nobody"
start_server "$d/refmta.conf" || exit 1
[ "$(owner "$d/log/main.log")" = nobody ]
verdict "a log file refmta created belongs to user" /dev/null $?
stop_server

# --- the spool, every level, and the mailbox directory --------------------
d="$work/spool"
conf "$d" "run_as_root = true"
submit "$d/refmta.conf" bob@example.test >/dev/null 2>"$work/out" # queued as root
conf "$d" "user = nobody"
start_server "$d/refmta.conf" || exit 1
find "$d/spool" ! -user nobody >"$work/out"
[ ! -s "$work/out" ] && [ -f "$d/spool/input/T-000001-D" ]
verdict "the whole spool (input/ files of a message queued as root) is given to user" "$work/out" $?
stop_server

# Queued as root while the daemon runs as nobody: its files are nobody's,
# so the daemon's queue runner can deliver it, into a mailbox directory
# created for nobody.
d="$work/deliver"
conf "$d" "user = nobody" "queue_run_interval = 1s"
start_server "$d/refmta.conf" || exit 1
submit "$d/refmta.conf" carol@example.test >"$work/out" 2>&1
for _ in $(seq 1 100); do
	[ -n "$(ls "$d/mail/carol/new" 2>/dev/null)" ] && break
	sleep 0.1
done
[ -n "$(ls "$d/mail/carol/new" 2>/dev/null)" ] && [ "$(owner "$d/mail")" = nobody ] &&
	[ -z "$(ls "$d/spool/input")" ]
verdict "a message sent as root is delivered by the daemon running as user" "$d/log/main.log" $?
stop_server

[ "$failed" -eq 0 ]
