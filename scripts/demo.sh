#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The main demo, in five parts:
#   1. the refnic reference device runs as its own process, served over
#      vfio-user; facetctl opens it, the bus autoloads the refnic core driver,
#      which resets the device, runs its admin queue and publishes the slices;
#   2. traffic between two refnic ports (one model process, two devices on one
#      embedded switch): facet-fwd gen -> rx, io forwarding, facetctl counters;
#   2b. unmodified DPDK testpmd forwarding between the same two ports through
#      the net_facet PMD, zero copy (skipped without dpdk-testpmd);
#   3. (root only) Linux in a network namespace pings facet-fwd echo through
#      the model's af_packet uplink on a veth pair;
#   4. RDMA: unmodified ibv_devinfo, ibv_rc_pingpong and ib_write_bw on two
#      Facet RDMA devices under facet-run (scripts/demo-rdma.sh).
#
# In the output, "> ..." lines are facetctl commands, "event: ..." lines are
# bus events, "facet[refnic] ..." lines are the core driver's log.
#
# usage: scripts/demo.sh [BUILD_DIR]    (default: ./build)
set -euo pipefail

build=$(cd "${1:-./build}" && pwd)
facetctl=$build/apps/facetctl/facetctl
model=$build/apps/facet-refnic/facet-refnic
fwd=$build/apps/facet-fwd/facet-fwd
for exe in "$facetctl" "$model" "$fwd"; do
	[[ -x $exe ]] || { echo "demo: $exe not found; build first (make build)" >&2; exit 1; }
done

dir=$(mktemp -d)
sock=$dir/refnic.sock
pids=()       # every background process, killed at exit
namespaces=() # network namespaces of part 3, deleted at exit
cleanup() {
	set +e
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# wait_for FILE TEXT: until FILE contains TEXT (10 s at most).
wait_for() {
	for _ in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "demo: no '$2' in $1:" >&2
	cat "$1" >&2
	exit 1
}

# start_model LOG ARGS...: run facet-refnic in the background until its sockets listen.
start_model() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	pids+=($!)
	wait_for "$log" "serving on"
}

echo "== Start the reference device (a separate process, the 'hardware')"
start_model "$dir/model.log" "$model" --socket "$sock"
cat "$dir/model.log"

export FACET_PLUGIN_PATH=$build/plugins
export FACET_LOG=warn,refnic=info

"$facetctl" -v -e -b - <<DEMO
echo
echo == Open it over vfio-user: the PCI device appears, its core driver autoloads
echo == from its plugin, brings the device up and publishes one slice per capability
open vfio-user:$sock

echo
echo == The tree: device ids, transport, BARs, then its slices
show

echo
echo == Unbind the core driver: the bus removes the slices first, the driver resets
echo == the device and releases its DMA memory
unbind pci.1fac_0001.0
show

echo
echo == Bind it again: a fresh bring-up, the same slices
bind pci.1fac_0001.0
show

echo
echo == The same tree as JSON, for scripts
-j show
DEMO

# ---- part 2: traffic between two refnic ports -------------------------------------------

export FACET_LOG=warn # from here on, only the tools' own output
dev0=vfio-user:$dir/dev0.sock
dev1=vfio-user:$dir/dev1.sock
mac1=02:fa:ce:00:01:00 # device 1's port (device d gets the MAC base + d * 0x100)

echo
echo "== Traffic between two refnic ports: one model process serving two devices,"
echo "== whose ports share one embedded switch (two NICs wired together)"
start_model "$dir/model2.log" "$model" --socket "$dir/dev0.sock" --socket "$dir/dev1.sock"
cat "$dir/model2.log"

echo
echo "== facet-fwd rx on device 1 counts and checks every frame; facet-fwd gen on"
echo "== device 0 sends 20000 UDP frames of 256 bytes to device 1's MAC, 10000 a second"
echo "> facet-fwd -d $dev1 -P refnic.eth.0 -Q rx    (in the background)"
"$fwd" -d "$dev1" -P refnic.eth.0 -Q rx >"$dir/rx.log" 2>&1 &
rx_pid=$!
pids+=("$rx_pid")
wait_for "$dir/rx.log" "rx running"
echo "> facet-fwd -d $dev0 -P refnic.eth.0 -m $mac1 -n 20000 -r 10000 -s 256 gen"
"$fwd" -d "$dev0" -P refnic.eth.0 -m "$mac1" -n 20000 -r 10000 -s 256 gen
sleep 0.2
kill -INT "$rx_pid"
wait "$rx_pid" || true
echo "-- what rx saw (\"port\" lines are the device's own counters):"
grep -v running "$dir/rx.log"

