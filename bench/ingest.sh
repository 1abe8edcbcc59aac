#!/bin/bash
# ingest.sh - C-STORE ingest rate of arcad beside DCMTK storescp (plain
# files) and Orthanc (SQLite index), in one run, with DCMTK storescu as the
# client for all three.  Run from the build directory after `make bench`:
#
#   bench/ingest.sh [--count N] [--mr N] [--rounds R] [--clients C] [--pdu BYTES]
#                   [--frames F] [--modes "1 C mf"] [--servers "arcad storescp orthanc"]
#                   [--timeout S] [--work DIR] [--keep]
#
#   ARCAD=PATH        the arcad under test (default: tools/arcad of this build)
#   ARCAD_BASE=PATH   a second arcad (e.g. built from an older commit) measured
#                     as the server "base" in the same run, for before/after:
#                     --servers "base arcad storescp orthanc"
#   server "nochain": the arcad under test with its node key removed, so it
#                     runs without provenance chain events: the storage path
#                     alone (--servers "arcad nochain storescp"); "basenochain":
#                     the same for ARCAD_BASE
#
#   --count N     CT instances 512x512, 16 bits (0.53 MB each); default 4000 (2.1 GB)
#   --mr N        MR instances 256x256 added to the set; default 0
#   --rounds R    runs of every cell, the median is reported; default 1 (env ROUNDS)
#   --clients C   concurrent storescu processes of the concurrent mode; default 8
#   --pdu BYTES   maximum PDU every server accepts and storescu proposes; default 131072
#   --frames F    frames of 512x512 in the multi-frame instance; default 2048 (1 GiB)
#   --modes M     any of: 1 (one association), N (N associations at once, as
#                 many numbers as wanted, e.g. "1 4 8"), mf (the one multi-frame
#                 instance); default "1 C mf"
#   --servers S   default "arcad storescp orthanc"
#   --timeout S   limit on each client run; default 120 + count/4 seconds
#   --work DIR    data and server storage; default /tmp/arca-bench-ingest (env BENCH_DIR)
#   --keep        keep each server's storage and logs after its run
#
# Every cell starts its server afresh on an empty storage directory (so peak
# RSS is that cell's), waits for a C-ECHO, reads the server's CPU time,
# runs the clients, reads CPU time and peak RSS again, counts what was
# stored and stops the server.  Everything listens on 127.0.0.1 only.
# See bench/README.md for how to read the table.
set -u

here=$(cd "$(dirname "$0")" && pwd)
count=4000
nmr=0
rounds=${ROUNDS:-1}
clients=8
pdu=131072
frames=2048
modes=""
servers="arcad storescp orthanc"
ctimeout=""
work=${BENCH_DIR:-/tmp/arca-bench-ingest}
keep=0
arcad_bin=${ARCAD:-$here/../tools/arcad}
base_bin=${ARCAD_BASE:-}
orthanc_tmpl=${ORTHANC_TEMPLATE:-$here/orthanc.json.in}

usage() {
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift 2 ;;
	--mr) nmr=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--clients) clients=$2; shift 2 ;;
	--pdu) pdu=$2; shift 2 ;;
	--frames) frames=$2; shift 2 ;;
	--modes) modes=$2; shift 2 ;;
	--servers) servers=$2; shift 2 ;;
	--timeout) ctimeout=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) usage ;;
	*) echo "ingest.sh: unknown option '$1'" >&2; usage ;;
	esac
done
for v in "$count" "$nmr" "$rounds" "$clients" "$pdu" "$frames"; do
	case $v in ''|*[!0-9]*) echo "ingest.sh: '$v' is not a number" >&2; exit 2 ;; esac
done
if [ "$rounds" -lt 1 ] || [ "$clients" -lt 1 ] || [ $((count + nmr)) -lt "$clients" ]; then
	echo "ingest.sh: need rounds >= 1, clients >= 1 and at least one instance per client" >&2
	exit 2
fi
# DCMTK's limits on the maximum PDU (ASC_MINIMUMPDUSIZE..ASC_MAXIMUMPDUSIZE).
if [ "$pdu" -lt 4096 ] || [ "$pdu" -gt 131072 ]; then
	echo "ingest.sh: --pdu must be 4096..131072 (DCMTK's range)" >&2
	exit 2
