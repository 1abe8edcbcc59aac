# net_lib.sh - shell helpers for the network integration tests (sourced,
# not run): free loopback ports, servers started in the background with
# their PIDs recorded, readiness by polling (never a fixed sleep), stopping
# and waiting, and an EXIT trap that always stops what was started.
#
#   . "$srcdir/tests/net_lib.sh"
#   net_init NAME                 temp dir $NET_TMP, trap, $ARCA, $ARCAD
#   net_require PROG...           exit 77 (skip) if a peer program is absent
#   port=$(net_free_port)
#   net_start NAME CMD ARGS...    background; PID in $NET_PID, log NAME.log
#   net_wait_dicom PID PORT AE    polls C-ECHO until it succeeds (deadline)
#   net_wait_tcp PID PORT         polls a TCP connect until it succeeds
#   net_stop PID [SIGNAL]         signal (TERM), wait; sets $NET_STATUS
#   ok MSG / fail MSG / skip MSG  one line each; fail counts, skip exits 77
#   net_done                      exit status from the failures counted
#
# DCMTK 3.6.7 leaves Nagle's algorithm on unless TCP_NODELAY=1 is in the
# environment (each reply then waits for a delayed ACK): it is exported.
# Deadlines are in seconds, $NET_DEADLINE (default 30), generous because
# make check runs under the sanitizers on a shared machine.

TCP_NODELAY=1
export TCP_NODELAY
NET_DEADLINE=${NET_DEADLINE:-30}
NET_PIDS=""
NET_FAILED=0
NET_PASSED=0

ok() {
	NET_PASSED=$((NET_PASSED + 1))
	echo "ok   $*"
}

