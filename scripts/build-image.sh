#!/usr/bin/env bash
# Builds router-rpi-arm64.img, a flashable Raspberry Pi image (Pi 3B/3B+, Zero 2 W, Pi 4/CM4/400, Pi 5), from
# Debian 13 trixie's archive only, with routerd installed through its own .deb.
#   scripts/build-image.sh [OUTDIR]           (default OUTDIR: artifacts/image)
# Environment:
#   ROUTERD_PUBLISH_DIR=DIR   use an existing linux-arm64 publish folder instead of running scripts/publish.sh
#   ROUTER_IMAGE_CACHE=DIR    where the Debian base tarball is cached (default /var/tmp/router-image-cache)
#   ROUTER_IMAGE_REBUILD=1    ignore the cached base tarball
#   ROUTER_MIRROR=URL         Debian mirror (default: the one apt on this machine uses, else http://deb.debian.org/debian)
#   ROUTER_BASE_ONLY=1        stop after the base tarball (to warm the cache)
# Needs root (or mmdebstrap's unshare mode for the base) and: mmdebstrap qemu-user-static binfmt-support dosfstools
# mtools e2fsprogs fdisk dpkg-dev (scripts/install-deps.sh image).
#
# How it works, and why:
#  1. base: mmdebstrap --architectures=arm64 trixie with every Debian package of the image, cached as a tarball keyed
#     by the package list and this script's base recipe. The kernel comes from trixie-backports (Pi 5 needs >= 6.17).
#     update-initramfs is diverted to a no-op while packages install (the kernel and the triggers of udev, systemd,
#     raspi-firmware would each rebuild it under emulation) and runs exactly once at the end (zstd level 1:
#     rootfs/image/etc/initramfs-tools/conf.d/router.conf); raspi-firmware's hook then copies kernel, initrd, DTBs and
#     firmware to /boot/firmware and writes config.txt and cmdline.txt. Everything runs under qemu-user, so the
#     recipe avoids work: dpkg under eatmydata (no fsync), no man pages, docs or locales unpacked, downloaded .debs
#     kept in the cache (debs/) for the next cold build. The log (base-KEY.log) has a timestamp per line.
#  2. rootfs: the base plus rootfs/image/ laid over it, routerd's .deb installed with dpkg -i (the update path of a
#     deployed gateway), units enabled, SSH host keys removed (generated on first boot), raspi-firmware's hook re-run
#     so config.txt/cmdline.txt reflect rootfs/image/etc/default/raspi-firmware*.
#  3. image: FAT (RASPIFIRM, mkfs.vfat -C + mcopy) and ext4 (RASPIROOT, mke2fs -d) built as files, an MBR written by
#     sfdisk on the image file, partitions put in place with dd conv=notrunc. No loop devices, no mounts.
set -euo pipefail
t_start=$(date +%s)
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/artifacts/image}"
cache="${ROUTER_IMAGE_CACHE:-/var/tmp/router-image-cache}"
image_name=router-rpi-arm64.img
suite=trixie
fat_mib=256         # kernel + initrd + firmware + DTBs take ~110 MiB; room for one kernel update beside them
fat_start_sector=8192

