#!/bin/sh
# find.sh - study-level C-FIND latency of arca's index (storage/store_index)
# on synthetic indexes made by gen_index, 1000 queries of each kind: the
# median, p99 and mean time to build the query, run it and read every row,
# in process (no network).  Run from the build directory after
# `make bench/gen_index bench/bench_find` (configure without sanitizers):
#
#   bench/find.sh [N_INSTANCES...]        default: 100000 1000000
#
# Environment: QUERIES (default 1000), ROUNDS (default 3: the round with the
# lowest median is shown), SCALE (gen_index --scale, default 1), BENCH_DIR
# (default /tmp/arca-bench-find; indexes are kept and reused while N and
# SCALE stay the same).  The Orthanc comparison of issue 6 goes
# through the network and belongs to the C-FIND SCP's benchmark.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${BENCH_DIR:-/tmp/arca-bench-find}
queries=${QUERIES:-1000}
rounds=${ROUNDS:-3}
scale=${SCALE:-1}
[ $# -gt 0 ] || set -- 100000 1000000
mkdir -p "$work"
echo "machine: $(nproc) cpu ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr)"
echo "sqlite: $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"
for n in "$@"; do
	db="$work/index-$n-$scale.db"
	if [ ! -f "$db.done" ]; then
		rm -f "$db" "$db-wal" "$db-shm"
		"$here/gen_index" --instances "$n" --scale "$scale" "$db"
		touch "$db.done"
	fi
	echo "== $n instances (scale $scale): $(du -m "$db" | cut -f1) MB"
	# Warm the page cache as a running server's would be.
	cat "$db" > /dev/null
	"$here/bench_find" --queries "$queries" --rounds "$rounds" "$db"
done
