#!/bin/sh
# run-unit.sh - run every cmocka unit test binary of a build
#
#	sh tests/run-unit.sh [BUILD]	(default: build)
#
# Runs BUILD/tests/test_NAME for each tests/unit/test_NAME.c, counts the
# tests cmocka reports, and ends with the line "N passed, N failed". A
# binary that is missing, crashes or exits non-zero without a cmocka
# failure count counts as one failure. Exits 1 if anything failed.
# Sanitizer options come from the environment (tests/check.sh sets them).
cd "$(dirname "$0")/.." || exit 2
build=${1:-build}
passed=0
failed=0
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
for src in tests/unit/test_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	bin=$build/tests/$name
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: $bin not built"
		failed=$((failed + 1))
		continue
	fi
	"$bin" >"$out" 2>&1 </dev/null
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" |
	    awk '{ s += $1 } END { print s + 0 }')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" |
	    awk '{ s += $1 } END { print s + 0 }')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		echo "FAIL $name: exit $rc, $p passed, $f failed; output:"
		tail -n 60 "$out" | sed 's/^/    /'
	else
		echo "ok   $name: $p passed"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
