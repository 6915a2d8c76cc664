#!/bin/sh
# Fails when any C file differs from what clang-format (.clang-format) makes
# of it. `make format` rewrites them.
set -u
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files '*.c' '*.h'); do
	if ! clang-format "$f" | cmp -s - "$f"; then
		echo "format-check: $f is not formatted (run make format)"
		bad=1
	fi
done
[ $bad -eq 0 ] && echo "format-check: ok"
exit $bad
