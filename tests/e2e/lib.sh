# tests/e2e/lib.sh - what every end-to-end test script shares: TAP output,
# a work directory removed at exit, and starting/stopping `refmta serve` on
# a free loopback port (readiness from its "listening on" line, never a
# sleep; stopped by PID).  Source it after setting $build.
#
#   start_server CONF [BACKEND]   sets $port and $server_pid
#   stop_server
#   ok DESC | not_ok DESC [DETAIL-FILE] | skip DESC REASON | check DESC OUT COMMAND...
#
# A case that cannot run here is reported with skip (TAP "# SKIP reason"),
# never as ok: ci/check counts it as skipped and prints the reason.

export REFMTA_PKI="$PWD/$build/pki"
probe="$PWD/$build/tests/smtp_probe"
work=$(mktemp -d /tmp/refmta-e2e.XXXXXX)
chmod 755 "$work"
server_pid=
n=0
failed=0

e2e_cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	[ -n "${2:-}" ] && sed 's/^/#   /' "$2" | tail -n 25
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { # check DESCRIPTION OUTPUT-FILE COMMAND...
	local desc=$1 out=$2
	shift 2
	if "$@" >"$out" 2>&1; then ok "$desc"; else not_ok "$desc" "$out"; fi
}

start_server() {
	local conf=$1 backend=${2:-openssl} line
	rm -f "$work/ready"
	mkfifo "$work/ready"
	bin/refmta -c "$conf" --backend "$backend" serve --listen 127.0.0.1:0 \
		>"$work/ready" 2>>"$work/server.err" &
	server_pid=$!
	if ! IFS= read -r -t 10 line <"$work/ready"; then
		echo "# refmta did not start:"; sed 's/^/#   /' "$work/server.err"
		return 1
	fi
	rm -f "$work/ready"
	port=${line##*127.0.0.1:}
	port=${port%% *}
}

stop_server() {
	kill -TERM "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=
}
