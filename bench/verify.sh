#!/bin/bash
# verify.sh - `arca verify` rate (issue 4: "arca verify rate (GB/s)") on an
# archive of generated CT filled by arcad over DICOM, beside sha256sum over
# the same stored chunk files as the machine's ceiling.  Run from the build
# directory (an -O2 build without sanitizers) after `make bench`:
#
#   SRCDIR/bench/verify.sh [--count N] [--size PX] [--rounds R] [--work DIR] [--keep]
#
#   --count N    CT instances (bench/gen_ct); default 1000
#   --size PX    rows and columns (16 bits); default 512 (0.53 MB an instance)
#   --rounds R   runs of each measurement, the median is reported; default 3
#   --work DIR   data and archive; default /tmp/arca-bench-verify (env BENCH_DIR)
#   --keep       keep the archive
#
# What is measured, each with a warm page cache (the archive was just
# written and is read once before timing), arcad stopped:
#   arca verify --threads 1 and --threads 2 (every instance rebuilt, every
#     chunk read, decompressed and re-hashed, the instance hash recomputed,
#     the chain and the index checked, the store walked): instance GB/s is
#     the canonical instance bytes verified per second, stored GB/s the
#     chunk files' bytes per second, both over the storage walk's wall
#     time; instance GB/CPU-s is the instance bytes over the whole command's
#     user + system time, the figure that does not depend on how busy the
#     machine's other processes keep its cores;
#   sha256sum and openssl dgst -sha256 of every chunk file, one process
#     and two (xargs -P2): the rate of merely hashing the stored bytes
#     once; and of the Part 10 files sent (the instance bytes, hashed
#     once): the ceilings.  Verify does more per instance byte: it reads
#     and decompresses the chunk, hashes the plain chunk (its address),
#     rebuilds the instance and hashes that stream (the instance hash),
#     so its instance rate is at best about half the OpenSSL rate over
#     the files sent.
set -u

here=$(cd "$(dirname "$0")" && pwd)
count=1000
size=512
rounds=3
work=${BENCH_DIR:-/tmp/arca-bench-verify}
keep=0
# the programs of the build directory: the current one (out-of-tree
# builds), else the one holding this script
build=${ARCA_BUILDDIR:-$PWD}
[ -x "$build/tools/arca" ] || build=$here/..
arca=${ARCA:-$build/tools/arca}
arcad=${ARCAD:-$build/tools/arcad}
gen=${GEN_CT:-$build/bench/gen_ct}

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) usage ;;
	esac
done
for p in "$arca" "$arcad" "$gen"; do
	[ -x "$p" ] || { echo "verify.sh: $p is not built (make bench)" >&2; exit 2; }
done
for p in storescu echoscu sha256sum python3; do
	command -v "$p" >/dev/null || { echo "verify.sh: $p is not installed" >&2; exit 2; }
done
export TCP_NODELAY=1

rm -rf "$work"
mkdir -p "$work"
root=$work/root
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$gen" --count "$count" --size "$size" --per-series 100 --series-per-study 2 "$work/ct" >/dev/null || exit 1
"$arca" init --root "$root" --port "$port" >/dev/null || exit 1
"$arcad" --root "$root" >"$work/arcad.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; [ "$keep" = 1 ] || rm -rf "$work"' EXIT
for _ in $(seq 600); do
	echoscu -aec ARCA 127.0.0.1 "$port" 2>/dev/null && break
	sleep 0.1
done
find "$work/ct" -name '*.dcm' | sort | xargs storescu -aec ARCA 127.0.0.1 "$port" || { echo "storescu failed" >&2; exit 1; }
kill -TERM $pid
wait $pid

raw=$(find "$work/ct" -name '*.dcm' -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
stored=$(find "$root/chunks" -path "$root/chunks/tmp" -prune -o -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
nfiles=$(find "$root/chunks" -path "$root/chunks/tmp" -prune -o -type f -print | wc -l)
find "$root/chunks" -type f -print0 | xargs -0 cat >/dev/null # warm the page cache

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }

verify_run() { # THREADS -> "seconds instance_gbps stored_gbps cpu_seconds instance_bytes"
	TIMEFORMAT='%U %S'
	{ time "$arca" verify --root "$root" --threads "$1" --no-event --json >"$work/v.json"; } 2>"$work/v.time" || {
		echo "arca verify failed" >&2
		cat "$work/v.json" >&2
		exit 1
	}
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
u, s = open(sys.argv[2]).read().split()[-2:]
print(d["seconds"], d["instance_gb_per_s"], d["stored_gb_per_s"], float(u) + float(s), d["counts"]["instance_bytes"])' "$work/v.json" "$work/v.time"
}

hash_run() { # TOOL PROCS DIR -> seconds
	t0=$(now)
	find "$3" -path "$root/chunks/tmp" -prune -o -type f -print0 |
		xargs -0 -P "$2" -n 256 $1 >/dev/null
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v c="$count" -v z="$size" -v r="$raw" -v n="$nfiles" -v s="$stored" 'BEGIN {
	printf "archive: %d CT %dx%d, %.3f GB raw (Part 10 files sent), %d chunk files, %.3f GB stored (%.0f%%)\n",
		c, z, z, r / 1e9, n, s / 1e9, 100 * s / r }'
printf '%-34s %10s %16s %16s %20s\n' "measurement (median of $rounds)" "seconds" "instance GB/s" "stored GB/s" \
	"instance GB/CPU-s"
for t in 1 2; do
	: >"$work/runs"
	for _ in $(seq "$rounds"); do verify_run "$t" >>"$work/runs"; done
	s=$(cut -d' ' -f1 "$work/runs" | median)
	line=$(awk -v s="$s" '$1 == s { print; exit }' "$work/runs")
	printf '%-34s %10.3f %16.3f %16.3f %20.3f\n' "arca verify --threads $t" "$s" "$(echo "$line" | cut -d' ' -f2)" \
		"$(echo "$line" | cut -d' ' -f3)" \
		"$(echo "$line" | awk '{ print $5 / $4 / 1e9 }')"
done
# coreutils' sha256sum is portable C; OpenSSL's uses the CPU's SHA
# extensions where there are some, as arca does: both are shown
find "$work/ct" -type f -print0 | xargs -0 cat >/dev/null
for tool in sha256sum "openssl dgst -sha256"; do
	for p in 1 2; do
		: >"$work/runs"
		for _ in $(seq "$rounds"); do hash_run "$tool" "$p" "$root/chunks" >>"$work/runs"; done
		s=$(median <"$work/runs")
		printf '%-34s %10.3f %16s %16.3f\n' "${tool%% *} of the chunk files (x$p)" "$s" "-" \
			"$(awk -v b="$stored" -v s="$s" 'BEGIN { print b / s / 1e9 }')"
	done
	: >"$work/runs"
	for _ in $(seq "$rounds"); do hash_run "$tool" 2 "$work/ct" >>"$work/runs"; done
	s=$(median <"$work/runs")
	printf '%-34s %10.3f %16.3f %16s\n' "${tool%% *} of the files sent (x2)" "$s" \
		"$(awk -v b="$raw" -v s="$s" 'BEGIN { print b / s / 1e9 }')" "-"
done
