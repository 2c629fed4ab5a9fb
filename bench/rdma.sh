#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# RDMA benchmark: Debian's unmodified perftest binaries on two Facet RDMA
# devices (two devices of one facet-refnic process, joined by its switch),
# next to the machine's single-core memcpy bandwidth measured in the same
# run (the physical limit of a device that copies: refnic's engine is
# software). Prints ib_write_bw / ib_read_bw at 64 KiB in GB/s and
# ib_write_lat / ib_send_lat at 2 bytes in microseconds (minimum and
# typical), and the CPU placement each test ran with.
#
#   bench/rdma.sh [BUILD_DIR] [ITERATIONS]
#
# Placement: "S C M" are the cores of the perftest server, the perftest
# client and the model (a taskset list each). The defaults are the best
# measured on a two-core machine, where the model's worker and both perftest
# processes each want a core of their own (see the comments below).
#   RDMA_BW_CPUS         bandwidth tests (default "0 0 1")
#   RDMA_WRITE_LAT_CPUS  ib_write_lat (default "0 1 1")
#   RDMA_SEND_LAT_CPUS   ib_send_lat (default "0 0 1")
#   RDMA_FIFO=1          run the model at SCHED_FIFO 1 in the latency tests
#                        (root; default 0, as it measured slower, see lat_us)
#   RDMA_TESTS="..."     a subset of: write_bw read_bw write_lat send_lat memcpy
set -euo pipefail

build=$(cd "${1:-build}" && pwd)
iters=${2:-5000}
bw_cpus=${RDMA_BW_CPUS:-0 0 1}
write_lat_cpus=${RDMA_WRITE_LAT_CPUS:-0 1 1}
send_lat_cpus=${RDMA_SEND_LAT_CPUS:-0 0 1}
fifo=${RDMA_FIFO:-0}
tests=" ${RDMA_TESTS:-write_bw read_bw write_lat send_lat memcpy} "
dir=$(mktemp -d)
model_pid=
cleanup() {
	[[ -n $model_pid ]] && kill "$model_pid" 2>/dev/null && wait "$model_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

run=$build/apps/facet-run/facet-run
export FACET_PLUGIN_PATH=$build/plugins

start_model() { # cpu fifo
	local prio=()
	[[ $2 == 1 ]] && prio=(chrt -f 1)
	taskset -c "$1" "${prio[@]}" "$build/apps/facet-refnic/facet-refnic" --socket "$dir/a.sock" \
		--socket "$dir/b.sock" >"$dir/model.log" 2>&1 &
	model_pid=$!
	for _ in $(seq 100); do
		[[ $(grep -c "serving on" "$dir/model.log") -ge 2 ]] && return 0
		sleep 0.05
	done
	echo "bench/rdma.sh: the model did not start" >&2
	cat "$dir/model.log" >&2
	exit 1
}

stop_model() {
	kill "$model_pid" 2>/dev/null || true
	wait "$model_pid" 2>/dev/null || true
	model_pid=
}

# One perftest pair: server on device a, client on device b, each on its core.
# Prints the client's result line (the one after the column header).
perftest() { # "server client model" fifo tool args...
	local -a cpu
	local fifo=$2 tool=$3 port=$((18600 + RANDOM % 1000))
	read -r -a cpu <<<"$1"
	shift 3
	start_model "${cpu[2]}" "$fifo"
	timeout 120 taskset -c "${cpu[0]}" "$run" --dev "vfio-user:$dir/a.sock" -- \
		"$tool" -d facet_refnic0 -x 0 -F -p "$port" "$@" >"$dir/server.log" 2>&1 &
	local server=$!
	sleep 0.5
	timeout 120 taskset -c "${cpu[1]}" "$run" --dev "vfio-user:$dir/b.sock" -- \
		"$tool" -d facet_refnic0 -x 0 -F -p "$port" "$@" 127.0.0.1 >"$dir/client.log" 2>&1 ||
		{ echo "bench/rdma.sh: $tool failed:" >&2; cat "$dir/client.log" "$dir/server.log" >&2; }
	wait "$server" 2>/dev/null || true
	stop_model
	awk '/^ *#bytes/ { hdr = 1; next } hdr && NF > 3 { print; exit }' "$dir/client.log"
}

# Bandwidth: both perftest processes on one core (the server only waits in
# a socket read while the client streams), the model's worker alone on the
# other, busy for the whole run.
# Columns: #bytes #iterations BW-peak BW-average MsgRate (MB/s = 2^20 B/s).
bw_gbs() { # tool -> GB/s
	perftest "$bw_cpus" 0 "$1" -s 65536 -n "$iters" |
		awk '{ printf "%.2f", $4 * 1048576 / 1e9 }'
}

# Latency: the two perftest processes busy-poll, and two spinners on one
# core take turns by scheduler slices (milliseconds) unless one of them
# gives the core away. ib_send_lat polls its CQ through our provider, which
# yields the core after a few microseconds of empty polls: both processes
# share core 0 and the model's worker has core 1 to itself, where it spins
# and sees each doorbell at once (no KICK). ib_write_lat waits by reading
# its buffer in a loop, which never yields: server and client need a core
# each, and the model shares the client's. Its worker naps and sleeps with
# SLEEPING published, so the client's doorbell comes with a KICK (a trapped
# write, a vfio-user round trip), during which the client blocks and the
# model runs; most of the latency is that round trip's thread hand-overs on
# the shared core. SCHED_FIFO for the model (RDMA_FIFO=1) measured slower:
# every model thread then preempts the client at once, and the worker's
# 20 us spin after each piece of work locks the client out.
# Columns: #bytes #iterations t_min t_max t_typical ...
lat_us() { # cpus tool -> "min typical" usec
	perftest "$1" "$fifo" "$2" -s 2 -n "$iters" |
		awk '{ printf "%.2f %.2f", $3, $5 }'
}

# perf bench: the first function listed is glibc's memcpy.
memcpy_gbs() { # size loops -> GB/s
	taskset -c 0 perf bench mem memcpy -s "$1" -l "$2" 2>/dev/null |
		awk '/GB\/sec/ { printf "%.2f", $1; exit }'
}

want() { [[ $tests == *" $1 "* ]]; }

write_bw=- read_bw=- write_lat=(- -) send_lat=(- -) mc_hot=- mc_stream=-
want write_bw && write_bw=$(bw_gbs ib_write_bw)
want read_bw && read_bw=$(bw_gbs ib_read_bw)
want write_lat && read -r -a write_lat <<<"$(lat_us "$write_lat_cpus" ib_write_lat)"
want send_lat && read -r -a send_lat <<<"$(lat_us "$send_lat_cpus" ib_send_lat)"
want memcpy && mc_hot=$(memcpy_gbs 64KB 20000) && mc_stream=$(memcpy_gbs 64MB 20)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 && a > 0) ? "%.2f" : "-", a / b }'; }
placement() { # "server client model" fifo
	local -a c
	read -r -a c <<<"$1"
	printf "server on core %s, client on core %s, model on core %s%s" "${c[@]}" \
		"$([[ $2 == 1 ]] && echo " at SCHED_FIFO 1")"
}

