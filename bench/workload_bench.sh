#!/bin/bash
# Workload-simulation benchmark for knit-devcluster, written for the issue's
# targets: "10,000 pods across 1,000 ReplicaSets reach Ready; the simulation
# uses under 10% of one core at steady state; /metrics for 10,000 pods
# renders in under 100 ms."
#
# It starts a fresh devcluster on a free loopback port in a temporary
# directory, then:
#   1. creates N Services and N ReplicaSets of R replicas (one Service
#      selecting each ReplicaSet's pods, so every pod gets traffic series)
#      with one `curl --parallel` process on a few keep-alive connections;
#   2. polls /metrics until knit_devcluster_pods{state="ready"} is N*R and
#      reads the server's RSS;
#   3. after a short settle, measures the server's CPU (utime+stime from
#      /proc/PID/stat) over a quiet window in which no client talks to it;
#   4. scrapes /metrics K times with curl -w %{time_total} (median, min,
#      max), and reports the body size, the series lines and the server CPU
#      per scrape.
# It prints a results table, the verdict on each target and one line
# "WORKLOAD_JSON {...}". Exit status: 0 for a clean run, 1 when a step
# failed (a create was refused, pods did not get Ready in time, the server
# died), 2 on bad usage. A missed target is reported, and is a failure only
# with --strict.
#
# knit-devcluster is built with `make all` at the top level unless
# DEVCLUSTER_BIN names a binary to use. Extra server flags go in
# DEVCLUSTER_FLAGS.
set -eu
set -o pipefail

usage() {
	cat <<'EOF'
usage: workload_bench.sh [options]
  --replicasets N   ReplicaSets (and Services) to create (default 1000)
  --replicas N      replicas per ReplicaSet (default 10)
  --window S        steady-state CPU window in seconds (default 30)
  --settle S        wait after all pods are Ready, before the window (default 5)
  --ready-timeout S give up if the pods are not all Ready by then (default 300)
  --scrapes N       /metrics requests to time (default 10)
  --parallel N      concurrent connections for the creates (default 8)
  --strict          exit 1 when a target is missed
Environment: REPLICASETS, REPLICAS, WINDOW, SETTLE, READY_TIMEOUT, SCRAPES,
PARALLEL (defaults for the flags above), DEVCLUSTER_BIN (skip the build and
use this binary), DEVCLUSTER_FLAGS (extra server flags), TMPDIR.
EOF
}

RS_COUNT=${REPLICASETS:-1000}
REPLICAS=${REPLICAS:-10}
WINDOW=${WINDOW:-30}
SETTLE=${SETTLE:-5}
READY_TIMEOUT=${READY_TIMEOUT:-300}
SCRAPES=${SCRAPES:-10}
PARALLEL=${PARALLEL:-8}
STRICT=0

while [ $# -gt 0 ]; do
	case "$1" in
	--replicasets) RS_COUNT=${2:?}; shift 2 ;;
	--replicas) REPLICAS=${2:?}; shift 2 ;;
	--window) WINDOW=${2:?}; shift 2 ;;
	--settle) SETTLE=${2:?}; shift 2 ;;
	--ready-timeout) READY_TIMEOUT=${2:?}; shift 2 ;;
	--scrapes) SCRAPES=${2:?}; shift 2 ;;
	--parallel) PARALLEL=${2:?}; shift 2 ;;
	--strict) STRICT=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "workload_bench: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
for v in RS_COUNT REPLICAS WINDOW SETTLE READY_TIMEOUT SCRAPES PARALLEL; do
	min=1
	[ "$v" = SETTLE ] && min=0
	if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -lt "$min" ]; then
		echo "workload_bench: $v must be an integer >= $min, not '${!v}'" >&2
		exit 2
	fi
done
PODS=$((RS_COUNT * REPLICAS))

TARGET_READY_PODS=10000
TARGET_CPU_PCT=10
TARGET_METRICS_MS=100

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
if [ -z "${DEVCLUSTER_BIN:-}" ]; then
	if [ -n "${BUILD:-}" ]; then
		BUILD=$(cd "$ROOT" && mkdir -p "$BUILD" && cd "$BUILD" && pwd)
		make --no-print-directory -C "$ROOT" BUILD="$BUILD" all >/dev/null
	else
		BUILD=$ROOT/build
		make --no-print-directory -C "$ROOT" all >/dev/null
	fi
	DEVCLUSTER_BIN=$BUILD/bin/knit-devcluster
