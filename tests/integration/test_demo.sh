#!/bin/bash
# `make demo` end to end (tools/demo.sh in one-shot mode, on free ports):
# the devcluster and Prometheus start, the sample shop runs, and Prometheus
# reports each version's error rate close to what the example configures.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/harness.sh

out=$(KNIT_DEMO_ONESHOT=1 KNIT_DEMO_DIR="$WORK/demo" KNIT_DEMO_PORT="$(free_port)" \
	KNIT_DEMO_PROM_PORT="$(free_port)" tools/demo.sh 2>&1)
rc=$?
check_eq "the demo exits cleanly" 0 "$rc"
check_contains "the shop's pods run" "shop-canary-" "$out"
pct() { printf '%s\n' "$out" | sed -n "s/^  $1: \([0-9.]*\)% of requests fail/\1/p"; }
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; }
check "the canary fails about 20% ($(pct canary))" within "$(pct canary)" 17 23
check "the stable version about 1% ($(pct stable))" within "$(pct stable)" 0.5 1.5
leftover() {
	pgrep -f "tsdb.path=$WORK/demo/prometheus"
	pgrep -f "data-dir $WORK/demo"
}
check_eq "nothing is left running" "" "$(leftover)"
finish
