#!/bin/sh
# Static checks: the banned-function list, cppcheck and clang-tidy over
# every C file. Exits non-zero on any finding.
set -u
cd "$(dirname "$0")/.."
status=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find cmd pkg tests -name '*.[ch]')

banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)[[:space:]]*\('
if grep -nE "$banned" $files; then
	echo "lint: banned functions used (see above); use snprintf, buf_*, strtok_r, strtol"
	status=1
fi

cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
	--enable=warning,portability --suppress=missingIncludeSystem --suppress=unknownMacro \
	-I pkg $(echo "$files" | grep '\.c$') || status=1

clang-tidy --quiet $(echo "$files" | grep -E '^(pkg|cmd)/.*\.c$') \
	-checks='-*,bugprone-*,clang-analyzer-*,-bugprone-easily-swappable-parameters,-bugprone-narrowing-conversions,-bugprone-reserved-identifier,-bugprone-assignment-in-if-condition,-bugprone-branch-clone,-bugprone-macro-parentheses,-bugprone-implicit-widening-of-multiplication-result,-bugprone-suspicious-string-compare,-bugprone-signal-handler,-bugprone-sizeof-expression,-bugprone-not-null-terminated-result,-bugprone-misplaced-widening-cast,-clang-analyzer-valist.Uninitialized,-clang-analyzer-optin.performance.Padding,-clang-analyzer-security.insecureAPI.*,-clang-analyzer-unix.Malloc' \
	--warnings-as-errors='*' -- -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Ipkg 2>/dev/null || status=1

[ $status -eq 0 ] && echo "lint: ok"
exit $status
