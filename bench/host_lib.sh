# host_lib.sh - helpers shared by bench/ingest.sh and bench/ceiling.sh
# (sourced by bash, not run): wall time, a free loopback port, the CPU
# ticks of a server with its forked children, a process's peak RSS,
# stopping a process, waiting for a forking server's children.

now() { date +%s.%N; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null && return
	# Without python3: the first port from 20000 that nothing listens on.
	local p
	for ((p = 20000 + RANDOM % 20000; p < 65000; p++)); do
		ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo $p; return; }
	done
}

# utime+stime+cutime+cstime of pid and of its children still in the
# process table (storescp --fork children, zombies included, whose times
# are not yet in the parent's cutime/cstime), in clock ticks.
tree_ticks() {
	local pid=$1 total=0 p s
	for p in $pid $(ps -o pid= --ppid "$pid" 2>/dev/null); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) }
		set -- $s
		total=$((total + ${12} + ${13} + ${14} + ${15}))
	done
	echo $total
}
vm_hwm_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }

# A forking server's children may still be writing their last file after
# the clients ended: wait (up to 10 s) until only zombies are left.
children_settle() { # pid
	local s
	for ((s = 0; s < 100; s++)); do
		ps -o stat= --ppid "$1" 2>/dev/null | grep -qv '^Z' || break
		sleep 0.1
	done
}

# SIGTERM, up to grace_seconds for it to go, then SIGKILL; reaped.
stop_pid() { # pid grace_seconds
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
