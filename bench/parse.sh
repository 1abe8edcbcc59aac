#!/bin/sh
# parse.sh - metadata-only parse rate: arca's reader beside DCMTK's
# DcmFileFormat::loadFile (values > 4 KiB left unloaded) on the same files,
# in one run.  Run from the build directory after `make bench`:
#
#   bench/parse.sh [N_CT] [N_MR]        default 2000 CT (512x512) + 2000 MR (256x256)
#
# Prints the machine, then files/s and MB/s per reader and the ratio.
set -eu
nct=${1:-2000}
nmr=${2:-2000}
rounds=${ROUNDS:-3}
work=${BENCH_DIR:-/tmp/arca-bench-parse}
here=$(cd "$(dirname "$0")" && pwd)

echo "machine: $(nproc) cpu ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr)"
echo "dcmtk: $(dcmdump --version 2>/dev/null | head -1)"
if [ ! -f "$work/.done-$nct-$nmr" ]; then
	rm -rf "$work"; mkdir -p "$work"
	"$here/gen_ct" --modality CT --count "$nct" --size 512 --per-series 200 --seed 1 "$work/ct"
	"$here/gen_ct" --modality MR --count "$nmr" --size 256 --per-series 100 --seed 2 "$work/mr"
	touch "$work/.done-$nct-$nmr"
fi
find "$work/ct" "$work/mr" -name '*.dcm' | sort > "$work/list"
if [ -n "${ARCA_SAMPLES:-}" ] && [ -d "$ARCA_SAMPLES" ]; then
	find "$ARCA_SAMPLES" -type f ! -name README.md | sort > "$work/list-samples"
	# Real scanners' headers (private groups, sequences: 100-300 elements)
	# matter more than synthetic minimal ones: copy every CT and MR sample
	# file until there are about $((nct + nmr)) of them.
	if [ ! -f "$work/.done-real-$nct-$nmr" ]; then
		rm -rf "$work/real"; mkdir -p "$work/real"
		while read -r f; do
			m=$(dcmdump -q +P 0008,0060 "$f" 2>/dev/null | sed -n 's/.*\[\(..\)\].*/\1/p' | head -1)
			[ "$m" = CT ] || [ "$m" = MR ] && echo "$f"
		done < "$work/list-samples" > "$work/real-src"
		n=$(wc -l < "$work/real-src")
		if [ "$n" -gt 0 ]; then
			copies=$(( (nct + nmr + n - 1) / n )); i=0
			while read -r f; do
				for c in $(seq "$copies"); do cp "$f" "$work/real/$i-$c.dcm"; done; i=$((i + 1))
			done < "$work/real-src"
		fi
		touch "$work/.done-real-$nct-$nmr"
	fi
	find "$work/real" -type f | sort > "$work/list-real"
	xargs cat < "$work/list-real" > /dev/null
fi
# Warm the page cache so both readers see the same (cached) files.
xargs cat < "$work/list" > /dev/null

run_set() {
	list=$1; label=$2
	a=$(for i in $(seq "$rounds"); do "$here/bench_parse" < "$list"; done | sort -t= -k5 -g | head -1)
	d=$(for i in $(seq "$rounds"); do "$here/dcmtk_parse" < "$list"; done | sort -t= -k5 -g | head -1)
	echo "$a" "$d" | awk -v label="$label" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[i] = kv[2] }
		af = v[2]; ab = v[4]; as = v[5]; df = v[7]; db = v[9]; ds = v[10];
		printf "%-28s %10s %12s %10s\n", label, "files/s", "MB/s", "seconds";
		printf "%-28s %10.0f %12.1f %10.3f   (%d files, %d failed)\n", "  arca pacs_read_file", af / as, ab / as / 1e6, as, af, v[3];
		printf "%-28s %10.0f %12.1f %10.3f   (%d files, %d failed)\n", "  DCMTK loadFile", df / ds, db / ds / 1e6, ds, df, v[8];
		printf "  ratio arca/DCMTK: %.1fx\n", (af / as) / (df / ds);
	}'
}
run_set "$work/list" "synthetic CT+MR ($nct+$nmr)"
if [ -s "$work/list-real" ]; then
	run_set "$work/list-real" "real CT+MR headers ($(wc -l < "$work/real-src") files x copies)"
fi
if [ -f "$work/list-samples" ]; then
	run_set "$work/list-samples" "shared/samples (all 126)"
fi
