# Shared by bench/run and bench/memory. Source it after scripts/lib.sh.
# The caller sets STOP_TIMEOUT (seconds) and keeps the server's pid in
# SERVER_PID.

die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# alive PID: the process exists and is not a zombie.
alive() {
	local state
	state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# descendants PID: every process below PID.
descendants() {
	local kid
	for kid in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$kid"
		descendants "$kid"
	done
}

# stop_server SIGNAL: stops the running server (started with setsid, so it
# leads its own process group): SIGNAL, then SIGTERM, then SIGKILL.
stop_server() {
	local sig="$1" pid="$SERVER_PID" kids i
	[ -n "$pid" ] || return 0
	kids="$(descendants "$pid")"
	if alive "$pid"; then
		kill -s "$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			log "server $pid still running ${STOP_TIMEOUT}s after SIG$sig; sending SIGTERM"
			kill -TERM "$pid" 2>/dev/null || true
			for ((i = 0; i < 50; i++)); do
				alive "$pid" || break
				sleep 0.1
			done
		fi
		if alive "$pid"; then
			log "server $pid ignored SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
	# Anything it left behind: its process group and its former children.
	kill -KILL -- "-$pid" 2>/dev/null || true
	for i in $kids; do
		alive "$i" && kill -KILL "$i" 2>/dev/null || true
	done
	SERVER_PID=""
}