fi
if ! [ -x "$DEVCLUSTER_BIN" ]; then
	echo "workload_bench: no executable $DEVCLUSTER_BIN" >&2
	exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/knit-workload.XXXXXX")
DC_PID=""
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	if [ -n "$DC_PID" ] && kill -0 "$DC_PID" 2>/dev/null; then
		kill "$DC_PID" 2>/dev/null || true
		wait "$DC_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "workload_bench: FAILED: $*" >&2
	if [ -s "$WORK/devcluster.log" ]; then
		echo "server log (last lines):" >&2
		tail -n 10 "$WORK/devcluster.log" >&2
	fi
	exit 1
}

now() { date +%s.%N; }
# Seconds between two `now` readings, with millisecond precision.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# utime + stime of the server, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$DC_PID/stat"; }
# A /proc/PID/status field in kB.
status_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$DC_PID/status"; }
alive() { kill -0 "$DC_PID" 2>/dev/null; }
HZ=$(getconf CLK_TCK)

# --- start the server ------------------------------------------------------
# shellcheck disable=SC2086
"$DEVCLUSTER_BIN" --address 127.0.0.1 --port 0 --data-dir "$WORK/dc" \
	--port-file "$WORK/dc/port" --log-level warn ${DEVCLUSTER_FLAGS:-} \
	>"$WORK/devcluster.log" 2>&1 &
DC_PID=$!
for _ in $(seq 1 100); do
	[ -s "$WORK/dc/port" ] && [ -s "$WORK/dc/token" ] && break
	sleep 0.05
done
if ! [ -s "$WORK/dc/port" ] || ! [ -s "$WORK/dc/token" ]; then
	fail "knit-devcluster did not start"
fi
PORT=$(cat "$WORK/dc/port")
SERVER="https://127.0.0.1:$PORT"
TOKEN=$(cat "$WORK/dc/token")
CA="$WORK/dc/ca.crt"

# The token goes to curl in a config file, not on its command line.
printf 'header = "Authorization: Bearer %s"\ncacert = "%s"\nsilent\n' \
	"$TOKEN" "$CA" >"$WORK/auth.conf"
# /metrics into $1; prints "http_code time_total size_download
# first_byte", times in seconds. first_byte is from the end of the TLS
# handshake to the first byte of the answer: the server renders the whole
# body before it sends the headers, so this is close to the render time.
# curl writes the line (code 000) even when the transfer fails.
scrape() {
	{
		curl -K "$WORK/auth.conf" -o "$1" \
			-w '%{http_code} %{time_total} %{size_download} %{time_starttransfer} %{time_appconnect}\n' \
			"$SERVER/metrics" || true
	} | awk '{ printf "%s %s %s %.6f\n", $1, $2, $3, $4 - $5 }'
}
# The store's resourceVersion: one more for every write, by anyone.
resource_version() {
	curl -K "$WORK/auth.conf" "$SERVER/api/v1/namespaces/default/configmaps?limit=1" |
		grep -o '"resourceVersion":"[0-9]*"' | head -n 1 | tr -dc '0-9'
}
# A knit_devcluster_pods gauge ($1: all or ready) from the last poll.
pods_gauge() {
	awk -v k="knit_devcluster_pods{state=\"$1\"}" '$1 == k { print $2 }' \
		"$WORK/poll.txt"
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GB RAM", $2 / 1048576}' /proc/meminfo)"
echo "date: $(date)"
echo "workload: $RS_COUNT ReplicaSets x $REPLICAS replicas = $PODS pods," \
	"$RS_COUNT Services; server flags: ${DEVCLUSTER_FLAGS:-(defaults)}"
RSS_BASE_KB=$(status_kb VmRSS)
RV0=$(resource_version)

# --- 1. create Services and ReplicaSets ------------------------------------
# One curl config: a block per object, separated by `next`. Each block
# repeats the options, since `next` resets them.
gen_creates() {
	awk -v n="$RS_COUNT" -v r="$REPLICAS" -v server="$SERVER" \
		-v token="$TOKEN" -v ca="$CA" 'BEGIN {
	common = sprintf("cacert = \"%s\"\nheader = \"Authorization: Bearer %s\"\n" \
		"header = \"Content-Type: application/json\"\noutput = \"/dev/null\"\n" \
		"write-out = \"%%{http_code} %%{url_effective} %%{time_total}\\n\"\nsilent\nshow-error\n", ca, token)
	for (i = 0; i < n; i++) {
		name = sprintf("wl-%05d", i)
		printf "url = \"%s/api/v1/namespaces/default/services\"\n%s", server, common
		printf "data = \"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"Service\\\"," \
			"\\\"metadata\\\":{\\\"name\\\":\\\"%s\\\"},\\\"spec\\\":{\\\"selector\\\":" \
			"{\\\"app\\\":\\\"%s\\\"},\\\"ports\\\":[{\\\"port\\\":80,\\\"targetPort\\\":8080}]}}\"\nnext\n",
			name, name
	}
	for (i = 0; i < n; i++) {
		name = sprintf("wl-%05d", i)
		labels = sprintf("{\\\"app\\\":\\\"%s\\\"}", name)
		printf "url = \"%s/apis/apps/v1/namespaces/default/replicasets\"\n%s", server, common
		printf "data = \"{\\\"apiVersion\\\":\\\"apps/v1\\\",\\\"kind\\\":\\\"ReplicaSet\\\"," \
			"\\\"metadata\\\":{\\\"name\\\":\\\"%s\\\",\\\"labels\\\":%s}," \
			"\\\"spec\\\":{\\\"replicas\\\":%d,\\\"selector\\\":{\\\"matchLabels\\\":%s}," \
			"\\\"template\\\":{\\\"metadata\\\":{\\\"labels\\\":%s},\\\"spec\\\":{\\\"containers\\\":" \
			"[{\\\"name\\\":\\\"app\\\",\\\"image\\\":\\\"registry.example/app:1\\\"," \
			"\\\"ports\\\":[{\\\"containerPort\\\":8080}]}]}}}}\"\n",
			name, labels, r, labels, labels
		if (i < n - 1)
			print "next"
	}
}'
}
gen_creates >"$WORK/creates.conf"