echo "RDMA on Facet: perftest between two refnic devices of one model (RC, 64 KiB / 2 B, ${iters} iterations)"
echo "  bandwidth:    $(placement "$bw_cpus" 0)"
echo "  ib_write_lat: $(placement "$write_lat_cpus" "$fifo")"
echo "  ib_send_lat:  $(placement "$send_lat_cpus" "$fifo")"
echo
printf "| %-28s | %-18s | %-22s | %-24s |\n" "test" "Facet" "/ memcpy 64 KiB (hot)" "/ memcpy 64 MiB (stream)"
printf "|%s|%s|%s|%s|\n" "------------------------------" "--------------------" "------------------------" "--------------------------"
bw_row() { printf "| %-28s | %13s GB/s | %22s | %24s |\n" "$1" "$2" "$(ratio "$2" "$mc_hot")" "$(ratio "$2" "$mc_stream")"; }
lat_row() { printf "| %-28s | %6s / %6s us | %22s | %24s |\n" "$1" "$2" "$3" "" ""; }
bw_row "ib_write_bw 64 KiB" "$write_bw"
bw_row "ib_read_bw 64 KiB" "$read_bw"
lat_row "ib_write_lat 2 B (min / typ)" "${write_lat[@]}"
lat_row "ib_send_lat 2 B (min / typ)" "${send_lat[@]}"
printf "| %-28s | %13s GB/s | %22s | %24s |\n" "memcpy, one core, 64 KiB" "$mc_hot" "" ""
printf "| %-28s | %13s GB/s | %22s | %24s |\n" "memcpy, one core, 64 MiB" "$mc_stream" "" ""
