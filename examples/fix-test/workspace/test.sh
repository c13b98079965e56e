#!/bin/sh
# The test suite of calc.sh: exits non-zero on the first failure.
. ./calc.sh
check() {
    if [ "$1" != "$2" ]; then echo "FAIL: $3: expected $2, got $1"; exit 1; fi
    echo "ok: $3"
}
check "$(add 2 3)" 5 "add 2 3"
check "$(add 10 -4)" 6 "add 10 -4"
echo "all tests passed"
