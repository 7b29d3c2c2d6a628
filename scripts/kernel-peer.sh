#!/usr/bin/env bash
# Builds the Linux kernel WireGuard peer the interop tests boot under qemu-system-x86_64 (tests/Router.Daemon.Tests/
# Interop/KernelPeer.cs): Debian bookworm's stock amd64 kernel (its package carries wireguard.ko) and a small
# initramfs with busybox, the modules wireguard and virtio-net need, wg(8) and iperf3 copied from this machine with
# their libraries, and an /init that serves a command channel on the second serial port (ttyS1).
#   scripts/kernel-peer.sh [CACHE_DIR]    prints the directory holding vmlinuz and initramfs.cpio.gz
# The result is cached under CACHE_DIR (default /var/tmp/router-kernel-peer-cache), keyed by the kernel package
# version, the wg/iperf3/busybox versions and this script, so a rerun costs nothing. The kernel .deb is fetched
# with `apt-get download` (never installed).
set -euo pipefail
cache="${1:-/var/tmp/router-kernel-peer-cache}"
mkdir -p "$cache/debs"

# The kernel package linux-image-amd64 points at today (e.g. linux-image-6.1.0-57-amd64).
kernel_package() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1; }
pkg=$(kernel_package)
# A fresh machine (or a container whose package lists were cleaned) may not know it yet.
[ -n "$pkg" ] || { apt-get update -qq >&2 && pkg=$(kernel_package); }
[ -n "$pkg" ] || { echo "kernel-peer: apt-cache knows no linux-image-amd64, even after apt-get update" >&2; exit 1; }
version=$(apt-cache show "$pkg" | sed -n 's/^Version: //p' | head -n 1)
tools=$(dpkg-query -W -f='${Package}=${Version} ' wireguard-tools iperf3 busybox-static)
key=$(printf '%s %s %s\n' "$pkg" "$version" "$tools" | cat - "$0" | sha256sum | cut -c1-16)
out="$cache/$pkg-$version-$key"
if [ -s "$out/initramfs.cpio.gz" ] && [ -s "$out/vmlinuz" ]; then
  echo "$out"
  exit 0
fi

deb=$(ls "$cache/debs/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
  (cd "$cache/debs" && apt-get download "$pkg" >&2) || { echo "kernel-peer: apt-get download $pkg failed" >&2; exit 1; }
  deb=$(ls "$cache/debs/${pkg}_"*.deb | head -n 1)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/deb"
kver=$(ls "$work/deb/lib/modules" | head -n 1)
mods="$work/deb/lib/modules/$kver"
root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules,lib64,usr/bin,var/run/wireguard}

# Modules in load order: each after the ones its .modinfo "depends=" names (no depmod here; names may use - or _).
declare -A done_mod=()
order=()
ko_of() { local n=${1//-/_}; awk -v n="$n" '{ f=$0; sub(/.*\//, "", f); sub(/\.ko$/, "", f); gsub(/-/, "_", f); if (f == n) { print; exit } }' "$mods/modules.order"; }
add_mod() {
  local name=${1//-/_}
  [ -n "${done_mod[$name]+x}" ] && return
  done_mod[$name]=1
  local rel; rel=$(ko_of "$name")
  [ -n "$rel" ] || { echo "kernel-peer: module $name not in $pkg" >&2; exit 1; }
  local deps; deps=$(tr '\0' '\n' < "$mods/$rel" | sed -n 's/^depends=//p' | tr ',' ' ')
  for d in $deps; do add_mod "$d"; done
  cp "$mods/$rel" "$root/lib/modules/$name.ko"
  order+=("$name")
}
# virtio_rng: WireGuard drops every handshake packet it receives until the kernel's RNG is initialized, and an
# emulated machine has little entropy; qemu's virtio-rng-pci feeds it from the host.
for m in virtio_pci virtio_net virtio_rng wireguard; do add_mod "$m"; done
printf '%s\n' "${order[@]}" > "$root/lib/modules/load-order"

cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
# wg and iperf3 with the shared libraries the dynamic loader resolves for them here.
for b in /usr/bin/wg /usr/bin/iperf3; do
  cp "$b" "$root/usr/bin/"
  for lib in $(ldd "$b" | grep -oE '/[^ ]+'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done
# /lib64/ld-linux is a symlink into /lib/x86_64-linux-gnu on the host; the copy above made it a file, which works.
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"

# /init: mounts, loads the modules, then serves ttyS1: each line it reads is one sh command; its output follows,
# then a line "@@END <exit status>". "@@READY" announces the channel. Background work: `cmd > /tmp/x 2>&1 &`.
cat > "$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /run/wireguard /var/run/wireguard
for m in $(cat /lib/modules/load-order); do
  insmod /lib/modules/$m.ko || echo "kernel-peer: insmod $m failed"
done
ip link set lo up
# Ready only once the RNG is: a read of /dev/random blocks until then (WireGuard drops handshakes before).
head -c 1 /dev/random > /dev/null
stty -F /dev/ttyS1 raw -echo
echo "kernel-peer: $(uname -r) ready"
exec /bin/sh -c '
echo "@@READY $(uname -r)"
while IFS= read -r line; do
  /bin/sh -c "$line" </dev/null >/tmp/.out 2>&1
  rc=$?
  cat /tmp/.out
  echo "@@END $rc"
done
echo "kernel-peer: command channel closed"
poweroff -f' </dev/ttyS1 >/dev/ttyS1 2>&1
EOF
chmod +x "$root/init"

mkdir -p "$out.tmp"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp/initramfs.cpio.gz"
cp "$work/deb/boot/vmlinuz-$kver" "$out.tmp/vmlinuz"
echo "$pkg $version ($kver); modules: ${order[*]}" > "$out.tmp/README"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out"
