#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# net_udp_two_models: two facet-refnic processes wired by their UDP uplinks
# on 127.0.0.1, one Ethernet segment across two "machines".
#
#   facet-fwd gen -> A's refnic.eth.0 -> A's switch -> udp uplink A
#                                                          | 127.0.0.1
#   facet-fwd rx  <- B's refnic.eth.0 <- B's switch <- udp uplink B
#
# gen sends N frames to B's port MAC: on A's switch that is unknown unicast,
# which goes to the uplink; B's switch delivers it to B's function by MAC.
#
# Asserts: gen sent all N (none dropped by the tool) and A's port counted
# them; rx on B received every frame the device delivered, all intact and in
# order (payload pattern, sequence per flow); and the frames add up: what
# rx got + what B's device reports as missed (no RX buffer posted) + what
# A's device reports as TX errors (the uplink refused them) = N. Reported
# losses are allowed up to 1% of N (a loaded machine may deschedule the
# receiver); a loss no counter explains (a UDP datagram the kernel dropped)
# fails the test.
#
# Then facetctl opens B's port and watches it while gen sends 200 more
# frames there: its JSON stats must show 0 received and 200 missed (B's
# switch delivers by MAC whether or not anyone receives, and the device
# counts what found no RX buffer). Both models and all tools exit 0 (under
# ASan: no leaks, no UB). No root needed.
#
#   net_udp_two_models.sh FACET_REFNIC FACET_FWD FACETCTL PLUGIN_DIR
set -euo pipefail

NET_TEST=net_udp_two_models
# shellcheck source=tests/net/net_lib.sh
. "$(dirname "$0")/net_lib.sh"

