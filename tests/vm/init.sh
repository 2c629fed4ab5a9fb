#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the VM test guest (tests/vm/run-vm.sh builds the initramfs):
# load the VFIO modules, bind the edu devices, run vfio_edu_test, print
# "FACET-VM-RESULT: PASS|FAIL" and power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

result() { # PASS|FAIL, why
	echo "FACET-VM-RESULT: $1 $2"
	[ "$1" = PASS ] || { echo "--- guest dmesg (tail) ---"; dmesg | tail -40; }
	echo o >/proc/sysrq-trigger
	sleep 5
	poweroff -f
}

kver=$(uname -r)
echo "facet-vm: kernel $kver"
for m in $(cat /load-order); do
	insmod "/lib/modules/$kver/$m" || result FAIL "insmod $m failed"
done

# The devices, found by id rather than by the address QEMU was told.
edus="" rootport="" unbound=""
for d in /sys/bus/pci/devices/*; do
	a=${d##*/}
	id="$(cat "$d/vendor"):$(cat "$d/device")"
	class=$(cat "$d/class")
	drv=""
	[ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
	echo "facet-vm: $a $id class $class driver ${drv:-none} group $(basename "$(readlink "$d/iommu_group")")"
	if [ "$id" = 0x1234:0x11e8 ]; then
		edus="$edus $a"
	elif [ "$drv" = pcieport ] && [ -z "$rootport" ]; then
		rootport=$a
	elif [ -z "$drv" ] && [ -z "$unbound" ]; then
		unbound=$a
	fi
done
# The edu alone in its slot is the main device; the two functions of the
# other slot share an IOMMU group (multifunction, no ACS).
main="" pair0="" pair1=""
for a in $edus; do
	slot=${a%.*}
	n=$(ls -d /sys/bus/pci/devices/$slot.* | wc -l)
	if [ "$n" = 1 ]; then
		main=$a
	elif [ -z "$pair0" ]; then
		pair0=$a
	else
		pair1=$a
	fi
done
[ -n "$main" ] && [ -n "$pair1" ] && [ -n "$rootport" ] && [ -n "$unbound" ] ||
	result FAIL "devices not found: edu '$main', pair '$pair0' '$pair1', root port '$rootport', unbound '$unbound'"

bind() { # address, driver
	echo "$2" >"/sys/bus/pci/devices/$1/driver_override" &&
		echo "$1" >/sys/bus/pci/drivers_probe &&
		[ "$(basename "$(readlink "/sys/bus/pci/devices/$1/driver")")" = "$2" ] ||
		result FAIL "cannot bind $1 to $2"
	echo "facet-vm: $1 bound to $2 (IOMMU group $(basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"))"
}
bind "$main" vfio-pci
bind "$pair0" vfio-pci
bind "$pair1" uio_pci_generic
ls -l /dev/vfio

transport=$(cat /expect-transport)
if /vfio_edu_test "$main" "$pair0" "$pair1" "$rootport" "$unbound" "$transport"; then
	result PASS "vfio_edu_test over $transport on $kver"
else
	result FAIL "vfio_edu_test exited with $?"
fi