C_START=$(cpu_ticks)
T0=$(now)
curl --no-progress-meter --parallel --parallel-max "$PARALLEL" -K "$WORK/creates.conf" \
	>"$WORK/creates.out" 2>"$WORK/creates.err" || true
T_CREATED=$(now)
CREATE_SECS=$(elapsed "$T0" "$T_CREATED")
CREATE_OK=$(awk '$1 == 201' "$WORK/creates.out" | wc -l)
CREATE_WANT=$((2 * RS_COUNT))
if [ "$CREATE_OK" -ne "$CREATE_WANT" ]; then
	echo "creates answered 201: $CREATE_OK of $CREATE_WANT; first others:" >&2
	awk '$1 != 201' "$WORK/creates.out" | head -n 5 >&2
	head -n 5 "$WORK/creates.err" >&2
	fail "not every create succeeded"
fi
alive || fail "the server died during the creates"
# Answer times of the creates, ms: "median p99 max". While the simulation
# works, requests wait for the event loop, so these show its stalls.
read -r CREATE_P50_MS CREATE_P99_MS CREATE_MAX_MS < <(
	awk '{ print $3 * 1000 }' "$WORK/creates.out" | sort -g |
		awk '{ v[NR] = $1 } END {
			p = int(NR * 0.99)
			if (p < 1)
				p = 1
			printf "%.1f %.1f %.1f\n", v[int((NR + 1) / 2)], v[p], v[NR] }')

# --- 2. wait until every pod is Ready --------------------------------------
READY=0
ALL_PODS_SECS=""
DEADLINE=$(awk -v t="$T0" -v d="$READY_TIMEOUT" 'BEGIN { printf "%.0f", t + d }')
POLLS=0
# Each poll renders the whole /metrics, which grows with the pods, so the
# pause between polls is ten times the last poll's duration, from 0.25 s to
# 1 s: polling takes about a tenth of the server's time or less.
while :; do
	alive || fail "the server died while pods were starting"
	POLL=$(scrape "$WORK/poll.txt")
	POLLS=$((POLLS + 1))
	READY=$(pods_gauge ready)
	READY=${READY:-0}
	if [ -z "$ALL_PODS_SECS" ]; then
		ALL=$(pods_gauge all)
		[ "${ALL:-0}" -ge "$PODS" ] && ALL_PODS_SECS=$(elapsed "$T0" "$(now)")
	fi
	[ "$READY" -ge "$PODS" ] && break
	if [ "$(date +%s)" -ge "$DEADLINE" ]; then
		fail "only $READY of $PODS pods Ready after ${READY_TIMEOUT}s"
	fi
	sleep "$(echo "$POLL" | awk '{ t = 10 * $2; printf "%.2f", (t < 0.25 ? 0.25 : (t > 1 ? 1 : t)) }')"
