# shellcheck shell=bash
# Shared by bench/run, bench/memory and bench/static. Source it after scripts/lib.sh.
# The caller sets STOP_TIMEOUT and STARTUP_TIMEOUT (seconds) and keeps the
# server's pid in SERVER_PID.

die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# bg_run COMMAND...: runs COMMAND in the background and waits for it.
# bash runs a trap only once the foreground command ends, but interrupts
# `wait` at once, so a Ctrl-C or SIGTERM to the script is handled without
# waiting for a long wrk or transfer; the cleanup then calls kill_child.
CHILD_PID=""
bg_run() {
	local rc=0
	"$@" &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=""
	return "$rc"
}

kill_child() {
	if [ -n "$CHILD_PID" ]; then
		kill -TERM "$CHILD_PID" 2>/dev/null || true
		wait "$CHILD_PID" 2>/dev/null || true
		CHILD_PID=""
	fi
}

# alive PID: the process exists and is not a zombie.
alive() {
	local state
	state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# descendants PID: every process below PID.
descendants() {
	local kid
	# shellcheck disable=SC2013 # the children files are space-separated pids
	for kid in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$kid"
		descendants "$kid"
	done
}

# stop_server SIGNAL: stops the running server (started with setsid, so it
# leads its own process group): SIGNAL, then SIGTERM, then SIGKILL.
stop_server() {
	local sig="$1" pid="$SERVER_PID" kids i k
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
	# Anything it left behind (its former children, its process group) gets
	# two seconds, then SIGKILL; that is worth a line in the output.
	local left=""
	for ((i = 0; i < 20; i++)); do
		left=""
		for k in $kids; do alive "$k" && left="$left $k"; done
		[ -n "$left" ] || break
		sleep 0.1
	done
	if [ -n "$left" ]; then
		log "server $pid exited but left processes behind:$left; killing them"
		for k in $left; do kill -KILL "$k" 2>/dev/null || true; done
	fi
	kill -KILL -- "-$pid" 2>/dev/null || true
	SERVER_PID=""
}

# wait_ready NAME PORT LOGFILE [PATH]: polls GET PATH (default /hello) until
# it answers 200, for at most STARTUP_TIMEOUT seconds; returns 1 (after
# showing the log) if the server exits or does not answer in time.
wait_ready() {
	local name="$1" port="$2" logfile="$3" path="${4:-/hello}" i code=""
	for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
		if ! alive "$SERVER_PID"; then
			log "$name exited before answering GET $path; its log:"
			tail -n 30 "$logfile" >&2 || true
			return 1
		fi
		code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port$path" || true)"
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	log "$name did not answer GET $path with 200 within ${STARTUP_TIMEOUT}s (last status: ${code:-none}); its log:"
	tail -n 30 "$logfile" >&2 || true
	return 1
}