fail() {
	NET_FAILED=$((NET_FAILED + 1))
	echo "FAIL $*"
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# Seconds since the epoch with fractions (for deadlines).
net_now() {
	date +%s.%N
}

# True while $1 (a time from net_now) plus $2 seconds is in the future.
net_before() {
	awk -v start="$1" -v span="$2" -v now="$(net_now)" 'BEGIN { exit !(now < start + span) }'
}

net_cleanup() {
	for pid in $NET_PIDS; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
		fi
	done
	for pid in $NET_PIDS; do
		net_reap "$pid" 10 >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	NET_PIDS=""
	if [ -n "${NET_TMP:-}" ] && [ -z "${NET_KEEP:-}" ]; then
		rm -rf "$NET_TMP"
	elif [ -n "${NET_TMP:-}" ]; then
		echo "kept $NET_TMP"
	fi
}

net_init() {
	net_name=$1
	srcdir=${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
	builddir=${ARCA_BUILDDIR:-.}
	ARCA=$builddir/tools/arca
	ARCAD=$builddir/tools/arcad
	NET_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$net_name.XXXXXX") || exit 1
	trap 'net_cleanup' EXIT
	trap 'exit 1' INT TERM HUP
	if [ ! -x "$ARCA" ]; then
		echo "FAIL: $ARCA is not built"
		exit 1
	fi
}

net_require() {
	for prog in "$@"; do
		if ! command -v "$prog" >/dev/null 2>&1; then
			skip "$prog is not installed (tools/install-deps.sh installs the test peers)"
		fi
	done
}

# A free TCP port on 127.0.0.1: the kernel picks one for a socket bound to
# port 0.  Another process could take it before the server binds it; the
# readiness check then fails on the server's own log, not silently.
net_free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
	else
		awk -v seed="$$" 'BEGIN { srand(seed); print 20000 + int(rand() * 40000) }'
	fi
}

# net_start NAME CMD ARGS...: runs CMD in the background with its output
# in $NET_TMP/NAME.log; the PID is $NET_PID and is stopped by the trap.
net_start() {
	net_start_name=$1
	shift
	"$@" >"$NET_TMP/$net_start_name.log" 2>&1 &
	NET_PID=$!
	NET_PIDS="$NET_PIDS $NET_PID"
}

# Waits for PID to exit within SECONDS; its status in $NET_STATUS.
# Returns 1 (and leaves it running) on timeout.
net_reap() {
	net_reap_start=$(net_now)
	while kill -0 "$1" 2>/dev/null; do
		if ! net_before "$net_reap_start" "$2"; then
			return 1
		fi
		# reap a zombie child as soon as it is one
		if ! ps -o stat= -p "$1" 2>/dev/null | grep -qv Z; then
			break
		fi
		sleep 0.02
	done
	wait "$1" 2>/dev/null
	NET_STATUS=$?
	return 0
}

# net_stop PID [SIGNAL]: sends SIGNAL (TERM), waits up to $NET_DEADLINE s
# (then KILL); the exit status is in $NET_STATUS (128+N for a signal).
net_stop() {
	kill "-${2:-TERM}" "$1" 2>/dev/null
	if ! net_reap "$1" "$NET_DEADLINE"; then
		echo "net_stop: $1 did not exit within $NET_DEADLINE s of SIG${2:-TERM}; killed"
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		NET_STATUS=137
	fi
	NET_PIDS=$(echo "$NET_PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# One C-ECHO attempt: echoscu if installed, else arca echo.
net_echo_once() {
	if command -v echoscu >/dev/null 2>&1; then
		echoscu -to 2 -ta 2 -td 2 -aec "$2" 127.0.0.1 "$1" >/dev/null 2>&1
	else
		"$ARCA" echo --timeout 2 "$2@127.0.0.1:$1" >/dev/null 2>&1
	fi
}

# net_wait_dicom PID PORT AE: polls C-ECHO until it succeeds; fails early
# if PID exits (its log is shown).  Returns 0 when ready.
net_wait_dicom() {
	net_wait_start=$(net_now)
	while ! net_echo_once "$2" "$3"; do
		if ! kill -0 "$1" 2>/dev/null; then
			echo "server $1 exited before it answered C-ECHO on port $2"
			return 1
		fi
		if ! net_before "$net_wait_start" "$NET_DEADLINE"; then
			echo "no C-ECHO answer on port $2 within $NET_DEADLINE s"
			return 1
		fi
		sleep 0.05
	done
	return 0
}

# net_wait_tcp PID PORT: polls a TCP connect to 127.0.0.1:PORT.
net_wait_tcp() {
	net_wait_start=$(net_now)
	while ! python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$2" 2>/dev/null; do
		if ! kill -0 "$1" 2>/dev/null; then
			echo "server $1 exited before it listened on port $2"
			return 1
		fi
		if ! net_before "$net_wait_start" "$NET_DEADLINE"; then
			echo "nothing listens on port $2 after $NET_DEADLINE s"
			return 1
		fi
		sleep 0.05
	done
	return 0
}

# Shows the last lines of a log, indented, after a failure.
net_show() {
	if [ -f "$1" ]; then
		tail -n "${2:-15}" "$1" | sed 's/^/     | /'
	fi
}

net_done() {
	echo "$net_name: $NET_PASSED passed, $NET_FAILED failed"
	[ "$NET_FAILED" -eq 0 ]
}

# net_gen DIR [ROWS] [PREFIX]: writes generated CT instances into DIR with
# DCMTK's dump2dcm, one per uncompressed transfer syntax (ti te tb td:
# implicit, explicit LE, explicit BE, deflated), ROWSxROWS 16-bit pixels
# (default 256) of random bytes, a nested sequence and a private element,
# each with its own SOP Instance UID under 2.25.  dump2dcm (not arca's own
# writer) makes them so that a writer bug cannot hide an SCU or SCP bug.
net_gen() {
	net_gen_dir=$1
	net_gen_rows=${2:-256}
	net_gen_prefix=${3:-ct}
	mkdir -p "$net_gen_dir"
	head -c $((net_gen_rows * net_gen_rows * 2)) /dev/urandom >"$NET_TMP/$net_gen_prefix.px"
	net_gen_study="2.25.$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')"
	net_gen_i=0
	for net_gen_ts in ti te tb td; do
		net_gen_i=$((net_gen_i + 1))
		cat >"$NET_TMP/$net_gen_prefix.dump" <<DUMP
(0008,0005) CS [ISO_IR 100]
(0008,0016) UI =CTImageStorage
(0008,0018) UI [$net_gen_study.$net_gen_i]
(0008,0020) DA [20260102]
(0008,0060) CS [CT]
(0008,1110) SQ (Sequence with undefined length)
  (fffe,e000) na (Item with undefined length)
    (0008,1150) UI [1.2.840.10008.3.1.2.3.1]
    (0008,1155) UI [$net_gen_study.99]
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0010,0010) PN [Test^Net^$net_gen_ts]
(0010,0020) LO [NET$net_gen_i]
(0020,000d) UI [$net_gen_study]
(0020,000e) UI [$net_gen_study.0]
(0020,0013) IS [$net_gen_i]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US $net_gen_rows
(0028,0011) US $net_gen_rows
(0028,0100) US 16
(0028,0101) US 16
(0028,0102) US 15
(0028,0103) US 0
(0029,0010) LO [ARCA TEST]
(0029,1001) LO [private value $net_gen_i]
(7fe0,0010) OW =$NET_TMP/$net_gen_prefix.px
DUMP
		if ! dump2dcm -q "+$net_gen_ts" "$NET_TMP/$net_gen_prefix.dump" \
			"$net_gen_dir/$net_gen_prefix-$net_gen_ts.dcm"; then
			echo "net_gen: dump2dcm +$net_gen_ts failed"
			return 1
		fi
	done
	return 0
}
