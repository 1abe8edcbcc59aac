#!/bin/bash
# ceiling.sh - the most a durable, content-addressed C-STORE ingest can reach
# on this machine, beside DCMTK storescp's measured rate, in one run.  Run
# from the build directory after `make bench`:
#
#   bench/ceiling.sh [--count N] [--rounds R] [--clients C] [--pdu BYTES]
#                    [--parts-count N] [--zstd-level L] [--work DIR]
#
#   --count N        CT instances 512x512, 16 bits (0.53 MB each); default 1000
#   --rounds R       rounds of every measurement, medians reported; default 3
#   --clients C      concurrent storescu processes of the concurrent mode; default 8
#   --pdu BYTES      maximum PDU storescp accepts and storescu proposes; default 131072
#   --parts-count N  repetitions of each ceiling_parts measurement; default 200
#   --zstd-level L   level of the chunk codec; default 1 (arcad's default)
#   --work DIR       data, storescp's output, the durable writes; default
#                    /tmp/arca-bench-ceiling (env BENCH_DIR).  The data set
#                    is bench/ingest.sh's (ingest.sh makes it, in DIR/data)
#
# Every round: storescp on 1 association, then on C at once (--fork), each
# time on an empty directory, with its CPU time and the clients' CPU time
# (the clients run on the same cores: their CPU is part of the budget);
# then bench/ceiling_parts on the same file system (SHA-256 and the chunk
# codec through arca's storage library, durable writes, memcpy).  The
# bounds are computed from this run's medians only; every assumption is
# printed with them.  Everything listens on 127.0.0.1 only.  See
# bench/README.md for how to read the output.
set -u

here=$(cd "$(dirname "$0")" && pwd)
count=1000
rounds=3
clients=8
pdu=131072
parts_count=200
zstd_level=1
work=${BENCH_DIR:-/tmp/arca-bench-ceiling}

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}
need_value() { [ $# -ge 2 ] || { echo "ceiling.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--count|--rounds|--clients|--pdu|--parts-count|--zstd-level|--work) need_value "$@" ;;
	esac
	case $1 in
	--count) count=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--clients) clients=$2; shift 2 ;;
	--pdu) pdu=$2; shift 2 ;;
	--parts-count) parts_count=$2; shift 2 ;;
	--zstd-level) zstd_level=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "ceiling.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
