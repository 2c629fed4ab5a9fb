#!/usr/bin/env bash
# Make 2 MiB hugepages usable (as root), idempotently:
#   - reserve more pages when fewer than PAGES are free, i.e. neither in use
#     nor promised to a mapping already (free - resv; the kernel may give
#     fewer than asked when memory is fragmented: that is reported, and only
#     a result of no free page at all is an error);
#   - mount hugetlbfs at /dev/hugepages when no hugetlbfs is mounted.
#   scripts/setup-hugepages.sh [PAGES]   (default 512, i.e. 1 GiB)
# Exit status: 0 ready, 1 not root (and not ready) or nothing free.
set -euo pipefail

want=${1:-512}
sysfs=/sys/kernel/mm/hugepages/hugepages-2048kB
[[ $want =~ ^[0-9]+$ ]] || { echo "hugepages: PAGES must be a number, not '$want'" >&2; exit 1; }
if [[ ! -d $sysfs ]]; then
	echo "hugepages: the kernel has no 2 MiB hugepages ($sysfs missing)" >&2
	exit 1
fi

# Free and not promised to a mapping that has not touched its pages yet.
avail() { echo $(($(cat "$sysfs/free_hugepages") - $(cat "$sysfs/resv_hugepages"))); }

free=$(avail)
total=$(cat "$sysfs/nr_hugepages")
mounted=$(awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts)

if [[ $free -ge $want && -n $mounted ]]; then
	echo "hugepages: $free of $total free (2 MiB), hugetlbfs at $mounted: nothing to do"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "hugepages: $free free of $want wanted, hugetlbfs ${mounted:-not mounted};" \
		"run as root to set them up" >&2
	exit 1
fi

if [[ $free -lt $want ]]; then
	asked=$((total + want - free))
	echo "$asked" >"$sysfs/nr_hugepages"
	total=$(cat "$sysfs/nr_hugepages")
	free=$(avail)
	echo "hugepages: asked for $asked in total, the kernel reserved $total; $free free"
	if [[ $free -le 0 ]]; then
		echo "hugepages: none free (memory too fragmented or too small)" >&2
		exit 1
	fi
	[[ $free -ge $want ]] || echo "hugepages: only $free free of $want wanted" >&2
fi
if [[ -z $mounted ]]; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
	mounted=/dev/hugepages
	echo "hugepages: mounted hugetlbfs at $mounted"
fi
echo "hugepages: $free of $total free (2 MiB), hugetlbfs at $mounted"
