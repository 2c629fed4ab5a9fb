#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# verbs_perftest: one stock perftest tool, unmodified, between two processes
# on two devices of one model process, under facet-run: the server on
# facet_refnic0 of device a, the client on facet_refnic0 of device b
# connecting to 127.0.0.1. GID index 0 (-x 0: RoCE needs a GID), -F (no
# cpufreq check), a few iterations of small messages.
#
# Asserts: both sides exit 0 within the time limit and print a result line
# for the message size ("#bytes #iterations ..." header then "<size> <iters>
# ..."), and neither reports a completion error.
#
#   verbs_perftest.sh FACET_REFNIC FACET_RUN PLUGIN_DIR TOOL [ARGS...]
set -euo pipefail

tool=$4
# shellcheck disable=SC2034 # verbs_lib.sh uses it
VT_TEST=verbs_perftest_$tool${6:+_$6}
# shellcheck source=tests/verbs/verbs_lib.sh
. "$(dirname "$0")/verbs_lib.sh"
vt_setup "$1" "$2" "$3" "$tool"
shift 4

vt_model m --socket "$VT_DIR/a.sock" --socket "$VT_DIR/b.sock"
a=vfio-user:$VT_DIR/a.sock b=vfio-user:$VT_DIR/b.sock

case $tool in
ib_atomic_*) size=8 ;;
*) size=64 ;;
esac
case $tool in
*_lat) iters=1000 ;;
*) iters=2000 ;;
esac
VT_PORT=$(vt_free_port t)
common=(-d facet_refnic0 -x 0 -F -p "$VT_PORT" -n "$iters" "$@")
[[ $tool == ib_atomic_* ]] || common+=(-s "$size")
vt_pair perf 120 "$a" "$b" "$tool" "${common[@]}" -- "$tool" "${common[@]}" 127.0.0.1 ||
	vt_fail "$tool ${common[*]}"

for side in server client; do
	log=$VT_DIR/perf-$side.log
	if grep -Eiq "completion with error|failed|couldn't|unable" "$log"; then
		cat "$log"
		vt_fail "$side reported an error"
	fi
done
# The latency tools print results on the client; the bandwidth tools on both.
log=$VT_DIR/perf-client.log
cat "$log"
grep -Eq "^\s*#bytes\s+#iterations" "$log" || vt_fail "no result header"
grep -Eq "^\s*$size\s+$iters\s+[0-9.]+" "$log" || vt_fail "no result line for $size bytes"
vt_stop_models
vt_log "OK: $(grep -E "^\s*$size\s+$iters\s" "$log" | tr -s ' ')"
