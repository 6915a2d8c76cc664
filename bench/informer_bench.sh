#!/bin/bash
# Runs the informer benchmark: a fresh knit-devcluster (no simulation, so
# the ReplicaSets are only data), N realistic ReplicaSets created through
# pkg/kube, then a separate process that caches them all with an informer
# and reports list+sync time and resident memory per cached object.
# Usage: informer_bench.sh [N] (default 10000).
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
BUILD=${BUILD:-$ROOT/build}
N=${1:-10000}
BIN=$BUILD/bench/informer_bench

make --no-print-directory -C "$ROOT" all >/dev/null
make --no-print-directory -C "$BENCH_DIR" BUILD="$BUILD" "$BIN" >/dev/null

WORK=$(mktemp -d "${TMPDIR:-/tmp}/knit-informer-bench.XXXXXX")
DC_PID=""
cleanup() {
	if [ -n "$DC_PID" ] && kill -0 "$DC_PID" 2>/dev/null; then
		kill "$DC_PID" 2>/dev/null || true
		wait "$DC_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

"$BUILD/bin/knit-devcluster" --port 0 --data-dir "$WORK/dc" \
	--port-file "$WORK/dc/port" --no-simulation --log-level warn \
	>"$WORK/devcluster.log" 2>&1 &
DC_PID=$!
for _ in $(seq 1 100); do
	[ -s "$WORK/dc/port" ] && [ -s "$WORK/dc/kubeconfig" ] && break
	sleep 0.05
done

echo "informer bench: $N ReplicaSets, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
"$BIN" "$WORK/dc/kubeconfig" populate "$N" 4
wire=$(curl -sS --cacert "$WORK/dc/ca.crt" \
	-H "Authorization: Bearer $(cat "$WORK/dc/token")" \
	"https://127.0.0.1:$(cat "$WORK/dc/port")/apis/apps/v1/namespaces/bench/replicasets?limit=1" |
	jq -c '.items[0]' | wc -c)
echo "one ReplicaSet on the wire: $wire bytes"
"$BIN" "$WORK/dc/kubeconfig" measure
