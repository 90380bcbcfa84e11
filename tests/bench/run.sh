#!/bin/sh
# run.sh BUILD - make bench: performance figures (never pass/fail on time).
set -e
cd "$(dirname "$0")/../.."
exec python3 tests/bench/run.py "${1:-build}"
