#!/bin/bash
# Runs the AnalysisRun benchmark: a fresh knit-devcluster (no traffic
# needed), the real Prometheus scraping it, the knit.dev CRDs, then
# knit-controller and N AnalysisRuns (default 1000) spread over a few
# namespaces, each with one Prometheus metric measured every 10 s until
# terminated. analysis_bench.py creates the runs, measures the controller's
# CPU and memory over a steady window, reads every run's measurements back
# to compute the start jitter, then terminates the runs and checks that
# they end Successful.
#
# Usage: analysis_bench.sh [N]. Environment: WINDOW (steady window in
# seconds, default 100), SPREAD (create the runs evenly over this many
# seconds instead of all at once), CONTROLLER_FLAGS (extra knit-controller flags,
# default "--qps 2000 --burst 4000", so the client-side limiter stays out
# of the way: N runs every 10 s need N/10 status writes per second, in
# bursts, far more than the default --qps 40 allows), NO_BUILD=1
# (use the binaries already in build/bin instead of `make all`).
# The helpers (devcluster_start, prometheus_start, cleanup on exit) come
# from tests/lib/harness.sh.
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
export BUILD=${BUILD:-$ROOT/build}
N=${1:-1000}

[ -n "${NO_BUILD:-}" ] || make --no-print-directory -C "$ROOT" all >/dev/null

# shellcheck source=../tests/lib/harness.sh
. "$ROOT/tests/lib/harness.sh"
set -e
# the harness's cleanup runs commands that fail (wait on a killed pid)
trap 'set +e; cleanup' EXIT

devcluster_start --log-level warn
prometheus_start
kc apply -f "$ROOT/crds/" >/dev/null
for _ in $(seq 1 50); do
	kc get analysisruns.knit.dev >/dev/null 2>&1 && break
	sleep 0.1
done

MPORT=$(free_port)
HPORT=$(free_port)
# shellcheck disable=SC2086 # CONTROLLER_FLAGS is a list of flags
"$CONTROLLER_BIN" --kubeconfig "$KUBECONFIG" --leader-elect=false \
	--metrics-address "127.0.0.1:$MPORT" \
	--health-address "127.0.0.1:$HPORT" --log-level info \
	${CONTROLLER_FLAGS:---qps 2000 --burst 4000} \
	>>"$WORK/controller.log" 2>&1 &
CTRL_PID=$!
if ! wait_for 20 curl -sf "http://127.0.0.1:$HPORT/readyz"; then
	echo "knit-controller did not become ready:" >&2
	tail -n 30 "$WORK/controller.log" >&2
	exit 1
fi

echo "analysis bench: $N AnalysisRuns, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "controller flags: ${CONTROLLER_FLAGS:---qps 2000 --burst 4000}"
rc=0
BASE=$BASE CA=$CA TOKEN_FILE="$DC_DIR/token" PROM=$PROM \
	CTRL_PID=$CTRL_PID DC_PID=$DC_PID \
	CTRL_METRICS="http://127.0.0.1:$MPORT" \
	python3 "$BENCH_DIR/analysis_bench.py" "$N" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- last lines of the controller log:"
	tail -n 30 "$WORK/controller.log"
fi
if grep -q "level=error\|level=warn" "$WORK/controller.log"; then
	echo "controller warnings/errors: $(grep -c "level=error\|level=warn" "$WORK/controller.log")" \
		"(first: $(grep -m1 "level=error\|level=warn" "$WORK/controller.log"))"
fi
exit "$rc"
