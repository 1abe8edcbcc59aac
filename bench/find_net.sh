#!/bin/bash
# find_net.sh - study-level C-FIND latency over the network: arcad on
# synthetic indexes of 100,000 and 1,000,000 instances beside Orthanc
# loaded with the same 100,000 instances, in the same run (issue 6).
#
#   bench/find_net.sh [--sizes "100000 1000000"] [--orthanc N|0]
#                     [--queries N] [--warmup N] [--clients C] [--scale F]
#                     [--work DIR]
#
# Run from the build directory after `make bench` (configure without
# sanitizers).  For each size N:
#   - bench/gen_index makes the index (seed 1; --scale as gen_index's), and
#     for the Orthanc size also the same instances as small Part 10 files
#     (gen_index --part10: the same values, no pixel data);
#   - arcad serves a fresh `arca init` archive whose index.db is that index
#     ([server] max_find_results = 0, bind 127.0.0.1): C-FIND answers come
#     from the index alone, the instances need not be in the store;
#   - bench/find_net asks, inside one association, --queries timed queries
#     (after --warmup untimed ones) of each kind: PatientName=SMI*, a
#     StudyDate range of 30 days, AccessionNumber exact; each with a study
#     list's return keys (ModalitiesInStudy and the counts included), then
#     again with plain keys only (values stored as received: the rows
#     "(plain keys)"), so that the cost of the computed keys shows apart.
# Orthanc (1.10, our own JSON config: its defaults, loopback, storage in
# WORK) is loaded once with the Part 10 files by --clients storescu in
# parallel (the load is timed and reported; the loaded Orthanc is kept in
# WORK and reused by later runs), then restarted and asked the same
# queries by the same client (same sample, same seed: the same questions).
#
# Output: the machine, the load average before and after, each server's
# lines and its CPU time per query (user + system, /proc/PID/stat: what a
# query costs the server whatever the machine's load), then a table: query, arcad N median/p99 for each size, Orthanc
# median/p99, the ratio Orthanc/arcad of the medians at the Orthanc size
# and Orthanc-at-its-size / arcad-at-the-largest-size, and rows/query.
# Times are milliseconds from the C-FIND-RQ sent to the final response.
#
# Defaults: sizes 100000 1000000, Orthanc 100000, 200 queries + 20
# warm-up per kind, 4 clients, scale 1, WORK /tmp/arca-bench-findnet
# (BENCH_DIR).  First run: about 2 min for the indexes and files, 6-12 min
# for Orthanc's load; later runs reuse them (about a minute).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qr_lib.sh"

sizes="100000 1000000"
orthanc_n=100000
queries=200
warmup=20
clients=4
scale=1
work=${BENCH_DIR:-/tmp/arca-bench-findnet}
usage() {
	sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2; shift 2 ;;
	--orthanc) orthanc_n=$2; shift 2 ;;
	--queries) queries=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--clients) clients=$2; shift 2 ;;
	--scale) scale=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "find_net.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
	esac
done
for v in $sizes $orthanc_n $queries $warmup $clients; do
	[[ $v =~ ^[0-9]+$ ]] || qr_die "'$v' is not a number"
done
ARCA=$here/../tools/arca
ARCAD=$here/../tools/arcad
for p in "$here/gen_index" "$here/find_net" "$ARCA" "$ARCAD"; do
	[ -x "$p" ] || qr_die "$p is not built (make bench)"
done
command -v echoscu >/dev/null || qr_die "echoscu (DCMTK) is not installed (bench/install-peers.sh)"
if [ "$orthanc_n" != 0 ] && ! command -v Orthanc >/dev/null; then
	echo "Orthanc is not installed (bench/install-peers.sh): measuring arcad only"
	orthanc_n=0
fi
if [ "$orthanc_n" != 0 ] && ! [[ " $sizes " =~ " $orthanc_n " ]]; then
	sizes="$orthanc_n $sizes"
fi
mkdir -p "$work/logs"
results=$work/results.tsv
cpu=$work/cpu.txt
: >"$results"
: >"$cpu"
: >"$work/logs/find_net.log"

