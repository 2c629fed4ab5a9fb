#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# RDMA benchmark: Debian's unmodified perftest binaries on two Facet RDMA
# devices (two devices of one facet-refnic process, joined by its switch;
# the model pinned to core 1, both perftest processes on core 0), next to
# the machine's single-core memcpy bandwidth measured in the same run (the
# physical limit of a device that copies: refnic's engine is software).
# Prints ib_write_bw / ib_read_bw at 64 KiB in GB/s and ib_write_lat /
# ib_send_lat at 2 bytes in microseconds.
#
#   bench/rdma.sh [BUILD_DIR] [ITERATIONS]
set -euo pipefail

build=$(cd "${1:-build}" && pwd)
iters=${2:-5000}
dir=$(mktemp -d)
model_pid=
cleanup() {
	[[ -n $model_pid ]] && kill "$model_pid" 2>/dev/null && wait "$model_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

run=$build/apps/facet-run/facet-run
export FACET_PLUGIN_PATH=$build/plugins

start_model() {
	taskset -c 1 "$build/apps/facet-refnic/facet-refnic" --socket "$dir/a.sock" \
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

# One perftest pair: server on device a, client on device b, both on core 0.
# Prints the client's result line (the one after the column header).
perftest() { # tool args...
	local tool=$1 port=$((18600 + RANDOM % 1000))
	shift
	start_model
	timeout 120 taskset -c 0 "$run" --dev "vfio-user:$dir/a.sock" -- \
		"$tool" -d facet_refnic0 -x 0 -F -p "$port" "$@" >"$dir/server.log" 2>&1 &
	local server=$!
	sleep 0.5
	timeout 120 taskset -c 0 "$run" --dev "vfio-user:$dir/b.sock" -- \
		"$tool" -d facet_refnic0 -x 0 -F -p "$port" "$@" 127.0.0.1 >"$dir/client.log" 2>&1 ||
		{ echo "bench/rdma.sh: $tool failed:" >&2; cat "$dir/client.log" "$dir/server.log" >&2; }
	wait "$server" 2>/dev/null || true
	stop_model
	awk '/^ *#bytes/ { hdr = 1; next } hdr && NF > 3 { print; exit }' "$dir/client.log"
}

# Bandwidth columns: #bytes #iterations BW-peak BW-average MsgRate (MB/s = 2^20 B/s).
bw_gbs() { # tool -> GB/s
	perftest "$1" -s 65536 -n "$iters" |
		awk '{ printf "%.2f", $4 * 1048576 / 1e9 }'
}

# Latency columns: #bytes #iterations t_min t_max t_typical ...: t_typical.
lat_us() { # tool -> usec
	perftest "$1" -s 2 -n "$iters" | awk '{ printf "%.2f", $5 }'
}

# perf bench: the first function listed is glibc's memcpy.
memcpy_gbs() { # size loops -> GB/s
	taskset -c 0 perf bench mem memcpy -s "$1" -l "$2" 2>/dev/null |
		awk '/GB\/sec/ { printf "%.2f", $1; exit }'
}

write_bw=$(bw_gbs ib_write_bw)
read_bw=$(bw_gbs ib_read_bw)
write_lat=$(lat_us ib_write_lat)
send_lat=$(lat_us ib_send_lat)
mc_hot=$(memcpy_gbs 64KB 20000)
mc_stream=$(memcpy_gbs 64MB 20)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

echo "RDMA on Facet: perftest between two refnic devices of one model (RC, 64 KiB / 2 B, ${iters} iterations)"
echo
printf "| %-26s | %-10s | %-22s | %-22s |\n" "test" "Facet" "/ memcpy 64 KiB (hot)" "/ memcpy 64 MiB (stream)"
printf "|%s|%s|%s|%s|\n" "----------------------------" "------------" "------------------------" "--------------------------"
printf "| %-26s | %5s GB/s | %22s | %24s |\n" "ib_write_bw 64 KiB" "$write_bw" "$(ratio "$write_bw" "$mc_hot")" "$(ratio "$write_bw" "$mc_stream")"
printf "| %-26s | %5s GB/s | %22s | %24s |\n" "ib_read_bw 64 KiB" "$read_bw" "$(ratio "$read_bw" "$mc_hot")" "$(ratio "$read_bw" "$mc_stream")"
printf "| %-26s | %5s us   | %22s | %24s |\n" "ib_write_lat 2 B (typical)" "$write_lat" "" ""
printf "| %-26s | %5s us   | %22s | %24s |\n" "ib_send_lat 2 B (typical)" "$send_lat" "" ""
printf "| %-26s | %5s GB/s | %22s | %24s |\n" "memcpy, one core, 64 KiB" "$mc_hot" "" ""
printf "| %-26s | %5s GB/s | %22s | %24s |\n" "memcpy, one core, 64 MiB" "$mc_stream" "" ""
