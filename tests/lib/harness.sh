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
PROM_PID=""
CTRL_PID=""
CONTROLLER_BIN=${CONTROLLER_BIN:-$BUILD/bin/knit-controller}
export HOME="$WORK/home"
mkdir -p "$HOME"

cleanup() {
	if [ -n "$CTRL_PID" ] && kill -0 "$CTRL_PID" 2>/dev/null; then
		kill -9 "$CTRL_PID" 2>/dev/null
		wait "$CTRL_PID" 2>/dev/null
	fi
	if [ -n "$PROM_PID" ] && kill -0 "$PROM_PID" 2>/dev/null; then
		kill "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
	fi
	if [ -n "$DC_PID" ] && kill -0 "$DC_PID" 2>/dev/null; then
		kill "$DC_PID" 2>/dev/null
		wait "$DC_PID" 2>/dev/null
	fi
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "(work directory kept: $WORK)"
	else
		rm -rf "$WORK"
	fi
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
	rm -f "$DC_DIR/port" "$DC_DIR/kubeconfig" # from an earlier start
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

# devcluster_stop: stops the server and fails the test when it crashed or
# a sanitizer (make asan) reported anything in its log.
devcluster_stop() {
	[ -n "$DC_PID" ] || return 0
	if ! kill -0 "$DC_PID" 2>/dev/null; then
		fail "knit-devcluster was still running" "$(tail -n 20 "$WORK/devcluster.log")"
	fi
	kill "$DC_PID" 2>/dev/null
	wait "$DC_PID" 2>/dev/null
	DC_PID=""
	if grep -qE "Sanitizer|runtime error:" "$WORK/devcluster.log"; then
		fail "knit-devcluster log has no sanitizer report" \
			"$(grep -A 20 -E "Sanitizer|runtime error:" "$WORK/devcluster.log" | head -n 40)"
	fi
}

# controller_start [extra flags]: starts knit-controller against the
# devcluster (leader election off unless the flags turn it on), appending
# to $WORK/controller.log, and waits until /readyz answers 200 (caches
# synced). Sets CTRL_PID, CTRL_METRICS and CTRL_HEALTH (base URLs).
controller_start() {
	local mport hport
	mport=$(free_port)
	hport=$(free_port)
	CTRL_METRICS="http://127.0.0.1:$mport"
	CTRL_HEALTH="http://127.0.0.1:$hport"
	"$CONTROLLER_BIN" --kubeconfig "$KUBECONFIG" --leader-elect=false \
		--metrics-address "127.0.0.1:$mport" \
		--health-address "127.0.0.1:$hport" --log-level debug "$@" \
		>>"$WORK/controller.log" 2>&1 &
	CTRL_PID=$!
	wait_for 20 curl -sf "$CTRL_HEALTH/readyz"
}

# controller_stop [SIGNAL]: stops knit-controller (TERM by default) and
# waits for it; fails the test when it had crashed or a sanitizer wrote a
# report.
controller_stop() {
	[ -n "$CTRL_PID" ] || return 0
	if ! kill -0 "$CTRL_PID" 2>/dev/null; then
		fail "knit-controller was still running" "$(tail -n 20 "$WORK/controller.log")"
	fi
	kill "-${1:-TERM}" "$CTRL_PID" 2>/dev/null
	wait "$CTRL_PID" 2>/dev/null
	CTRL_PID=""
	if grep -qE "Sanitizer|runtime error:" "$WORK/controller.log"; then
		fail "knit-controller log has no sanitizer report" \
			"$(grep -A 20 -E "Sanitizer|runtime error:" "$WORK/controller.log" | head -n 40)"
	fi
}

# free_port: prints a loopback TCP port nothing listens on.
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# prometheus_start: the real Prometheus (Debian package) on a free loopback
# port with a temporary data directory, scraping the devcluster's /metrics
# over HTTPS every second. Returns once the first scrape succeeded (that
# takes about 5 s), or fails after 30 s. Sets PROM to its base URL.
prometheus_start() {
	local dir="$WORK/prom"
	mkdir -p "$dir"
	PROM_PORT=$(free_port)
	PROM="http://127.0.0.1:$PROM_PORT"
	printf '%s' "$TOKEN" >"$dir/token"
	{
		echo "global: {scrape_interval: 1s, evaluation_interval: 1s}"
		echo "scrape_configs:"
		echo "  - job_name: devcluster"
		echo "    scheme: https"
		echo "    tls_config: {ca_file: \"$CA\"}"
		echo "    authorization: {credentials_file: \"$dir/token\"}"
		echo "    static_configs: [{targets: [\"127.0.0.1:$PORT\"]}]"
	} >"$dir/prometheus.yml"
	prometheus --config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" \
		--log.level=warn >"$WORK/prometheus.log" 2>&1 &
	PROM_PID=$!
	for _ in $(seq 1 150); do
		if [ "$(promql_value 'up{job="devcluster"}')" = "1" ]; then
			return 0
		fi
		sleep 0.2
	done
	echo "prometheus did not scrape the devcluster:" >&2
	cat "$WORK/prometheus.log" >&2
	return 1
}

# promql QUERY: prints Prometheus' JSON answer to an instant query.
promql() {
	curl -sS --data-urlencode "query=$1" "$PROM/api/v1/query" 2>/dev/null
}

# promql_value QUERY: the first sample's value, or empty when none.
promql_value() {
	promql "$1" | jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}

# wait_for SECONDS COMMAND...: retries the command every 0.2 s until it
# succeeds; fails when the time runs out.
wait_for() {
	local n=$(($1 * 5))
	shift
	for _ in $(seq 1 "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
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
	controller_stop
	devcluster_stop
	echo "$TEST_NAME: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
