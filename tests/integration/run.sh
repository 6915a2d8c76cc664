#!/bin/bash
# Runs every integration test (tests/integration/test_*.sh) against the
# binaries in $BUILD and prints one total "N passed, N failed" line.
set -u
cd "$(dirname "$0")/../.."
total_pass=0
total_fail=0
status=0
for t in tests/integration/test_*.sh; do
	echo "== $t"
	out=$(bash "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed$' | tail -n1)
	p=$(printf '%s' "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed/\1/')
	total_pass=$((total_pass + ${p:-0}))
	total_fail=$((total_fail + ${f:-0}))
	if [ $rc -ne 0 ]; then
		status=1
		[ -z "$line" ] && total_fail=$((total_fail + 1))
	fi
done
echo "integration: $total_pass passed, $total_fail failed"
exit $status
