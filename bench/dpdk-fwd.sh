#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# DPDK io-forwarding benchmark: unmodified dpdk-testpmd on two Facet ports
# (net_facet, zero copy, on two devices of one facet-refnic process) next to
# DPDK's own peers, one after the other in the same run, with the same
# testpmd flags (io forwarding, --tx-first, one forwarding core, 64-byte and
# 1500-byte frames):
#   Facet         testpmd forwarding on core 0, the model process on core 1
#   Facet copy=1  the same in copy mode (the PMD copies every frame)
#   memif         a memif pair (copy mode) looped in one testpmd
#   vhost         vhost-user <-> virtio-user, two testpmd processes, a core each
#   net_null      no device at all: the cost of testpmd itself
# Prints a table of Mpps (64 B) and Gbit/s (1500 B, counting preamble, SFD,
# FCS and IFG as bench/eth-fwd.sh does) received per port: the steady-state
# median of testpmd's per-second Rx-pps, the better of two runs; and Facet's
# ratio to each peer.
# Needs hugepages: run as root (they are reserved here) or reserve them first.
#
#   bench/dpdk-fwd.sh [BUILD_DIR] [SECONDS]
set -euo pipefail

build=$(cd "${1:-build}" && pwd)
secs=${2:-8}
pmd=$build/drivers/net/dpdk/librte_net_facet.so
scripts=$(cd "$(dirname "$0")/../scripts" && pwd)

if [[ ! -f $pmd ]]; then
	echo "dpdk-fwd: $pmd not built (no libdpdk?): skipped"
	exit 0
fi
command -v dpdk-testpmd >/dev/null || {
	echo "dpdk-fwd: dpdk-testpmd not found (apt-get install dpdk)" >&2
	exit 1
}
if ! "$scripts/setup-hugepages.sh" 512 >/dev/null; then
	echo "dpdk-fwd: needs 512 hugepages of 2 MiB: run as root (or reserve them)" >&2
	exit 1
fi

