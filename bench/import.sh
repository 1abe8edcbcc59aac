#!/bin/sh
# import.sh - `arca import` rate from a folder and from a .tar beside DCMTK
# storescu into arcad (one association), in one run, on the same generated
# CT instances.  Run from the build directory after `make bench`:
#
#   bench/import.sh [--count N] [--size PIXELS] [--work DIR] [--keep]
#
#   --count N     CT instances (bench/gen_ct), default 1000
#   --size PIXELS rows = columns, default 512 (16 bits: 0.53 MB each)
#   --work DIR    data and archives; default /tmp/arca-bench-import (env BENCH_DIR)
#   --keep        keep the archives afterwards
#
# Each run starts from an empty archive (arca init).  The time is the wall
# clock of the command (arca import, or storescu against a running arcad,
# whose start is not counted); instances/s and MB/s are over the bytes of
# the instance files.  Every run must store all N instances: the archive's
# index is counted with `arca ls --json` afterwards.
set -u

here=$(cd "$(dirname "$0")" && pwd)
count=1000
size=512
work=${BENCH_DIR:-/tmp/arca-bench-import}
keep=0
arca=${ARCA:-$here/../tools/arca}
arcad=${ARCAD:-$here/../tools/arcad}
gen=${GEN_CT:-$here/gen_ct}

while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
	esac
done
for prog in "$arca" "$arcad" "$gen"; do
	[ -x "$prog" ] || { echo "import.sh: $prog is not built (make bench)" >&2; exit 2; }
done
command -v storescu >/dev/null 2>&1 || { echo "import.sh: storescu (DCMTK) is not installed" >&2; exit 2; }
TCP_NODELAY=1
export TCP_NODELAY

rm -rf "$work"
mkdir -p "$work"
arcad_pid=""
cleanup() {
	[ -n "$arcad_pid" ] && kill "$arcad_pid" 2>/dev/null && wait "$arcad_pid" 2>/dev/null
	[ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

"$gen" --count "$count" --size "$size" "$work/ct" >/dev/null || exit 1
(cd "$work/ct" && tar cf "$work/ct.tar" .) || exit 1
bytes=$(du -sb "$work/ct" | cut -f1)

now() { date +%s.%N; }

stored() {
	"$arca" ls --root "$1" --json | python3 -c 'import json,sys; print(sum(p["instances"] for p in json.load(sys.stdin)))'
}

report() {
	# NAME SECONDS ROOT
	n=$(stored "$3")
	awk -v name="$1" -v s="$2" -v n="$n" -v b="$bytes" -v want="$count" 'BEGIN {
		printf "%-28s %6d instances %8.2f s %8.1f inst/s %8.1f MB/s%s\n", name, n, s, n / s, b / 1e6 / s,
			n == want ? "" : "  (INCOMPLETE)" }'
}

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

echo "arca import vs storescu -> arcad: $count CT ${size}x${size} ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB), $(nproc) CPUs, $(uname -r)"

# 1. arca import of the folder
"$arca" init --root "$work/r-dir" >/dev/null || exit 1
t0=$(now)
"$arca" import --root "$work/r-dir" --quiet "$work/ct" || echo "arca import (folder) exited $?"
t1=$(now)
report "arca import (folder)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$work/r-dir"

# 2. arca import of the .tar
"$arca" init --root "$work/r-tar" >/dev/null || exit 1
t0=$(now)
"$arca" import --root "$work/r-tar" --quiet "$work/ct.tar" || echo "arca import (tar) exited $?"
t1=$(now)
report "arca import (.tar)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$work/r-tar"

# 3. storescu into arcad, one association
port=$(free_port)
"$arca" init --root "$work/r-net" --port "$port" >/dev/null || exit 1
"$arcad" --root "$work/r-net" >"$work/arcad.log" 2>&1 &
arcad_pid=$!
deadline=$(($(date +%s) + 30))
until echoscu -to 2 -aec ARCA 127.0.0.1 "$port" >/dev/null 2>&1; do
	if ! kill -0 "$arcad_pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
		echo "arcad did not start:"; tail -5 "$work/arcad.log"; exit 1
	fi
	sleep 0.05
done
t0=$(now)
storescu -aec ARCA +sd 127.0.0.1 "$port" "$work/ct" >"$work/storescu.log" 2>&1 || echo "storescu exited $?"
t1=$(now)
kill "$arcad_pid" && wait "$arcad_pid" 2>/dev/null
arcad_pid=""
report "storescu -> arcad (1 assoc)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$work/r-net"
