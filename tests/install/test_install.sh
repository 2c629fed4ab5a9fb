#!/usr/bin/env bash
# Install the build into a scratch DESTDIR and check what an outside user gets:
# pkg-config files that compile and link a program, installed plugins that
# the bus autoloads, and the installed plugin directory as the default.
#   test_install.sh BUILD_DIR SOURCE_FILE
set -euo pipefail

build=$1
src=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name libfacet_bus.pc -print -quit)
[ -n "$pc" ] || { echo "FAIL: libfacet_bus.pc not installed"; exit 1; }
plugins=$(find "$dest" -type d -path '*/facet/plugins' -print -quit)
[ -n "$plugins" ] || { echo "FAIL: no facet/plugins directory installed"; exit 1; }
libdir=$(dirname "$(find "$dest" -name 'libfacet_bus.so' -print -quit)")

export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
cc -o "$dest/outside_app" "$src" $(pkg-config --cflags --libs libfacet_bus)

# The plugins, as installed, bind the example device and its slices.
out=$(LD_LIBRARY_PATH=$libdir FACET_PLUGIN_PATH=$plugins "$dest/outside_app")
echo "$out"
for want in "exdev.core.0 exdev_core" "exdev.eth.0 exdev_eth" "exdev.rdma.0 exdev_rdma"; do
	grep -qx "$want" <<<"$out" || { echo "FAIL: missing '$want'"; exit 1; }
done

# Without FACET_PLUGIN_PATH an installed library looks in the installed directory.
installed_dir=${plugins#"$dest"}
log=$(LD_LIBRARY_PATH=$libdir FACET_LOG=bus=debug "$dest/outside_app" 2>&1 || true)
grep -q "plugin path $installed_dir\$" <<<"$log" ||
	{ echo "FAIL: default plugin path is not $installed_dir:"; echo "$log"; exit 1; }
echo "PASS: pkg-config build, installed plugins, default plugin path $installed_dir"
