#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# verbs_teardown: a verbs process that dies without destroying anything
# leaves nothing behind in the model (docs/refnic.md §16.1). Two devices of
# one model process; an ib_write_bw pair runs for a long time (-D) under
# facet-run, and both processes are killed with SIGKILL mid-traffic: no
# verbs call, no destroy command, no orderly close of the connection.
#
# Asserts:
#   - the model logs, for each device, that it released the dead client's
#     objects, with nonzero QP and MR counts (tag refnic, level info);
#   - the model holds none of the dead clients' memory (no facet memfd
#     mapped) and no more file descriptors than before the clients came;
#   - a fresh ib_write_bw pair on the same two devices runs to completion
#     (exit 0, a result line), and, having torn down properly, leaves
#     nothing for the model to release;
#   - the model exits 0 on SIGTERM.
# The clients' own memory is memfds: nothing of theirs can be left on disk.
#
#   verbs_teardown.sh FACET_REFNIC FACET_RUN PLUGIN_DIR
set -euo pipefail

# shellcheck disable=SC2034 # verbs_lib.sh uses it
VT_TEST=verbs_teardown
# shellcheck source=tests/verbs/verbs_lib.sh
. "$(dirname "$0")/verbs_lib.sh"
vt_setup "$1" "$2" "$3" ib_write_bw stdbuf

# The release lines are info; the tools keep the suite's level.
FACET_LOG=warn,refnic=info vt_model m --socket "$VT_DIR/a.sock" --socket "$VT_DIR/b.sock"
model=$VT_MODEL_PID mlog=$VT_DIR/model-m.log
a=vfio-user:$VT_DIR/a.sock b=vfio-user:$VT_DIR/b.sock

# What the model holds with no client: its fds, and no client memory mapped.
fd_count() { find "/proc/$model/fd" -mindepth 1 2>/dev/null | wc -l; }
client_maps() { grep -c "memfd:facet-" "/proc/$model/maps" || true; }
fds0=$(fd_count)

# released_lines SOCKET: the model's release lines for the device at SOCKET.
released_lines() {
	grep -E "client gone: released .*\(function [0-9]+ of $1\)" "$mlog" || true
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds; false after SECONDS.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# ---- 1: a long run, killed mid-traffic ----------------------------------------
listening() { [[ -n $(ss -Htln "sport = :$VT_PORT" 2>/dev/null) ]]; }
VT_PORT=$(vt_free_port t)
long=(-d facet_refnic0 -x 0 -F -p "$VT_PORT" -s 65536 -D 30)
# Not through timeout(1): the pids must be the tools' own (facet-run and
# stdbuf exec). Line-buffered, so the client's header shows when it starts.
"$VT_RUN" --dev "$a" -- stdbuf -oL ib_write_bw "${long[@]}" >"$VT_DIR/long-server.log" 2>&1 &
spid=$!
VT_PIDS+=("$spid")
wait_for 10 listening ||
	{ cat "$VT_DIR/long-server.log" >&2; vt_fail "the server does not listen"; }
"$VT_RUN" --dev "$b" -- stdbuf -oL ib_write_bw "${long[@]}" 127.0.0.1 \
	>"$VT_DIR/long-client.log" 2>&1 &
cpid=$!
VT_PIDS+=("$cpid")
# The column header comes when the measurement starts; give it a moment of traffic.
wait_for 20 grep -Eqs "^\s*#bytes\s+#iterations" "$VT_DIR/long-client.log" ||
	{ cat "$VT_DIR/long-client.log" >&2; vt_fail "the long run did not start"; }
sleep 1
for p in "$spid" "$cpid"; do
	kill -0 "$p" || vt_fail "a long-run process ended on its own"
done
kill -s KILL "$spid" "$cpid"
wait "$spid" "$cpid" 2>/dev/null || true
vt_log "killed ib_write_bw -D 30 (pids $spid, $cpid) mid-traffic"

# ---- 2: the model released everything ----------------------------------------
all_released() {
	[[ -n $(released_lines "$VT_DIR/a.sock") && -n $(released_lines "$VT_DIR/b.sock") ]]
}
wait_for 10 all_released || { cat "$mlog" >&2; vt_fail "no release line for both devices"; }
for s in a b; do
	line=$(released_lines "$VT_DIR/$s.sock")
	grep -Eq "released [1-9][0-9]* QPs?, [1-9][0-9]* MRs?" <<<"$line" ||
		{ cat "$mlog" >&2; vt_fail "device $s: no QP and MR released: $line"; }
	vt_log "device $s: ${line#*info: }"
done
nothing_held() { [[ $(client_maps) -eq 0 && $(fd_count) -le $fds0 ]]; }
wait_for 10 nothing_held ||
	vt_fail "the model still holds client resources: $(client_maps) memfd mappings," \
		"$(fd_count) fds (had $fds0)"
vt_log "the model holds no client memory, $(fd_count) fds (as before the clients: $fds0)"

# ---- 3: a fresh pair on the same devices works, and tears down cleanly ----------
VT_PORT=$(vt_free_port t)
iters=2000
short=(-d facet_refnic0 -x 0 -F -p "$VT_PORT" -s 4096 -n "$iters")
vt_pair fresh 120 "$a" "$b" ib_write_bw "${short[@]}" -- ib_write_bw "${short[@]}" 127.0.0.1 ||
	vt_fail "the fresh ib_write_bw pair failed"
log=$VT_DIR/fresh-client.log
grep -Eq "^\s*4096\s+$iters\s+[0-9.]+" "$log" || { cat "$log"; vt_fail "no result line"; }
vt_log "fresh pair: $(grep -E "^\s*4096\s+$iters\s" "$log" | tr -s ' ')"
wait_for 10 nothing_held || vt_fail "the model holds resources after a clean run"
n=$(grep -c "client gone: released" "$mlog" || true)
[[ $n -eq 2 ]] || { cat "$mlog" >&2; vt_fail "a clean exit left objects to release"; }

vt_stop_models
vt_log "OK"
