#!/usr/bin/env bash
# Build and run the whole test suite twice: a normal build and an
# ASan+UBSan build. Prints one summary line "N passed, N failed, N skipped".
#   scripts/run-tests.sh [BUILD_DIR] [ASAN_BUILD_DIR]
set -uo pipefail

build=${1:-build}
asan=${2:-build-asan}
# Both builds boot the same guest kernel for the VM test: download it once.
export FACET_VM_CACHE=${FACET_VM_CACHE:-$PWD/.cache/vm}
werror=false
[ -n "${CI:-}" ] && werror=true

setup() { # dir, extra meson options...
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" -Dwerror=$werror "$@" >/dev/null
	else
		meson setup "$dir" -Dwerror=$werror "$@" >/dev/null
	fi
}

total_ok=0 total_fail=0 total_skip=0 status=0
run_suite() { # dir, label
	local dir=$1 label=$2 log
	echo "== $label: meson test -C $dir"
	meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
	log="$dir/meson-logs/testlog.json"
	[ -f "$log" ] || { status=1; return; }
	total_ok=$((total_ok + $(grep -c '"result": "OK"' "$log")))
	total_fail=$((total_fail + $(grep -Ec '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")))
	total_skip=$((total_skip + $(grep -c '"result": "SKIP"' "$log")))
}

setup "$build" || exit 1
ninja -C "$build" || exit 1
run_suite "$build" "default build"

setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug || exit 1
ninja -C "$asan" || exit 1
run_suite "$asan" "ASan+UBSan build"

echo "facet-tests: $total_ok passed, $total_fail failed, $total_skip skipped"
[ $total_fail -eq 0 ] || status=1
exit $status