dir=$(mktemp -d)
stage=
pids=()
cleanup() {
	set +e
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	# DPDK_FWD_LOGS=DIR keeps every run's testpmd log (per-second rates) there.
	[[ -n ${DPDK_FWD_LOGS:-} ]] && mkdir -p "$DPDK_FWD_LOGS" && cp "$dir"/*.log "$DPDK_FWD_LOGS"/
	rm -rf "$dir"
	[[ -n $stage ]] && rm -rf "$stage"
}
trap cleanup EXIT

# EAL refuses a -d plugin under a world-writable directory (/tmp): stage a copy.
for base in "${HOME:-}" /run /var/lib; do
	[[ -n $base && -d $base ]] || continue
	stage=$(mktemp -d "$base/.facet-bench-XXXXXX") && break
done
[[ -n $stage ]] || { echo "dpdk-fwd: no private directory for the PMD" >&2; exit 1; }
cp "$pmd" "$stage/"
export LD_LIBRARY_PATH
LD_LIBRARY_PATH=$(find "$build/lib" "$build/drivers" -name 'libfacet_*.so' -printf '%h\n' |
	sort -u | paste -sd: -)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export FACET_PLUGIN_PATH=$build/plugins FACET_LOG=warn

# The same memory and testpmd flags for every run.
eal_mem=(--no-pci --in-memory --single-file-segments)
app_flags=(--forward-mode=io --stats-period 1 --nb-cores=1 --txd=1024 --rxd=1024
	--total-num-mbufs=32768)

# run_testpmd LOG LCORES EAL-ARGS... -- APP-ARGS...: run for the benchmark's time.
run_testpmd() {
	local log=$1 lcores=$2
	shift 2
	timeout -s INT $((secs + 4)) dpdk-testpmd --lcores "$lcores" "${eal_mem[@]}" "$@" \
		</dev/null >"$log" 2>&1 || true
}

# Median Rx-pps of port 0 over the steady state (first two and last samples dropped).
rate() { # log size -> "mpps gbps"
	awk -v size="$2" '
		/NIC statistics for port/ { port = $(NF - 1) + 0 }
		/Rx-pps:/ && port == 0 && $2 > 0 { s[n++] = $2 }
		END {
			m = 0
			if (n > 3) {
				k = 0
				for (i = 2; i < n - 1; i++) v[k++] = s[i]
				for (i = 1; i < k; i++) # insertion sort: mawk has no asort
					for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
						t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
					}
				m = v[int((k - 1) / 2)]
			}
			printf "%.2f %.2f\n", m / 1e6, m * (size + 24) * 8 / 1e9
		}' "$1"
}

facet_run() { # size [devargs] -> "mpps gbps"
	local size=$1 extra=${2:-} model
	taskset -c 1 "$build/apps/facet-refnic/facet-refnic" --socket "$dir/a.sock" \
		--socket "$dir/b.sock" >"$dir/model.log" 2>&1 &
	model=$!
	pids+=("$model")
	for _ in $(seq 100); do
		[[ $(grep -c "serving on" "$dir/model.log") -ge 2 ]] && break
		sleep 0.05
	done
	# lcore 0 (testpmd's main, idle) shares core 1 with the model; lcore 1 forwards on core 0.
	run_testpmd "$dir/facet$extra-$size.log" 0@1,1@0 --file-prefix fbench -d "$stage/librte_net_facet.so" \
		--vdev "net_facet0,dev=vfio-user:$dir/a.sock$extra" \
		--vdev "net_facet1,dev=vfio-user:$dir/b.sock$extra" -- \
		"${app_flags[@]}" --tx-first --txpkts="$size"
	kill "$model"
	wait "$model" 2>/dev/null || true
	rm -f "$dir"/*.sock
	rate "$dir/facet$extra-$size.log" "$size"
}

facet_copy_run() { facet_run "$1" ,copy=1; }

memif_run() {
	local size=$1
	rm -f "$dir/m.sock"
	run_testpmd "$dir/memif-$size.log" 0@1,1@0 --file-prefix mbench \
		--vdev "net_memif0,role=server,socket=$dir/m.sock,zero-copy=no" \
		--vdev "net_memif1,role=client,socket=$dir/m.sock" -- \
		"${app_flags[@]}" --tx-first --txpkts="$size"
	rate "$dir/memif-$size.log" "$size"
}

# vhost-user (process A, core 1) <-> virtio-user (process B, core 0, sends first).
vhost_run() {
	local size=$1 a
	rm -f "$dir/vh.sock"
	timeout -s INT $((secs + 6)) dpdk-testpmd --lcores 0@1,1@1 "${eal_mem[@]}" \
		--file-prefix vhbench --vdev "net_vhost0,iface=$dir/vh.sock,queues=1" -- \
		"${app_flags[@]}" --txpkts="$size" </dev/null >"$dir/vhost-$size.log" 2>&1 &
	a=$!
	pids+=("$a")
	for _ in $(seq 100); do
		[[ -S $dir/vh.sock ]] && break
		sleep 0.05
	done
	run_testpmd "$dir/virtio-$size.log" 0@0,1@0 --file-prefix vubench \
		--vdev "net_virtio_user0,path=$dir/vh.sock,queues=1" -- \
		"${app_flags[@]}" --tx-first --txpkts="$size"
	kill -INT "$a" 2>/dev/null || true
	wait "$a" 2>/dev/null || true
	rate "$dir/virtio-$size.log" "$size"
}

null_run() {
	local size=$1
	run_testpmd "$dir/null-$size.log" 0@1,1@0 --file-prefix nbench \
		--vdev "net_null0,size=$size" --vdev "net_null1,size=$size" -- \
		"${app_flags[@]}" --tx-first --txpkts="$size"
	rate "$dir/null-$size.log" "$size"
}

names=(facet facet_copy memif vhost null)
labels=("Facet (zero copy)" "Facet copy=1" "DPDK memif pair" "vhost-user/virtio-user"
	"net_null")
declare -A mpps gbps
for size in 64 1500; do
	for name in "${names[@]}"; do
		# The better of two runs: on 2 cores a run can lose seconds to anything.
		read -r m g < <({ "${name}_run" "$size"; "${name}_run" "$size"; } | sort -n -r |
			head -n 1)
		mpps[$name.$size]=$m
		gbps[$name.$size]=$g
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

echo "DPDK io forwarding (dpdk-testpmd, one forwarding core, --tx-first), median of"
echo "${secs} s at 1 s intervals, best of two runs; per port and direction; Gbit/s counts"
echo "preamble, SFD, FCS and IFG"
echo
printf "| %-22s | %10s | %12s | %14s | %16s |\n" "" "64 B Mpps" "1500 B Gb/s" \
	"Facet/this 64B" "Facet/this 1500B"
printf "|%s|%s|%s|%s|%s|\n" "------------------------" "------------" "--------------" \
	"----------------" "------------------"
for i in "${!names[@]}"; do
	n=${names[$i]}
	printf "| %-22s | %10s | %12s | %14s | %16s |\n" "${labels[$i]}" "${mpps[$n.64]}" \
		"${gbps[$n.1500]}" "$(ratio "${mpps[facet.64]}" "${mpps[$n.64]}")" \
		"$(ratio "${gbps[facet.1500]}" "${gbps[$n.1500]}")"
done
