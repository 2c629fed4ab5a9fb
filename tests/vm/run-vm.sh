#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Kernel VFIO, tested for real: boot Debian's 6.1 kernel in a QEMU TCG guest
# with an emulated intel-iommu and three of QEMU's edu devices, and run
# vfio_edu_test (lib/core over the type1 container/group) in it.
#   run-vm.sh TEST_BINARY CACHE_DIR
# The guest kernel is downloaded once from Debian's mirror into CACHE_DIR
# (FACET_VM_CACHE overrides it). Fails, loudly, when QEMU or the kernel is
# unavailable; skips (77) only when not root and the tools are missing.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: run-vm.sh TEST_BINARY CACHE_DIR}
cache=${FACET_VM_CACHE:-${2:?usage: run-vm.sh TEST_BINARY CACHE_DIR}}
t0=$(date +%s.%N)

fail() { echo "vm_vfio_kernel: FAIL: $*" >&2; exit 1; }
elapsed() { echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }'; }

missing=()
for tool in qemu-system-x86_64 cpio xz depmod modprobe apt-get dpkg timeout; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
	msg="missing ${missing[*]}: run scripts/install-deps.sh (qemu-system-x86 busybox-static kmod cpio xz-utils)"
	if [ "$(id -u)" -ne 0 ]; then
		echo "vm_vfio_kernel: SKIP (not root): $msg"
		exit 77
	fi
	fail "$msg"
fi
# busybox must be the static one: the initramfs has no libc.
if LC_ALL=C readelf -l /bin/busybox 2>/dev/null | grep -q 'INTERP'; then
	fail "/bin/busybox is dynamically linked: install busybox-static"
fi
[ -x "$bin" ] || fail "no test binary $bin"

mkdir -p "$cache"
kdir=$("$here/fetch-kernel.sh" "$cache" linux-image-amd64 \
	vfio-pci vfio_iommu_type1 uio_pci_generic) ||
	fail "could not get the guest kernel (see above)"
kver=$(cat "$kdir/kver")

# The initramfs, rebuilt each run (a few MB, well under a second).
stage=$cache/initramfs.d
rm -rf "$stage"
mkdir -p "$stage"/{bin,proc,sys,dev,lib/modules}
cp /bin/busybox "$stage/bin/busybox"
cp "$here/init.sh" "$stage/init"
cp "$bin" "$stage/vfio_edu_test"
cp -r "$kdir/lib/modules/$kver" "$stage/lib/modules/"
cp "$kdir/load-order" "$stage/load-order"
echo vfio-type1 >"$stage/expect-transport"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet >"$cache/initramfs.cpio") ||
	fail "cpio failed"

# q35 + intel-iommu (intremap=on, else VFIO_SET_IOMMU is refused); TCG:
# nested KVM is not available (or hangs) on these machines.
#   00:03.0      edu, alone in its IOMMU group: the device under test
#   00:04.0/.1   two edu functions of one slot, no ACS: one IOMMU group
#   00:05.0      a PCIe root port: bound to the built-in pcieport driver
log=$cache/console.log
echo "vm_vfio_kernel: booting $kver (QEMU TCG, intel-iommu) ..."
timeout --foreground -k 5 90 qemu-system-x86_64 \
	-machine q35,accel=tcg -device intel-iommu,intremap=on -cpu max -smp 1 -m 512M \
	-kernel "$kdir/vmlinux" -initrd "$cache/initramfs.cpio" \
	-append "console=ttyS0 intel_iommu=on panic=-1 quiet" \
	-device edu,addr=03.0 \
	-device edu,addr=04.0,multifunction=on -device edu,addr=04.1 \
	-device pcie-root-port,addr=05.0,chassis=1,id=rp0 \
	-display none -no-reboot -nodefaults -serial stdio -monitor none \
	</dev/null >"$log" 2>&1
rc=$?
tr -d '\r' <"$log" >"$log.txt"

if grep -q '^FACET-VM-RESULT: PASS' "$log.txt"; then
	sed -n '/^vfio_edu_test:/,/^FACET-VM-RESULT/p' "$log.txt"
	echo "vm_vfio_kernel: PASS in $(elapsed) s (guest kernel $kver)"
	exit 0
fi
echo "--- guest console ($log) ---"
cat "$log.txt"
echo "---"
[ $rc -eq 124 ] && fail "QEMU timed out after 90 s"
grep -q '^FACET-VM-RESULT: FAIL' "$log.txt" && fail "$(grep '^FACET-VM-RESULT' "$log.txt")"
fail "no result marker from the guest (QEMU exit status $rc)"