echo
echo "== facet-fwd io: one process owns both ports and forwards what one receives"
echo "== to the other; --tx-first starts each with a burst of 32 broadcast frames,"
echo "== which then go round and round for 2 seconds"
echo "> facet-fwd -d $dev0 -d $dev1 -P refnic.eth.0 -P refnic.eth.1 --tx-first -t 2 io"
"$fwd" -d "$dev0" -d "$dev1" -P refnic.eth.0 -P refnic.eth.1 --tx-first -t 2 io

echo
echo "== facetctl looks at a port from outside. A device serves one program at a"
echo "== time, so facetctl opens device 1 while gen sends to it for 3 seconds: with"
echo "== no RX buffers posted (nobody receives), the device counts every frame as missed"
echo "> facet-fwd -d $dev0 -P refnic.eth.0 -m $mac1 -r 10000 -t 3 -Q gen    (in the background)"
"$fwd" -d "$dev0" -P refnic.eth.0 -m "$mac1" -r 10000 -t 3 -Q gen >"$dir/gen.log" 2>&1 &
gen_pid=$!
pids+=("$gen_pid")
wait_for "$dir/gen.log" "gen running"
"$facetctl" -v -d "$dev1" -b - <<DEMO
watch refnic.eth.0 -i 1 -c 2
stats refnic.eth.0
DEMO
wait "$gen_pid" || true
echo "-- and what gen sent meanwhile (facetctl saw only part of it: opening a device"
echo "-- resets it, counters included):"
grep -v running "$dir/gen.log"

# ---- part 2b: DPDK testpmd on two Facet ports ----------------------------------------------

# Stage the PMD in a private directory: EAL refuses -d plugins under /tmp and the like.
stage_pmd() {
	local pmd=$build/drivers/net/dpdk/librte_net_facet.so base
	[[ -f $pmd ]] || return 1
	for base in "${HOME:-}" /run /var/lib; do
		[[ -n $base && -d $base && -w $base ]] || continue
		pmd_dir=$(mktemp -d "$base/.facet-demo-XXXXXX") || continue
		cp "$pmd" "$pmd_dir/" && return 0
	done
	return 1
}

testpmd_demo() {
	local mem libs
	echo
	if ! command -v dpdk-testpmd >/dev/null || ! stage_pmd; then
		echo "== Skipped: DPDK testpmd on Facet needs dpdk-testpmd (apt-get install dpdk)"
		echo "== and the PMD (built when libdpdk-dev is installed)"
		return 0
	fi
	# The PMD hands mbufs to the device process (zero copy), so DPDK's memory must
	# be fd-backed: hugepages with --in-memory, or --no-huge (one memfd) without root.
	if [[ $(id -u) -eq 0 ]] && "$(dirname "$0")/setup-hugepages.sh" 512 >/dev/null; then
		mem=(--in-memory --single-file-segments)
	else
		mem=(--no-huge -m 512 --no-shconf)
	fi
	libs=$(find "$build/lib" "$build/drivers" -name 'libfacet_*.so' -printf '%h\n' | sort -u |
		paste -sd: -)
	echo "== Unmodified DPDK testpmd forwards between the same two refnic ports through"
	echo "== the net_facet PMD (-d librte_net_facet.so --vdev net_facet0,dev=...): zero"
	echo "== copy, the device writes frames straight into testpmd's mbufs and sends"
	echo "== mbufs straight from them. 3 seconds of io forwarding after a first burst:"
	echo "> dpdk-testpmd ${mem[*]} -d librte_net_facet.so --vdev net_facet0,dev=$dev0 \\"
	echo ">     --vdev net_facet1,dev=$dev1 -- -i --forward-mode=io"
	echo ">   start tx_first; (3 s); stop; show port stats all; quit"
	{
		echo "start tx_first"
		sleep 3
		echo "stop"
		echo "show port stats all"
		echo "quit"
	} | LD_LIBRARY_PATH=$libs timeout 60 dpdk-testpmd --lcores 0@1,1@0 --no-pci "${mem[@]}" \
		--file-prefix facet-demo-$$ -d "$pmd_dir/librte_net_facet.so" \
		--log-level=pmd.net.facet:info --vdev "net_facet0,dev=$dev0" \
		--vdev "net_facet1,dev=$dev1" -- -i --forward-mode=io --nb-cores=1 \
		--total-num-mbufs=16384 >"$dir/testpmd.log" 2>&1 || true
	rm -rf "$pmd_dir"
	echo "-- the PMD's log (DPDK's memory registered with each device) and the port counters:"
	grep -E "^(facet_probe|mem_create|check_shareable)\(\)" "$dir/testpmd.log" || true
	awk '/NIC statistics for port/ { show = 1 } show' "$dir/testpmd.log" |
		grep -E "NIC statistics|RX-packets|RX-errors|TX-packets" || {
		echo "demo: testpmd did not forward; its log:"
		cat "$dir/testpmd.log"
	}
}
testpmd_demo

