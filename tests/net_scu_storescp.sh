#!/bin/sh
# net_scu_storescp.sh - arca's SCU (`arca echo`, `arca send`) against
# DCMTK's storescp, checked on what storescp wrote.
#
#   1. echo: success (exit 0, a round-trip line); a refused association
#      (storescp --refuse: exit 1, the RJ named); nobody listening (exit 2).
#   2. send of generated instances (dump2dcm, one per uncompressed transfer
#      syntax, 512x512x16) to storescp +xa +B (every syntax accepted, files
#      written bit for bit): exit 0, every instance stored, the data set
#      bytes identical to the file's (sent as is, streamed from the file).
#   3. the same through storescp +xi (Implicit VR LE only): arca converts on
#      the fly; element values identical (dcmdump listings).
#   4. storescp -pdu 4096: every P-DATA-TF within the peer's maximum.
#   5. 70 SOP classes (140 contexts): two associations, all stored.
#   6. every sample file ($ARCA_SAMPLES, when present): exit 1 with exactly
#      the known refusals below, every stored data set identical.
#
# Skipped (77) when storescp, dump2dcm, dcmdump or python3 is missing.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_scu_storescp
net_require storescp dump2dcm dcmdump python3
samples=${ARCA_SAMPLES:-}
cmp="python3 $srcdir/tests/netcmp.py"

# Samples arca send must fail on, with the reason (FILE|WHY).
KNOWN=$(cat <<'EOF'
pydicom/MR_truncated.dcm|the file ends inside Pixel Data: refused before anything is sent
misc/hotiron.dcm|Color Palette Storage (1.2.840.10008.5.1.4.39.1) is not a storage class storescp 3.6.7 knows, even with -pm
gdcm/00191113.dcm|a pixel fragment has the odd length 81511 (PS3.5 A.4 wants even): sent as is, storescp aborts ("Odd Fragment Length")
EOF
)

start_storescp() { # NAME PORT OPTIONS...
	name=$1 port=$2
	shift 2
	mkdir -p "$NET_TMP/$name"
	net_start "$name" storescp -aet STORE -od "$NET_TMP/$name" "$@" "$port"
	if ! net_wait_dicom "$NET_PID" "$port" STORE; then
		net_show "$NET_TMP/$name.log"
		fail "storescp $name did not start"
		net_done
		exit 1
	fi
}

