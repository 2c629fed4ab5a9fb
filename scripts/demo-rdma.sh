#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The RDMA part of `make demo` (also runs alone): unmodified verbs programs
# from Debian's ibverbs-utils and perftest on two Facet RDMA devices — two
# devices of one facet-refnic process, joined by its embedded switch, each
# program on its own device under facet-run (which preloads Facet's verbs
# provider). ibv_devinfo, ibv_rc_pingpong, then ib_write_bw at 64 KiB.
#
# usage: scripts/demo-rdma.sh [BUILD_DIR]    (default: ./build)
set -euo pipefail

build=$(cd "${1:-./build}" && pwd)
model=$build/apps/facet-refnic/facet-refnic
run=$build/apps/facet-run/facet-run
for t in ibv_devinfo ibv_rc_pingpong ib_write_bw; do
	command -v "$t" >/dev/null || {
		echo "== Skipped: the RDMA demo needs $t (scripts/install-deps.sh installs it)"
		exit 0
	}
done
[[ -x $run ]] || { echo "demo-rdma: $run not found; build first" >&2; exit 1; }

dir=$(mktemp -d)
pids=()
cleanup() {
	set +e
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export FACET_PLUGIN_PATH=$build/plugins

"$model" --socket "$dir/a.sock" --socket "$dir/b.sock" >"$dir/model.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
	[[ $(grep -c "serving on" "$dir/model.log") -ge 2 ]] && break
	sleep 0.05
done

a=vfio-user:$dir/a.sock
b=vfio-user:$dir/b.sock
echo
echo "== RDMA: unmodified verbs programs on Facet devices. One model process serves two"
echo "== refnic devices on one switch; facet-run preloads the Facet verbs provider, so each"
echo "== program sees its device as facet_refnic0 (no kernel RDMA stack is involved)."
echo "> facet-run --dev $a ibv_devinfo -d facet_refnic0"
timeout 30 "$run" --dev "$a" ibv_devinfo -d facet_refnic0 |
	grep -E "hca_id|transport|fw_ver|node_guid|vendor_id|port:|state|active_mtu|link_layer"

# A pair of programs: server on device a, client on device b (127.0.0.1 is
# only their TCP rendezvous; the data goes over RoCEv2 through the model).
pair() { # name args...
	local name=$1 server
	shift
	timeout 60 "$run" --dev "$a" "$@" >"$dir/$name-server.log" 2>&1 &
	server=$!
	pids+=("$server")
	sleep 0.5
	timeout 60 "$run" --dev "$b" "$@" 127.0.0.1 >"$dir/$name-client.log" 2>&1 || {
		echo "demo-rdma: $name failed:" >&2
		cat "$dir/$name-client.log" "$dir/$name-server.log" >&2
		exit 1
	}
	wait "$server"
}

echo
echo "> facet-run --dev $a ibv_rc_pingpong -g 0 &      # server"
echo "> facet-run --dev $b ibv_rc_pingpong -g 0 127.0.0.1"
pair pingpong ibv_rc_pingpong -g 0 -n 1000
grep -E "local address|remote address|bytes in|iters in" "$dir/pingpong-client.log"

echo
echo "> facet-run --dev $a ib_write_bw -d facet_refnic0 -x 0 -F -s 65536 &"
echo "> facet-run --dev $b ib_write_bw -d facet_refnic0 -x 0 -F -s 65536 127.0.0.1"
pair write_bw ib_write_bw -d facet_refnic0 -x 0 -F -s 65536 -n 2000
awk '/#bytes/ { show = 1 } show && NF' "$dir/write_bw-client.log" | grep -v -- "-----"
