#!/usr/bin/env bash
# Reserve hugepages (as root) when fewer than the asked number are there.
#   scripts/setup-hugepages.sh [PAGES]   (default 512 x 2 MiB)
set -euo pipefail
want=${1:-512}
have=$(cat /proc/sys/vm/nr_hugepages)
if [ "$have" -ge "$want" ]; then
	echo "hugepages: $have reserved"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "hugepages: $have reserved, $want wanted; run as root to reserve them" >&2
	exit 1
fi
echo "$want" >/proc/sys/vm/nr_hugepages
echo "hugepages: $(cat /proc/sys/vm/nr_hugepages) reserved"
