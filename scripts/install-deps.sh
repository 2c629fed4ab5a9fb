#!/usr/bin/env bash
# Install the Debian packages Facet needs to build, test and demo.
# Idempotent: installs only what is missing. Needs root (or sudo) when
# something is missing; says so clearly otherwise.
#   scripts/install-deps.sh [--bench]   (--bench: also the benchmark peers)
set -euo pipefail

PACKAGES=(
	build-essential
	meson
	ninja-build
	pkg-config
	libnuma-dev
	libjson-c-dev
	libcmocka-dev
	zlib1g-dev
	iproute2
	iputils-ping
	qemu-system-x86
	busybox-static
	kmod
	cpio
	xz-utils
	libdpdk-dev
	dpdk-dev
	libibverbs-dev
	ibverbs-utils
	perftest
)
# The benchmarks' peers: DPDK's testpmd (memif pair), perf for profiles.
BENCH_PACKAGES=(
	dpdk-dev
	linux-perf
)
[ "${1:-}" = "--bench" ] && PACKAGES+=("${BENCH_PACKAGES[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
