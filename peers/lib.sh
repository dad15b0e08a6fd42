# peers/lib.sh - shell helpers shared by bench/run (make bench) and
# interop/run (make interop): real MTAs from Debian packages, downloaded and
# unpacked into a cache (never installed), private users for their mount
# namespaces, free loopback ports, bounded waits, and stopping exactly the
# processes we started.  Sourced, not run; bash only.
#
# The caller sets before sourcing:
#   PEERS_TAG    prefix of messages ("bench", "interop")
#   CACHE        download/unpack cache directory
# and, before calling the user and process helpers:
#   W            the work directory (private passwd/group live there)
# Globals this file owns: PID (name -> pid of a process group leader we
# started), PICKED (the last port pick_port chose), START_ERR (why the last
# wait_listen failed), USED_PORT.
# shellcheck shell=bash

log() { printf '%s: %s\n' "$PEERS_TAG" "$*" >&2; }
die() { printf '%s: %s\n' "$PEERS_TAG" "$*" >&2; exit "${2:-1}"; }

# --- Debian packages, for the deps scripts -----------------------------------
# deps_main ARG PACKAGE...: install the missing ones (ARG "" ), or with
# ARG --list print them, with --check exit 1 naming the missing ones.
# Idempotent and quiet when everything is present; uses sudo -n when not root.
deps_main() {
	local mode=$1 p sudo='' logf
	shift
	case $mode in
	--list) printf '%s\n' "$@" | sort -u; return 0 ;;
	--check | "") ;;
	*) echo "usage: $PEERS_TAG/deps [--list|--check]" >&2; return 2 ;;
	esac
	local missing=()
	for p in $(printf '%s\n' "$@" | sort -u); do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$mode" = --check ]; then
		echo "$PEERS_TAG/deps: missing: ${missing[*]}" >&2
		return 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "$PEERS_TAG/deps: not root and no sudo; install: ${missing[*]}" >&2; return 1; }
		sudo="sudo -n"
	fi
	echo "$PEERS_TAG/deps: installing ${missing[*]}" >&2
	logf=$(mktemp)
	if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
		>"$logf" 2>&1 </dev/null; then
		tail -n 30 "$logf" >&2
		rm -f "$logf"
		echo "$PEERS_TAG/deps: apt-get failed" >&2
		return 1
	fi
	rm -f "$logf"
	echo "$PEERS_TAG/deps: done" >&2
}