fi
[ -n "$modes" ] || modes="1 $clients mf"
[ -n "$ctimeout" ] || ctimeout=$((120 + (count + nmr) / 4))
for t in storescu storescp echoscu timeout; do
	command -v $t >/dev/null 2>&1 || { echo "ingest.sh: $t not found; run bench/install-peers.sh" >&2; exit 2; }
done
[ -x "$here/gen_ct" ] || { echo "ingest.sh: $here/gen_ct missing; run 'make bench' in the build directory" >&2; exit 2; }

# DCMTK 3.6.7 leaves Nagle's algorithm on unless this is set: without it
# every server measures about 20 instances/s (each reply waits for a
# delayed ACK).  Exported, so every storescu/storescp/echoscu gets it.
export TCP_NODELAY=1
hz=$(getconf CLK_TCK)
mkdir -p "$work" || exit 2
logs=$work/logs
rm -rf "$logs" "$work/run"
mkdir -p "$logs" "$work/run"
results=$work/results.tsv
: > "$results"

# ---------------------------------------------------------------- cleanup
server_pid=""
client_pids=""
sampler_pid=""
. "$here/host_lib.sh"
cleanup() {
	local p
	for p in $client_pids; do kill -TERM "$p" 2>/dev/null; done
	[ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
	if [ -n "$server_pid" ]; then
		# storescp --fork children, if any, then the server itself.
		for p in $(ps -o pid= --ppid "$server_pid" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
		stop_pid "$server_pid" 5
	fi
	server_pid=""
	client_pids=""
	sampler_pid=""
	[ "$keep" = 1 ] || rm -rf "$work/run"
}
trap cleanup EXIT
trap 'echo "ingest.sh: interrupted" >&2; exit 130' INT TERM

# ---------------------------------------------------------------- helpers
# Largest sum of RSS over the server and its children, sampled every 0.1 s
# (a forking server's memory is the sum over its processes).
sampler() { # pid outfile
	local pid=$1 out=$2 max=0 cur
	while kill -0 "$pid" 2>/dev/null; do
		cur=$(ps -o rss= --pid "$pid" --ppid "$pid" 2>/dev/null | awk '{s += $1} END {print s + 0}')
		if [ "$cur" -gt "$max" ]; then max=$cur; echo $max > "$out"; fi
		sleep 0.1
	done
}

# Waits until a C-ECHO to the server succeeds (or the server exits, or
# 30 s pass).  Returns 0 when ready.
wait_echo() { # aet port pid log
	local i
	for ((i = 0; i < 150; i++)); do
		if ! kill -0 "$3" 2>/dev/null; then
			return 1
		fi
		if timeout 5 echoscu -aet BENCH -aec "$1" -to 2 -ta 2 -td 2 127.0.0.1 "$2" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# ---------------------------------------------------------------- servers
# start_NAME DIR: starts the server with its storage under DIR, sets
# server_pid, port, aet; returns non-zero (with a reason in $reason) on
# failure.  count_NAME DIR: instances stored.
reason=""

start_storescp() {
	local dir=$1 fork=""
	mkdir -p "$dir/out"
	port=$(free_port); aet=STORESCP
	# --fork for concurrent associations: without it storescp serves one
	# association at a time and the others wait in the listen queue.
	[ "$cur_clients" -gt 1 ] && fork=--fork
	# +xa: accept every transfer syntax it supports; files as received,
	# one per instance, no index, no fsync.
	storescp $fork --aetitle "$aet" +xa --max-pdu "$pdu" --output-directory "$dir/out" \
		--acse-timeout 30 --dimse-timeout 60 "$port" > "$dir/server.log" 2>&1 &
	server_pid=$!
}
count_storescp() { find "$1/out" -type f | wc -l; }

start_orthanc() {
	local dir=$1 http
	command -v Orthanc >/dev/null 2>&1 || { reason="Orthanc not installed (bench/install-peers.sh)"; return 1; }
	[ -f "$orthanc_tmpl" ] || { reason="$orthanc_tmpl missing"; return 1; }
	mkdir -p "$dir/storage" "$dir/index"
	port=$(free_port); http=$(free_port); aet=ORTHANC
	while [ "$http" = "$port" ]; do http=$(free_port); done
	orthanc_http=$http
	sed -e "s|@STORAGE@|$dir/storage|" -e "s|@INDEX@|$dir/index|" -e "s|@AET@|$aet|" \
		-e "s|@DICOM_PORT@|$port|" -e "s|@HTTP_PORT@|$http|" -e "s|@PDU@|$pdu|" \
		-e "s|@THREADS@|$([ "$cur_clients" -gt 4 ] && echo "$cur_clients" || echo 4)|" \
		"$orthanc_tmpl" > "$dir/orthanc.json"
	Orthanc "$dir/orthanc.json" > "$dir/server.log" 2>&1 &
	server_pid=$!
}
count_orthanc() {
	curl -s --max-time 20 "http://127.0.0.1:$orthanc_http/statistics" 2>/dev/null |
		sed -n 's/.*"CountInstances"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p' | head -1
}

arcad_reason=""
base_reason=""
# arcad's archive: made by `arca init` (the annotated arca.conf a user gets)
# when the build has it, then bound to 127.0.0.1 with the benchmark's PDU;
# otherwise a minimal arca.conf with the same settings.
start_arcad() { start_arcad_bin "$1" "$arcad_bin" arcad_reason; }
# The same for the baseline build (ARCAD_BASE), with its own `arca init`.
start_nochain() { start_arcad_bin "$1" "$arcad_bin" arcad_reason nokey; }
start_basenochain() {
	if [ -z "$base_bin" ]; then reason="ARCAD_BASE not set"; return 1; fi
	start_arcad_bin "$1" "$base_bin" base_reason nokey
}
start_base() {
	if [ -z "$base_bin" ]; then reason="ARCAD_BASE not set"; return 1; fi
	start_arcad_bin "$1" "$base_bin" base_reason
}
start_arcad_bin() { # dir binary reason_var [nokey]
	local dir=$1 bin=$2 conf arca_bin
	if [ -n "${!3}" ]; then reason=${!3}; return 1; fi
	if [ ! -x "$bin" ]; then
		printf -v "$3" '%s' "no $bin (make tools/arcad)"; reason=${!3}; return 1
	fi
	port=$(free_port); aet=ARCA
	conf=$dir/root/arca.conf
	arca_bin=$(dirname "$bin")/arca
	if [ -x "$arca_bin" ] &&
	   "$arca_bin" init --root "$dir/root" --aet "$aet" --port "$port" --node bench > "$dir/init.log" 2>&1 &&
	   [ -f "$conf" ]; then
		sed -i -e 's/^;\{0,1\}bind[[:space:]]*=.*/bind = 127.0.0.1/' \
			-e "s/^;\\{0,1\\}max_pdu[[:space:]]*=.*/max_pdu = $pdu/" "$conf"
		if ! grep -q '^bind = 127.0.0.1$' "$conf" || ! grep -q "^max_pdu = $pdu\$" "$conf"; then
			reason="the arca.conf from 'arca init' has no bind/max_pdu lines to set"
			return 1
		fi
	else
		rm -rf "$dir/root"
		mkdir -p "$dir/root/instances" "$dir/root/tmp"
		printf '[server]\nae = %s\nport = %s\nnode = bench\nbind = 127.0.0.1\nmax_pdu = %s\n[access]\ncalling_ae = any\n' \
			"$aet" "$port" "$pdu" > "$conf"
	fi
	# without its node key arcad runs without provenance chain events
	[ "${4:-}" = nokey ] && rm -f "$dir/root/keys/node.key"
	"$bin" --root "$dir/root" > "$dir/server.log" 2>&1 &
	server_pid=$!
}
# Instances stored: rows of the index (ROOT/index.db, [storage] backend =
# cas, the default; needs the sqlite3 shell), else the Part 10 files of the
# files backend, ROOT/instances/<study>/<series>/<sop>.dcm (store_ingest.h).
count_arcad() {
	if [ -f "$1/root/index.db" ] && [ -d "$1/root/chunks" ] && command -v sqlite3 >/dev/null 2>&1; then
		sqlite3 "$1/root/index.db" 'SELECT count(*) FROM instances' 2>/dev/null
	else
		find "$1/root/instances" -type f -name '*.dcm' 2>/dev/null | wc -l
	fi
}
count_base() { count_arcad "$1"; }
count_nochain() { count_arcad "$1"; }
count_basenochain() { count_arcad "$1"; }

# Bytes of the stored objects (file sizes; the index databases are not
# counted: SQLite's WAL is preallocated and reused, which would swamp small
# runs): the stored/raw ratio.
tree_bytes() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
stored_arcad() { tree_bytes "$1/root/chunks" "$1/root/instances"; }
stored_base() { stored_arcad "$1"; }
stored_nochain() { stored_arcad "$1"; }
stored_basenochain() { stored_arcad "$1"; }
stored_storescp() { tree_bytes "$1/out"; }
stored_orthanc() { tree_bytes "$1/storage"; }

server_label() {
	case $1 in arcad) echo arcad ;; base) echo "arcad(base)" ;; nochain) echo "arcad(no chain)" ;; basenochain) echo "base(no chain)" ;; storescp) echo storescp ;; orthanc) echo Orthanc ;; esac
}

