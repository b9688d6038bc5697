# shellcheck shell=bash
# Shared by the scripts in bench/. Source it after scripts/lib.sh, with
# BENCH_DIR set. The caller sets STOP_TIMEOUT and STARTUP_TIMEOUT (seconds)
# and keeps the server's pid in SERVER_PID; measure and record also use
# DURATION, WARMUP, RESULTS and FAILURES (an array).

die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# seconds DURATION: wrk's duration syntax (N, Ns, Nm, Nh) in seconds.
seconds() {
	case "$1" in
	*h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

# check_load_settings: dies unless DURATION and WARMUP are wrk durations and
# REPS a positive integer.
check_load_settings() {
	local v
	for v in DURATION WARMUP; do
		[[ "${!v}" =~ ^[0-9]+[smh]?$ ]] || die "$v must look like 10s, 1m or 30 (got '${!v}')"
	done
	[ "$(seconds "$DURATION")" -gt 0 ] || die "DURATION must be more than 0"
	[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer (got '$REPS')"
}

# free_port [OTHER]: a free TCP port on 127.0.0.1, other than OTHER.
free_port() {
	local port
	port="$(python3 "$BENCH_DIR/benchlib.py" free-port)"
	while [ "$port" = "${1:-}" ]; do port="$(python3 "$BENCH_DIR/benchlib.py" free-port)"; done
	echo "$port"
}

# spawn_server LOGFILE [VAR=VALUE]...: starts CMD (an array) in
# examples/demo with those variables added to the environment, as the
# leader of its own session, output to LOGFILE; sets SERVER_PID (the pid of
# CMD itself: env and setsid exec it).
spawn_server() {
	local logfile="$1"
	shift
	(
		cd "$ROOT/examples/demo" || exit 1
		exec env "$@" setsid "${CMD[@]}" >"$logfile" 2>&1 </dev/null
	) &
	SERVER_PID=$!
}

# pyversion VENV PACKAGE: the installed version of PACKAGE.
pyversion() { "$1/bin/python" -c 'import sys, importlib.metadata as m; print(m.version(sys.argv[1]))' "$2"; }

# hurricane_rev: the checked-out commit, and whether the tree differs.
hurricane_rev() {
	local rev
	rev="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then rev="$rev (with uncommitted changes)"; fi
	echo "$rev"
}

# measure NAME URL OUT WRK_ARGS...: a warm-up of WARMUP (none if it is 0),
# then DURATION with --latency, both with WRK_ARGS; wrk's output goes to
# OUT. Sets MEASURED to wrk-parse's line, or STATUS and returns 1.
# shellcheck disable=SC2034 # MEASURED and STATUS are for the caller
measure() {
	local name="$1" url="$2" out="$3" warm
	shift 3
	warm="$(seconds "$WARMUP")"
	if [ "$warm" != 0 ] && ! bg_run timeout $((warm + 30)) wrk "$@" -d"$WARMUP" "$url" >"$out" 2>&1; then
		log "$name: warm-up wrk failed:"; cat "$out" >&2; STATUS="warm-up failed"; return 1
	fi
	# A script may define measure_started and measure_ended: they bracket
	# the measurement, not the warm-up.
	! declare -F measure_started >/dev/null || measure_started
	if ! bg_run timeout $(($(seconds "$DURATION") + 30)) wrk "$@" -d"$DURATION" --latency "$url" >"$out" 2>&1; then
		log "$name: wrk failed:"; cat "$out" >&2; STATUS="wrk failed"; return 1
	fi
	! declare -F measure_ended >/dev/null || measure_ended
	if ! MEASURED="$(python3 "$BENCH_DIR/benchlib.py" wrk-parse "$out")"; then
		STATUS="unparsable wrk output"; return 1
	fi
	if [[ "$MEASURED" =~ ^0(\.0*)?$'\t' ]]; then
		log "$name: no request completed:"; cat "$out" >&2; STATUS="no request completed"; return 1
	fi
}

# record REP ROW NAME STATUS [MEASURED]: appends a line to RESULTS; a run
# that is not ok, or saw non-2xx/3xx answers or socket errors, also goes to
# FAILURES.
record() {
	local rep="$1" row="$2" name="$3" status="$4" rps p99 non2xx sockerr
	if [ "$status" != ok ]; then
		printf '%s\t%s\t%s\t%s\t\t\t\t\n' "$rep" "$row" "$name" "$status" >>"$RESULTS"
		log "$name: $status"
		FAILURES+=("rep $rep, $row, $name: $status")
		return
	fi
	printf '%s\t%s\t%s\tok\t%s\n' "$rep" "$row" "$name" "$5" >>"$RESULTS"
	IFS=$'\t' read -r rps p99 non2xx sockerr <<<"$5"
	log "$name: $rps req/s, p99 ${p99} ms, non-2xx/3xx $non2xx, socket errors $sockerr"
	if [ "$non2xx" != 0 ] || [ "$sockerr" != 0 ]; then
		FAILURES+=("rep $rep, $row, $name: $non2xx non-2xx/3xx answers, $sockerr socket errors")
	fi
}

# publish SECTION_FILE NAME: prints the section and, unless WRITE_DOCS is 0,
# puts it between the bench:NAME markers of docs/benchmarks.md; then lists
# FAILURES and exits 1 if there are any.
publish() {
	local f
	echo
	cat "$1"
	echo
	if [ "$WRITE_DOCS" = 0 ]; then
		log "docs/benchmarks.md left untouched"
	else
		python3 "$BENCH_DIR/benchlib.py" splice "$ROOT/docs/benchmarks.md" "$2" "$1"
		log "wrote the bench:$2 section of docs/benchmarks.md"
	fi
	if [ "${#FAILURES[@]}" -gt 0 ]; then
		log "${#FAILURES[@]} failure(s):"
		for f in "${FAILURES[@]}"; do printf '  %s\n' "$f" >&2; done
		die "some runs failed or saw errors (see above)"
	fi
}

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

