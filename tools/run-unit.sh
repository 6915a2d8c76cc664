#!/bin/sh
# Runs each cmocka unit-test binary given as an argument, each in its own
# process, and ends with one "N passed, N failed" line for the whole suite.
set -u
pass=0
fail=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	n=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	pass=$((pass + ${n:-0}))
	fail=$((fail + ${f:-0}))
	if [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out"
		[ -z "$f" ] && fail=$((fail + 1))
		echo "unit: $(basename "$t") FAILED (exit $rc)"
	else
		echo "unit: $(basename "$t") ok (${n:-0} tests)"
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
