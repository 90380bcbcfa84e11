#!/bin/sh
# run.sh - build the libFuzzer targets and run them
#
#	sh tests/fuzz/run.sh [-u] [SECONDS] [NAME...]
#
# Builds each tests/fuzz/fuzz_NAME.c with clang (-g -O1
# -fsanitize=fuzzer,address,undefined) against the library sources it
# needs, compiled here with the repository's flags, into build-fuzz/.
# With no SECONDS (or 0): a regression run, every file of
# tests/fuzz/corpus/NAME/ executed once (-runs=0). With SECONDS: each
# target fuzzes that long (-max_total_time=SECONDS -max_len=4096) in a
# scratch copy of its corpus (build-fuzz/work/NAME/); -u then merges the
# inputs that add coverage into tests/fuzz/corpus/NAME/. NAMEs restrict
# the run to those targets (default: all). Crashes and contract
# violations are saved as build-fuzz/artifacts/fuzz_NAME-crash-*.
#
# Prints "ok fuzz_NAME" or "FAIL fuzz_NAME" (then the end of its log,
# kept in build-fuzz/logs/) per target and ends with "N passed, N
# failed"; exits 1 if anything failed.
#
# Environment: CLANG (default clang), FUZZ_JOBS targets fuzzed at once
# (default 1; regression runs are one at a time).
cd "$(dirname "$0")/../.." || exit 2

CLANG=${CLANG:-clang}
JOBS=${FUZZ_JOBS:-1}
OUT=build-fuzz
UPDATE=no
SECONDS_=0

while [ $# -gt 0 ]; do
	case $1 in
	-u|--update-corpus) UPDATE=yes ;;
	-h|--help)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	-*)	echo "run.sh: unknown option $1" >&2
		exit 2 ;;
	*)	break ;;
	esac
	shift
done
case ${1:-} in
'') ;;
*[!0-9]*) ;;
*)	SECONDS_=$1
	shift ;;
esac

# The sources each target needs, beside tests/fuzz/fuzz_NAME.c.
srcs() {
	case $1 in
	address) echo lists/address.c lists/domain.c ;;
	authres) echo milter/authres.c policy/result.c ;;
	cidr) echo lists/cidr.c ;;
	# The config reaches into the whole policy layer and the lists
	# below it (layers point one way: no milter/ code).
	config) echo policy/*.c lists/*.c ;;
	dkimverify) echo milter/dkimverify.c milter/dkimbody.c \
	    milter/dkimkeys.c milter/log.c milter/dns.c \
	    milter/dns_cache.c lists/domain.c lists/text.c \
	    policy/result.c ;;
	dmarc) echo milter/dmarc.c milter/log.c milter/dns.c \
	    milter/dns_cache.c lists/domain.c lists/text.c policy/result.c ;;
	domain) echo lists/domain.c ;;
	log) echo milter/log.c ;;
	reply) echo milter/reply.c ;;
	*) return 1 ;;
	esac
}

if [ $# -gt 0 ]; then
	NAMES=$*
else
	NAMES=
	for f in tests/fuzz/fuzz_*.c; do
		n=${f#tests/fuzz/fuzz_}
		NAMES="$NAMES ${n%.c}"
	done
fi

PKGS="ldns libconfuse milter opendkim libpsl libcrypto libpcre2-8 lmdb hiredis
    libsodium libcurl"
# shellcheck disable=SC2086
PKG_CFLAGS=$(pkg-config --cflags $PKGS)
VERSION=$(sed -n 's/^VERSION[ 	]*=[ 	]*//p' Makefile)
# The Makefile's WARN and ALL_CFLAGS, -Werror aside (clang warns about
# other things than gcc), with the sanitizer build's OPT. The quotes
# around the version are meant to reach the compiler.
# shellcheck disable=SC2089
CFLAGS="-std=gnu11 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -g -O1 -fno-omit-frame-pointer
    -fno-sanitize-recover=all -fstack-protector-strong -pthread -I.
    -D_GNU_SOURCE -DSAKIMORI_VERSION=\"$VERSION\"
    $PKG_CFLAGS"
SAN=address,undefined
# shellcheck disable=SC2086
LIBS="$(pkg-config --libs $PKGS) -lspf2 -lpthread"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

