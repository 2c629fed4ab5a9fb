#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Plugin bus demo: one facetctl process, one in-process bus, a batch of
# commands on stdin. The example device "exdev" (apps/examples/exdev) has a
# core driver that publishes an eth and an rdma slice per port; each driver
# lives in its own plugin, which the bus loads when a device needs it.
#
# In the output, "> ..." lines are the commands (-v), "event: ..." lines are
# bus events (-e) and "facet[exdev] ..." lines are the example drivers' logs.
#
# usage: scripts/demo-bus.sh [BUILD_DIR]    (default: ./build)
set -euo pipefail

build=${1:-./build}
if [[ ! -x $build/apps/facetctl/facetctl ]]; then
	echo "demo-bus: $build/apps/facetctl/facetctl not found; build first (ninja -C $build)" >&2
	exit 1
fi
build=$(cd "$build" && pwd)
facetctl=$build/apps/facetctl/facetctl

# The plugins of this build tree, and the drivers' info messages.
export FACET_PLUGIN_PATH=$build/plugins
export FACET_LOG=warn,exdev=info

"$facetctl" -v -e -b - <<'DEMO'
echo == Plugins in the plugin path: match names read from each file, nothing loaded yet
plugins

echo
echo == Publish a core device with two ports: its driver autoloads and adds the slices
add exdev.core.0 ports=2

echo
echo == The device tree: [driver] or (unbound), then attributes
show

echo
echo == Which drivers are loaded, from which plugin
drivers

echo
echo == Unbind exdev.rdma.0 only: exdev.eth.0 keeps running
unbind exdev.rdma.0
show exdev.core.0

echo
echo == Bind it again: the bus picks the matching driver
bind exdev.rdma.0

echo
echo == Unload the rdma plugin: both rdma slices lose their driver, eth stays
unload facet_exdev_rdma.so
drivers

echo
echo == Rebind exdev.rdma.0: the bus reloads the plugin on demand
rebind exdev.rdma.0
show exdev.rdma.0

echo
echo == Driver override: pin exdev.rdma.1 to exdev_eth, whatever the id tables say
override exdev.rdma.1 exdev_eth
rebind exdev.rdma.1
show

echo
echo == Clear the override: back to matching by id table
override exdev.rdma.1 none
rebind exdev.rdma.1

echo
echo == The same tree as JSON, for scripts (-j; -P indents it)
-j show

echo
echo == End of the batch: facetctl exits and the bus removes every driver
DEMO
