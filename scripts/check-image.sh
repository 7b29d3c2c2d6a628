#!/usr/bin/env bash
# Static check of router-rpi-arm64.img without mounting it or using loop devices: mtools reads the FAT boot
# partition, debugfs the ext4 root (both at their byte offsets inside the image file).
#   scripts/check-image.sh [IMAGE]      (default: artifacts/image/router-rpi-arm64.img)
# Prints one line per check and a closing "N passed, N failed"; exits non-zero on any failure.
# The Pi's real boot chain (GPU firmware reading config.txt) cannot be emulated (QEMU's raspi machines skip it),
# so it is checked here, file by file.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
img="${1:-$root/artifacts/image/router-rpi-arm64.img}"
[ -f "$img" ] || { echo "check-image: no image at $img" >&2; exit 2; }
for tool in sfdisk mdir mtype debugfs; do
  command -v "$tool" >/dev/null || { echo "check-image: missing $tool (scripts/install-deps.sh image)" >&2; exit 2; }
done
passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "  ok    $*"; }
bad()  { failed=$((failed + 1)); echo "  FAIL  $*"; }
check() { local what="$1"; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
info() { echo "  info  $*"; }

echo "== image $img"
size=$(stat -c %s "$img")
check "image size $size bytes is a power of two" test $(( size & (size - 1) )) -eq 0

# --- partition table ---------------------------------------------------------------------------------------------
table=$(sfdisk -d "$img" 2>/dev/null)
p1=$(grep -E '^\S+1 :' <<<"$table" | tr -d ' '); p2=$(grep -E '^\S+2 :' <<<"$table" | tr -d ' ')
field() { sed -nE "s/.*$2=([^,]+).*/\1/p" <<<"$1"; }
check "MBR (dos) partition table" grep -q 'label: dos' <<<"$table"
check "partition 1 at sector 8192, type c (FAT32 LBA), bootable" \
  bash -c '[[ "$1" == *"start=8192,"* && "$1" == *"type=c"* && "$1" == *bootable* ]]' _ "$p1"
check "partition 2 type 83 (Linux)" bash -c '[[ "$1" == *"type=83"* ]]' _ "$p2"
fat_off=$(( $(field "$p1" start) * 512 ))
ext_off=$(( $(field "$p2" start) * 512 ))
ext_end=$(( ext_off + $(field "$p2" size) * 512 ))
check "partition 2 ends inside the image" test "$ext_end" -le "$size"

# --- FAT: the Pi boot chain ----------------------------------------------------------------------------------------
export MTOOLS_SKIP_CHECK=1
fat="$img@@$fat_off"
echo "== boot partition (FAT at byte $fat_off)"
listing=$(mdir -b -i "$fat" :: 2>/dev/null | sed 's|^::/||')
fat_has() { grep -qx "$1" <<<"$listing"; }
fat_cat() { mtype -i "$fat" "::$1" 2>/dev/null | tr -d '\r'; }
check "volume label RASPIFIRM" bash -c 'mlabel -s -i "$1" :: | grep -q RASPIFIRM' _ "$fat"
if fat_has bootcode.bin; then
  ok "bootcode.bin (second-stage loader of the Pi 3/Zero 2 W; the Pi 4/5 boot from their EEPROM instead)"
else
  bad "bootcode.bin missing (the Pi 3B/3B+/Zero 2 W cannot boot without it)"
fi
for f in start.elf fixup.dat start4.elf fixup4.dat start_cd.elf fixup_cd.dat start4cd.elf fixup4cd.dat; do
  check "GPU firmware $f" fat_has "$f"
done
info "firmware files: $(grep -cE '^(start|fixup).*\.(elf|dat)$' <<<"$listing") start*.elf/fixup*.dat (the Pi 5 keeps its firmware in EEPROM)"
config=$(fat_cat config.txt)
cmdline=$(fat_cat cmdline.txt)
check "config.txt present" test -n "$config"
check "config.txt: arm_64bit=1" grep -qx 'arm_64bit=1' <<<"$config"
check "config.txt: upstream_kernel=1 (upstream device tree names)" grep -qx 'upstream_kernel=1' <<<"$config"
for section in '[pi3]' '[pi02]' '[pi4]' '[pi5]' '[all]'; do
  check "config.txt: board section $section" grep -qxF "$section" <<<"$config"
done
kernel=$(sed -n 's/^kernel=//p' <<<"$config" | head -n 1)
initrd=$(sed -n 's/^initramfs \([^ ]*\).*/\1/p' <<<"$config" | head -n 1)
check "config.txt names a kernel ($kernel) that is on the partition" fat_has "$kernel"
check "config.txt names an initramfs ($initrd) that is on the partition" fat_has "$initrd"
check "cmdline.txt: root=LABEL=RASPIROOT" grep -q 'root=LABEL=RASPIROOT' <<<"$cmdline"
check "cmdline.txt: net.ifnames=0 (eth0/wlan0 names the rootfs config uses)" grep -q 'net.ifnames=0' <<<"$cmdline"
info "cmdline.txt: $cmdline"
# Device trees under their upstream names (upstream_kernel=1): the firmware picks the one for the board.
for dtb in bcm2837-rpi-3-b.dtb bcm2837-rpi-3-b-plus.dtb bcm2837-rpi-zero-2-w.dtb \
           bcm2711-rpi-4-b.dtb bcm2711-rpi-400.dtb bcm2711-rpi-cm4-io.dtb bcm2712-rpi-5-b.dtb; do
  check "device tree $dtb" fat_has "$dtb"
done
info "device trees: $(grep -E '^bcm.*\.dtb$' <<<"$listing" | tr '\n' ' ')"
if grep -qE '^bcm2710-' <<<"$listing"; then info "bcm2710-* device trees present"; else
  info "no bcm2710-* device trees: Debian's kernel names the Pi 3/Zero 2 W trees bcm2837-* (what upstream_kernel=1 loads)"; fi
check "no wg0.pub yet (each gateway makes its own on first boot)" bash -c '! grep -qx wg0.pub <<<"$1"' _ "$listing"
check "README-ROUTER.txt, router.json.example, wpa_supplicant.conf.example for the person flashing" \
  bash -c 'for f in README-ROUTER.txt router.json.example wpa_supplicant.conf.example; do grep -qx "$f" <<<"$1" || exit 1; done' _ "$listing"

# --- ext4 root -----------------------------------------------------------------------------------------------------
ext="$img?offset=$ext_off"
echo "== root partition (ext4 at byte $ext_off)"
dbg() { debugfs -R "$1" "$ext" 2>/dev/null; }
ext_exists() { debugfs -R "stat $1" "$ext" 2>&1 | grep -q '^Inode:'; }
ext_cat() { dbg "cat $1"; }
ext_names() { dbg "ls -p $1" | awk -F/ 'NF>5 && $6!="." && $6!=".." {print $6}'; }
link_target() { dbg "stat $1" | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p'; }
check "volume label RASPIROOT" bash -c 'debugfs -R stats "$1" 2>/dev/null | grep -q "volume name: *RASPIROOT"' _ "$ext"
check "/usr/lib/routerd/routerd" ext_exists /usr/lib/routerd/routerd
check "/usr/lib/routerd/libsodium.so beside it" ext_exists /usr/lib/routerd/libsodium.so
check "/usr/sbin/routerd -> ../lib/routerd/routerd" test "$(link_target /usr/sbin/routerd)" = ../lib/routerd/routerd
routerd_status=$(ext_cat /var/lib/dpkg/status | grep -A1 -x 'Package: routerd' | sed -n 's/^Status: //p')
check "routerd installed through its package (dpkg status: ${routerd_status:-none})" test "$routerd_status" = "install ok installed"
check "unit /usr/lib/systemd/system/routerd.service" ext_exists /usr/lib/systemd/system/routerd.service
unit=$(ext_cat /usr/lib/systemd/system/routerd.service)
for line in 'Type=notify' 'ExecStart=/usr/sbin/routerd run --config /etc/router/router.json' 'ExecReload=/bin/kill -HUP $MAINPID' \
            'Restart=on-failure' 'ProtectSystem=strict' 'DeviceAllow=/dev/net/tun rw' 'RuntimeDirectory=wireguard router' 'StateDirectory=router' \
            'User=routerd' 'CapabilityBoundingSet=CAP_NET_ADMIN' 'AmbientCapabilities=CAP_NET_ADMIN'; do
  check "routerd.service: $line" grep -qxF "$line" <<<"$unit"
done
wants=/etc/systemd/system/multi-user.target.wants
check "routerd.service enabled ($wants/routerd.service)" test "$(link_target $wants/routerd.service)" = /usr/lib/systemd/system/routerd.service
for u in routerd-firstboot.service systemd-networkd.service nftables.service ssh.service router-ssh-hostkeys.service systemd-timesyncd.service; do
  check "$u enabled" bash -c '[ -n "$1" ]' _ "$(link_target "$wants/$u")$(link_target "/etc/systemd/system/sysinit.target.wants/$u")"
done
check "Wi-Fi: wpa_supplicant@wlan0 started by udev when wlan0 appears, not waited for at boot" \
  bash -c 'grep -q "SYSTEMD_WANTS}+=\"wpa_supplicant@wlan0.service\"" <<<"$1" && [ -z "$2" ]' _ \
  "$(ext_cat /etc/udev/rules.d/70-router-wlan0.rules)" "$(link_target "$wants/wpa_supplicant@wlan0.service")"
hostkeys=$(ext_names /etc/ssh | grep -c '^ssh_host_' || true)
check "no SSH host keys in the image (/etc/ssh/ssh_host_*: $hostkeys)" test "$hostkeys" -eq 0
check "sshd: key-only, authorized_keys from the boot partition" \
  bash -c 'grep -qx "PasswordAuthentication no" <<<"$1" && grep -q "/boot/firmware/authorized_keys" <<<"$1"' _ "$(ext_cat /etc/ssh/sshd_config.d/10-router.conf)"
fstab=$(ext_cat /etc/fstab)
check "fstab: / is LABEL=RASPIROOT" grep -qE '^LABEL=RASPIROOT +/ +ext4' <<<"$fstab"
check "fstab: /boot/firmware is LABEL=RASPIFIRM with fmask=0077" grep -qE '^LABEL=RASPIFIRM +/boot/firmware +vfat +.*fmask=0077' <<<"$fstab"
check "journald: Storage=volatile" grep -qx 'Storage=volatile' <<<"$(ext_cat /etc/systemd/journald.conf.d/10-router.conf)"
check "sysctl: forwarding on" grep -q 'net.ipv4.ip_forward = 1' <<<"$(ext_cat /etc/sysctl.d/60-routerd.conf)"
check "/etc/default/raspi-firmware: ROOTPART=LABEL=RASPIROOT" grep -qx 'ROOTPART=LABEL=RASPIROOT' <<<"$(ext_cat /etc/default/raspi-firmware)"
check "/etc/machine-id empty (made on first boot)" test -z "$(ext_cat /etc/machine-id)"
check "/boot/firmware is an empty mount point on the root" test -z "$(ext_names /boot/firmware)"
check "kernel modules for the image's kernel" ext_exists "/usr/lib/modules/${kernel#vmlinuz-}"
# cfg80211 loads the signed regulatory database at boot; without it the Wi-Fi (the Zero 2 W's only network) keeps
# the restrictive world domain whatever country wpa_supplicant.conf names.
regdb_status=$(ext_cat /var/lib/dpkg/status | grep -A1 -x 'Package: wireless-regdb' | sed -n 's/^Status: //p')
check "wireless-regdb installed (dpkg status: ${regdb_status:-none})" test "$regdb_status" = "install ok installed"
# Debian installs them as symlinks through /etc/alternatives (regulatory.db -> ... -> regulatory.db-debian): follow
# the links (absolute or relative to their folder) to a regular file.
resolve() {
  local p="$1" t i
  for i in 1 2 3 4; do
    t=$(link_target "$p"); [ -n "$t" ] || break
    case "$t" in /*) p="$t" ;; *) p="$(dirname "$p")/$t" ;; esac
  done
  dbg "stat $p" | grep -q 'Type: regular' && echo "$p"
}
for f in regulatory.db regulatory.db.p7s; do
  target=$(resolve "/usr/lib/firmware/$f")
  check "Wi-Fi regulatory database: /usr/lib/firmware/$f leads to a file (${target:-none})" test -n "$target"
done

echo "check-image: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
