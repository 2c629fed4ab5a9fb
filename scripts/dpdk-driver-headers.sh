#!/usr/bin/env bash
# Fetch DPDK's driver SDK headers (ethdev_driver.h, ethdev_vdev.h,
# bus_vdev_driver.h, dev_driver.h) for the installed libdpdk-dev from
# Debian's own dpdk source package, into OUTDIR.
#
# Debian builds DPDK 22.11 without -Denable_driver_sdk, so an out-of-tree PMD
# has no ethdev_driver.h to compile against. The headers come from the very
# source package the installed libraries were built from (same version, so
# the same internal ABI), through Debian's mirror with a private apt state;
# nothing of DPDK is kept in this repository. The download is cached.
#   scripts/dpdk-driver-headers.sh OUTDIR [CACHEDIR]
set -euo pipefail

out=$1
cache=${2:-$out/.cache}
headers=(lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h
	drivers/bus/vdev/bus_vdev_driver.h lib/eal/include/dev_driver.h)

version=$(dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null) ||
	{ echo "dpdk-driver-headers: libdpdk-dev is not installed" >&2; exit 1; }
stamp=$out/.version
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ]; then
	exit 0
fi

mkdir -p "$out" "$cache/lists/partial" "$cache/archives/partial" "$cache/src"
cat >"$cache/deb-src.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_private=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$cache"
	-o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache" -qq)
orig=$(ls "$cache"/src/dpdk_*.orig.tar.xz 2>/dev/null | head -n 1 || true)
if [ -z "$orig" ] || [ ! -f "$cache/src/.$version" ]; then
	rm -f "$cache"/src/dpdk_*
	apt-get "${apt_private[@]}" update
	(cd "$cache/src" && apt-get "${apt_private[@]}" source --download-only "dpdk=$version") \
		2>&1 | grep -v "unsandboxed" || true
	orig=$(ls "$cache"/src/dpdk_*.orig.tar.xz 2>/dev/null | head -n 1 || true)
	[ -n "$orig" ] || { echo "dpdk-driver-headers: no dpdk $version source on the mirror" >&2; exit 1; }
	touch "$cache/src/.$version"
fi
top=$( (tar -tJf "$orig" || true) | head -n 1 | cut -d/ -f1)
tar -xJf "$orig" -C "$cache/src" "${headers[@]/#/$top/}"
for h in "${headers[@]}"; do
	cp "$cache/src/$top/$h" "$out/"
done
echo "$version" >"$stamp"
echo "dpdk-driver-headers: DPDK $version driver headers in $out"