done
T_READY=$(now)
READY_SECS=$(elapsed "$T0" "$T_READY")
READY_AFTER_CREATE_SECS=$(elapsed "$T_CREATED" "$T_READY")
RSS_READY_KB=$(status_kb VmRSS)
RAMP_CPU_SECS=$(awk -v c="$(($(cpu_ticks) - C_START))" -v hz="$HZ" \
	'BEGIN { printf "%.1f", c / hz }')
RV1=$(resource_version)
WRITES=$((${RV1:-0} - ${RV0:-0}))

# --- 3. steady-state CPU, with no client active ----------------------------
sleep "$SETTLE"
alive || fail "the server died while settling"
C0=$(cpu_ticks)
W0=$(now)
sleep "$WINDOW"
C1=$(cpu_ticks)
W1=$(now)
alive || fail "the server died during the CPU window"
CPU_PCT=$(awk -v c="$((C1 - C0))" -v hz="$HZ" -v s="$(elapsed "$W0" "$W1")" \
	'BEGIN { printf "%.2f", 100 * c / hz / s }')
RSS_STEADY_KB=$(status_kb VmRSS)

# --- 4. /metrics ------------------------------------------------------------
: >"$WORK/scrapes.txt"
M0=$(cpu_ticks)
for _ in $(seq 1 "$SCRAPES"); do
	scrape "$WORK/metrics.txt" >>"$WORK/scrapes.txt"
done
M1=$(cpu_ticks)
BAD_SCRAPES=$(awk '$1 != 200' "$WORK/scrapes.txt" | wc -l)
[ "$BAD_SCRAPES" -eq 0 ] || fail "$BAD_SCRAPES of $SCRAPES /metrics requests failed"
# Prints "median min max" in ms of column $1 of the scrape lines.
scrape_stats() {
	awk -v c="$1" '{ print $c * 1000 }' "$WORK/scrapes.txt" | sort -g |
		awk '{ v[NR] = $1 } END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f %.1f %.1f\n", m, v[1], v[NR] }'
}
read -r METRICS_MED_MS METRICS_MIN_MS METRICS_MAX_MS < <(scrape_stats 2)
read -r TTFB_MED_MS TTFB_MIN_MS TTFB_MAX_MS < <(scrape_stats 4)
METRICS_BYTES=$(awk 'END { print $3 }' "$WORK/scrapes.txt")
METRICS_CPU_MS=$(awk -v c="$((M1 - M0))" -v hz="$HZ" -v n="$SCRAPES" \
	'BEGIN { printf "%.1f", 1000 * c / hz / n }')
SERIES=$(grep -vc '^#' "$WORK/metrics.txt" || true)
REQ_SERIES=$(grep -c '^http_requests_total{' "$WORK/metrics.txt" || true)
PODS_WITH_TRAFFIC=$(awk -F'pod="' '/^http_requests_total\{/ {
	split($2, a, "\""); p[a[1]] = 1 } END { print length(p) }' "$WORK/metrics.txt")
alive || fail "the server died during the scrapes"

# --- report -----------------------------------------------------------------
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
verdict() { if [ "$1" = 1 ]; then echo MET; else echo MISSED; fi; }
MET_READY=$([ "$PODS" -ge "$TARGET_READY_PODS" ] && echo 1 || echo 0)
MET_CPU=$(awk -v c="$CPU_PCT" -v t="$TARGET_CPU_PCT" 'BEGIN { print (c < t) }')
MET_METRICS=$(awk -v m="$METRICS_MED_MS" -v t="$TARGET_METRICS_MS" 'BEGIN { print (m < t) }')