[[ $# -eq 4 ]] || { echo "usage: $0 FACET_REFNIC FACET_FWD FACETCTL PLUGIN_DIR" >&2; exit 2; }
model=$1 fwd=$2 ctl=$3 plugins=$4
export FACET_PLUGIN_PATH=$plugins

frames=5000
size=512
rate=25000 # frames/s: 0.2 s of traffic, well within what the uplink sockets buffer
mac_a=02:fa:ce:0a:00:00
mac_b=02:fa:ce:0b:00:00

NET_DIR=$(mktemp -d /tmp/facet-net-udp.XXXXXX)
pid_a="" pid_b="" rx_pid="" ctl_pid=""
cleanup() {
	local st=$?
	set +e
	for p in $rx_pid $ctl_pid $pid_a $pid_b; do kill -s KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$NET_DIR"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

# A UDP port of 127.0.0.1 nobody has bound (a race with another program is
# possible, hence the retries below).
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if [[ -z $(ss -Hulnt "sport = :$p" 2>/dev/null) ]]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# start_model NAME MAC LPORT RPORT: sets pid_NAME; returns 1 if it could not start.
start_model() {
	local name=$1 mac=$2 lport=$3 rport=$4 pid i
	"$model" --socket "$NET_DIR/$name.sock" --mac "$mac" \
		--uplink "udp:127.0.0.1:$lport,127.0.0.1:$rport" >"$NET_DIR/model-$name.log" 2>&1 &
	pid=$!
	printf -v "pid_$name" %s "$pid"
	for ((i = 0; i < 200; i++)); do
		grep -q "serving on" "$NET_DIR/model-$name.log" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$NET_DIR/model-$name.log" >&2
	return 1
}

started=false
for attempt in 1 2 3; do
	port_a=$(free_port) port_b=$(free_port)
	[[ $port_a != "$port_b" ]] || continue
	if start_model a "$mac_a" "$port_a" "$port_b" && start_model b "$mac_b" "$port_b" "$port_a"; then
		started=true
		break
	fi
	net_log "attempt $attempt: a model did not start (port taken?), trying other ports"
	for p in $pid_a $pid_b; do kill -s KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pid_a="" pid_b=""
done
$started || net_fail "the models did not start"
net_log "model A ($mac_a) udp 127.0.0.1:$port_a <-> model B ($mac_b) udp 127.0.0.1:$port_b"

"$fwd" -d "vfio-user:$NET_DIR/b.sock" -P refnic.eth.0 -Q rx >"$NET_DIR/rx.log" 2>&1 &
rx_pid=$!
net_wait_line "$NET_DIR/rx.log" "rx running on refnic.eth.0" "$rx_pid" 10

gen_st=0
"$fwd" -d "vfio-user:$NET_DIR/a.sock" -P refnic.eth.0 -m "$mac_b" -n "$frames" -s "$size" \
	-r "$rate" -f 4 -t 20 -Q gen >"$NET_DIR/gen.log" 2>&1 || gen_st=$?
cat "$NET_DIR/gen.log"
[[ $gen_st -eq 0 ]] || net_fail "facet-fwd gen exited $gen_st"
grep -q "refnic.eth.0: rx 0 frames 0 bytes, tx $frames frames $((frames * size)) bytes, dropped 0" \
	"$NET_DIR/gen.log" || net_fail "gen did not send all $frames frames"
a_out=$(net_number "$NET_DIR/gen.log" 's/.*: port ipackets [0-9]+ opackets ([0-9]+).*/\1/p')
a_oerr=$(net_number "$NET_DIR/gen.log" 's/.* oerrors ([0-9]+).*/\1/p')
[[ $a_out -eq $frames ]] || net_fail "A's port counted $a_out frames sent, not $frames"

sleep 1 # the last frames cross the wire and B's switch; rx reads them
net_stop "$rx_pid" INT 10
rx_pid=
cat "$NET_DIR/rx.log"
[[ $NET_STATUS -eq 0 ]] || net_fail "facet-fwd rx exited $NET_STATUS"
got=$(net_number "$NET_DIR/rx.log" 's/^refnic.eth.0: rx ([0-9]+) frames.*/\1/p')
b_in=$(net_number "$NET_DIR/rx.log" 's/.*: port ipackets ([0-9]+) .*/\1/p')
b_missed=$(net_number "$NET_DIR/rx.log" 's/.* imissed ([0-9]+) .*/\1/p')
grep -q "^rx: 0 bad frames, 0 out of order" "$NET_DIR/rx.log" ||
	net_fail "rx found damaged or reordered frames"
[[ $got -eq $b_in ]] || net_fail "rx read $got frames, B's port delivered $b_in"
[[ $((got + b_missed + a_oerr)) -eq $frames ]] ||
	net_fail "$frames sent, $got received, $b_missed missed at B, $a_oerr TX errors at A:" \
		"$((frames - got - b_missed - a_oerr)) lost without a counter"
[[ $((b_missed + a_oerr)) -le $((frames / 100)) ]] ||
	net_fail "$((b_missed + a_oerr)) of $frames frames lost (over 1%)"

# facetctl watches B's port from outside while no one receives there: B's
# switch still delivers by MAC, and the device counts each frame as missed
# (no RX descriptor posted), which facetctl's stats report.
more=200
cat >"$NET_DIR/ctl.batch" <<EOF
open vfio-user:$NET_DIR/b.sock
watch refnic.eth.0 -i 0.2
-j stats refnic.eth.0
EOF
"$ctl" -b "$NET_DIR/ctl.batch" >"$NET_DIR/ctl.log" 2>&1 &
ctl_pid=$!
net_wait_line "$NET_DIR/ctl.log" "rx pps" "$ctl_pid" 10 # watching: SIGINT ends the watch
"$fwd" -d "vfio-user:$NET_DIR/a.sock" -P refnic.eth.0 -m "$mac_b" -n "$more" -t 20 -Q gen \
	>"$NET_DIR/gen2.log" 2>&1 || net_fail "the second facet-fwd gen failed"
grep -q "tx $more frames .* dropped 0" "$NET_DIR/gen2.log" || net_fail "gen did not send $more frames"
sleep 0.5 # the last frames reach B; a watch sample or two with the drops
net_stop "$ctl_pid" INT 10
ctl_pid=
[[ $NET_STATUS -eq 0 ]] || { cat "$NET_DIR/ctl.log"; net_fail "facetctl exited $NET_STATUS"; }
ctl_json=$(grep '^\[' "$NET_DIR/ctl.log" || true)
net_log "facetctl stats of B's port: $ctl_json"
[[ $ctl_json == *'"ipackets":0,'* && $ctl_json == *"\"imissed\":$more,"* ]] ||
	{ cat "$NET_DIR/ctl.log"; net_fail "facetctl did not show $more frames missed at B's port"; }

for m in a b; do
	pid_var=pid_$m
	net_stop "${!pid_var}" TERM 10
	printf -v "pid_$m" %s ""
	[[ $NET_STATUS -eq 0 ]] || { cat "$NET_DIR/model-$m.log"; net_fail "model $m exited $NET_STATUS"; }
done
net_log "OK: $got of $frames frames from model A reached model B over UDP intact" \
	"($b_missed missed, $a_oerr TX errors)"
