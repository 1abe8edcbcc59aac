#!/bin/sh
# chain.sh - the provenance log's figures (design 5): durable events/s on
# one core with batching, append-to-durable latency (with a timer, and with
# threads that wait for each event as arcad does), verify time of a
# 1,000,000-entry log, repository bytes per event.  Run from the build
# directory after `make bench` (configure without --enable-sanitizers for
# real numbers):
#
#   bench/chain.sh [EVENTS] [ENTRIES]    default 200000 events, 1000000 entries
#
# Everything runs on CPU 0 (taskset): the appending thread, the flusher,
# libgit2 and OpenSSL share one core.  Every batch is fsynced for real.
set -eu
events=${1:-200000}
entries=${2:-1000000}
work=${BENCH_DIR:-/tmp/arca-bench-chain}
here=$(cd "$(dirname "$0")" && pwd)

echo "machine: $(nproc) cpu ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), $(uname -sr)"
echo "disk: $(df -h "$(dirname "$work")" | awk 'NR==2{print $1, $2}')"
rm -rf "$work"; mkdir -p "$work"
echo "== batches of 1000 entries or 50 ms"
taskset -c 0 "$here/bench_chain" rate "$work/rate.git" "$events" 1000 50 10000
echo "== batches of 100 entries or 10 ms"
taskset -c 0 "$here/bench_chain" rate "$work/rate100.git" "$((events / 4))" 100 10 5000
echo "== threads that append one event and wait for it (arcad's C-STORE answers)"
for th in 1 8; do
	taskset -c 0 "$here/bench_chain" waiters "$work/wait$th.git" "$th" 5
done
echo "== a log of $entries entries"
taskset -c 0 "$here/bench_chain" build "$work/big.git" "$entries" 1000
rm -rf "$work"