echo
echo "| measure | value |"
echo "|---|---|"
echo "| create $RS_COUNT Services + $RS_COUNT ReplicaSets | ${CREATE_SECS} s ($(awk -v n="$CREATE_WANT" -v s="$CREATE_SECS" 'BEGIN { printf "%.0f", n / s }')/s, $PARALLEL connections) |"
echo "| create answer time: median / p99 / max | ${CREATE_P50_MS} / ${CREATE_P99_MS} / ${CREATE_MAX_MS} ms |"
echo "| all $PODS pods exist (from first create) | ${ALL_PODS_SECS} s |"
echo "| all $PODS pods Ready (from first create) | ${READY_SECS} s ($POLLS polls of /metrics) |"
echo "| all pods Ready (from last create) | ${READY_AFTER_CREATE_SECS} s |"
echo "| store writes until Ready (resourceVersion delta) | $WRITES ($(awk -v w="$WRITES" -v p="$PODS" 'BEGIN { printf "%.1f", w / p }') per pod) |"
echo "| server CPU from first create to all Ready | ${RAMP_CPU_SECS} s ($(awk -v c="$RAMP_CPU_SECS" -v p="$PODS" 'BEGIN { printf "%.2f", 1000 * c / p }') ms per pod) |"
echo "| RSS: empty / all Ready / after window | $(mb "$RSS_BASE_KB") / $(mb "$RSS_READY_KB") / $(mb "$RSS_STEADY_KB") |"
echo "| steady-state server CPU over ${WINDOW} s | ${CPU_PCT} % of one core |"
echo "| /metrics end-to-end, median (min-max) of $SCRAPES | ${METRICS_MED_MS} ms (${METRICS_MIN_MS}-${METRICS_MAX_MS}) |"
echo "| /metrics first byte after TLS setup (≈ render), median (min-max) | ${TTFB_MED_MS} ms (${TTFB_MIN_MS}-${TTFB_MAX_MS}) |"
echo "| server CPU per /metrics request (render + TLS send) | ${METRICS_CPU_MS} ms |"
echo "| /metrics body | $METRICS_BYTES bytes, $SERIES series lines |"
echo "| http_requests_total series / pods with traffic | $REQ_SERIES / $PODS_WITH_TRAFFIC of $PODS |"
echo
echo "targets:"
if [ "$PODS" -ge "$TARGET_READY_PODS" ]; then
	echo "  $TARGET_READY_PODS pods reach Ready: MET ($PODS in ${READY_SECS} s)"
else
	echo "  $TARGET_READY_PODS pods reach Ready: not tested (only $PODS pods; use the defaults)"
fi
echo "  steady-state CPU < $TARGET_CPU_PCT % of a core: $(verdict "$MET_CPU") (${CPU_PCT} %)"
echo "  /metrics < $TARGET_METRICS_MS ms: $(verdict "$MET_METRICS") (median ${METRICS_MED_MS} ms end-to-end, ${TTFB_MED_MS} ms to first byte)"
printf 'WORKLOAD_JSON {"replicasets":%s,"replicas":%s,"pods":%s,"create_s":%s,' \
	"$RS_COUNT" "$REPLICAS" "$PODS" "$CREATE_SECS"
printf '"create_p50_ms":%s,"create_p99_ms":%s,"create_max_ms":%s,' \
	"$CREATE_P50_MS" "$CREATE_P99_MS" "$CREATE_MAX_MS"
printf '"all_pods_s":%s,"ready_s":%s,"store_writes":%s,"ramp_cpu_s":%s,' \
	"${ALL_PODS_SECS:-null}" "$READY_SECS" "$WRITES" "$RAMP_CPU_SECS"
printf '"rss_ready_kb":%s,' "$RSS_READY_KB"
printf '"rss_steady_kb":%s,"cpu_pct":%s,"window_s":%s,"metrics_median_ms":%s,' \
	"$RSS_STEADY_KB" "$CPU_PCT" "$WINDOW" "$METRICS_MED_MS"
printf '"metrics_ttfb_ms":%s,"metrics_cpu_ms":%s,"metrics_bytes":%s,' \
	"$TTFB_MED_MS" "$METRICS_CPU_MS" "$METRICS_BYTES"
printf '"series":%s,"pods_with_traffic":%s}\n' "$SERIES" "$PODS_WITH_TRAFFIC"
if [ -s "$WORK/devcluster.log" ]; then
	echo "server log (last lines):"
	tail -n 5 "$WORK/devcluster.log"
fi
if [ "$PODS_WITH_TRAFFIC" -ne "$PODS" ]; then
	fail "only $PODS_WITH_TRAFFIC of $PODS pods have traffic series"
fi
if [ "$STRICT" = 1 ] && { [ "$MET_CPU" != 1 ] || [ "$MET_METRICS" != 1 ] ||
	[ "$MET_READY" != 1 ]; }; then
	exit 1
fi
exit 0