for v in count:"$count" rounds:"$rounds" clients:"$clients" pdu:"$pdu" parts-count:"$parts_count" \
	zstd-level:"$zstd_level"; do
	case ${v#*:} in ''|*[!0-9]*) echo "ceiling.sh: --${v%%:*} '${v#*:}' is not a number" >&2; exit 2 ;; esac
done
if [ "$rounds" -lt 1 ] || [ "$clients" -lt 2 ] || [ "$count" -lt "$clients" ] || [ "$count" -lt 16 ]; then
	echo "ceiling.sh: need --rounds >= 1, --clients >= 2 and --count >= 16 and >= clients" >&2
	exit 2
fi
if [ "$pdu" -lt 4096 ] || [ "$pdu" -gt 131072 ]; then
	echo "ceiling.sh: --pdu must be 4096..131072 (DCMTK's range)" >&2
	exit 2
fi
if [ "$parts_count" -lt 5 ] || [ "$zstd_level" -lt 1 ] || [ "$zstd_level" -gt 19 ]; then
	echo "ceiling.sh: need --parts-count >= 5 and --zstd-level 1..19" >&2
	exit 2
fi
for t in storescu storescp echoscu timeout awk; do
	command -v $t >/dev/null 2>&1 || { echo "ceiling.sh: $t not found; run bench/install-peers.sh" >&2; exit 2; }
done
for f in ingest.sh ceiling_parts gen_ct; do
	[ -x "$here/$f" ] || { echo "ceiling.sh: $here/$f missing; run 'make bench' in the build directory" >&2; exit 2; }
done

# DCMTK 3.6.7 leaves Nagle's algorithm on unless this is set (every reply
# would wait for a delayed ACK).  Exported for storescu, storescp, echoscu.
export TCP_NODELAY=1
hz=$(getconf CLK_TCK)
cores=$(nproc)
mkdir -p "$work" || exit 2
work=$(cd "$work" && pwd)
run=$work/ceiling-run
results=$work/ceiling.tsv
rm -rf "$run"
mkdir -p "$run" || exit 2
: > "$results"

# ---------------------------------------------------------------- cleanup
server_pid=""
client_pids=""
. "$here/host_lib.sh"
stop_server() {
	local p
	if [ -n "$server_pid" ]; then
		# storescp --fork children, then the server itself.
		for p in $(ps -o pid= --ppid "$server_pid" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
		stop_pid "$server_pid" 10
	fi
	server_pid=""
}
cleanup() {
	local p
	for p in $client_pids; do kill -TERM "$p" 2>/dev/null; done
	stop_server
	rm -rf "$run"
}
trap cleanup EXIT
trap 'echo "ceiling.sh: interrupted" >&2; exit 130' INT TERM

# ---------------------------------------------------------------- data
# bench/ingest.sh makes (or reuses, while --count is unchanged) the CT set
# in $work/data/set and its round-robin split in $work/data/split/C; with
# no servers it runs nothing else.
echo "preparing the data with bench/ingest.sh (log: $work/ingest-data.log) ..." >&2
if ! "$here/ingest.sh" --count "$count" --modes "1 $clients" --servers "" --work "$work" \
	> "$work/ingest-data.log" 2>&1; then
	echo "ceiling.sh: bench/ingest.sh could not prepare the data; see $work/ingest-data.log" >&2
	exit 2
fi
data=$work/data
set_files=$(find "$data/set" -name '*.dcm' | wc -l)
set_bytes=$(find "$data/set" -name '*.dcm' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
if [ "$set_files" != "$count" ] || [ ! -f "$data/split/$clients/.done" ]; then
	echo "ceiling.sh: expected $count instances in $data/set and a split in $data/split/$clients" >&2
	exit 2
fi
# Warm the page cache: storescu reads cached input in every round.
find "$data/set" -name '*.dcm' -exec cat {} + > /dev/null

# ---------------------------------------------------------------- helpers

# Seconds of CPU in the second line of bash's `times` output (the
# children's user and system time): "0m1.234s 0m0.567s".
times_children_s() {
	awk 'NR == 2 {
		s = 0
		for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] }
		printf "%.3f\n", s
	}' "$1" 2>/dev/null
}

