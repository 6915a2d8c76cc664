#!/bin/bash
# Runs the knit-devcluster benchmark end to end: builds knit-devcluster and
# the load generator, starts a fresh devcluster on a free loopback port in a
# temporary directory, runs bench/devcluster_bench against it (arguments are
# passed through, e.g. `./run.sh --objects 20000`), stops the server and
# prints the results. Server flags can be added with DEVCLUSTER_FLAGS.
# Exit status is the bench's: 0 for a clean run.
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
if [ -n "${BUILD:-}" ]; then
	BUILD=$(cd "$ROOT" && mkdir -p "$BUILD" && cd "$BUILD" && pwd)
	MAKE_ARGS=(BUILD="$BUILD")
else
	BUILD=$ROOT/build
	MAKE_ARGS=()
fi
BENCH_BIN=${BENCH_BIN:-$BUILD/bench/devcluster_bench}
DEVCLUSTER_BIN=$BUILD/bin/knit-devcluster

make --no-print-directory -C "$ROOT" "${MAKE_ARGS[@]}" all >/dev/null
make --no-print-directory -C "$BENCH_DIR" "${MAKE_ARGS[@]}" build >/dev/null

WORK=$(mktemp -d "${TMPDIR:-/tmp}/knit-bench.XXXXXX")
DC_PID=""
cleanup() {
	if [ -n "$DC_PID" ] && kill -0 "$DC_PID" 2>/dev/null; then
		kill "$DC_PID" 2>/dev/null || true
		wait "$DC_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck disable=SC2086
"$DEVCLUSTER_BIN" --address 127.0.0.1 --port 0 --data-dir "$WORK/dc" \
	--port-file "$WORK/dc/port" --log-level warn ${DEVCLUSTER_FLAGS:-} \
	>"$WORK/devcluster.log" 2>&1 &
DC_PID=$!
for _ in $(seq 1 100); do
	[ -s "$WORK/dc/port" ] && [ -s "$WORK/dc/token" ] && [ -s "$WORK/dc/kubeconfig" ] && break
	sleep 0.05
done
if ! [ -s "$WORK/dc/port" ]; then
	echo "run.sh: knit-devcluster did not start" >&2
	cat "$WORK/devcluster.log" >&2
	exit 1
fi
PORT=$(cat "$WORK/dc/port")

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GB RAM", $2 / 1048576}' /proc/meminfo)"
echo "date: $(date)"
rc=0
"$BENCH_BIN" --server "https://127.0.0.1:$PORT" --ca "$WORK/dc/ca.crt" \
	--token-file "$WORK/dc/token" --pid "$DC_PID" "$@" || rc=$?

if [ -s "$WORK/devcluster.log" ]; then
	echo "server log (last lines):"
	tail -n 5 "$WORK/devcluster.log"
fi
exit $rc
