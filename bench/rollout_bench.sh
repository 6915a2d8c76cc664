#!/bin/bash
# Runs the Rollout controller benchmark: a fresh knit-devcluster with its
# simulated workloads, the Rollout CRD, N Rollouts of 2 replicas, then
# knit-controller measured by rollout_bench.py (memory, idle cost, spec
# change to ReplicaSet latency, a version bump of all N, free and
# throttled). Usage: rollout_bench.sh [N] (default 1000); THROTTLED_QPS
# sets the throttled run's --qps (default 50).
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
BUILD=${BUILD:-$ROOT/build}
N=${1:-1000}

make --no-print-directory -C "$ROOT" all >/dev/null

WORK=$(mktemp -d "${TMPDIR:-/tmp}/knit-rollout-bench.XXXXXX")
DC_PID=""
cleanup() {
	pkill -f "$WORK/dc/kubeconfig" 2>/dev/null || true
	if [ -n "$DC_PID" ] && kill -0 "$DC_PID" 2>/dev/null; then
		kill "$DC_PID" 2>/dev/null || true
		wait "$DC_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

"$BUILD/bin/knit-devcluster" --port 0 --data-dir "$WORK/dc" \
	--port-file "$WORK/dc/port" --log-level warn \
	>"$WORK/devcluster.log" 2>&1 &
DC_PID=$!
for _ in $(seq 1 100); do
	[ -s "$WORK/dc/port" ] && [ -s "$WORK/dc/kubeconfig" ] && break
	sleep 0.05
done
export KUBECONFIG="$WORK/dc/kubeconfig"
kubectl --cache-dir "$WORK/kcache" apply -f "$ROOT/crds/" >/dev/null
for _ in $(seq 1 50); do
	kubectl --cache-dir "$WORK/kcache" get rollouts.knit.dev >/dev/null 2>&1 && break
	sleep 0.1
done

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
echo "rollout bench: $N Rollouts, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
BASE="https://127.0.0.1:$(cat "$WORK/dc/port")" CA="$WORK/dc/ca.crt" \
	TOKEN_FILE="$WORK/dc/token" CONTROLLER="$BUILD/bin/knit-controller" \
	MPORT=$(port) HPORT=$(port) LOG="$WORK/controller.log" DC_PID=$DC_PID \
	python3 "$BENCH_DIR/rollout_bench.py" "$N" || {
	tail -n 30 "$WORK/controller.log"
	exit 1
}
