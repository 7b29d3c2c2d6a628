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
for tool in sfdisk mdir mtype mcopy debugfs dtc fdtget fdtoverlay jq; do
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
kernel=$(sed -n 's/^kernel=//p' <<<"$config" | head -n 1)
initrd=$(sed -n 's/^initramfs \([^ ]*\).*/\1/p' <<<"$config" | head -n 1)
check "config.txt names a kernel ($kernel) that is on the partition" fat_has "$kernel"
check "config.txt names an initramfs ($initrd) that is on the partition" fat_has "$initrd"
check "cmdline.txt: root=LABEL=RASPIROOT" grep -q 'root=LABEL=RASPIROOT' <<<"$cmdline"
check "cmdline.txt: net.ifnames=0 (eth0/wlan0 names the rootfs config uses)" grep -q 'net.ifnames=0' <<<"$cmdline"
info "cmdline.txt: $cmdline"
# Device trees under their upstream names (upstream_kernel=1); which one each board loads is checked per board below.
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

# --- per board: what each board's firmware loads, and what its kernel and Wi-Fi need ------------------------------
# The boards are the profiles in board/*.json (mirrors of Router.Leds BoardProfiles). For each: the config.txt lines
# its firmware applies (model filters, as raspberrypi.com documents them), the device tree those lines and the
# firmware's own default make it load, the LED names in that tree against the profile, the kernel options its SD,
# network, GPIO and watchdog need, and the Wi-Fi firmware for its chip.
echo "== boards (board/*.json against the image)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
custom_img=$(ext_cat /etc/default/raspi-firmware-custom)
check "/etc/default/raspi-firmware-custom is board/raspi-firmware-custom (generated from the board profiles)" \
  test "$custom_img" = "$(cat "$root/board/raspi-firmware-custom")"
check "config.txt carries that file verbatim (appended by raspi-firmware's hook)" \
  bash -c '[ -n "$2" ] && [[ "$1" == *"$2"* ]]' _ "$config" "$custom_img"
# Which model filters each board matches (raspberrypi.com, config.txt "Conditional filters": a Pi 400 and a CM4 also
# see [pi4], a 3 B+ also [pi3], a Zero 2 W [pi0] and [pi0w]).
declare -A filters=([rpi3b]="[pi3]" [rpi3bplus]="[pi3] [pi3+]" [rpi4b]="[pi4]" [rpi400]="[pi4] [pi400]"
  [cm4]="[pi4] [cm4]" [rpi5]="[pi5]" [zero2w]="[pi0] [pi0w] [pi02]")
# The tree the firmware picks by itself with upstream_kernel=1 (upstream names); a CM4 gets the Pi 4 B's
# (raspberrypi/firmware#1660), so its profile pins device_tree=.
declare -A default_dtb=([rpi3b]=bcm2837-rpi-3-b.dtb [rpi3bplus]=bcm2837-rpi-3-b-plus.dtb [rpi4b]=bcm2711-rpi-4-b.dtb
  [rpi400]=bcm2711-rpi-400.dtb [cm4]=bcm2711-rpi-4-b.dtb [rpi5]=bcm2712-rpi-5-b.dtb [zero2w]=bcm2837-rpi-zero-2-w.dtb)
declare -A board_compat=([rpi3b]=raspberrypi,3-model-b [rpi3bplus]=raspberrypi,3-model-b-plus [rpi4b]=raspberrypi,4-model-b
  [rpi400]=raspberrypi,400 [cm4]=raspberrypi,4-compute-module [rpi5]=raspberrypi,5-model-b [zero2w]=raspberrypi,model-zero-2-w)
# Kernel options per board (OPTION or OPTION:module): SD card, network, Wi-Fi, GPIO and LEDs, watchdog.
base_k="BRCMFMAC:brcmfmac BRCMFMAC_SDIO GPIO_CDEV LEDS_GPIO:leds-gpio BCM2835_WDT:bcm2835_wdt"
pi3_k="MMC_BCM2835:bcm2835 MMC_SDHCI_IPROC:sdhci-iproc PINCTRL_BCM2835 GPIO_RASPBERRYPI_EXP USB_DWC2:dwc2 $base_k"
pi4_k="MMC_SDHCI_IPROC:sdhci-iproc MMC_BCM2835:bcm2835 BCMGENET:genet BROADCOM_PHY:broadcom MDIO_BCM_UNIMAC:mdio-bcm-unimac PCIE_BRCMSTB USB_XHCI_PCI:xhci-pci PINCTRL_BCM2835 GPIO_RASPBERRYPI_EXP $base_k"
declare -A kopts=([rpi3b]="$pi3_k USB_NET_SMSC95XX:smsc95xx" [rpi3bplus]="$pi3_k USB_LAN78XX:lan78xx"
  [rpi4b]="$pi4_k" [rpi400]="$pi4_k" [cm4]="$pi4_k"
  [rpi5]="MMC_SDHCI_BRCMSTB:sdhci-brcmstb PCIE_BRCMSTB MISC_RP1:rp1_pci COMMON_CLK_RP1:clk-rp1 PINCTRL_RP1:pinctrl-rp1 MACB:macb USB_XHCI_PLATFORM:xhci-plat-hcd PINCTRL_BRCMSTB:pinctrl-brcmstb GPIO_BRCMSTB:gpio-brcmstb $base_k"
  [zero2w]="MMC_BCM2835:bcm2835 MMC_SDHCI_IPROC:sdhci-iproc PINCTRL_BCM2835 $base_k")
