#!/bin/bash
# retrieve.sh - C-MOVE and C-GET throughput of one 200-instance CT study
# from arcad, Orthanc and DCMTK dcmqrscp, in the same run (issue 6).
#
#   bench/retrieve.sh [--count N] [--rounds R] [--servers "arcad orthanc dcmqrscp"]
#                     [--work DIR] [--base BUILDDIR]
#
# Run from the build directory after `make bench` (configure without
# sanitizers).  The study: bench/gen_ct --count N --per-series N/2
# --series-per-study 2 --frames 1 (512x512, 16 bits allocated: 0.53 MB an
# instance, one study of two series), stored into each server with
# storescu (not timed).  Then, ROUNDS times, servers interleaved so that a
# slow moment of the shared machine does not land on one server only:
#   C-MOVE  movescu -S -aem DEST (STUDY level, Study Root, PS3.4 C.4.2) to a
#           DCMTK storescp (AE DEST, one process, files written, no fsync)
#           that every server knows as a move destination;
#   C-GET   getscu -S (PS3.4 C.4.3): the instances come back on the
#           association, getscu writes them.
# A run counts only if the final status is 0000 and all N instances
# arrived (files counted); otherwise it is reported FAILED.  A DIMSE
# message that does not come within 30 s ends the run (-td 30).  The wall time
# is the client's, start-up included (about 45 ms for a DCMTK tool).
#
# Servers: arcad from the build (`arca init` archive, its default cas
# storage, [peer dest] for the destination); with --base BUILDDIR, a
# second arcad ("base") from another build directory (an earlier commit)
# set up the same way and measured in the same rounds, for before/after
# figures that share the machine's moment; Orthanc 1.10 (our JSON config:
# its defaults, loopback, storage in WORK, DicomModalities dest);
# dcmqrscp (config file: its storage area, an AE table and a host table
# naming DEST).  Every one gets a 128 kB maximum PDU, and TCP_NODELAY=1 is
# in the environment of every DCMTK program and Orthanc.
#
# Output: the machine, load average, each run, then the table: server,
# C-MOVE median s, MB/s, instances/s and the server's CPU time (user +
# system, /proc/PID/stat, with its reaped children: dcmqrscp's child of an
# association counts only once reaped, so it may be missing), C-GET the
# same; MB = 10^6 bytes of the files received.  Defaults: 200 instances, 3 rounds, all servers,
# WORK /tmp/arca-bench-retrieve (BENCH_DIR).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qr_lib.sh"

count=200
rounds=3
servers="arcad orthanc dcmqrscp"
work=${BENCH_DIR:-/tmp/arca-bench-retrieve}
base=""
usage() {
	sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--servers) servers=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--base) base=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "retrieve.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
	esac
done
[[ $count =~ ^[0-9]+$ ]] && [ "$count" -ge 2 ] && [ $((count % 2)) = 0 ] || qr_die "--count '$count' is not an even number >= 2"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || qr_die "--rounds '$rounds' is not a positive number"
ARCA=$here/../tools/arca
ARCAD=$here/../tools/arcad
for p in "$here/gen_ct" "$ARCA" "$ARCAD"; do
	[ -x "$p" ] || qr_die "$p is not built (make bench)"
done
if [ -n "$base" ]; then
	for p in "$base/tools/arca" "$base/tools/arcad"; do
		[ -x "$p" ] || qr_die "--base: $p is not built"
	done
	case " $servers " in *" base "*) ;; *) servers="base $servers" ;; esac
fi
for p in storescu storescp movescu getscu echoscu dcmdump; do
	command -v $p >/dev/null || qr_die "$p (DCMTK) is not installed (bench/install-peers.sh)"
done
mkdir -p "$work/logs"
results=$work/results.tsv
: >"$results"

qr_machine
echo "load average at start: $(qr_load)"

# ---- the study
data=$work/ct-$count
if [ ! -f "$data.done" ]; then
	rm -rf "$data"
	qr_log "gen_ct: one study of $count CT instances"
	"$here/gen_ct" --count "$count" --per-series $((count / 2)) --series-per-study 2 --frames 1 "$data" \
		>"$work/logs/gen_ct.log" 2>&1 || qr_die "gen_ct failed: $(tail -1 "$work/logs/gen_ct.log")"
	touch "$data.done"
