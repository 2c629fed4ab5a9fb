#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# verbs_pingpong: the stock ibv_rc_pingpong or ibv_ud_pingpong, unmodified,
# between two processes on two Facet devices, under facet-run.
#
#   one   two devices of one model process (one embedded switch)
#   two   two model processes wired by their UDP uplinks on 127.0.0.1
#
#   rc    polling with buffer validation (-c), an odd size over several
#         packets, sleeping on completion events (-e); on one model also RC
#         without a GID, which RoCE cannot address: it must fail with a
#         message naming the option to use
#   ud    polling with buffer validation, and events
#
# Each exchange must finish within its time limit, both sides exit 0 and
# report all iterations.
#
#   verbs_pingpong.sh FACET_REFNIC FACET_RUN PLUGIN_DIR {one|two} {rc|ud}
set -euo pipefail

# shellcheck disable=SC2034 # verbs_lib.sh uses it
VT_TEST=verbs_pingpong_$5_$4
# shellcheck source=tests/verbs/verbs_lib.sh
. "$(dirname "$0")/verbs_lib.sh"
vt_setup "$1" "$2" "$3" ibv_rc_pingpong ibv_ud_pingpong
mode=$4 kind=$5

# pingpong NAME TOOL ITERS ARGS...: server on device a, client on device b.
pingpong() {
	local name=$1 tool=$2 iters=$3
	shift 3
	VT_PORT=$(vt_free_port t)
	vt_pair "$name" 60 "$a" "$b" \
		"$tool" -d facet_refnic0 -p "$VT_PORT" -n "$iters" "$@" -- \
		"$tool" -d facet_refnic0 -p "$VT_PORT" -n "$iters" "$@" 127.0.0.1 ||
		vt_fail "$name: $tool $*"
	for side in server client; do
		grep -q "^$iters iters in" "$VT_DIR/$name-$side.log" ||
			{ cat "$VT_DIR/$name-$side.log"; vt_fail "$name: $side did not do $iters iters"; }
	done
	vt_log "$name: $(grep "iters in" "$VT_DIR/$name-client.log")"
}

if [[ $mode == one ]]; then
	vt_model m --socket "$VT_DIR/a.sock" --socket "$VT_DIR/b.sock"
else
	pa=$(vt_free_port u) pb=$(vt_free_port u)
	while [[ $pa == "$pb" ]]; do pb=$(vt_free_port u); done
	vt_model a --socket "$VT_DIR/a.sock" --mac 02:fa:ce:0a:00:00 \
		--uplink "udp:127.0.0.1:$pa,127.0.0.1:$pb"
	vt_model b --socket "$VT_DIR/b.sock" --mac 02:fa:ce:0b:00:00 \
		--uplink "udp:127.0.0.1:$pb,127.0.0.1:$pa"
fi
a=vfio-user:$VT_DIR/a.sock b=vfio-user:$VT_DIR/b.sock

if [[ $mode == one && $kind == rc ]]; then
	# No GID: the QPs have no address RoCE can use. The server connects
	# first (after reading the client's address), fails, and hangs up.
	VT_PORT=$(vt_free_port t)
	if vt_pair rc-nogid 30 "$a" "$b" ibv_rc_pingpong -d facet_refnic0 -p "$VT_PORT" -n 10 -- \
		ibv_rc_pingpong -d facet_refnic0 -p "$VT_PORT" -n 10 127.0.0.1 2>/dev/null; then
		vt_fail "rc-nogid: ibv_rc_pingpong without -g succeeded"
	fi
	log=$VT_DIR/rc-nogid-server.log
	grep -q "give the application a GID index" "$log" ||
		{ cat "$log"; vt_fail "rc-nogid: no message about the GID"; }
	vt_log "rc-nogid: refused with: $(grep -m1 "GID index" "$log")"
fi

if [[ $kind == ud ]]; then
	pingpong ud ibv_ud_pingpong 1000 -g 0 -s 512 -c
	pingpong ud-events ibv_ud_pingpong 500 -g 0 -s 1024 -c -e
else
	pingpong rc ibv_rc_pingpong 1000 -g 0 -c
	pingpong rc-sizes ibv_rc_pingpong 200 -g 0 -c -s 12345 -m 1024
	pingpong rc-events ibv_rc_pingpong 500 -g 0 -e
fi

vt_stop_models
vt_log "OK"