# The file storescp wrote for a SOP Instance UID (it names files MOD.UID).
stored_file() { # DIR UID
	for f in "$1"/*."$2"; do
		[ -f "$f" ] && echo "$f" && return 0
	done
	return 1
}

uid_of() {
	dcmdump -q +P 0008,0018 "$1" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -1 | tr -d ' '
}

# ---------------------------------------------------------------- 1. echo
port=$(net_free_port)
start_storescp all "$port" +xa -pm +B
scp_all=$NET_PID port_all=$port

out=$("$ARCA" echo "STORE@127.0.0.1:$port_all" --aet ARCATEST 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "success, round trip [0-9.]* ms"; then
	ok "echo: $out"
else
	fail "echo: exit $rc: $out"
fi
out=$("$ARCA" echo "STORE@localhost:$port_all" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "echo by host name (getaddrinfo)" || fail "echo STORE@localhost: exit $rc: $out"

port_refuse=$(net_free_port)
mkdir -p "$NET_TMP/refuse"
net_start refuse storescp -aet STORE --refuse -od "$NET_TMP/refuse" "$port_refuse"
net_wait_tcp "$NET_PID" "$port_refuse" || fail "storescp --refuse did not listen"
out=$("$ARCA" echo "STORE@127.0.0.1:$port_refuse" 2>&1)
rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "rejected the association" && [ "$(echo "$out" | wc -l)" -eq 1 ]; then
	ok "echo to storescp --refuse: exit 1: $out"
else
	fail "echo to storescp --refuse: expected exit 1 and one line naming the rejection; exit $rc: $out"
fi

port_none=$(net_free_port)
out=$("$ARCA" echo "STORE@127.0.0.1:$port_none" --timeout 5 2>&1)
rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "cannot connect"; then
	ok "echo to a closed port: exit 2: $out"
else
	fail "echo to a closed port: expected exit 2; exit $rc: $out"
fi
out=$("$ARCA" echo "not-a-peer" 2>&1)
rc=$?
[ $rc -eq 2 ] && ok "echo with a bad address: exit 2: $out" || fail "echo not-a-peer: exit $rc: $out"

# ---------------------------------------------------------------- 2. send as is
gen=$NET_TMP/gen
if ! net_gen "$gen" 512; then
	fail "could not generate instances"
	net_done
	exit 1
fi
out=$("$ARCA" send "STORE@127.0.0.1:$port_all" "$gen" 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "4 files to .*: 4 stored, 0 stored with warnings, 0 failed, 0 not sent; 0 skipped; 1 association"; then
	ok "send 4 generated instances on one association: $(echo "$out" | head -1)"
else
	fail "send generated: exit $rc:"
	echo "$out" | sed 's/^/     | /'
fi
for f in "$gen"/*.dcm; do
	uid=$(uid_of "$f")
	if ! s=$(stored_file "$NET_TMP/all" "$uid"); then
		fail "$(basename "$f"): storescp stored nothing for $uid"
	elif $cmp bytes "$f" "$s"; then
		ok "$(basename "$f"): data set stored byte for byte"
	else
		fail "$(basename "$f"): stored data set differs"
	fi
done

# ---------------------------------------------------------------- 3. converted
port=$(net_free_port)
start_storescp implicit "$port" +xi -pm
out=$("$ARCA" send "STORE@127.0.0.1:$port" "$gen" 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q ": 4 stored,"; then
	ok "send to an Implicit-VR-only storescp (converted): $(echo "$out" | head -1)"
else
	fail "send converted: exit $rc:"
	echo "$out" | sed 's/^/     | /'
fi
for f in "$gen"/*.dcm; do
	uid=$(uid_of "$f")
	if ! s=$(stored_file "$NET_TMP/implicit" "$uid"); then
		fail "$(basename "$f") converted: storescp stored nothing for $uid"
		continue
	fi
	ts=$(dcmdump -q +P 0002,0010 "$s" | sed -n 's/.*\(=[A-Za-z]*\|\[[0-9.]*\]\).*/\1/p')
	if $cmp values --no-private "$f" "$s"; then
		ok "$(basename "$f") converted ($ts): element values identical"
	else
		fail "$(basename "$f") converted: values differ"
	fi
done

# ---------------------------------------------------------------- 4. small PDU
port=$(net_free_port)
start_storescp smallpdu "$port" +xa -pm +B -pdu 4096
out=$("$ARCA" send "STORE@127.0.0.1:$port" "$gen/ct-te.dcm" 2>&1)
rc=$?
s=$(stored_file "$NET_TMP/smallpdu" "$(uid_of "$gen/ct-te.dcm")")
if [ $rc -eq 0 ] && [ -n "$s" ] && $cmp bytes "$gen/ct-te.dcm" "$s" &&
   ! grep -q "^E:" "$NET_TMP/smallpdu.log"; then
	ok "send 512 KiB within a 4096-byte maximum PDU"
else
	fail "send with -pdu 4096: exit $rc: $out"
	net_show "$NET_TMP/smallpdu.log"
fi

# ---------------------------------------------------------------- 5. > 128 contexts
# 70 SOP classes (private ones, which storescp -pm accepts), each
# uncompressed: 2 contexts each (its own syntax, and the Explicit/Implicit
# VR LE fallback), 140 in all, more than one association can carry (128,
# PS3.8 9.3.2.2): arca send must use two.
many=$NET_TMP/many
mkdir -p "$many"
base="2.25.$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')"
i=1
while [ $i -le 70 ]; do
	printf '(0008,0016) UI [%s.%d]\n(0008,0018) UI [%s.1000.%d]\n(0010,0020) LO [MANY]\n' \
		"$base" $i "$base" $i >"$NET_TMP/many.dump"
	dump2dcm -q +te "$NET_TMP/many.dump" "$many/c$i.dcm" || fail "dump2dcm for class $i"
	i=$((i + 1))
done
out=$("$ARCA" send "STORE@127.0.0.1:$port_all" "$many" 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "70 files to .*: 70 stored, .* 2 associations"; then
	ok "70 SOP classes (140 contexts): $(echo "$out" | head -1)"
else
	fail "70 SOP classes: exit $rc:"
	echo "$out" | head -5 | sed 's/^/     | /'
fi
n=$(ls "$NET_TMP/all" | grep -c "\.$base\.1000\.")
[ "$n" -eq 70 ] && ok "70 SOP classes: all 70 stored by storescp" || fail "70 SOP classes: $n stored"

# a file whose SOP Class UID is not a UID cannot be proposed: it alone is
# refused (exit 1), the other file goes
printf '(0008,0016) UI [1.2.03.4]\n(0008,0018) UI [%s.2000]\n(0010,0020) LO [BAD]\n' "$base" >"$NET_TMP/bad.dump"
dump2dcm -q +te "$NET_TMP/bad.dump" "$NET_TMP/baduid.dcm"
out=$("$ARCA" send "STORE@127.0.0.1:$port_all" "$NET_TMP/baduid.dcm" "$gen/ct-te.dcm" 2>&1)
rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "^failed: .*baduid.dcm: SOP Class UID \"1.2.03.4\" is not a valid UID" &&
   echo "$out" | grep -q ": 1 stored, 0 stored with warnings, 1 failed"; then
	ok "a file with an invalid SOP Class UID: refused alone, exit 1"
else
	fail "invalid SOP Class UID: exit $rc:"
	echo "$out" | sed 's/^/     | /'
fi

# ---------------------------------------------------------------- 6. samples
if [ -z "$samples" ] || [ ! -d "$samples" ]; then
	echo "note: no sample folder (ARCA_SAMPLES='$samples'): generated data only"
else
	out=$("$ARCA" send "STORE@127.0.0.1:$port_all" "$samples" 2>"$NET_TMP/send.err")
	rc=$?
	echo "$out" | head -1
	[ $rc -eq 1 ] && ok "send samples: exit 1 (some refused)" || fail "send samples: expected exit 1, got $rc"
	failed=$(echo "$out" | sed -n 's|^failed: \(.*\): .*|\1|p' | sed "s|^$samples/||" | cut -d: -f1 | LC_ALL=C sort)
	want=$(printf '%s\n' "$KNOWN" | cut -d'|' -f1 | LC_ALL=C sort)
	if [ "$failed" = "$want" ]; then
		ok "send samples: exactly the known refusals ($(echo "$want" | tr '\n' ' '))"
	else
		fail "send samples: refusals differ from the known ones:"
		echo "     | got:  $(echo "$failed" | tr '\n' ' ')"
		echo "     | want: $(echo "$want" | tr '\n' ' ')"
		echo "$out" | grep "^failed" | sed 's/^/     | /'
	fi
	# every stored instance: identical to one of the samples with its UID
	# (some samples share a SOP Instance UID; storescp keeps the last)
	$cmp uids "$samples" >"$NET_TMP/sample-uids" 2>/dev/null
	compared=0 differ=0
	for uid in $(cut -f1 "$NET_TMP/sample-uids" | LC_ALL=C sort -u); do
		s=$(stored_file "$NET_TMP/all" "$uid") || continue
		match=no
		for f in $(awk -F'\t' -v u="$uid" '$1 == u { print $2 }' "$NET_TMP/sample-uids"); do
			if $cmp bytes "$f" "$s" >/dev/null; then
				match=yes
				break
			fi
		done
		compared=$((compared + 1))
		if [ $match = no ]; then
			differ=$((differ + 1))
			fail "stored $uid matches none of its samples:"
			for f in $(awk -F'\t' -v u="$uid" '$1 == u { print $2 }' "$NET_TMP/sample-uids"); do
				$cmp bytes "$f" "$s" | sed 's/^/     | /'
			done
		fi
	done
	stored_n=$(echo "$out" | sed -n 's/.*: \([0-9]*\) stored,.*/\1/p')
	if [ "$compared" -gt 0 ] && [ "$differ" -eq 0 ]; then
		ok "samples: $compared distinct instances stored by storescp, each identical to its sample ($stored_n C-STOREs succeeded)"
	else
		fail "samples: $compared compared, $differ differ"
	fi
fi

net_stop "$scp_all"
net_done