wait_echo() { # port pid
	local i
	for ((i = 0; i < 150; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		timeout 5 echoscu -aet BENCH -aec STORESCP -to 2 -ta 2 -td 2 127.0.0.1 "$1" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# ---------------------------------------------------------------- storescp
# run_cell MODE ROUND: storescp (as bench/ingest.sh runs it: +xa, files as
# received, no index, no fsync) with MODE storescu clients; appends
#   mode round status wall_s stored server_cpu_s clients_cpu_s note
run_cell() {
	local mode=$1 round=$2 dir=$run/$1-$2 port fork="" k t0 t1 c0 c1 stored ccpu=0 bad=0 note="" s
	local src=()
	rm -rf "$dir"; mkdir -p "$dir/out"
	port=$(free_port)
	[ "$mode" -gt 1 ] && fork=--fork
	storescp $fork --aetitle STORESCP +xa --max-pdu "$pdu" --output-directory "$dir/out" \
		--acse-timeout 30 --dimse-timeout 60 "$port" > "$dir/server.log" 2>&1 &
	server_pid=$!
	if ! wait_echo "$port" "$server_pid"; then
		stop_server
		echo -e "$mode\t$round\tfailed\t0\t0\t0\t0\tstorescp did not answer a C-ECHO within 30 s" >> "$results"
		return
	fi
	if [ "$mode" = 1 ]; then
		src=("$data/set")
	else
		for ((k = 0; k < mode; k++)); do src+=("$data/split/$mode/$k"); done
	fi
	c0=$(tree_ticks "$server_pid")
	client_pids=""
	t0=$(now)
	k=0
	for d in "${src[@]}"; do
		# `times` in the subshell: the CPU of what it waited for (timeout
		# and its storescu), the client's whole cost.
		(
			timeout $((120 + count / 4)) storescu -aet BENCH -aec STORESCP --max-pdu "$pdu" \
				-ta 30 -td 120 +sd 127.0.0.1 "$port" "$d" > "$dir/client.$k.log" 2>&1
			echo $? > "$dir/client.$k.rc"
			times > "$dir/client.$k.times"
		) &
		client_pids="$client_pids $!"
		k=$((k + 1))
	done
	wait $client_pids
	t1=$(now)
	client_pids=""
	children_settle "$server_pid"
	c1=$(tree_ticks "$server_pid")
	kill -0 "$server_pid" 2>/dev/null || { bad=1; note="storescp died"; }
	stop_server
	stored=$(find "$dir/out" -type f | wc -l)
	for ((s = 0; s < k; s++)); do
		[ "$(cat "$dir/client.$s.rc" 2>/dev/null)" = 0 ] || { bad=1; note="${note:+$note; }client $s failed"; }
		ccpu=$(echo "$ccpu + $(times_children_s "$dir/client.$s.times")" | bc -l)
	done
	[ "$stored" = "$count" ] || { bad=1; note="${note:+$note; }$stored of $count stored"; }
	[ "$bad" = 1 ] && cp "$dir/server.log" "$work/storescp-$mode-$round.log" 2>/dev/null
	echo -e "$mode\t$round\t$([ "$bad" = 0 ] && echo ok || echo failed)\t$(echo "$t1 - $t0" | bc -l)\t$stored\t$(echo "($c1 - $c0) / $hz" | bc -l)\t$ccpu\t$note" >> "$results"
	rm -rf "$dir"
}

# ---------------------------------------------------------------- machine
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
dcmtk_v=$(storescu --version 2>/dev/null | sed -n 's/^\$dcmtk: storescu \(v[^ ]*\).*/\1/p' | head -1)
fs=$(df -T "$work" 2>/dev/null | awk 'NR == 2 {print $1 " (" $2 ")"}')
mnt=$(df --output=target "$work" 2>/dev/null | tail -1)
mopts=$(awk -v m="$mnt" '$2 == m {o = $4} END {print o}' /proc/mounts)
echo "ceiling.sh: what a durable, content-addressed C-STORE ingest can reach on this machine"
echo "machine: ${cpu:-?}, $cores cores, $mem, $(uname -sr); work directory $work on ${fs:-?} mounted ${mopts:-?}; DCMTK ${dcmtk_v:-?}; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "data: $set_files CT instances 512x512x16, $((set_bytes / set_files)) bytes each (bench/ingest.sh's set, $data/set)"
echo "client: DCMTK storescu, TCP_NODELAY=1, max PDU $pdu; $clients clients in the concurrent mode; $rounds round(s), medians"
case $fs in
*"(tmpfs)"*|*"(ramfs)"*) echo "WARNING: $work is on a memory file system: fdatasync there costs nothing and the durable figures mean nothing; use --work on the disk arcad would use" ;;
esac
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other programs on these cores show as noise)"
echo

# ---------------------------------------------------------------- run
for ((r = 1; r <= rounds; r++)); do
	for mode in 1 "$clients"; do
		echo "round $r: storescp, $mode association(s) ..." >&2
		run_cell "$mode" "$r"
		tail -1 "$results" | awk -F'\t' '{printf "  %s %.2f s, %s stored, storescp CPU %.2f s, clients CPU %.2f s %s\n", $3, $4, $5, $6, $7, $8}' >&2
	done
	echo "round $r: ceiling_parts ..." >&2
	mkdir -p "$run/parts"
	# Start from a clean file system: storescp's output was deleted, and
	# whatever it left dirty is flushed before the durable writes are timed.
	sync -f "$run" 2>/dev/null || sync
	if ! "$here/ceiling_parts" --input "$data/set" --dir "$run/parts" --count "$parts_count" \
		--zstd-level "$zstd_level" --json > "$run/parts.$r.json" 2> "$run/parts.$r.err"; then
		echo "ceiling.sh: ceiling_parts failed: $(head -1 "$run/parts.$r.err")" >&2
		exit 2
	fi
	# "key": value lines -> "parts key value round"
	sed -n 's/^ *"\([a-z0-9_]*\)": *\([-0-9.e+]*\),\{0,1\}$/parts\t\1\t\2\t'"$r"'/p' "$run/parts.$r.json" >> "$results"
	rm -rf "$run/parts"
done
if ! awk -F'\t' -v c="$clients" '$1 == 1 && $3 == "ok" {a = 1} $1 == c && $3 == "ok" {b = 1} END {exit !(a && b)}' "$results"; then
	echo "ceiling.sh: storescp failed in every round of a mode; see $results and $work/storescp-*.log" >&2
	exit 1
fi

# ---------------------------------------------------------------- report
awk -F'\t' -v q="'" -v C="$clients" -v cores="$cores" -v rounds="$rounds" -v count="$count" \
	-v parts_count="$parts_count" '
function median(list,    a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function spreadf(list, fmt,    a, n, i, lo, hi) {
	n = split(list, a, " "); lo = hi = a[1] + 0
	for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
	return sprintf(fmt "-" fmt, lo, hi)
}
function spread(list) { return spreadf(list, "%.0f") }
function p(k) { return median(P[k]) }
function min(a, b) { return a < b ? a : b }
function row(label, v, unit, note) { printf "  %-56s %8.3f %-7s (%s)\n", label, v, unit, note }
$1 == "parts" { P[$2] = P[$2] " " $3; next }
$3 == "ok" {
	rate[$1] = rate[$1] " " (count / $4)
	srv[$1] = srv[$1] " " ($6 * 1000 / count)
	cli[$1] = cli[$1] " " ($7 * 1000 / count)
	next
}
{ failed[++nf] = sprintf("storescp, %s association(s), round %s: %s", $1, $2, $8) }
END {
	for (i = 1; i <= nf; i++) printf "  FAILED (left out of the medians): %s\n", failed[i]
	# ---- storescp
	R1 = median(rate[1]); R8 = median(rate[C])
	S1 = median(srv[1]); S8 = median(srv[C]); K1 = median(cli[1]); K8 = median(cli[C])
	T1 = 1000 / R1
	print "measured, DCMTK storescp (+xa: files as received, no index, NO fsync), medians:"
	printf "  %-16s %9s %12s %22s %22s   %s\n", "", "inst/s", "wall ms/inst", "storescp CPU ms/inst", "clients CPU ms/inst", "inst/s over rounds"
	printf "  %-16s %9.0f %12.3f %22.3f %22.3f   %s\n", "1 association", R1, T1, S1, K1, spread(rate[1])
	printf "  %-16s %9.0f %12.3f %22.3f %22.3f   %s\n", C " associations", R8, 1000 / R8, S8, K8, spread(rate[C])
	printf "  (CPU = user + system time; storescp with its --fork children; each storescu with its timeout wrapper)\n"
	U8 = (S8 + K8) * R8 / 1000
	printf "  storescp and its clients used %.2f of the %d cores on %d associations: %s\n\n", U8, cores, C, (U8 > 0.85 * cores ? "CPU-bound, as expected" : "less than the cores: other programs had the rest (its rate is low, the ratios to it high: read same-CPU)")
	# ---- parts
	pix = p("pixel_bytes"); inst = p("instance_bytes")
	H = p("sha256_pixel_ms"); HI = p("sha256_instance_ms")
	DR = p("durable_raw_ms"); D4 = p("durable_4k_ms"); J = p("prealloc_4k_ms"); BR = p("batch_raw_mbps")
	# by codec: f = fast (arcad'"'"'s default), s = small
	nc = split("fast small", CN, " ")
	for (c = 1; c <= nc; c++) {
		Z[c] = p("codec_" CN[c] "_ms"); ST[c] = p("stored_" CN[c] "_bytes")
		DC[c] = p("durable_" CN[c] "_ms"); BC[c] = p("batch_" CN[c] "_mbps")
	}
	printf "measured, bench/ceiling_parts (%d repetitions each, median of %d runs; CPU = the thread'"'"'s CPU clock):\n", parts_count, rounds
	row(sprintf("SHA-256 (store_cas_hash) of the pixel data, %.0f B", pix), H, "ms CPU", sprintf("%.2f GB/s; bytes just copied into the buffer", p("sha256_gbps")))
	row("  the same bytes not in the cache", p("sha256_pixel_cold_ms"), "ms CPU", sprintf("%.2f GB/s; not used below", p("sha256_cold_gbps")))
	row(sprintf("SHA-256 of the whole instance, %.0f B", inst), HI, "ms CPU", "just copied")
	for (c = 1; c <= nc; c++) {
		row(sprintf("chunk codec %s (store_cas__encode), zstd level %d", CN[c], p("zstd_level")), Z[c], "ms CPU", sprintf("p90 %.3f; stored %.0f B = %.3f of raw", p("codec_" CN[c] "_p90_ms"), ST[c], p("stored_" CN[c] "_ratio")))
		row(sprintf("store_cas_put %s, deferred (hash+codec+temp file)", CN[c]), p("put_" CN[c] "_ms"), "ms wall", "a cross-check, not used below")
	}
	row("memcpy of the pixel data", p("memcpy_ms"), "ms CPU", sprintf("%.1f GB/s; inside storescp" q "s CPU already", p("memcpy_gbps")))
	for (c = 1; c <= nc; c++)
		row(sprintf("new file + write + fdatasync, chunk %s, %.0f B", CN[c], ST[c]), DC[c], "ms wall", sprintf("p90 %.3f", p("durable_" CN[c] "_p90_ms")))
	row(sprintf("new file + write + fdatasync, raw pixel data, %.0f B", pix), DR, "ms wall", sprintf("p90 %.3f", p("durable_raw_p90_ms")))
	row("new file + write + fdatasync, 4 KB (a manifest)", D4, "ms wall", sprintf("p90 %.3f", p("durable_4k_p90_ms")))
	row("4 KB overwrite + fdatasync, preallocated file", J, "ms wall", sprintf("p90 %.3f", p("prealloc_4k_p90_ms")))
	printf "  group commit (%d new files, fdatasync from %d threads + dir fsync), durable: chunks fast %.0f MB/s,\n    chunks small %.0f MB/s, raw %.0f MB/s\n", p("batch_files"), p("batch_threads"), BC[1], BC[2], BR
	if (rounds > 1) {
		printf "  lowest-highest over the %d runs: SHA-256 %s GB/s, codec fast %s ms, codec small %s ms,\n", rounds, spreadf(P["sha256_gbps"], "%.2f"), spreadf(P["codec_fast_ms"], "%.3f"), spreadf(P["codec_small_ms"], "%.3f")
		printf "    durable chunk fast %s ms, 4 KB preallocated %s ms, group commit fast %s MB/s\n", spreadf(P["durable_fast_ms"], "%.3f"), spreadf(P["prealloc_4k_ms"], "%.3f"), spreadf(P["batch_fast_mbps"], "%.0f")
	}
	print ""
	# ---- assumptions
	print "assumptions (each bound is an upper bound: only the costs below are counted):"
	print "  - server minimum CPU per instance = storescp'"'"'s own CPU per instance (receive, parse, write the"
	print "    file into the page cache) + SHA-256 of the pixel data (chunk address) + SHA-256 of the whole"
	print "    instance (instance hash over the canonical Part 10 stream, about the file'"'"'s bytes) + the chunk"
	print "    codec.  Not counted: normalisation and rules, the manifest'"'"'s encoding, SQLite'"'"'s CPU, the chain"
	print "    entry, thread hand-offs, the kernel'"'"'s writeback and journal threads."
	printf "  - the clients run on the same %d cores: CPU bound = cores / (clients CPU + server minimum CPU)\n", cores
	print "    per instance, i.e. (cores x 1 s - the clients'"'"' CPU per second at that rate) / server minimum."
	printf "  - disk bound = group-commit durable MB/s / stored bytes per instance; stored = the encoded chunk\n"
	printf "    (raw when the codec is deferred) + one 4 KB manifest; index and journal pages are shared by a\n"
	printf "    batch and not counted.\n"
	printf "  - latency bound on %d associations: none goes faster than one association alone, which waits\n", C
	printf "    for its own tail (below) after every instance: %d x the 1-association latency bound.  The\n", C
	printf "    %d-association bound is the smallest of CPU, disk and latency.\n", C
	printf "  - same-CPU = (storescp CPU + clients CPU) / (server minimum + clients CPU) per instance: the\n"
	printf "    fraction of storescp%ss rate an ingest reaches with the CPU storescp%ss run had, when both are\n", q, q
	printf "    CPU-bound.  It does not depend on how much of the machine other programs took, so on a busy\n"
	printf "    machine it is the figure to read for %d associations (the ratio then compares an ideal with a\n", C
	printf "    slowed storescp).\n"
	print "  - 1 association: storescu waits for each C-STORE response (no asynchronous operations window,"
	print "    PS3.7 D.3.3.3), so what cannot overlap the transfer is paid per instance, in sequence:"
	print "    durable write of the last chunk + of the manifest (new files) + one index fsync + one journal"
	print "    fdatasync (each the preallocated 4 KB figure) + SHA-256 and codec of the last piece, which for"
	print "    a single-frame CT is the whole frame (one chunk), hashed once complete.  Bound = the smaller"
	print "    of 1 / (storescp'"'"'s wall time per instance + that tail) and the CPU bound with 1 client."
	print ""
	# ---- bounds
	# requirement sets: vh = instance hash counted, vz = codec (0 = deferred, raw chunks)
	nv = split("all, codec fast (arcad default)|all, codec small|no instance hash, codec fast|codec deferred (raw chunks durable)|neither (one hash, raw)", V, "|")
	vh[1] = 1; vz[1] = 1; vh[2] = 1; vz[2] = 2; vh[3] = 0; vz[3] = 1; vh[4] = 1; vz[4] = 0; vh[5] = 0; vz[5] = 0
	printf "bounds (inst/s; ratio = bound / storescp measured in this run: %.0f on 1, %.0f on %d):\n", R1, R8, C
	printf "  %-36s | %8s %8s | %7s %7s %7s %7s %6s %8s | %7s %7s %7s %6s\n", "", "srv CPU", "", C " assoc:", "", "", "", "", "", "1 assoc:", "", "", ""
	printf "  %-36s | %8s %8s | %7s %7s %7s %7s %6s %8s | %7s %7s %7s %6s\n", "requirement set", "ms/inst", "tail ms", "CPU", "disk", "latency", "bound", "ratio", "same-CPU", "latency", "CPU", "bound", "ratio"
	for (v = 1; v <= nv; v++) {
		z = vz[v]
		extra = H + (vh[v] ? HI : 0) + (z ? Z[z] : 0)
		smin8 = S8 + extra; smin1 = S1 + extra
		cpu8 = cores * 1000 / (K8 + smin8)
		per = (z ? ST[z] : pix) + 4096
		disk = (z ? BC[z] : BR) * 1e6 / per
		dchunk = z ? DC[z] : DR
		tail = dchunk + D4 + 2 * J + H * (vh[v] ? 2 : 1) + (z ? Z[z] : 0)
		lat8 = C * 1000 / (T1 + tail)
		b8 = min(min(cpu8, disk), lat8)
		lat = 1000 / (T1 + tail)
		cpu1 = cores * 1000 / (K1 + smin1)
		b1 = min(lat, cpu1)
		same = (S8 + K8) / (K8 + smin8)
		printf "  %-36s | %8.3f %8.3f | %7.0f %7.0f %7.0f %7.0f %5.0f%% %7.0f%% | %7.0f %7.0f %7.0f %5.0f%%\n", V[v], smin8, tail, cpu8, disk, lat8, b8, 100 * b8 / R8, 100 * same, lat, cpu1, b1, 100 * b1 / R1
		if (v == 1) { TAIL = tail; SMIN8 = smin8; PER = per; DCH = dchunk; BCH = BC[1] }
	}
	lit = (cores - K8 * R8 / 1000) * 1000 / SMIN8
	printf "  (%d assoc, all requirements, with the clients'"'"' CPU taken at storescp'"'"'s rate instead: %.0f inst/s)\n\n", C, lit
	# ---- what 90% would take
	print "what 90% of storescp would take (all requirements, codec fast):"
	budget1 = 1000 / (0.9 * R1) - T1
	printf "  1 association: at %.0f inst/s an instance may take %.3f ms beyond storescp'"'"'s %.3f ms; the tail\n", 0.9 * R1, budget1, T1
	printf "    measured above is %.3f ms (%.1fx the budget).  Only a tail that overlaps the next instance'"'"'s\n", TAIL, TAIL / budget1
	printf "    transfer fits, which a C-STORE answered after durability cannot do on one synchronous association.\n"
	sync4 = DCH + D4 + 2 * J; par = (DCH > D4 ? DCH : D4) + J
	printf "    Of that tail, hashing and coding while the bytes arrive (small pieces, streaming SHA-256)\n"
	printf "    would leave the four durable steps: %.3f ms in sequence (%.1fx the budget); with chunk and\n", sync4, sync4 / budget1
	printf "    manifest in one parallel round, then index and journal in another, %.3f ms (%.1fx),\n", par, par / budget1
	printf "    a 1-association bound of %.0f inst/s = %.0f%% of storescp.\n", 1000 / (T1 + par), 100 * (1000 / (T1 + par)) / R1
	cpusame = (S8 + K8) / 0.9 - K8
	printf "  %d associations, with the CPU storescp%ss run had: 90%% of its rate leaves the server %.3f ms CPU\n", C, q, cpusame
	printf "    per instance; the minimum counted above is %.3f ms (%.2fx).  The two hashes and the codec alone\n", SMIN8, SMIN8 / cpusame
	left = cpusame - (SMIN8 - S8)
	if (left >= 0)
		printf "    take %.3f ms of it, which leaves %.3f ms to receive, parse and write an instance (storescp: %.3f).\n", SMIN8 - S8, left, S8
	else
		printf "    take %.3f ms, more than all of it, before anything is received, parsed or written (storescp: %.3f).\n", SMIN8 - S8, S8
	cpuneed = cores * 1000 / (0.9 * R8) - K8
	printf "  %d associations, all %d cores: at %.0f inst/s the server may spend %.3f ms CPU per instance (the clients take\n", C, cores, 0.9 * R8, cpuneed
	printf "    %.3f); the minimum counted above is %.3f ms (%.2fx); the disk must make %.0f MB/s durable\n", K8, SMIN8, SMIN8 / cpuneed, 0.9 * R8 * PER / 1e6
	printf "    (measured: %.0f MB/s with the codec).\n", BCH
}' "$results"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "every measurement of this run: $results"
