# qr_lib.sh - helpers shared by bench/find_net.sh and bench/retrieve.sh
# (sourced by bash, not run): free loopback ports, servers started in the
# background and stopped by their PID (also on Ctrl-C or an error),
# readiness by polling C-ECHO (never a fixed sleep), Orthanc run from our
# own JSON config, the machine and its load.
#
# DCMTK 3.6.7 and Debian's Orthanc (built on it) leave Nagle's algorithm on
# unless TCP_NODELAY=1 is in the environment: it is exported here, for
# every DCMTK tool and Orthanc the scripts start.

export TCP_NODELAY=1
qr_pids=()

qr_log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
qr_die() { echo "${0##*/}: $*" >&2; exit 2; }

qr_cleanup() {
	local p
	for p in "${qr_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${qr_pids[@]}"; do
		qr_stop "$p" >/dev/null 2>&1
	done
	qr_pids=()
	rm -f "$qr_ports_file"
}
trap qr_cleanup EXIT
trap 'exit 130' INT TERM HUP

# A free loopback port (the kernel's pick for a socket bound to port 0),
# never one this script has handed out before (the file survives the
# $(...) subshell the port is read in)
qr_ports_file=$(mktemp "${TMPDIR:-/tmp}/qr_ports.XXXXXX")
qr_free_port() {
	local p
	while :; do
		p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		grep -qx "$p" "$qr_ports_file" || break
	done
	echo "$p" >>"$qr_ports_file"
	echo "$p"
}

# qr_start LOG CMD ARGS...: background; PID in $qr_pid
qr_start() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	qr_pid=$!
	qr_pids+=("$qr_pid")
}

# qr_stop PID: SIGTERM, up to 30 s, then SIGKILL
qr_stop() {
	local i
	kill -TERM "$1" 2>/dev/null
	for ((i = 0; i < 300; i++)); do
		kill -0 "$1" 2>/dev/null || break
		ps -o stat= -p "$1" 2>/dev/null | grep -q Z && break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && ! ps -o stat= -p "$1" 2>/dev/null | grep -q Z && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	local keep=() p
	for p in "${qr_pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	qr_pids=("${keep[@]}")
	return 0
}

# qr_wait_echo AE PORT PID: polls C-ECHO (at most 60 s); 1 if PID exits
qr_wait_echo() {
	local i
	for ((i = 0; i < 600; i++)); do
		kill -0 "$3" 2>/dev/null || return 1
		echoscu -aet BENCH -aec "$1" -to 2 -ta 2 -td 2 127.0.0.1 "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# qr_wait_http URL PID: polls until URL answers (at most 60 s)
qr_wait_http() {
	local i
	for ((i = 0; i < 600; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		curl -sf "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

qr_machine() {
	echo "machine: $(nproc) cpu ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr)"
	echo "peers: $(dpkg-query -W -f='dcmtk ${Version}' dcmtk 2>/dev/null), $(dpkg-query -W -f='orthanc ${Version}' orthanc 2>/dev/null); sqlite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"
}
qr_load() { cut -d' ' -f1-3 /proc/loadavg; }

# qr_orthanc_config FILE DIR DICOM_PORT HTTP_PORT THREADS MODALITIES-JSON
# [EXTRA-JSON-LINES]: Orthanc's defaults (SQLite index, fsync'ed storage,
# StorageAccessOnFind Always, case-insensitive PN) except loopback ports,
# storage under DIR, no plugins, no saved jobs, C-FIND/C-MOVE/C-GET allowed
# from any AE, and THREADS DICOM threads.
qr_orthanc_config() {
	mkdir -p "$2/storage" "$2/index"
	cat >"$1" <<JSON
{
  "Name" : "arca-bench",
  "StorageDirectory" : "$2/storage",
  "IndexDirectory" : "$2/index",
  "StorageCompression" : false,
  "Plugins" : [ ],
  "HttpServerEnabled" : true,
  "HttpPort" : $4,
  "RemoteAccessAllowed" : false,
  "AuthenticationEnabled" : false,
  "DicomServerEnabled" : true,
  "DicomAet" : "ORTHANC",
  "DicomPort" : $3,
  "DicomCheckCalledAet" : true,
  "DicomAlwaysAllowEcho" : true,
  "DicomAlwaysAllowStore" : true,
  "DicomAlwaysAllowFind" : true,
  "DicomAlwaysAllowMove" : true,
  "DicomAlwaysAllowGet" : true,
  "DicomModalities" : { $6 },
  "DicomThreadsCount" : $5,
  "MaximumPduLength" : 131072,
  ${7:+$7,}
  "SaveJobs" : false
}
JSON
}