# ---- part 3: a network namespace pings through the uplink ---------------------------------

ping_demo() {

	echo
	if [[ $(id -u) -ne 0 ]] || ! command -v ping >/dev/null; then
		echo "== Skipped: Linux pinging a refnic port through the uplink needs root (network"
		echo "== namespaces) and ping (iputils-ping): run 'sudo make demo' to see it"
		return 0
	fi
	ns_host=facet-demo-$$-host
	ns_nic=facet-demo-$$-nic
	echo "== Linux pings a refnic port through the uplink. Two network namespaces of the"
	echo "== demo's own, joined by a veth pair (the host's own network is not touched):"
	echo "==   $ns_host: veth-host 10.251.0.1/24, the pinging \"host\""
	echo "==   $ns_nic:  veth-nic, the uplink of a model running there"
	echo "==             (facet-refnic --uplink af_packet:veth-nic)"
	echo "== facet-fwd echo answers ARP and ICMP echo for 10.251.0.2 on the model's port"
	namespaces+=("$ns_host" "$ns_nic")
	ip netns add "$ns_host"
	ip netns add "$ns_nic"
	ip -n "$ns_host" link add veth-host type veth peer name veth-nic netns "$ns_nic"
	ip -n "$ns_host" addr add 10.251.0.1/24 dev veth-host
	ip -n "$ns_host" link set veth-host up
	ip -n "$ns_nic" link set veth-nic up
	start_model "$dir/model3.log" ip netns exec "$ns_nic" \
		"$model" --socket "$dir/nic.sock" --uplink af_packet:veth-nic
	cat "$dir/model3.log"
	echo "> facet-fwd -d vfio-user:$dir/nic.sock -P refnic.eth.0 --ip 10.251.0.2 -Q echo    (in the background)"
	"$fwd" -d "vfio-user:$dir/nic.sock" -P refnic.eth.0 --ip 10.251.0.2 -Q echo >"$dir/echo.log" 2>&1 &
	echo_pid=$!
	pids+=("$echo_pid")
	wait_for "$dir/echo.log" "echo running"
	echo "> ip netns exec $ns_host ping -c 5 -W 2 10.251.0.2"
	ip netns exec "$ns_host" ping -c 5 -W 2 10.251.0.2 || echo "demo: ping failed"
	echo "> ip -n $ns_host neigh    (the host found 10.251.0.2 at the refnic port's MAC)"
	ip -n "$ns_host" neigh show dev veth-host
	kill -INT "$echo_pid"
	wait "$echo_pid" || true
	echo "-- what echo did (it drops what is neither ARP nor ICMP echo for its address,"
	echo "-- such as the host's IPv6 neighbour discovery):"
	grep -v running "$dir/echo.log"
}
ping_demo

# ---- part 4: RDMA, unmodified verbs programs ----------------------------------------------

"$(dirname "$0")/demo-rdma.sh" "$build"
