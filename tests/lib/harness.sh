# Shared helpers for Knit's shell integration tests. Source it, call
# `devcluster_start`, then use `api`, `kc` and the `check*` assertions.
# Every test file ends with `finish`, which prints "N passed, N failed" and
# exits non-zero when anything failed. Servers are stopped on exit.

set -u
PASSED=0
FAILED=0
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/knit-${TEST_NAME}.XXXXXX")
BUILD=${BUILD:-build}
DEVCLUSTER_BIN=${DEVCLUSTER_BIN:-$BUILD/bin/knit-devcluster}
DC_PID=""
export HOME="$WORK/home"
mkdir -p "$HOME"

cleanup() {
	if [ -n "$DC_PID" ] && kill -0 "$DC_PID" 2>/dev/null; then
		kill "$DC_PID" 2>/dev/null
		wait "$DC_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

pass() {
	PASSED=$((PASSED + 1))
	echo "  ok   $1"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "  FAIL $1"
	[ $# -gt 1 ] && printf '       %s\n' "$2" | head -c 2000 && echo
	return 0
}

# check NAME COMMAND...: passes when the command succeeds.
check() {
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$2] got [$3]"; fi
}

# check_contains NAME NEEDLE HAYSTACK
check_contains() {
	case "$3" in
	*"$2"*) pass "$1" ;;
	*) fail "$1" "expected to contain [$2] in [$3]" ;;
	esac
}

check_not_contains() {
	case "$3" in
	*"$2"*) fail "$1" "expected no [$2] in [$3]" ;;
	*) pass "$1" ;;
	esac
}

# devcluster_start [extra flags]: starts a fresh server on a free port.
devcluster_start() {
	DC_DIR="$WORK/dc"
	mkdir -p "$DC_DIR"
	"$DEVCLUSTER_BIN" --port 0 --data-dir "$DC_DIR" --port-file "$DC_DIR/port" \
		"$@" >"$WORK/devcluster.log" 2>&1 &
	DC_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$DC_DIR/port" ] && [ -s "$DC_DIR/kubeconfig" ] && break
		sleep 0.05
	done
	PORT=$(cat "$DC_DIR/port")
	export KUBECONFIG="$DC_DIR/kubeconfig"
	TOKEN=$(cat "$DC_DIR/token")
	BASE="https://127.0.0.1:$PORT"
	CA="$DC_DIR/ca.crt"
}

devcluster_stop() {
	kill "$DC_PID" 2>/dev/null
	wait "$DC_PID" 2>/dev/null
	DC_PID=""
}

# api METHOD PATH [BODY [CONTENT-TYPE]]: prints the body, then a last line
# with the HTTP code. Use api_code / api_body to split.
api() {
	local method=$1 path=$2 body=${3-} ctype=${4:-application/json}
	if [ -n "$body" ]; then
		curl -sS -X "$method" --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
			-H "Content-Type: $ctype" -H "Expect:" --data-binary "$body" \
			-w '\n%{http_code}' "$BASE$path"
	else
		curl -sS -X "$method" --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
			-w '\n%{http_code}' "$BASE$path"
	fi
}

# code_of RESPONSE / body_of RESPONSE
code_of() { printf '%s\n' "$1" | tail -n1; }
body_of() { printf '%s\n' "$1" | sed '$d'; }

# kc ARGS...: kubectl against the devcluster with a private cache.
kc() {
	kubectl --cache-dir "$WORK/kcache" "$@"
}

finish() {
	echo "$TEST_NAME: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
