#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetch a Debian guest kernel for the VM tests, without installing it:
#   fetch-kernel.sh CACHE_DIR META_PACKAGE MODULE...
# META_PACKAGE is a Debian metapackage (linux-image-amd64 for bookworm's 6.1,
# linux-image-6.12-amd64 for the 6.12 in bookworm-security); the versioned
# package it depends on is `apt-get download`ed and unpacked with `dpkg -x`.
# Kept in CACHE_DIR/<package>/:
#   vmlinux      the uncompressed ELF kernel (PVH boot: ~2x faster than vmlinuz)
#   lib/modules/<kver>/  only MODULE... and their dependencies, uncompressed,
#                with depmod run over them
#   load-order   those .ko paths (relative to that dir), dependencies first;
#                MODULEs the kernel does not have are left out (built in, or
#                absent in this version: e.g. iommufd in 6.1)
#   kver         the kernel release
# Prints CACHE_DIR/<package> on stdout. Cached by package name and module
# list: a later run with the same ones downloads nothing.
set -euo pipefail

die() { echo "fetch-kernel: $*" >&2; exit 1; }
[ $# -ge 3 ] || die "usage: fetch-kernel.sh CACHE_DIR META_PACKAGE MODULE..."
cache=$1 meta=$2
shift 2
mods=("$@")

for tool in apt-cache apt-get dpkg depmod modprobe xz; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs kmod, xz-utils)"
done

# The versioned image package the metapackage points at (signed or unsigned).
pkg=$(apt-cache depends "$meta" 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || die "apt-cache knows no $meta (or it depends on no linux-image-N package); run apt-get update?"

out=$cache/$pkg
stamp="$pkg ${mods[*]}"
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -s "$out/vmlinux" ]; then
	echo "$out"
	exit 0
fi

rm -rf "$out" "$cache/tmp.$pkg"
mkdir -p "$cache/tmp.$pkg"
tmp=$(cd "$cache/tmp.$pkg" && pwd)
trap 'rm -rf "$tmp"' EXIT

echo "fetch-kernel: downloading $pkg (once; cached in $out)" >&2
(cd "$tmp" && apt-get download -q "$pkg" >&2) ||
	die "apt-get download $pkg failed: no access to the Debian mirror?"
deb=$(ls "$tmp"/*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || die "apt-get download $pkg left no .deb"
dpkg -x "$deb" "$tmp/root" || die "dpkg -x $deb failed"
rm -f "$deb"

vmlinuz=$(ls "$tmp"/root/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$vmlinuz" ] || die "$pkg has no /boot/vmlinuz-*"
kver=${vmlinuz##*/vmlinuz-}
[ -d "$tmp/root/lib/modules/$kver" ] || die "$pkg has no /lib/modules/$kver"

# vmlinuz is a bzImage: setup code, a decompressor, and the ELF vmlinux as a
# compressed payload. Debian compresses it with xz: find the xz stream magic
# (FD 37 7A 58 5A 00) and decompress from each candidate offset until one
# yields an ELF file (the same idea as the kernel's scripts/extract-vmlinux).
extracted=false
for off in $(LC_ALL=C grep -obaUP '\xfd\x37\x7a\x58\x5a\x00' "$vmlinuz" | cut -d: -f1); do
	if tail -c +$((off + 1)) "$vmlinuz" | xz -dc --single-stream >"$tmp/vmlinux" 2>/dev/null ||
		[ -s "$tmp/vmlinux" ]; then
		if [ "$(head -c 4 "$tmp/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			extracted=true
			break
		fi
	fi
done
$extracted || die "no xz-compressed ELF kernel found inside $vmlinuz"

# Keep only the modules asked for and their dependencies, uncompressed.
full=$tmp/root/lib/modules/$kver
depmod -b "$tmp/root" "$kver" || die "depmod -b $tmp/root $kver failed"
mkdir -p "$tmp/slim/lib/modules/$kver"
order=()
for m in "${mods[@]}"; do
	deps=$(modprobe -d "$tmp/root" -S "$kver" --show-depends "$m" 2>/dev/null) || {
		echo "fetch-kernel: $kver has no module $m (built in or absent); skipping it" >&2
		continue
	}
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		rel=${path#"$full"/}
		rel=${rel%.xz}
		rel=${rel%.zst}
		case " ${order[*]} " in *" $rel "*) continue ;; esac
		mkdir -p "$tmp/slim/lib/modules/$kver/$(dirname "$rel")"
		case $path in
		*.xz) xz -dc "$path" >"$tmp/slim/lib/modules/$kver/$rel" ;;
		*.zst) die "$path is zstd-compressed; add zstd support here" ;;
		*) cp "$path" "$tmp/slim/lib/modules/$kver/$rel" ;;
		esac
		order+=("$rel")
	done <<<"$deps"
done
cp "$full"/modules.order "$full"/modules.builtin* "$tmp/slim/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$tmp/slim" "$kver" || die "depmod on the slim module tree failed"

mkdir -p "$out"
mv "$tmp/vmlinux" "$out/vmlinux"
mv "$tmp/slim/lib" "$out/lib"
printf '%s\n' "${order[@]}" >"$out/load-order"
echo "$kver" >"$out/kver"
echo "$stamp" >"$out/stamp"
echo "$out"