log() { printf '[build-image %4ds] %s\n' "$(( $(date +%s) - t_start ))" "$*"; }
die() { echo "build-image: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (chroot into the arm64 root filesystem, file ownership in mke2fs -d)"
for tool in mmdebstrap mkfs.vfat mcopy mke2fs sfdisk dpkg-deb dpkg-query chroot unshare dtc; do
  command -v "$tool" >/dev/null || die "missing $tool: scripts/install-deps.sh image"
done

# --- binfmt: arm64 binaries in the chroot run through qemu-user-static -----------------------------------------
ensure_binfmt() {
  if [ "$(uname -m)" = aarch64 ]; then return 0; fi
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  fi
  grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null \
    || die "binfmt_misc has no enabled qemu-aarch64 handler (install qemu-user-static binfmt-support)"
  grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
    || die "qemu-aarch64 binfmt handler lacks the F (fix binary) flag needed inside a chroot"
}
ensure_binfmt

# --- Debian mirror: the same host apt uses on this machine -----------------------------------------------------
mirror="${ROUTER_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(grep -hoE '(https?)://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 | tr -d ' ' || true)
  mirror="${mirror%/}"
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi
security_mirror="${ROUTER_SECURITY_MIRROR:-${mirror%/debian}/debian-security}"
log "mirror: $mirror (security: $security_mirror), suite $suite + $suite-backports (kernel)"

# --- the package set -------------------------------------------------------------------------------------------
# Boot chain and hardware: raspi-firmware (GPU firmware, boot files), the kernel, Wi-Fi firmware for the Pi 3/4/5/Zero 2 W.
# initramfs-tools is named so apt does not pick dracut (the backports kernel lists dracut first); raspi-firmware's
# initramfs hook is an initramfs-tools hook. zstd compresses the initramfs fast.
# systemd-resolved: systemd-networkd's DHCP-provided DNS, resolv.conf managed, no extra daemon to configure.
# wireguard-tools: `wg show` against routerd's UAPI socket, and `wg genkey` as the first-boot fallback.
# wireless-regdb: the signed regulatory database (regulatory.db) that brcmfmac's cfg80211 loads; without it Wi-Fi
# (the Zero 2 W's only network) stays on the world-roaming channel set.
# fdisk: sfdisk grows the root partition to the end of the card on first boot (router-grow-root.service), as
# Debian's own Raspberry Pi images do; resize2fs (e2fsprogs) then grows the filesystem.
packages=(
  raspi-firmware linux-image-arm64/$suite-backports firmware-brcm80211 initramfs-tools zstd
  systemd systemd-sysv udev dbus systemd-timesyncd systemd-resolved
  openssh-server nftables iproute2 libgpiod3 wpasupplicant ca-certificates
  e2fsprogs dosfstools kmod netbase procps iputils-ping wireguard-tools nano wireless-regdb fdisk
)
sources=(
  "deb $mirror $suite main non-free-firmware"
  "deb $mirror $suite-updates main non-free-firmware"
  "deb $security_mirror $suite-security main non-free-firmware"
  "deb $mirror $suite-backports main non-free-firmware"
)
mkdir -p "$cache" "$out"


build_base() {
  log "base: mmdebstrap $suite arm64 (${#packages[@]} packages requested) -> $base_tar"
  local mode=root
  local tmp="$base_tar.part"
  local debs="$cache/debs"     # downloaded .debs, kept between builds (apt checks their hashes against the index)
  local blog="$cache/base-$base_key.log"
  rm -f "$tmp"
  mkdir -p "$debs"
  # Hooks run on the host with $1 = the new root. Order matters:
  #  hook-dir eatmydata (mmdebstrap's own): dpkg runs without fsync; the wrapper is removed before the tarball.
  #  setup-hook: apt pin for the backports kernel, before apt resolves anything; cached .debs copied in
  #    (--skip=download/empty and essential/unlink keep them, and the new ones, until sync-out).
  #  essential-hook (after the Essential set, before the rest): /etc/default/raspi-firmware (ROOTPART) and the
  #    initramfs settings in place before the kernel and raspi-firmware configure, update-initramfs diverted to a
  #    no-op.
  #  customize-hook: .debs copied out to the cache, the diversion undone, the initramfs built once; its post-update
  #    hook runs raspi-firmware's.
  # Every output line gets the seconds since the build began, so the log shows where the time goes.
  # The system PATH: mmdebstrap runs its helper mmtarfilter (python3) once per extracted package; a python3 shim
  # earlier in PATH (pyenv on the development machine) added seconds per package.
  env PATH=/usr/sbin:/usr/bin:/sbin:/bin mmdebstrap --mode="$mode" --format=tar --variant=apt --architectures=arm64 --components=main,non-free-firmware \
    --aptopt='APT::Install-Recommends "false"' --dpkgopt=force-confdef --dpkgopt=force-confold \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --skip=download/empty --skip=essential/unlink \
    --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
    --include="${packages[*]}" \
    --setup-hook="mkdir -p \"\$1/etc/apt/preferences.d\" && cp '$root/rootfs/image/etc/apt/preferences.d/router-kernel-backports' \"\$1/etc/apt/preferences.d/\"" \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook="sync-in $debs /var/cache/apt/archives" \
    --essential-hook="mkdir -p \"\$1/etc/default\" \"\$1/etc/initramfs-tools/conf.d\" && cp '$root/rootfs/image/etc/default/raspi-firmware' \"\$1/etc/default/\" && cp '$root/rootfs/image/etc/initramfs-tools/conf.d/router.conf' \"\$1/etc/initramfs-tools/conf.d/\"" \
    --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs' \
    --essential-hook='mkdir -p "$1/usr/sbin" && printf "#!/bin/sh\necho \"update-initramfs: deferred by the image build\" >&2\nexit 0\n" > "$1/usr/sbin/update-initramfs" && chmod 755 "$1/usr/sbin/update-initramfs"' \
    --customize-hook="sync-out /var/cache/apt/archives $debs" \
    --customize-hook='rm -f "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs' \
    --customize-hook='kver=$(ls "$1/boot" | sed -n "s/^vmlinuz-//p" | sort -V | tail -n 1); [ -n "$kver" ] || { echo "no kernel in /boot" >&2; exit 1; }; echo "initramfs for $kver (once)"; chroot "$1" update-initramfs -c -k "$kver" && echo "initramfs: done, $(du -h "$1/boot/initrd.img-$kver" | cut -f1)"' \
    --customize-hook='ls -la "$1/boot" "$1/boot/firmware" | head -n 80' \
    "$suite" "$tmp" "${sources[@]}" 2>&1 | stamp "$blog"
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "mmdebstrap failed (log: $blog)"
  rm -f "$debs"/partial/* 2>/dev/null || true
  mv "$tmp" "$base_tar"
  log "base: done ($(du -h "$base_tar" | cut -f1)); .deb cache $(du -sh "$debs" | cut -f1); log $blog"
  # Where the time went: seconds from one mmdebstrap phase line ("I: ...") to the next.
  echo "  base phases (s):"
  awk '{ t=$2; sub(/s\]/,"",t) }
       /^\[base +[0-9]+s\] (I: |initramfs)/ { if (name!="") printf "    %5d  %s\n", t-prev, name;
         name=$0; sub(/^\[base +[0-9]+s\] /,"",name); name=substr(name,1,100); prev=t }
       END { printf "    %5d  %s\n", t-prev, name }' "$blog"
}
# stamp LOG: prefixes each line with the seconds since the build began, and keeps a copy in LOG.
stamp() { while IFS= read -r line; do printf '[base %4ds] %s\n' "$(( $(date +%s) - t_start ))" "$line"; done | tee "$1"; }

# The cache key: the package list, the sources, the files the hooks copy in, and the text of build_base itself
# (its mmdebstrap options and hooks). Change any of them and the base is rebuilt.
base_recipe() {
  cat <<EOF
packages: ${packages[*]}
sources: ${sources[*]}
EOF
  cat "$root/rootfs/image/etc/apt/preferences.d/router-kernel-backports" \
      "$root/rootfs/image/etc/default/raspi-firmware" \
      "$root/rootfs/image/etc/initramfs-tools/conf.d/router.conf"
  declare -f build_base stamp
}
base_key=$(base_recipe | sha256sum | cut -c1-16)
base_tar="$cache/base-$suite-arm64-$base_key.tar"

if [ -s "$base_tar" ] && [ "${ROUTER_IMAGE_REBUILD:-0}" != 1 ]; then
  log "base: cached $base_tar"
else
  build_base
fi
[ "${ROUTER_BASE_ONLY:-0}" = 1 ] && { log "base only: done"; exit 0; }

# --- routerd and its .deb ---------------------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/var/tmp}/router-image.XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
publish_dir="${ROUTERD_PUBLISH_DIR:-}"
if [ -z "$publish_dir" ]; then
  log "routerd: cross-publishing for linux-arm64"
  publish_dir="$work/publish"
  "$root/scripts/publish.sh" linux-arm64 "$publish_dir"
fi
[ -x "$publish_dir/routerd" ] || die "no routerd in $publish_dir"
deb=$("$root/scripts/build-deb.sh" "$publish_dir" "$out" | tail -n 1)
[ -f "$deb" ] || die "build-deb.sh did not produce a package"
log "routerd: package $deb"

# --- root filesystem --------------------------------------------------------------------------------------------
rootfs="$work/rootfs"
mkdir -p "$rootfs"
# Runs a command inside the new root, with /proc mounted in a private mount namespace that vanishes with the command
# (maintainer scripts and raspi-firmware's hook use ischroot, which needs /proc). Nothing is mounted on the host.
in_root() { unshare --mount --fork chroot "$rootfs" /bin/sh -c 'mount -t proc proc /proc && exec "$@"' sh "$@"; }
log "rootfs: unpacking the base"
tar -C "$rootfs" --numeric-owner --xattrs --xattrs-include='*' -xpf "$base_tar"

log "rootfs: laying rootfs/image/ over it"
# Plain copy, owned by root; modes come from the tree (files 0644 unless executable), fixed up below where it matters.
cp -a --no-preserve=ownership "$root/rootfs/image/." "$rootfs/"
cp "$root/rootfs/routerd/usr/share/doc/routerd/examples/router.json" "$rootfs/boot/firmware/router.json.example"
chmod 0700 "$rootfs/etc/router" 2>/dev/null || true

log "rootfs: installing routerd with dpkg -i (the same path as an update over SSH)"
cp "$deb" "$rootfs/tmp/"
in_root dpkg -i "/tmp/$(basename "$deb")"
rm -f "$rootfs/tmp/$(basename "$deb")"

log "rootfs: enabling units"
in_root systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
  nftables.service ssh.service router-ssh-hostkeys.service systemd-time-wait-sync.service \
  routerd.service routerd-firstboot.service router-grow-root.service
# wpa_supplicant@wlan0 is started by a udev rule when wlan0 appears (rootfs/image/etc/udev/rules.d/70-router-wlan0.rules).
# Nothing but explicit configuration changes goes to flash in normal running: no daily apt downloads, no daily
# dpkg database backups, no e2scrub (needs LVM anyway). The stock wpa_supplicant.service (D-Bus) is not used.
in_root systemctl disable apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
  e2scrub_reap.service wpa_supplicant.service 2>/dev/null || true

log "rootfs: first-boot state"
rm -f "$rootfs"/etc/ssh/ssh_host_*                 # generated on first boot by router-ssh-hostkeys.service
: > "$rootfs/etc/machine-id"                       # empty: systemd creates one on first boot
rm -f "$rootfs/var/lib/dbus/machine-id" "$rootfs/var/lib/systemd/random-seed" "$rootfs/var/lib/systemd/credential.secret"
echo router > "$rootfs/etc/hostname"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
rm -rf "$rootfs"/var/log/journal/* "$rootfs"/tmp/* 2>/dev/null || true

# config.txt's board sections: the one generated file (board/raspi-firmware-custom, from the board profiles).
install -m 0644 "$root/board/raspi-firmware-custom" "$rootfs/etc/default/raspi-firmware-custom"
log "rootfs: regenerating config.txt / cmdline.txt with raspi-firmware's hook"
kver=$(ls "$rootfs/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1)
[ -n "$kver" ] || die "no kernel in the base"
in_root env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$kver" "/boot/vmlinuz-$kver"
grep -q 'root=LABEL=RASPIROOT' "$rootfs/boot/firmware/cmdline.txt" || die "cmdline.txt lacks root=LABEL=RASPIROOT"

# --- image ------------------------------------------------------------------------------------------------------
fat="$work/fat.img"
ext="$work/root.img"
bootdir="$work/bootfiles"
mkdir -p "$bootdir"
mv "$rootfs/boot/firmware/"* "$bootdir/"             # the ext4 root keeps /boot/firmware as an empty mount point
chmod 0700 "$rootfs/boot/firmware"
# Pi 5 D0 stepping: the firmware applies overlays/bcm2712d0.dtbo to bcm2712-rpi-5-b.dtb on D0 boards; this one turns
# it into mainline's D0 tree (board/bcm2712d0-overlay.dts; check-image.sh proves the result). raspi-firmware's
# postinst copies its overlays with cp -r, which leaves this file in place on updates.
mkdir -p "$bootdir/overlays"
dtc -q -I dts -O dtb -o "$bootdir/overlays/bcm2712d0.dtbo" "$root/board/bcm2712d0-overlay.dts"

log "image: FAT RASPIFIRM ${fat_mib} MiB"
mkfs.vfat -C -F 32 -n RASPIFIRM "$fat" $(( fat_mib * 1024 )) >/dev/null
mcopy -s -m -i "$fat" "$bootdir"/* ::/

used_kib=$(du -sk --apparent-size "$rootfs" | cut -f1)
# ext4 size: content + 30% + 256 MiB for updates and state, rounded so the whole image is a power of two.
root_min_mib=$(( used_kib * 13 / 10 / 1024 + 256 ))
root_start_mib=$(( fat_start_sector / 2048 + fat_mib ))
img_mib=1024
while [ "$img_mib" -lt $(( root_start_mib + root_min_mib )) ]; do img_mib=$(( img_mib * 2 )); done
root_mib=$(( img_mib - root_start_mib ))
log "image: ext4 RASPIROOT ${root_mib} MiB (content $(( used_kib / 1024 )) MiB), image ${img_mib} MiB"
mke2fs -q -t ext4 -L RASPIROOT -m 2 -d "$rootfs" "$ext" "${root_mib}M"

img="$out/$image_name"
rm -f "$img"
truncate -s "${img_mib}M" "$img"
sfdisk --quiet "$img" <<EOF
label: dos
unit: sectors

start=$fat_start_sector, size=$(( fat_mib * 2048 )), type=c, bootable
start=$(( root_start_mib * 2048 )), size=$(( root_mib * 2048 )), type=83
EOF
dd if="$fat" of="$img" bs=1M seek=$(( fat_start_sector / 2048 )) conv=notrunc,sparse status=none
dd if="$ext" of="$img" bs=1M seek="$root_start_mib" conv=notrunc,sparse status=none

# --- report -----------------------------------------------------------------------------------------------------
manifest="$out/${image_name%.img}.manifest"
dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f='${Package}\t${Version}\n' | sort > "$manifest"
size=$(stat -c %s "$img")
log "image: $img"
echo "  size: $size bytes ($(( size / 1048576 )) MiB, a power of two), $(du -h "$img" | cut -f1) allocated (sparse)"
echo "  kernel: $kver; $(wc -l < "$manifest") packages (full list: $manifest)"
echo "  package versions:"
for p in linux-image-arm64 "linux-image-$kver" raspi-firmware firmware-brcm80211 systemd udev systemd-timesyncd \
         systemd-resolved openssh-server nftables iproute2 libgpiod3 wpasupplicant ca-certificates wireguard-tools \
         initramfs-tools routerd; do
  printf '    %-32s %s\n' "$p" "$(awk -F'\t' -v p="$p" '$1==p{print $2}' "$manifest")"
done
log "done in $(( $(date +%s) - t_start ))s"