# ---------------------------------------------------------------- data
data=$work/data
stamp="$count-$nmr-512"
if [ ! -f "$data/.done-$stamp" ]; then
	echo "generating $count CT + $nmr MR instances in $data/set ..." >&2
	rm -rf "$data/set" "$data/split" "$data"/.done-*
	mkdir -p "$data"
	"$here/gen_ct" --modality CT --count "$count" --size 512 --per-series 200 --seed 1 "$data/set" || exit 2
	if [ "$nmr" -gt 0 ]; then
		"$here/gen_ct" --modality MR --count "$nmr" --size 256 --per-series 100 --seed 2 "$data/set" || exit 2
	fi
	touch "$data/.done-$stamp"
fi
# The same files split round-robin over N concurrent clients (hard links).
ensure_split() { # N
	local n=$1 i=0 f d
	[ -f "$data/split/$n/.done" ] && return 0
	rm -rf "$data/split/$n"
	for f in "$data"/set/*.dcm; do
		d=$data/split/$n/$((i % n))
		[ -d "$d" ] || mkdir -p "$d"
		ln "$f" "$d/" 2>/dev/null || cp "$f" "$d/" || return 1
		i=$((i + 1))
	done
	touch "$data/split/$n/.done"
}
for mode in $modes; do
	case $mode in
	mf) ;;
	1) ;;
	*[!0-9]*|0|'') echo "ingest.sh: mode '$mode' is not 1, a number of clients, or mf" >&2; exit 2 ;;
	*) [ "$mode" -le $((count + nmr)) ] || { echo "ingest.sh: $mode clients for $((count + nmr)) instances" >&2; exit 2; }
	   ensure_split "$mode" || exit 2 ;;
	esac
done
set_files=$(find "$data/set" -name '*.dcm' | wc -l)
set_bytes=$(find "$data/set" -name '*.dcm' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
case " $modes " in *" mf "*)
	if [ ! -f "$data/.done-mf-$frames" ]; then
		echo "generating one multi-frame instance of $frames frames in $data/mf ..." >&2
		rm -rf "$data/mf" "$data"/.done-mf-*
		"$here/gen_ct" --count 1 --frames "$frames" --size 512 --seed 3 "$data/mf" || exit 2
		touch "$data/.done-mf-$frames"
	fi
	mf_bytes=$(find "$data/mf" -name '*.dcm' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	;;
esac
# Warm the page cache so that every server's first run reads cached input
# like the others (nothing is ever dropped from it: no root sysctl here).
find "$data/set" "$data/mf" -name '*.dcm' -exec cat {} + > /dev/null 2>&1

# ---------------------------------------------------------------- one cell
# run_cell SERVER MODE ROUND: appends a line to $results:
#   server mode round status wall_s stored expected cpu_s rss_kb bytes note
cur_clients=1
run_cell() {
	local srv=$1 mode=$2 round=$3 dir=$work/run/$1-$2-$3 expected bytes n k
	local t0 t1 c0 c1 rss stored sbytes rcs="" bad=0 note="" status=ok src
	case $mode in
	mf) cur_clients=1; expected=1; bytes=$mf_bytes ;;
	*) cur_clients=$mode; expected=$set_files; bytes=$set_bytes ;;
	esac
	rm -rf "$dir"; mkdir -p "$dir"
	reason=""; server_pid=""
	if ! "start_$srv" "$dir" || [ -z "$server_pid" ]; then
		echo -e "$srv\t$mode\t$round\tunavailable\t0\t0\t$expected\t0\t0\t$bytes\t${reason:-could not start}" >> "$results"
		return
	fi
	if ! wait_echo "$aet" "$port" "$server_pid"; then
		if kill -0 "$server_pid" 2>/dev/null; then
			reason="no C-ECHO answer within 30 s"
		else
			wait "$server_pid"
			reason="exited with status $? before answering a C-ECHO"
		fi
		n=$(grep -v '^[[:space:]]*$' "$dir/server.log" | tail -1 | cut -c1-240)
		[ -n "$n" ] && reason="$reason; its last words: $n"
		[ "$srv" = arcad ] && arcad_reason=$reason
		cp "$dir/server.log" "$logs/$srv-$mode-$round.server.log" 2>/dev/null
		cleanup_cell "$dir"
		echo -e "$srv\t$mode\t$round\tunavailable\t0\t0\t$expected\t0\t0\t$bytes\t$reason" >> "$results"
		return
	fi
	c0=$(tree_ticks "$server_pid")
	if [ "$cur_clients" -gt 1 ]; then
		echo 0 > "$dir/rss-sum"
		sampler "$server_pid" "$dir/rss-sum" &
		sampler_pid=$!
	fi
	client_pids=""
	t0=$(now)
	if [ "$mode" = mf ]; then
		src=("$data/mf")
	elif [ "$cur_clients" = 1 ]; then
		src=("$data/set")
	else
		src=()
		for ((k = 0; k < cur_clients; k++)); do src+=("$data/split/$cur_clients/$k"); done
	fi
	k=0
	for d in "${src[@]}"; do
		(
			timeout "$([ "$mode" = mf ] && echo 900 || echo "$ctimeout")" \
				storescu -aet BENCH -aec "$aet" --max-pdu "$pdu" -ta 30 -td 120 \
				+sd 127.0.0.1 "$port" "$d" > "$dir/client.$k.log" 2>&1
			echo $? > "$dir/client.$k.rc"
		) &
		client_pids="$client_pids $!"
		k=$((k + 1))
	done
	wait $client_pids
	t1=$(now)
	client_pids=""
	children_settle "$server_pid"
	c1=$(tree_ticks "$server_pid")
	rss=$(vm_hwm_kb "$server_pid")
	if [ -n "$sampler_pid" ]; then
		kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null; sampler_pid=""
		n=$(cat "$dir/rss-sum" 2>/dev/null || echo 0)
		[ "${n:-0}" -gt "${rss:-0}" ] && rss=$n
	fi
	stored=$("count_$srv" "$dir")
	stored=${stored:-0}
	sbytes=$("stored_$srv" "$dir")
	for ((n = 0; n < k; n++)); do
		local rc
		rc=$(cat "$dir/client.$n.rc" 2>/dev/null || echo '?')
		rcs="$rcs$rc,"
		[ "$rc" = 0 ] || bad=1
	done
	if ! kill -0 "$server_pid" 2>/dev/null; then
		status=failed; note="server died"
	elif [ "$bad" = 1 ]; then
		status=failed; note="client exit ${rcs%,}"
		grep -h -m1 -E '^[EF]:' "$dir"/client.*.log 2>/dev/null | head -1 | cut -c1-100 > "$dir/err"
		[ -s "$dir/err" ] && note="$note: $(cat "$dir/err")"
	fi
	if [ "$stored" != "$expected" ]; then
		status=failed; note="${note:+$note; }$stored of $expected stored"
	fi
	for f in "$dir"/client.*.log "$dir/server.log"; do
		[ -f "$f" ] && cp "$f" "$logs/$srv-$mode-$round.$(basename "$f")"
	done
	cleanup_cell "$dir"
	echo -e "$srv\t$mode\t$round\t$status\t$(echo "$t1 - $t0" | bc -l)\t$stored\t$expected\t$(echo "($c1 - $c0) / $hz" | bc -l)\t$rss\t$bytes\t$note\t${sbytes:-0}" >> "$results"
}
cleanup_cell() {
	local p
	if [ -n "$server_pid" ]; then
		for p in $(ps -o pid= --ppid "$server_pid" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
		stop_pid "$server_pid" 30
	fi
	server_pid=""
	[ "$keep" = 1 ] || retire_cell "$1"
}
# A cell's storage is not removed at once: ext4 without a journal (as on
# these VMs) skips every inode freed in the last 30 s when it allocates
# one (fs/ext4/ialloc.c, recently_deleted), so files created right after
# a large delete cost several times more kernel CPU; perf showed 15% of
# arcad's CPU there.  Old cells go when the disk needs the room (the
# oldest first, with a note) or at exit.
retire_cell() {
	local need
	retired+=("$1")
	need=$((set_bytes / 512 + ${mf_bytes:-0} / 512 + 1048576)) # KiB: two cells' worth and 1 GiB
	while [ "${#retired[@]}" -gt 0 ] && [ "$(df -Pk "$work" | awk 'NR == 2 { print $4 }')" -lt "$need" ]; do
		echo "  (disk short: removing ${retired[0]} now; the next cell may pay for recently freed inodes)"
		rm -rf "${retired[0]}"
		retired=("${retired[@]:1}")
	done
}
retired=()

# ---------------------------------------------------------------- machine
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
dcmtk_v=$(storescu --version 2>/dev/null | sed -n 's/^\$dcmtk: storescu \(v[^ ]*\).*/\1/p' | head -1)
orthanc_v=$(Orthanc --version 2>/dev/null | head -1)
arcad_v=$("$arcad_bin" --version 2>/dev/null | head -1)
disk=$(df -T "$work" 2>/dev/null | awk 'NR == 2 {print $1 " (" $2 ")"}')
machine="machine: $cpu, $(nproc) cores, $mem, $(uname -sr), work directory on ${disk:-?}; DCMTK ${dcmtk_v:-?}, ${orthanc_v:-Orthanc not installed}, ${arcad_v:-arcad ?}; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$machine"
mr_note=""
[ "$nmr" -gt 0 ] && mr_note=" + $nmr MR 256x256"
mf_note="not in --modes"
[ -n "${mf_bytes:-}" ] && mf_note="one instance of $frames frames 512x512, $((mf_bytes / 1048576)) MiB"
echo "data: $set_files instances, $((set_bytes / 1000000)) MB ($count CT 512x512$mr_note, 16 bits); multi-frame: $mf_note"
echo "client: DCMTK storescu, TCP_NODELAY=1, max PDU $pdu for every server; $rounds round(s) per cell, median; page cache warm, never dropped"
echo

# ---------------------------------------------------------------- run
for ((r = 1; r <= rounds; r++)); do
	for mode in $modes; do
		for srv in $servers; do
			echo "round $r: $(server_label "$srv"), $([ "$mode" = mf ] && echo "multi-frame" || echo "$mode association(s)") ..." >&2
			run_cell "$srv" "$mode" "$r"
			tail -1 "$results" | awk -F'\t' '{printf "  %s %.2f s, %s/%s stored, cpu %.2f s, rss %d kB %s\n", $4, $5, $6, $7, $8, $9, $11}' >&2
		done
	done
done

# ---------------------------------------------------------------- report
# One line per server: for each mode, the median over rounds, or why not.
awk -F'\t' -v modes="$modes" -v servers="$servers" -v mf_bytes="${mf_bytes:-0}" -v rounds="$rounds" '
function median(list,    a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function label(s) { return s == "orthanc" ? "Orthanc" : s == "base" ? "arcad(base)" : s == "nochain" ? "arcad(no chain)" : s == "basenochain" ? "base(no chain)" : s }
{
	k = $1 SUBSEP $2
	if ($4 == "ok") { wall[k] = wall[k] " " $5; cpu[k] = cpu[k] " " $8; rss[k] = rss[k] " " $9; sb[k] = sb[k] " " ($12 + 0); nok[k]++ }
	else if (!(k in why)) {
		why[k] = ($4 == "unavailable" ? "not available" : "FAILED")
		if ($4 == "unavailable") {
			# One line per server: the reason is the same in every mode.
			t = label($1) ": not available (" $11 ")"
			if (!(t in seen)) { seen[t] = 1; notes[++nnotes] = t }
		} else
			notes[++nnotes] = label($1) ", " ($2 == "mf" ? "multi-frame" : $2 == 1 ? "1 association" : $2 " associations") ", round " $3 ": FAILED: " $11
	}
	n_exp[k] = $7; bytes[k] = $10
}
END {
	nm = split(modes, M, " "); ns = split(servers, S, " ")
	printf "%-15s", ""
	for (m = 1; m <= nm; m++)
		printf " | %-44s", (M[m] == "mf" ? "one multi-frame instance (" sprintf("%.0f", mf_bytes / 1048576) " MiB)" : M[m] == 1 ? "1 association" : M[m] " associations at once")
	printf "\n%-15s", "server"
	for (m = 1; m <= nm; m++)
		printf " | %7s %6s %7s %7s %8s    ", (M[m] == "mf" ? "" : "inst/s"), "MB/s", "wall s", "CPU s", "peak RSS"
	printf "\n"
	for (s = 1; s <= ns; s++) {
		printf "%-15s", label(S[s])
		for (m = 1; m <= nm; m++) {
			k = S[s] SUBSEP M[m]
			if (k in why) { printf " | %-44s", why[k] " (see below)"; continue }
			if (!(k in nok)) { printf " | %-44s", "not run"; continue }
			w = median(wall[k]); c = median(cpu[k]); r = median(rss[k])
			rate[k] = n_exp[k] / w
			printf " | %7s %6.1f %7.2f %7.2f %4.0f MiB    ", (M[m] == "mf" ? "" : sprintf("%.1f", n_exp[k] / w)), bytes[k] / w / 1e6, w, c, r / 1024
		}
		printf "\n"
	}
	for (i = 1; i <= nnotes; i++)
		printf "  %s\n", notes[i]
	printf "\n"
	has_arcad = 0
	for (s = 1; s <= ns; s++) if (S[s] == "arcad") has_arcad = 1
	for (m = 1; m <= nm && has_arcad; m++) {
		if (M[m] == "mf") continue
		a = "arcad" SUBSEP M[m]
		line = ""
		for (s = 1; s <= ns; s++) {
			if (S[s] == "arcad") continue
			o = S[s] SUBSEP M[m]
			line = line sprintf("  arcad/%s %s", label(S[s]), ((a in rate) && (o in rate)) ? sprintf("%.2fx", rate[a] / rate[o]) : "n/a")
		}
		printf "ratios, %s:%s\n", (M[m] == 1 ? "1 association" : M[m] " associations"), line
	}
	# What each server keeps on disk for the bytes it was sent.
	for (m = 1; m <= nm; m++) {
		line = ""
		for (s = 1; s <= ns; s++) {
			k = S[s] SUBSEP M[m]
			if ((k in nok) && bytes[k] > 0)
				line = line sprintf("  %s %.3f", label(S[s]), median(sb[k]) / bytes[k])
		}
		if (line != "")
			printf "stored/raw bytes, %s:%s\n", (M[m] == "mf" ? "multi-frame" : M[m] == 1 ? "1 association" : M[m] " associations"), line
	}
	# The machine is noisy: show how far the rounds were apart.
	if (rounds > 1) {
		printf "inst/s over the %d rounds, slowest-fastest:", rounds
		for (m = 1; m <= nm; m++) {
			if (M[m] == "mf") continue
			for (s = 1; s <= ns; s++) {
				k = S[s] SUBSEP M[m]
				if (!(k in nok)) continue
				n = split(wall[k], ws, " "); lo = hi = ws[1]
				for (i = 2; i <= n; i++) { if (ws[i] < lo) lo = ws[i]; if (ws[i] > hi) hi = ws[i] }
				printf "  %s %s: %.0f-%.0f", label(S[s]), (M[m] == 1 ? "1" : M[m]), n_exp[k] / hi, n_exp[k] / lo
			}
		}
		printf "\n"
	}
	# Peak RSS independent of instance size: multi-frame RSS against the 1-association RSS.
	for (s = 1; s <= ns; s++) {
		a = S[s] SUBSEP "mf"; b = S[s] SUBSEP "1"
		if ((a in nok) && (b in nok))
			printf "peak RSS, 1 association of %.2f MB instances -> one %.0f MiB instance: %s %.0f -> %.0f MiB\n", bytes[b] / n_exp[b] / 1e6, mf_bytes / 1048576, label(S[s]), median(rss[b]) / 1024, median(rss[a]) / 1024
	}
}' "$results"
echo
echo "per-round results: $results; client and server logs: $logs"
