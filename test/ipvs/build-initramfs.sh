#!/usr/bin/env bash
# Builds, or reuses from the cache, what the IPVS qemu test boots: Debian's kernel (IPVS as
# modules) and a base initramfs with busybox, iproute2's ip, ipvsadm, node and the IPVS modules.
# The project's compiled code is not in here: the test appends it as a second cpio on every run.
#
# Needs (Debian packages): qemu-system-x86 busybox-static ipvsadm iproute2, plus apt access to
# download (not install) linux-image-amd64's kernel package. Prints the cache dir when done.
set -euo pipefail

cache=${LAUNCHO_IPVS_CACHE:-/var/tmp/launcho-ipvs-cache}
# Load order matters: each module's depends= must be loaded before it; crc32c_generic is a soft
# dependency of libcrc32c that insmod does not resolve.
modules=(nf_defrag_ipv4 nf_defrag_ipv6 crc32c_generic libcrc32c nf_conntrack ip_vs ip_vs_rr ip_vs_wrr)
# The base image is rebuilt when this script, the guest's init or the host's node changes.
here=$(cd "$(dirname "$0")" && pwd)
recipe=$(cat "$here/build-initramfs.sh" "$here/guest-init.sh" | sha256sum | cut -c1-12)

for tool in busybox ipvsadm ip node qemu-system-x86_64 apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install qemu-system-x86 busybox-static ipvsadm iproute2" >&2; exit 2; }
done
busybox=$(command -v busybox)
file -L "$busybox" 2>/dev/null | grep -q 'dynamically' && { echo "$busybox is not static: apt-get install busybox-static" >&2; exit 2; }

kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { echo "apt-cache knows no linux-image-amd64: run apt-get update" >&2; exit 2; }
kdir="$cache/$kpkg"
stamp="$cache/base-$kpkg-node$(node --version)-$recipe.stamp"
ready() { [ -f "$stamp" ] && [ -f "$cache/base.cpio.gz" ] && [ -f "$kdir/vmlinuz" ]; }
done_() { ln -sfn "$kpkg/vmlinuz" "$cache/vmlinuz"; echo "$cache"; exit 0; }
ready && done_

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
ready && done_ # built by a concurrent run while we waited

# 1. Kernel and the modules we need, from the .deb (downloaded, never installed on this host).
if [ ! -f "$kdir/vmlinuz" ]; then
  rm -rf "$kdir.new"
  work=$(mktemp -d "$cache/kernel.XXXXXX")
  (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$kpkg" >&2)
  mkdir -p "$work/x"
  dpkg-deb -x "$work"/*.deb "$work/x"
  mkdir -p "$kdir.new/modules"
  cp "$work"/x/boot/vmlinuz-* "$kdir.new/vmlinuz"
  for m in "${modules[@]}"; do
    ko=$(find "$work/x/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
    [ -n "$ko" ] || { echo "module $m not in $kpkg" >&2; exit 1; }
    case "$ko" in *.xz) xz -dc "$ko" >"$kdir.new/modules/$m.ko" ;; *) cp "$ko" "$kdir.new/modules/$m.ko" ;; esac
  done
  rm -rf "$work" "$kdir"
  mv "$kdir.new" "$kdir"
fi

# Each module's depends= must name only modules loaded before it.
loaded=" "
for m in "${modules[@]}"; do
  deps=$(tr '\0' '\n' <"$kdir/modules/$m.ko" | sed -n 's/^depends=//p' | tr ',' ' ')
  for d in $deps; do
    case "$loaded" in *" $d "*) ;; *) echo "module $m depends on $d, which is not loaded before it" >&2; exit 1 ;; esac
  done
  loaded="$loaded$m "
done

# 2. Base root: busybox, ip, ipvsadm and node with their shared libraries.
root=$(mktemp -d "$cache/root.XXXXXX")
mkdir -p "$root"/{bin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,etc,app}
cp "$busybox" "$root/bin/busybox"
copy_with_libs() {
  cp -L "$1" "$root/$2"
  ldd "$1" | awk '/=> \// {print $3} /^[ \t]*\/lib/ {print $1}' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -Ln "$lib" "$root$lib"
  done
}
copy_with_libs "$(command -v ipvsadm)" usr/sbin/ipvsadm
copy_with_libs "$(command -v ip)" usr/sbin/ip
copy_with_libs "$(command -v node)" usr/bin/node
cp "$kdir"/modules/*.ko "$root/lib/modules/"
cp "$here/guest-init.sh" "$root/init"
chmod 755 "$root/init"
printf '%s\n' "${modules[@]}" >"$root/lib/modules/order"
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
# The kernel opens /dev/console before /init runs; without the node, init has no output at first.
mknod "$root/dev/console" c 5 1
# gzip: qemu hands the initrd over slowly (fw_cfg), so fewer bytes boot faster despite unpacking.
(cd "$root" && find . | "$busybox" cpio -o -H newc | gzip -1 >"$cache/base.cpio.gz.new") 2>/dev/null
mv "$cache/base.cpio.gz.new" "$cache/base.cpio.gz"
rm -rf "$root"
rm -f "$cache"/base-*.stamp
touch "$stamp"
done_
