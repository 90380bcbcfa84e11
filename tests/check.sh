#!/bin/sh
# check.sh - the whole test suite, as `make check` runs it after the build
#
#	sh tests/check.sh
#
# In order: the build (make check-build); the clang-format check; the unit tests and the integration
# tests (tests/integration/test_*.py) against build/; the fuzz targets over
# their corpora (tests/fuzz/run.sh); then the unit and integration tests again
# against sanitizer builds made here (make SANITIZER=address, then
# SANITIZER=undefined: build-address/, build-undefined/). Each step's
# counts are added up; the last line is "N passed, N failed" and the exit
# status is 1 if anything failed. A step that dies without a count counts
# as one failure.
#
# Environment: SKIP_SANITIZERS=1 skips the sanitizer passes;
# SANITIZER_E2E=0 skips the Postfix end-to-end test in them (it checks
# Postfix's handling of our replies more than our memory use).
# TEST_TIMEOUT bounds each test program (seconds, default 900).
cd "$(dirname "$0")/.." || exit 2

passed=0
failed=0
failures=
log=$(mktemp) || exit 2
trap 'rm -f "$log"' EXIT
trap 'exit 1' INT TERM
timeout=${TEST_TIMEOUT:-900}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export PYTHONDONTWRITEBYTECODE=1

# add - add the "N passed, N failed" of $log to the totals, for step $1
add() {
	rc=$1
	name=$2
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed}
	else
		p=0
		f=0
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures="$failures $name"
		echo "== $name: FAILED (exit $rc, $p passed, $f failed)"
		tail -n 80 "$log" | sed 's/^/   /'
	else
		echo "== $name: $p passed"
	fi
}

# step - run a command for step $1, its output in $log, and count it
step() {
	name=$1
	shift
	"$@" >"$log" 2>&1 </dev/null
	add $? "$name"
}

# format - clang-format check, one test
format() {
	if make --no-print-directory format-check; then
		echo "1 passed, 0 failed"
	else
		echo "0 passed, 1 failed"
		return 1
	fi
}

# integration - every integration test against build $1 ($2: e2e too?)
integration() {
	for t in tests/integration/test_*.py; do
		[ -e "$t" ] || continue
		if [ "$2" = no ] && [ "$(basename "$t")" = test_postfix.py ]; then
			echo "== $1 $(basename "$t"): skipped in this pass"
			continue
		fi
		step "$1 $(basename "$t" .py)" \
		    env BUILD="$1" timeout -k 60 "$timeout" python3 "$t"
	done
}

# pass - unit and integration tests against build directory $1
pass() {
	step "$1 unit" sh tests/run-unit.sh "$1"
	integration "$1" "$2"
}

# build - make check-build (a no-op under `make check`), one test
build() {
	if make --no-print-directory check-build; then
		echo "1 passed, 0 failed"
	else
		echo "0 passed, 1 failed"
		return 1
	fi
}

step build build
step format format
pass build yes
# The fuzz targets over their corpora (libFuzzer, ASan and UBSan): every
# input that once crashed or broke a contract stays a regression test.
step fuzz sh tests/fuzz/run.sh

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
	for san in address undefined; do
		echo "== make SANITIZER=$san"
		if make --no-print-directory SANITIZER=$san check-build \
		    >"$log" 2>&1 </dev/null; then
			e2e=yes
			[ "${SANITIZER_E2E:-1}" = 0 ] && e2e=no
			pass build-$san $e2e
		else
			echo "0 passed, 1 failed" >>"$log"
			add 1 "build-$san build"
		fi
	done
fi

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