# Wi-Fi chip per board (brcmfmac's firmware name); the nvram file is looked up by the board's compatible first.
declare -A wifi=([rpi3b]=43430-sdio [rpi3bplus]=43455-sdio [rpi4b]=43455-sdio [rpi400]=43456-sdio [cm4]=43455-sdio
  [rpi5]=43455-sdio [zero2w]=43430-sdio)
kver=${kernel#vmlinuz-}
kconfig=$(ext_cat "/boot/config-$kver")
moddep=$(ext_cat "/usr/lib/modules/$kver/modules.dep")
check "kernel config /boot/config-$kver in the image" test -n "$kconfig"
# The lines a board's firmware applies: every section whose filter the board matches, plus [all].
board_lines() {
  awk -v f=" $1 " 'BEGIN { on = 1 } /^\[.*\]$/ { on = ($0 == "[all]" || index(f, " " $0 " ") > 0); next }
                   on && !/^#/ && NF' <<<"$config"
}
# The lines of one section of config.txt (the appended part; comments and blank lines left out).
section_lines() { awk -v s="$1" '/^\[.*\]$/ { on = ($0 == s); next } on && !/^#/ && NF' <<<"$config"; }
# LED class names (labels of gpio-leds children) in a decompiled tree.
led_names() {
  awk '/\{$/ { d++ } /compatible = "gpio-leds"/ { leds = d } leds && d == leds + 1 && /^[ \t]*label = / { gsub(/.*= "|";.*/, ""); print }
       /\};/ { if (d == leds) leds = 0; d-- }' "$1" | sort | tr '\n' ' ' | sed 's/ $//'
}
fetch_dtb() { [ -s "$tmp/$1" ] || mcopy -n -i "$fat" "::$1" "$tmp/$1" 2>/dev/null; [ -s "$tmp/$1" ]; }
for json in "$root"/board/*.json; do
  b=$(jq -r .name "$json")
  [ -n "${filters[$b]+x}" ] || { bad "board $b: no firmware facts in check-image.sh (add its filters, tree, options, Wi-Fi chip)"; continue; }
  section=$(jq -r .configTxtSection "$json")
  check "$b: config.txt section $section is exactly the profile's lines" \
    test "$(section_lines "$section")" = "$(jq -r '.configTxtLines[]' "$json")"
  lines=$(board_lines "${filters[$b]}")
  pinned=$(sed -n 's/^device_tree=//p' <<<"$lines" | tail -n 1)
  dtb=${pinned:-${default_dtb[$b]}}
  check "$b: firmware loads $dtb (${pinned:+pinned by device_tree=}${pinned:-its default}), the profile's tree" test "$dtb" = "$(jq -r .deviceTree "$json")"
  if fetch_dtb "$dtb"; then
    compat=$(fdtget "$tmp/$dtb" / compatible 2>/dev/null | cut -d' ' -f1)
    check "$b: $dtb is on the FAT and is the ${board_compat[$b]} tree ($(fdtget "$tmp/$dtb" / model 2>/dev/null))" test "$compat" = "${board_compat[$b]}"
    dtc -q -I dtb -O dts "$tmp/$dtb" > "$tmp/$dtb.dts" 2>/dev/null
    names=$(led_names "$tmp/$dtb.dts")
    want=$(jq -r '[.actLed, .pwrLed] | map(select(. != null)) | sort | join(" ")' "$json")
    check "$b: LED class devices in $dtb (${names:-none}) are the profile's ACT/PWR (${want:-none})" test "$names" = "$want"
    line=$(jq -r '.statusLedGpioLine // empty' "$json")
    if [ -n "$line" ]; then
      check "$b: no LED class device for status; its GPIO line $line is named in bcm2712-d-rpi-5-b.dtb (routerd does not drive it yet)" \
        bash -c 'dtc -q -I dtb -O dts "$1" | grep -q "gpio-line-names = .*$2"' _ "$(fetch_dtb bcm2712-d-rpi-5-b.dtb && echo "$tmp/bcm2712-d-rpi-5-b.dtb")" "$line"
    fi
  else
    bad "$b: $dtb is not on the boot partition"
  fi
  for opt in ${kopts[$b]}; do
    name=${opt%%:*}; mod=${opt#*:}; [ "$mod" = "$opt" ] && mod=""
    val=$(sed -n "s/^CONFIG_$name=//p" <<<"$kconfig")
    if [ "$val" = m ] && [ -n "$mod" ]; then
      check "$b: CONFIG_$name=m, module $mod.ko in modules.dep" grep -qE "(^|/)$mod\.ko(\.[a-z]+)?:" <<<"$moddep"
    else
      check "$b: CONFIG_$name=${val:-unset} (y or m)" bash -c '[ "$1" = y ] || [ "$1" = m ]' _ "$val"
    fi
  done
  chip=${wifi[$b]}
  fw_bin=$(resolve "/usr/lib/firmware/brcm/brcmfmac$chip.bin")
  nvram="brcmfmac$chip.${board_compat[$b]}.txt"; fw_txt=$(resolve "/usr/lib/firmware/brcm/$nvram")
  [ -n "$fw_txt" ] || { nvram="brcmfmac$chip.txt"; fw_txt=$(resolve "/usr/lib/firmware/brcm/$nvram"); }
  check "$b: Wi-Fi firmware brcmfmac$chip.bin (-> ${fw_bin:-none}) and nvram $nvram (-> ${fw_txt:-none})" bash -c '[ -n "$1" ] && [ -n "$2" ]' _ "$fw_bin" "$fw_txt"
done
# Zero 2 W units with the 43436 chip (brcmfmac calls it 43430 B0) need firmware Debian does not ship.
b0=$(resolve /usr/lib/firmware/brcm/brcmfmac43430b0-sdio.bin)
if [ -n "$b0" ]; then ok "zero2w (43436 units): brcmfmac43430b0-sdio.bin present"; else
  info "zero2w (43436 units): brcmfmac43430b0-sdio.bin NOT in the image (Debian ships none): those units have no network (docs/FIRMWARE.md)"; fi
# Pi 5 D0 stepping: the firmware loads bcm2712-rpi-5-b.dtb and applies overlays/bcm2712d0.dtbo; with the image's
# overlay the result must be mainline's D0 tree, and the D0 tree must stay as it is.
if fetch_dtb bcm2712-rpi-5-b.dtb && fetch_dtb bcm2712-d-rpi-5-b.dtb && mcopy -n -i "$fat" ::overlays/bcm2712d0.dtbo "$tmp/d0.dtbo" 2>/dev/null; then
  ok "rpi5 D0: overlays/bcm2712d0.dtbo and bcm2712-d-rpi-5-b.dtb on the FAT"
  fdtoverlay -i "$tmp/bcm2712-rpi-5-b.dtb" -o "$tmp/c0+d0.dtb" "$tmp/d0.dtbo" 2>/dev/null
  fdtoverlay -i "$tmp/bcm2712-d-rpi-5-b.dtb" -o "$tmp/d0+d0.dtb" "$tmp/d0.dtbo" 2>/dev/null
  check "rpi5 D0: bcm2712-rpi-5-b.dtb + bcm2712d0.dtbo = bcm2712-d-rpi-5-b.dtb (fdtoverlay)" \
    bash -c '[ -s "$1" ] && [ "$(dtc -q -I dtb -O dts -s "$1")" = "$(dtc -q -I dtb -O dts -s "$2")" ]' _ "$tmp/c0+d0.dtb" "$tmp/bcm2712-d-rpi-5-b.dtb"
  check "rpi5 D0: bcm2712-d-rpi-5-b.dtb unchanged by bcm2712d0.dtbo (should the firmware load it instead)" \
    bash -c '[ -s "$1" ] && [ "$(dtc -q -I dtb -O dts -s "$1")" = "$(dtc -q -I dtb -O dts -s "$2")" ]' _ "$tmp/d0+d0.dtb" "$tmp/bcm2712-d-rpi-5-b.dtb"
  check "rpi5 D0: the D0 tree's pin controllers are brcm,bcm2712d0-*" \
    bash -c 'dtc -q -I dtb -O dts "$1" | grep -q "brcm,bcm2712d0-pinctrl" && ! dtc -q -I dtb -O dts "$1" | grep -q "bcm2712c0"' _ "$tmp/bcm2712-d-rpi-5-b.dtb"
else
  bad "rpi5 D0: bcm2712-rpi-5-b.dtb, bcm2712-d-rpi-5-b.dtb or overlays/bcm2712d0.dtbo missing on the FAT"
fi
# Room on the FAT for the next kernel + initrd beside the current ones (raspi-firmware copies before it deletes).
# mdir -b lists paths only; the plain listing has "NAME EXT SIZE DATE TIME LONGNAME" per file.
ksize=$(mdir -i "$fat" :: 2>/dev/null | awk '$NF ~ /^(vmlinuz|initrd\.img)-/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/ && $i > 1000) { s += $i; break } } END { print s + 0 }')
free_b=$(mdir -i "$fat" :: 2>/dev/null | sed -n 's/ bytes free.*//p' | tr -d ' ')
free_b=${free_b:-0}
check "FAT free space $(( free_b / 1048576 )) MiB holds another kernel + initrd ($(( ksize / 1048576 )) MiB now)" test "$free_b" -gt "$ksize"
check "first-boot root growth: router-grow-root.service enabled, sfdisk and resize2fs in the image" \
  bash -c '[ -n "$1" ] && [ -n "$2" ] && [ -n "$3" ]' _ "$(link_target /etc/systemd/system/local-fs.target.wants/router-grow-root.service)" \
  "$(ext_exists /usr/sbin/sfdisk && echo y)" "$(ext_exists /usr/sbin/resize2fs && echo y)"

echo "check-image: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
