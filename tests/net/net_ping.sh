#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# net_ping: Linux pings a refnic port through the af_packet uplink.
#
#   namespace HOST                      namespace NIC
#   10.251.0.1/24 on veth-host <veth> veth-nic <- facet-refnic --uplink af_packet:veth-nic
#   ping 10.251.0.2                                 switch -> refnic.eth.0 <- facet-fwd echo
#                                                                             --ip 10.251.0.2
#
# Both namespaces are this test's own (named after its pid), so nothing on
# the host's interfaces or addresses changes and no frame leaves them. The
# model and facet-fwd meet over a UNIX socket (filesystem, not network).
#
# Asserts: a ping before facet-fwd runs gets no answer (nothing else answers
# for the address); then `ping -c 5` gets all 5 replies; the host learned
# the refnic port's MAC for the address (the ARP reply came from facet-fwd);
# facet-fwd counted 5 ICMP echo replies and at least one ARP reply, and the
# device's TX counter of the port equals the replies it sent; facet-fwd and
# the model exit cleanly (0; under ASan also no leaks or UB).
#
# Needs root (network namespaces): exits 77 (meson's "skipped") otherwise.
#
#   net_ping.sh FACET_REFNIC FACET_FWD FACETCTL PLUGIN_DIR
set -euo pipefail

NET_TEST=net_ping
# shellcheck source=tests/net/net_lib.sh
. "$(dirname "$0")/net_lib.sh"

[[ $# -eq 4 ]] || { echo "usage: $0 FACET_REFNIC FACET_FWD FACETCTL PLUGIN_DIR" >&2; exit 2; }
model=$1 fwd=$2 plugins=$4

if [[ $(id -u) -ne 0 ]]; then
	echo "$NET_TEST: skipped: needs root (CI runs it as root)"
	exit 77
fi
for tool in ip ping; do
	command -v "$tool" >/dev/null ||
		net_fail "'$tool' is missing (iproute2, iputils-ping): run scripts/install-deps.sh"
done

ns_host=facet-net-$$-host
ns_nic=facet-net-$$-nic
host_ip=10.251.0.1
echo_ip=10.251.0.2
port_mac=02:fa:ce:00:00:00 # the model's default MAC of device 0, function 0

NET_DIR=$(mktemp -d /tmp/facet-net-ping.XXXXXX)
model_pid="" fwd_pid=""
cleanup() {
	local st=$?
	set +e
	[[ -n $fwd_pid ]] && kill -s KILL "$fwd_pid" 2>/dev/null
	[[ -n $model_pid ]] && kill -s KILL "$model_pid" 2>/dev/null
	wait 2>/dev/null
	# Deleting a namespace deletes the veth ends in it.
	ip netns del "$ns_host" 2>/dev/null
	ip netns del "$ns_nic" 2>/dev/null
	rm -rf "$NET_DIR"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

# Namespaces left by runs that were killed (their pid is gone).
for ns in $(ip netns list | sed -nE 's/^(facet-net-([0-9]+)-(host|nic)).*/\1/p'); do
	pid=${ns#facet-net-}
	pid=${pid%-*}
	kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
done

net_log "namespaces $ns_host, $ns_nic"
ip netns add "$ns_host"
ip netns add "$ns_nic"
ip -n "$ns_host" link add veth-host type veth peer name veth-nic netns "$ns_nic"
ip -n "$ns_host" link set lo up
ip -n "$ns_host" addr add "$host_ip/24" dev veth-host
ip -n "$ns_host" link set veth-host up
ip -n "$ns_nic" link set veth-nic up

ip netns exec "$ns_nic" "$model" --socket "$NET_DIR/nic.sock" --uplink af_packet:veth-nic \
	>"$NET_DIR/model.log" 2>&1 &
model_pid=$!
net_wait_line "$NET_DIR/model.log" "serving on" "$model_pid" 10

# Nobody answers yet: the replies below can only come from facet-fwd.
if ip netns exec "$ns_host" ping -c 1 -W 1 "$echo_ip" >"$NET_DIR/ping0.log" 2>&1; then
	cat "$NET_DIR/ping0.log"
	net_fail "$echo_ip answered before facet-fwd echo ran"
fi
# Forget the unanswered entry, or its queued request would reach facet-fwd later.
ip -n "$ns_host" neigh flush dev veth-host

FACET_PLUGIN_PATH=$plugins "$fwd" -d "vfio-user:$NET_DIR/nic.sock" -P refnic.eth.0 \
	-i "$echo_ip" -Q echo >"$NET_DIR/fwd.log" 2>&1 &
fwd_pid=$!
net_wait_line "$NET_DIR/fwd.log" "echo running on refnic.eth.0" "$fwd_pid" 10

ping_st=0
ip netns exec "$ns_host" ping -c 5 -i 0.2 -W 2 "$echo_ip" >"$NET_DIR/ping.log" 2>&1 || ping_st=$?
cat "$NET_DIR/ping.log"
[[ $ping_st -eq 0 ]] || net_fail "ping exited $ping_st"
grep -q "5 packets transmitted, 5 received" "$NET_DIR/ping.log" || net_fail "not 5 of 5 replies"

neigh=$(ip -n "$ns_host" neigh show "$echo_ip" dev veth-host)
net_log "host's neighbour entry: $neigh"
[[ $neigh == *"lladdr $port_mac"* ]] || net_fail "$echo_ip is not at the refnic port's MAC $port_mac"

net_stop "$fwd_pid" INT 10
fwd_pid=
cat "$NET_DIR/fwd.log"
[[ $NET_STATUS -eq 0 ]] || net_fail "facet-fwd echo exited $NET_STATUS"
arp=$(net_number "$NET_DIR/fwd.log" 's/^echo: ([0-9]+) ARP replies.*/\1/p')
icmp=$(net_number "$NET_DIR/fwd.log" 's/^echo: .* ([0-9]+) ICMP echo replies.*/\1/p')
opackets=$(net_number "$NET_DIR/fwd.log" 's/.*: port ipackets [0-9]+ opackets ([0-9]+).*/\1/p')
[[ $icmp -eq 5 ]] || net_fail "facet-fwd answered $icmp ICMP echo requests, not 5"
[[ $arp -ge 1 ]] || net_fail "facet-fwd answered no ARP request"
[[ $opackets -eq $((arp + icmp)) ]] ||
	net_fail "the device sent $opackets frames, facet-fwd $((arp + icmp)) replies"

net_stop "$model_pid" TERM 10
model_pid=
[[ $NET_STATUS -eq 0 ]] || { cat "$NET_DIR/model.log"; net_fail "facet-refnic exited $NET_STATUS"; }
net_log "OK: 5/5 pings answered through the af_packet uplink ($arp ARP, $icmp ICMP replies)"