# a process's user + system CPU time in clock ticks (proc(5) stat 14, 15)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# cpu_line LABEL KEYS TICKS0 PID: the server's CPU per query over the
# find_net run (3 kinds x (queries + warm-up), plus the sample query)
cpu_line() {
	local t1 hz
	t1=$(cpu_ticks "$4")
	hz=$(getconf CLK_TCK)
	awk -v l="$1" -v k="$2" -v d="$((t1 - $3))" -v hz="$hz" -v n="$((3 * (queries + warmup) + 1))" \
		'BEGIN { printf "%s, %s keys: server CPU %.2f ms per query (%.2f s over %d queries)\n", l, k, d * 1000 / hz / n, d / hz, n }' |
		tee -a "$cpu"
}

qr_machine
echo "load average at start: $(qr_load)"
echo "queries: $queries timed + $warmup warm-up per kind, one association; gen_index --scale $scale"

# ---- data
for n in $sizes; do
	db=$work/index-$n-$scale.db
	if [ ! -f "$db.done" ]; then
		rm -rf "$db" "$db-wal" "$db-shm" "$work/part10-$n-$scale"
		extra=()
		[ "$n" = "$orthanc_n" ] && extra=(--part10 "$work/part10-$n-$scale")
		qr_log "gen_index $n instances ${extra[*]}"
		"$here/gen_index" --instances "$n" --scale "$scale" "${extra[@]}" "$db" || qr_die "gen_index failed"
		touch "$db.done"
	elif [ "$n" = "$orthanc_n" ] && [ ! -d "$work/part10-$n-$scale" ]; then
		"$here/gen_index" --instances "$n" --scale "$scale" --no-index --part10 "$work/part10-$n-$scale" "$db" ||
			qr_die "gen_index --part10 failed"
	fi
done

# ---- arcad
for n in $sizes; do
	root=$work/arcad-$n
	rm -rf "$root"
	port=$(qr_free_port)
	"$ARCA" init --root "$root" --port "$port" --aet ARCA >"$work/logs/init-$n.log" 2>&1 || qr_die "arca init failed"
	sed -i -e '/^\[server\]/a bind = 127.0.0.1' -e '/^\[server\]/a max_find_results = 0' "$root/arca.conf"
	cp "$work/index-$n-$scale.db" "$root/index.db"
	cat "$root/index.db" >/dev/null # warm, as a running server's would be
	qr_start "$work/logs/arcad-$n.log" "$ARCAD" --root "$root"
	pid=$qr_pid
	qr_wait_echo ARCA "$port" "$pid" || { tail "$work/logs/arcad-$n.log"; qr_die "arcad did not start"; }
	qr_log "arcad $n: find_net"
	for keys in list plain; do
		c0=$(cpu_ticks "$pid")
		"$here/find_net" --aec ARCA --label "arcad-$n" --keys $keys --queries "$queries" --warmup "$warmup" \
			127.0.0.1 "$port" 2>>"$work/logs/find_net.log" | tee -a "$results"
		cpu_line "arcad-$n" $keys "$c0" "$pid"
	done
	echo "arcad $n: peak RSS $(sed -n 's/^VmHWM:[[:space:]]*//p' /proc/$pid/status)"
	qr_stop "$pid"
	rm -rf "$root"
done

