#!/usr/bin/env bash
# dkms_test: the DKMS packaging of vfio_iommu_lu on the host, against the
# installed headers of the VM's Debian kernel, never loading anything:
# tools/dkms-source assembles the source tree, and Debian's dkms adds,
# builds and installs it into private trees (--dkmstree, --sourcetree,
# --installtree under a temporary directory, so the host's /var/lib/dkms
# and /lib/modules stay untouched).  The installed module must carry the
# kernel's vermagic; it is copied (decompressed) to OUT for the VM test
# dkms_module@<kernel>, which loads it in the VM and runs edu DMA
# through it.
#
#   dkms_test.sh KERNEL-DIR OUT
set -euo pipefail
kdir=$(readlink -f "$1")
out=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
kver=$(cat "$kdir/release")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v dkms >/dev/null || { echo "dkms is not installed (tools/setup installs it)"; exit 1; }
[ -d "/lib/modules/$kver/build" ] ||
	{ echo "no headers of $kver installed (tools/setup installs them)"; exit 1; }

"$top/tools/dkms-source" "$tmp/src"
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$tmp/src/dkms.conf")
trees=(--dkmstree "$tmp/tree" --sourcetree "$tmp/sources" --installtree "$tmp/inst")
mkdir -p "$tmp/tree" "$tmp/sources" "$tmp/inst/$kver"

dkms add "$tmp/src" "${trees[@]}"
dkms build -m vfio-iommu-lu -v "$version" -k "$kver" "${trees[@]}"
dkms install -m vfio-iommu-lu -v "$version" -k "$kver" --no-depmod "${trees[@]}"
dkms status -m vfio-iommu-lu "${trees[@]}" | tee "$tmp/status"
grep -q "vfio-iommu-lu/$version, $kver, .*: installed" "$tmp/status"

ko=$(find "$tmp/inst/$kver" -name 'vfio_iommu_lu.ko*' | head -1)
[ -n "$ko" ] || { echo "dkms installed no vfio_iommu_lu module"; exit 1; }
magic=$(modinfo -F vermagic "$ko")
case "$magic" in
"$kver "*) echo "installed $ko, vermagic $magic" ;;
*) echo "vermagic '$magic' is not $kver's"; exit 1 ;;
esac
mkdir -p "$out"
case "$ko" in
*.xz) xz -dc "$ko" >"$out/vfio_iommu_lu.ko" ;;
*.zst) zstd -dcq "$ko" >"$out/vfio_iommu_lu.ko" ;;
*) cp "$ko" "$out/vfio_iommu_lu.ko" ;;
esac
dkms remove -m vfio-iommu-lu -v "$version" -k "$kver" --no-depmod "${trees[@]}" >/dev/null
echo "dkms add/build/install/remove of vfio-iommu-lu $version for $kver: ok"