# --- the MTA packages: downloaded and unpacked, never installed --------------
fetch() { # apt-get download PKG... into $CACHE/debs (once)
	local need=() p out tmp
	mkdir -p "$CACHE/debs"
	for p in "$@"; do
		compgen -G "$CACHE/debs/${p}_*.deb" >/dev/null || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	log "downloading ${need[*]} (apt-get download, not installed)"
	# _apt cannot write into root's directories: download in a world-writable
	# temporary directory, then move.
	tmp=$(mktemp -d); chmod 777 "$tmp"
	if ! out=$(cd "$tmp" && apt-get download -qq "${need[@]}" 2>&1); then
		out=$( { apt-get update -qq && cd "$tmp" && apt-get download -qq "${need[@]}"; } 2>&1) ||
			{ rm -rf "$tmp"; die "apt-get download ${need[*]} failed: $out" 2; }
	fi
	mv "$tmp"/*.deb "$CACHE/debs/"; rm -rf "$tmp"
}
unpack() { # PKG... NAME: unpack the packages into $CACHE/root-NAME unless already done for those .debs
	local name=${*: -1} dir deb from=
	local pkgs=("${@:1:$#-1}") p
	dir=$CACHE/root-$name
	for p in "${pkgs[@]}"; do
		deb=$(ls -t "$CACHE/debs/${p}"_*.deb | head -n 1)
		from+="$(basename "$deb") "
	done
	if [ "$(cat "$dir/.from" 2>/dev/null)" != "$from" ]; then
		rm -rf "$dir"; mkdir -p "$dir"
		for p in "${pkgs[@]}"; do
			dpkg -x "$(ls -t "$CACHE/debs/${p}"_*.deb | head -n 1)" "$dir"
		done
		echo "$from" >"$dir/.from"
	fi
}
deb_version() { # PKG: the version of the cached package
	dpkg-deb -f "$(ls -t "$CACHE/debs/${1}"_*.deb | head -n 1)" Version
}

# --- ports ----------------------------------------------------------------------
declare -A USED_PORT=()
pick_port() { # a port nothing on this machine uses now (below the ephemeral range) -> PICKED
	local used=" " h p
	for h in $(awk 'NR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		used+="$((16#$h)) "
	done
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		[[ $used == *" $p "* ]] && continue
		[ -n "${USED_PORT[$p]:-}" ] && continue
		USED_PORT[$p]=1
		# shellcheck disable=SC2034 # the result, read by the caller
		PICKED=$p; return 0
	done
	die "no free port found" 2
}
listening() { # is something listening on 127.0.0.1:PORT?
	local hex; hex=$(printf '0100007F:%04X' "$1")
	awk -v h="$hex" '$2 == h && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp
}
wait_listen() { # NAME PORT PID LOGFILE... : wait up to 15 s
	local name=$1 port=$2 pid=$3 f; shift 3
	for _ in $(seq 150); do
		listening "$port" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	START_ERR="$name did not start listening on 127.0.0.1:$port"
	kill -0 "$pid" 2>/dev/null || START_ERR+=" (process exited)"
	for f in "$@"; do
		[ -s "$f" ] && START_ERR+=$'\n'"--- tail of $f:"$'\n'"$(tail -n 15 "$f")"
	done
	return 1
}

# --- private users, for the MTAs' mount namespaces -------------------------------
# $W/passwd and $W/group are copies of the real files with the users the MTAs
# insist on; each MTA's start script bind-mounts them over /etc/passwd and
# /etc/group inside its own mount namespace.  The real files are untouched.
users_init() {
	cp /etc/passwd "$W/passwd"; cp /etc/group "$W/group"
}
free_id() { # first id >= 64900 that neither the private passwd nor group uses
	local id=64900
	while awk -F: -v id="$id" '$3 == id { f = 1 } END { exit !f }' "$W/passwd" "$W/group"; do
		id=$((id + 1))
	done
	echo "$id"
}
add_user() { # NAME [HOME] -> prints uid (group of the same name and id)
	local id; id=$(free_id)
	echo "$1:x:$id:$id:$PEERS_TAG $1:${2:-/nonexistent}:/usr/sbin/nologin" >>"$W/passwd"
	echo "$1:x:$id:" >>"$W/group"
	echo "$id"
}
add_group() { # NAME [MEMBERS] -> prints gid
	local id; id=$(free_id); echo "$1:x:$id:${2:-}" >>"$W/group"; echo "$id"
}

# --- processes --------------------------------------------------------------------
declare -A PID=()
stop_one() { # NAME: TERM the process group we started as NAME, KILL after 5 s
	local p=${PID[$1]:-}
	[ -n "$p" ] || return 0
	kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL -- "-$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	unset "PID[$1]"
}
stop_all() { # every process group in PID, TERM to all first, then wait
	local t p
	for t in "${!PID[@]}"; do
		p=${PID[$t]}
		kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
	done
	for t in "${!PID[@]}"; do stop_one "$t"; done
}

# --- Postfix ----------------------------------------------------------------------
# postfix_conf PFX DIR PORT: write DIR/etc/main.cf (every directory in the
# extracted tree PFX or under DIR, logging to DIR/maillog, no local
# delivery) and DIR/etc/master.cf (smtpd on 127.0.0.1:PORT, chroot n
# everywhere: the extracted tree is no chroot jail).  Adds the users postfix
# and postdrop.  The caller appends its own main.cf lines.
postfix_conf() {
	local pfx=$1 d=$2 port=$3 uid
	# a second instance shares the first one's users
	uid=$(awk -F: '$1 == "postfix" { print $3 }' "$W/passwd")
	if [ -z "$uid" ]; then uid=$(add_user postfix); add_group postdrop >/dev/null; fi
	mkdir -p "$d/etc" "$d/queue" "$d/data"
	chown "$uid:$uid" "$d/data"
	cat >"$d/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $d/etc
meta_directory = $pfx/etc/postfix
shlib_directory = $pfx/usr/lib/postfix
daemon_directory = $pfx/usr/lib/postfix/sbin
command_directory = $pfx/usr/sbin
queue_directory = $d/queue
data_directory = $d/data
manpage_directory = $pfx/usr/share/man
sendmail_path = $pfx/usr/sbin/sendmail
newaliases_path = $pfx/usr/bin/newaliases
mailq_path = $pfx/usr/bin/mailq
html_directory = no
readme_directory = no
sample_directory = no
mail_owner = postfix
setgid_group = postdrop
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH
maillog_file = $d/maillog
maillog_file_prefixes = $d
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
biff = no
EOF
	cat >"$d/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
virtual    unix  - n n -     - virtual
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
tlsmgr     unix  - - n 1000? 1 tlsmgr
postlog    unix-dgram n - n - 1 postlogd
EOF
}
# postfix_start PFX DIR NAME: run master in the foreground in its own mount
# namespace (private passwd/group) and session; PID[NAME] is the leader.
postfix_start() {
	local pfx=$1 d=$2 name=$3
	cat >"$d/start.sh" <<EOF
set -e
mount --bind $W/passwd /etc/passwd
mount --bind $W/group /etc/group
# "postfix check" creates the queue directories with the right owners
$pfx/usr/sbin/postfix -c $d/etc check
exec $pfx/usr/lib/postfix/sbin/master -c $d/etc
EOF
	LD_LIBRARY_PATH=$pfx/usr/lib/postfix setsid unshare -m --propagation private \
		sh "$d/start.sh" >"$d/out" 2>&1 </dev/null &
	PID[$name]=$!
}

# --- OpenSMTPD ----------------------------------------------------------------------
# opensmtpd_start OSX DIR NAME CONF [BIND...]: run `smtpd -d -f CONF` in its
# own mount namespace where DIR/var is /var (its compiled-in spool, socket
# and empty dir), the extracted /usr/libexec is /usr/libexec, and passwd,
# group and resolv.conf are $W's.  CONF is a path inside the namespace
# (under /var).  Each BIND "SRC:DST" is one more bind mount.  Adds the users
# opensmtpd and opensmtpq.  PID[NAME] is the leader: stop it by killing the
# parent smtpd -d.
opensmtpd_start() {
	local osx=$1 d=$2 name=$3 conf=$4 b
	shift 4
	add_user opensmtpd >/dev/null; add_user opensmtpq >/dev/null
	mkdir -p "$d/var/spool/smtpd" "$d/var/lib/opensmtpd/empty" "$d/var/run" "$d/var/tmp"
	chmod 711 "$d/var/spool/smtpd"
	{
		echo "set -e"
		echo "mount --bind $W/passwd /etc/passwd"
		echo "mount --bind $W/group /etc/group"
		echo "mount --bind $W/resolv.conf /etc/resolv.conf"
		for b in "$@"; do echo "mount --bind ${b%%:*} ${b#*:}"; done
		echo "mount --bind $d/var /var"
		echo "mount --bind $osx/usr/libexec /usr/libexec"
		echo "exec $osx/usr/sbin/smtpd -d -f $conf"
	} >"$d/start.sh"
	setsid unshare -m --propagation private sh "$d/start.sh" >"$d/log" 2>&1 </dev/null &
	PID[$name]=$!
}