mkdir -p "$OUT/obj" "$OUT/logs" "$OUT/artifacts" || exit 2
# Objects made with other flags are stale.
stamp=$(echo "$CLANG $CFLAGS $SAN" | cksum)
if [ "$(cat "$OUT/flags" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$OUT/obj"
	mkdir -p "$OUT/obj"
	echo "$stamp" >"$OUT/flags"
fi

# stale - does object $1 need building (missing, or older than a source
# or header named in its dependency file)?
stale() {
	[ -f "$1" ] && [ -f "${1%.o}.d" ] || return 0
	# Words, not lines: make's rule syntax. -nt: dash, bash, busybox.
	# shellcheck disable=SC2013,SC3013
	for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "${1%.o}.d"); do
		case $dep in
		*:) continue ;;
		esac
		[ "$dep" -nt "$1" ] && return 0
	done
	return 1
}

# compile - object for source $1 (instrumented, not linked with libFuzzer)
compile() {
	obj=$OUT/obj/$(echo "${1%.c}" | tr / _).o
	if stale "$obj"; then
		# shellcheck disable=SC2086,SC2090
		$CLANG $CFLAGS -fsanitize=fuzzer-no-link,$SAN -MMD -MP \
		    -c -o "$obj" "$1" || return 1
	fi
	echo "$obj"
}

# build - link $OUT/fuzz_$1; its log gets the compiler's messages
build() {
	objs=
	for s in tests/fuzz/fuzz_$1.c $(srcs "$1"); do
		o=$(compile "$s") || return 1
		objs="$objs $o"
	done
	# shellcheck disable=SC2086
	$CLANG -g -fsanitize=fuzzer,$SAN -pthread -o "$OUT/fuzz_$1" $objs \
	    $LIBS
}

# run - regression or fuzzing run of target $1, output in its log
run() {
	bin=$PWD/$OUT/fuzz_$1
	corpus=tests/fuzz/corpus/$1
	opts="-timeout=10 -rss_limit_mb=2048 -print_final_stats=0
	    -artifact_prefix=$OUT/artifacts/fuzz_$1-"
	if [ "$SECONDS_" -eq 0 ]; then
		# shellcheck disable=SC2086
		"$bin" $opts -runs=0 "$corpus"
		return
	fi
	work=$OUT/work/$1
	rm -rf "$work"
	mkdir -p "$work/corpus" || return 1
	cp "$corpus"/* "$work/corpus/" 2>/dev/null
	# shellcheck disable=SC2086
	"$bin" $opts -max_total_time="$SECONDS_" -max_len=4096 \
	    "$work/corpus" || return 1
	if [ "$UPDATE" = yes ]; then
		# shellcheck disable=SC2086
		"$bin" $opts -merge=1 "$corpus" "$work/corpus"
	fi
}

passed=0
failed=0
# report - print the result of target $1 with exit status $2
report() {
	if [ "$2" -eq 0 ]; then
		echo "ok fuzz_$1"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz_$1"
		tail -n 60 "$OUT/logs/fuzz_$1.log" | sed 's/^/   /'
		failed=$((failed + 1))
	fi
}

# Build everything first (one at a time: objects are shared).
built=
for n in $NAMES; do
	log=$OUT/logs/fuzz_$n.log
	if ! srcs "$n" >/dev/null; then
		echo "no target fuzz_$n" >"$log"
		report "$n" 1
	elif build "$n" >"$log" 2>&1 </dev/null; then
		built="$built $n"
	else
		report "$n" 1
	fi
done

# Then run, FUZZ_JOBS at a time when fuzzing.
[ "$SECONDS_" -eq 0 ] && JOBS=1
# shellcheck disable=SC2086
set -- $built
while [ $# -gt 0 ]; do
	batch=
	i=0
	while [ $# -gt 0 ] && [ "$i" -lt "$JOBS" ]; do
		(run "$1" >>"$OUT/logs/fuzz_$1.log" 2>&1 </dev/null
		 echo $? >"$OUT/logs/fuzz_$1.rc") &
		batch="$batch $1"
		i=$((i + 1))
		shift
	done
	wait
	for n in $batch; do
		report "$n" "$(cat "$OUT/logs/fuzz_$n.rc" 2>/dev/null || echo 1)"
	done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
