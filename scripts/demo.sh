#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The main demo: the refnic reference device runs as its own process, served
# over vfio-user; facetctl opens it, the bus autoloads the refnic core driver,
# which resets the device, runs its admin queue and publishes the slices.
#
# In the output, "> ..." lines are facetctl commands, "event: ..." lines are
# bus events, "facet[refnic] ..." lines are the core driver's log.
#
# usage: scripts/demo.sh [BUILD_DIR]    (default: ./build)
set -euo pipefail

build=$(cd "${1:-./build}" && pwd)
facetctl=$build/apps/facetctl/facetctl
model=$build/apps/facet-refnic/facet-refnic
for exe in "$facetctl" "$model"; do
	[[ -x $exe ]] || { echo "demo: $exe not found; build first (make build)" >&2; exit 1; }
done

dir=$(mktemp -d)
sock=$dir/refnic.sock
model_pid=
cleanup() {
	[[ -n $model_pid ]] && kill "$model_pid" 2>/dev/null && wait "$model_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

echo "== Start the reference device (a separate process, the 'hardware')"
"$model" --socket "$sock" >"$dir/model.log" 2>&1 &
model_pid=$!
for _ in $(seq 100); do
	grep -q "serving on" "$dir/model.log" && break
	sleep 0.05
done
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