# ---- Orthanc
if [ "$orthanc_n" != 0 ]; then
	odir=$work/orthanc-$orthanc_n-$scale
	files=$work/part10-$orthanc_n-$scale
	oport=$(qr_free_port)
	hport=$(qr_free_port)
	qr_orthanc_config "$work/orthanc.json" "$odir" "$oport" "$hport" "$clients" ""
	if [ ! -f "$odir/loaded" ]; then
		rm -rf "$odir"
		qr_orthanc_config "$work/orthanc.json" "$odir" "$oport" "$hport" "$clients" ""
		qr_start "$work/logs/orthanc-load.log" Orthanc "$work/orthanc.json"
		opid=$qr_pid
		qr_wait_echo ORTHANC "$oport" "$opid" || qr_die "Orthanc did not start (see $work/logs/orthanc-load.log)"
		# the study directories, dealt round-robin to the clients
		mapfile -t dirs < <(find "$files" -mindepth 1 -maxdepth 1 -type d | sort)
		qr_log "loading Orthanc: $orthanc_n instances in ${#dirs[@]} studies, $clients storescu at once"
		echo "load average before the Orthanc load: $(qr_load)"
		t0=$(date +%s.%N)
		cpids=()
		for ((c = 0; c < clients; c++)); do
			part=()
			for ((i = c; i < ${#dirs[@]}; i += clients)); do
				part+=("${dirs[i]}")
			done
			storescu -aet LOADER -aec ORTHANC --max-pdu 131072 +sd +r 127.0.0.1 "$oport" "${part[@]}" \
				>"$work/logs/load-$c.log" 2>&1 &
			cpids+=($!)
		done
		bad=0
		for p in "${cpids[@]}"; do
			wait "$p" || bad=1
		done
		t1=$(date +%s.%N)
		count=$(curl -s "http://127.0.0.1:$hport/statistics" | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])')
		secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
		echo "Orthanc load: $count of $orthanc_n instances in $secs s ($(awk -v n="$count" -v s="$secs" 'BEGIN { printf "%.0f", n / s }') instances/s, $clients storescu at once, SyncStorageArea on); load average after: $(qr_load)"
		[ "$bad" = 0 ] && [ "$count" = "$orthanc_n" ] || qr_die "Orthanc load incomplete ($count of $orthanc_n; logs in $work/logs)"
		echo "$count $secs $clients" >"$odir/loaded"
		qr_stop "$opid"
	else
		read -r count secs lc <"$odir/loaded"
		echo "Orthanc load (earlier run, reused): $count instances in $secs s with $lc storescu at once"
	fi
	qr_start "$work/logs/orthanc.log" Orthanc "$work/orthanc.json"
	opid=$qr_pid
	qr_wait_echo ORTHANC "$oport" "$opid" || qr_die "Orthanc did not start (see $work/logs/orthanc.log)"
	qr_wait_http "http://127.0.0.1:$hport/system" "$opid" || qr_die "Orthanc's HTTP did not answer"
	# warm its index and files as arcad's index was warmed
	cat "$odir"/index/* >/dev/null 2>&1
	find "$odir/storage" -type f -exec cat {} + >/dev/null 2>&1
	qr_log "Orthanc $orthanc_n: find_net"
	echo "load average before Orthanc's queries: $(qr_load)"
	for keys in list plain; do
		c0=$(cpu_ticks "$opid")
		"$here/find_net" --aec ORTHANC --label "orthanc-$orthanc_n" --keys $keys --queries "$queries" \
			--warmup "$warmup" 127.0.0.1 "$oport" 2>>"$work/logs/find_net.log" | tee -a "$results"
		cpu_line "orthanc-$orthanc_n" $keys "$c0" "$opid"
	done
	echo "Orthanc $orthanc_n: peak RSS $(sed -n 's/^VmHWM:[[:space:]]*//p' /proc/$opid/status)"
	qr_stop "$opid"
fi
cat "$work/logs/find_net.log"
echo "load average at the end: $(qr_load)"
echo
cat "$cpu"

# ---- the table
echo
python3 - "$results" "$sizes" "$orthanc_n" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
sizes = sys.argv[2].split()
on = sys.argv[3]
r = {(x[0], x[1]): x for x in rows}
kinds = []
for x in rows:
    if x[1] not in kinds:
        kinds.append(x[1])
def cell(label, k):
    x = r.get((label, k))
    return "%s / %s" % (x[3], x[4]) if x else "-"
def med(label, k):
    x = r.get((label, k))
    return float(x[3]) if x else None
head = ["query"] + ["arcad %s median / p99 ms" % n for n in sizes]
if on != "0":
    head += ["Orthanc %s median / p99 ms" % on, "Orthanc/arcad at %s" % on,
             "Orthanc %s / arcad %s" % (on, sizes[-1])]
head += ["rows/query (%s)" % ", ".join(["arcad %s" % n for n in sizes] + (["Orthanc"] if on != "0" else []))]
print("| " + " | ".join(head) + " |")
print("|" + " --- |" * len(head))
for k in kinds:
    line = [k] + [cell("arcad-%s" % n, k) for n in sizes]
    if on != "0":
        o = med("orthanc-%s" % on, k)
        a = med("arcad-%s" % on, k)
        b = med("arcad-%s" % sizes[-1], k)
        line += [cell("orthanc-%s" % on, k),
                 "%.0fx" % (o / a) if o and a else "-",
                 "%.0fx" % (o / b) if o and b else "-"]
    rows_ = [r[(l, k)][8] for l in ["arcad-%s" % n for n in sizes] + (["orthanc-%s" % on] if on != "0" else []) if (l, k) in r]
    line.append(" / ".join(rows_))
    print("| " + " | ".join(line) + " |")
PY
