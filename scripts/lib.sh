# Shared helpers for the project's scripts. Source it; do not run it.

# Heavy installs live outside the clone, so each machine pays for them once.
CACHE_DIR="${HURRICANE_DEV_CACHE:-$HOME/.cache/hurricane-dev}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ensure_venv NAME PYTHON REQUIREMENTS...: a virtualenv keyed by the content
# of its requirements; prints its directory.
ensure_venv() {
	local name="$1" python="$2"
	shift 2
	local key
	key="$(printf '%s\n' "$python" "$@" | cat - "$@" 2>/dev/null | sha256sum | cut -c1-12)"
	local dir="$CACHE_DIR/venvs/$name-$key"
	if [ ! -x "$dir/bin/python" ] || [ ! -f "$dir/.complete" ]; then
		log "creating virtualenv $name in $dir"
		rm -rf "$dir"
		mkdir -p "$CACHE_DIR/venvs"
		"$python" -m venv "$dir" >&2
		"$dir/bin/pip" install -q --upgrade pip >&2
		local args=()
		for r in "$@"; do args+=(-r "$r"); done
		"$dir/bin/pip" install -q "${args[@]}" >&2
		touch "$dir/.complete"
	fi
	echo "$dir"
}

# ensure_apt PACKAGE...: installs Debian packages that are missing.
ensure_apt() {
	local missing=()
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		log "installing ${missing[*]} from apt"
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		$sudo apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
	fi
}

# build_binary: builds ./bin/hurricane; prints its path.
build_binary() {
	log "building bin/hurricane"
	(cd "$ROOT" && go build -o bin/hurricane .) >&2
	echo "$ROOT/bin/hurricane"
}