fi
mapfile -t files < <(find "$data" -name '*.dcm' | sort)
[ "${#files[@]}" = "$count" ] || qr_die "$data holds ${#files[@]} files, not $count"
study=$(dcmdump -q +P 0020,000d "${files[0]}" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')
nstudies=$(for f in "${files[0]}" "${files[$((count - 1))]}"; do dcmdump -q +P 0020,000d "$f"; done | sort -u | wc -l)
[ "$nstudies" = 1 ] || qr_die "gen_ct made more than one study"
bytes=$(cat "${files[@]}" | wc -c)
cat "${files[@]}" >/dev/null
echo "study $study: $count instances, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB"

# ---- the destination of every C-MOVE
dport=$(qr_free_port)
dest=$work/dest
mkdir -p "$dest"
qr_start "$work/logs/storescp.log" storescp -aet DEST --max-pdu 131072 +xa -od "$dest" "$dport"
dpid=$qr_pid
qr_wait_echo DEST "$dport" "$dpid" || qr_die "storescp did not start"

# ---- the servers: start NAME (sets port_NAME, aec_NAME) and load the study
declare -A port aec pid
# start_arca NAME ARCA ARCAD: an `arca init` archive served by ARCAD
start_arca() {
	local name=$1 root=$work/$1
	rm -rf "$root"
	port[$name]=$(qr_free_port)
	aec[$name]=ARCA
	"$2" init --root "$root" --port "${port[$name]}" --aet ARCA >"$work/logs/init-$name.log" 2>&1 || return 1
	sed -i -e '/^\[server\]/a bind = 127.0.0.1' -e '/^\[server\]/a max_pdu = 131072' "$root/arca.conf"
	printf '\n[peer dest]\nae = DEST\nhost = 127.0.0.1\nport = %s\n' "$dport" >>"$root/arca.conf"
	qr_start "$work/logs/$name.log" "$3" --root "$root"
	pid[$name]=$qr_pid
}
start_arcad() { start_arca arcad "$ARCA" "$ARCAD"; }
start_base() { start_arca base "$base/tools/arca" "$base/tools/arcad"; }
start_orthanc() {
	local hport
	command -v Orthanc >/dev/null || return 1
	rm -rf "$work/orthanc"
	port[orthanc]=$(qr_free_port)
	hport=$(qr_free_port)
	aec[orthanc]=ORTHANC
	qr_orthanc_config "$work/orthanc.json" "$work/orthanc" "${port[orthanc]}" "$hport" 4 \
		"\"dest\" : [ \"DEST\", \"127.0.0.1\", $dport ]"
	qr_start "$work/logs/orthanc.log" Orthanc "$work/orthanc.json"
	pid[orthanc]=$qr_pid
}
start_dcmqrscp() {
	local d=$work/dcmqrscp
	command -v dcmqrscp >/dev/null || return 1
	rm -rf "$d"
	mkdir -p "$d/db"
	port[dcmqrscp]=$(qr_free_port)
	aec[dcmqrscp]=QRSCP
	# dcmqrscp.cfg(5): its port and PDU, the peers it may send to (the
	# move destination), and one storage area for AE QRSCP open to any peer
	cat >"$d/dcmqrscp.cfg" <<CFG
NetworkTCPPort  = ${port[dcmqrscp]}
MaxPDUSize      = 131072
MaxAssociations = 16
HostTable BEGIN
dest = (DEST, 127.0.0.1, $dport)
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
QRSCP $d/db RW (1000, 2048mb) ANY
AETable END
CFG
	qr_start "$work/logs/dcmqrscp.log" dcmqrscp -c "$d/dcmqrscp.cfg" "${port[dcmqrscp]}"
	pid[dcmqrscp]=$qr_pid
}

active=""
for s in $servers; do
	if ! "start_$s" || ! qr_wait_echo "${aec[$s]}" "${port[$s]}" "${pid[$s]}"; then
		echo "$s: not available (did not start; see $work/logs/$s.log)"
		continue
	fi
	t0=$(date +%s.%N)
	if ! storescu -aet LOADER -aec "${aec[$s]}" --max-pdu 131072 127.0.0.1 "${port[$s]}" "${files[@]}" \
		>"$work/logs/load-$s.log" 2>&1; then
		echo "$s: storescu of the study failed (see $work/logs/load-$s.log)"
		qr_stop "${pid[$s]}"
		continue
	fi
	echo "$s: study stored in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s (storescu, one association; not part of the figures)"
	active="$active $s"
done
[ -n "$active" ] || qr_die "no server could be measured"

# user + system CPU ticks of a process and its reaped children (proc(5)
# stat fields 14-17): dcmqrscp serves each association in a child, counted
# once the parent has reaped it
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

# run SERVER OP ROUND: one C-MOVE or C-GET, a line in results.tsv
run() {
	local s=$1 op=$2 r=$3 out log t0 t1 st n got secs c0 c1 cpu
	log=$work/logs/$op-$s-$r.log
	if [ "$op" = move ]; then
		out=$dest
		rm -rf "$out" && mkdir -p "$out"
		c0=$(cpu_ticks "${pid[$s]}")
		t0=$(date +%s.%N)
		movescu -d -S -to 30 -ta 30 -td 30 -aet BENCH -aec "${aec[$s]}" -aem DEST --max-pdu 131072 \
			-k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study" 127.0.0.1 "${port[$s]}" >"$log" 2>&1
		t1=$(date +%s.%N)
	else
		out=$work/get
		rm -rf "$out" && mkdir -p "$out"
		c0=$(cpu_ticks "${pid[$s]}")
		t0=$(date +%s.%N)
		getscu -d -S -to 30 -ta 30 -td 30 -aet BENCH -aec "${aec[$s]}" --max-pdu 131072 -od "$out" \
			-k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study" 127.0.0.1 "${port[$s]}" >"$log" 2>&1
		t1=$(date +%s.%N)
	fi
	c1=$(cpu_ticks "${pid[$s]}")
	cpu=$(awk -v d="$((c1 - c0))" -v hz="$hz" 'BEGIN { printf "%.2f", d / hz }')
	st=$(sed -n 's/^D: DIMSE Status *: 0x\([0-9A-Fa-f]*\).*/\1/p' "$log" | tail -1)
	n=$(find "$out" -type f | wc -l)
	got=$(find "$out" -type f -exec cat {} + | wc -c)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	if [ "$st" = 0000 ] && [ "$n" = "$count" ]; then
		printf '%s\t%s\t%s\tok\t%s\t%s\t%s\n' "$s" "$op" "$r" "$secs" "$got" "$cpu" >>"$results"
		echo "round $r $s C-$op: $secs s, $n instances, $got bytes, server CPU $cpu s (load $(qr_load))"
	else
		printf '%s\t%s\t%s\tFAILED\t%s\t%s\t%s\n' "$s" "$op" "$r" "$secs" "$got" "$cpu" >>"$results"
		echo "round $r $s C-$op: FAILED: status '${st:-none}', $n of $count instances (see $log)"
	fi
}
for ((r = 1; r <= rounds; r++)); do
	for s in $active; do
		run "$s" move "$r"
		run "$s" get "$r"
	done
done
for s in $active; do
	echo "$s: peak RSS $(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/${pid[$s]}/status")"
	qr_stop "${pid[$s]}"
done
qr_stop "$dpid"
rm -rf "$dest" "$work/get"
echo "load average at the end: $(qr_load)"

echo
python3 - "$results" "$count" "$active" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
print("| server | C-MOVE median s | MB/s | instances/s | server CPU s | C-GET median s | MB/s | instances/s | server CPU s |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for s in sys.argv[3].split():
    line = [s]
    for op in ("move", "get"):
        ok = [x for x in rows if x[0] == s and x[1] == op and x[3] == "ok"]
        bad = [x for x in rows if x[0] == s and x[1] == op and x[3] != "ok"]
        if not ok:
            line += ["FAILED", "-", "-", "-"]
            continue
        t = statistics.median(float(x[4]) for x in ok)
        b = statistics.median(int(x[5]) for x in ok)
        c = statistics.median(float(x[6]) for x in ok)
        line += ["%.2f%s" % (t, " (%d failed)" % len(bad) if bad else ""), "%.0f" % (b / 1e6 / t), "%.0f" % (n / t),
                 "%.2f" % c]
    print("| " + " | ".join(line) + " |")
PY
