#!/usr/bin/env bash
# Boots the Router image in QEMU and checks what a gateway does on its first boot.
#   scripts/boot-test.sh [IMAGE]          (default: artifacts/image/router-rpi-arm64.img)
# Environment:
#   ROUTER_BOOT_TUNNEL=1       (default) stage 1 and stage 2: routerd, started by its unit, brings up wg0 from the
#                              router.json seed on the boot partition and completes a handshake and pings with
#                              wireguard-go on the host
#   ROUTER_BOOT_TUNNEL=0       stage 1 only: multi-user, units, first-boot keys, SSH, firewall, routerd started from
#                              its unit
#   ROUTER_BOOT_TUNNEL=kernel  stage 2 with the guest kernel's WireGuard instead of routerd: checks the harness itself
#                              (network path, keys, timing)
#   ROUTER_BOOT_TIMEOUT=1200   seconds for the whole boot test (QEMU is always killed by then); 2.3-10.3 min measured
#                              here, depending on the load other work puts on the 2 cores (load average 3 to 30)
#   ROUTER_BOOT_CPU=cortex-a53 QEMU CPU model (max also works); ROUTER_BOOT_KEEP=1 keeps the work folder
# Needs root: qemu-system-arm (qemu-system-aarch64), mtools, e2fsprogs (debugfs), fdisk (sfdisk), openssh-client,
# iproute2; stage 2 also wireguard-go and wireguard-tools.
#
# How: the image is copied (sparse); the copy's FAT partition gets what a person puts there (docs/FIRMWARE.md §2):
# authorized_keys (a key made for this run) and, for stage 2, the router.json seed naming HQ (here: the host) as its
# peer (mcopy). The gateway generates its own WireGuard key on first boot, as on a real card; the host learns the
# public key from the console (where a person reads wg0.pub from the card) and adds the gateway to wireguard-go, as
# HQ would. The copy's ext4 root gets two test units (debugfs -w, at the partition's offset; no mounts, no loop
# devices) that print ROUTER-TEST: lines on the serial console. QEMU's `virt` machine
# boots the image's own kernel and initrd (taken from the FAT partition) with the copy as a virtio disk, in a network
# namespace of its own, user-mode networking (guest 10.0.2.15, host 10.0.2.2), SSH and the WireGuard port forwarded
# to the namespace's loopback. QEMU's raspi machines would not run the Pi's firmware either: check-image.sh checks
# the real boot chain statically.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
img="${1:-$root/artifacts/image/router-rpi-arm64.img}"
tunnel="${ROUTER_BOOT_TUNNEL:-1}"
timeout_s="${ROUTER_BOOT_TIMEOUT:-1200}"
cpu="${ROUTER_BOOT_CPU:-cortex-a53}"
[ -f "$img" ] || { echo "boot-test: no image at $img" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "boot-test: run as root (network namespace)" >&2; exit 2; }
case "$tunnel" in 0|1|kernel) ;; *) echo "boot-test: ROUTER_BOOT_TUNNEL must be 0, 1 or kernel" >&2; exit 2 ;; esac
need=(qemu-system-aarch64 mcopy mtype debugfs sfdisk ip ssh ssh-keygen)
[ "$tunnel" != 0 ] && need+=(wireguard-go wg ping)
for t in "${need[@]}"; do command -v "$t" >/dev/null || { echo "boot-test: missing $t (scripts/install-deps.sh image test)" >&2; exit 2; }; done

t_start=$(date +%s.%N)
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "[boot-test $(elapsed)s] $*"; }
passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "  ok    $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL  $*"; }
check() { local what="$1"; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }

work="$(mktemp -d /var/tmp/router-boot-test.XXXXXX)"
ns="rbt$$"
wgif="rbt$$"
qemu_pid="" wggo_pid=""
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && sleep 1 && kill -9 "$qemu_pid" 2>/dev/null
  [ -n "$wggo_pid" ] && kill "$wggo_pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  if [ "${ROUTER_BOOT_KEEP:-0}" = 1 ]; then echo "boot-test: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- a disposable copy of the image and its partitions --------------------------------------------------------------
log "copying $img (sparse)"
disk="$work/disk.img"
cp --sparse=always "$img" "$disk"
table=$(sfdisk -d "$disk")
# A card bigger than the image, as in real life: the copy gets 2 GiB more (sparse) for the first boot to grow into.
root_mib_before=$(( $(grep -E '^\S+2 :' <<<"$table" | sed -nE 's/.*size= *([0-9]+).*/\1/p') / 2048 ))
truncate -s +2G "$disk"
disk_mib=$(( $(stat -c %s "$disk") / 1048576 ))
field() { grep -E "^\S+$1 :" <<<"$table" | sed -nE "s/.*$2= *([0-9]+).*/\1/p"; }
fat="$disk@@$(( $(field 1 start) * 512 ))"
ext="$disk?offset=$(( $(field 2 start) * 512 ))"
export MTOOLS_SKIP_CHECK=1
config=$(mtype -i "$fat" ::config.txt | tr -d '\r')
kernel=$(sed -n 's/^kernel=//p' <<<"$config" | head -n 1)
initrd=$(sed -n 's/^initramfs \([^ ]*\).*/\1/p' <<<"$config" | head -n 1)
mcopy -i "$fat" "::$kernel" "$work/vmlinuz" && mcopy -i "$fat" "::$initrd" "$work/initrd.img" \
  || { echo "boot-test: cannot read $kernel / $initrd from the boot partition" >&2; exit 1; }
log "kernel $kernel, initrd $initrd (from the image's boot partition)"

# --- what a person would put on the boot partition, and the test's hooks ----------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C router-boot-test -f "$work/id_test"
mcopy -i "$fat" "$work/id_test.pub" ::authorized_keys

host_port=$(( 40000 + $$ % 10000 ))     # wireguard-go's port in the namespace; the guest reaches it at 10.0.2.2
fwd_port=$(( host_port + 1 ))           # namespace loopback -> guest UDP 51820
ssh_port=$(( host_port + 2 ))           # namespace loopback -> guest TCP 22
host_key="" guest_pub="" host_pub=""
if [ "$tunnel" != 0 ]; then
  host_key=$(wg genkey);  host_pub=$(wg pubkey <<<"$host_key")
  umask 077
  printf '%s\n' "$host_key" > "$work/host.key"
  umask 022
  # The seed as a person writes it (docs/CONFIG.md): the branch initiates towards "hq" (here: the host).
  cat > "$work/router.json" <<EOF
{
  "interfaces": {
    "wg0": {
      "privateKeyFile": "/etc/router/wg0.key",
      "listenPort": 51820,
      "addresses": ["10.99.0.1/24"],
      "mtu": 1420,
      "peers": [
        { "name": "hq", "publicKey": "$host_pub", "endpoint": "10.0.2.2:$host_port",
          "allowedIps": ["10.99.0.2/32"], "persistentKeepalive": 1 }
      ]
    }
  },
  "forwarding": { "enabled": true, "masquerade": [] }
}
EOF
  [ "$tunnel" = 1 ] && mcopy -i "$fat" "$work/router.json" ::router.json
fi

# The test unit: runs once multi-user.target is reached, prints ROUTER-TEST: lines on the console, waits for the
# host to finish (it touches /run/router-test-done over SSH, or a time limit passes), powers off.
cat > "$work/router-boot-test" <<EOF
#!/bin/sh
# Injected by scripts/boot-test.sh into a throwaway copy of the image; never part of the image itself.
TUNNEL=$tunnel
HOST_PUB=$host_pub
HOST_PORT=$host_port
EOF
cat >> "$work/router-boot-test" <<'EOF'
say() { echo "ROUTER-TEST: $*"; }
mono() { cut -d' ' -f1 /proc/uptime; }
say "BEGIN uptime=$(mono)"
say "multi-user.target=$(systemctl is-active multi-user.target)"
say "multi-user-usec=$(systemctl show -p ActiveEnterTimestampMonotonic --value multi-user.target)"
say "kernel=$(uname -r)"
say "routerd-enabled=$(systemctl is-enabled routerd.service)"
for p in ActiveState SubState Result NRestarts ExecMainStartTimestampMonotonic ExecMainStatus InvocationID; do
  say "routerd-$p=$(systemctl show -p $p --value routerd.service)"
done
say "routerd-version=$(/usr/sbin/routerd --version 2>&1 | head -n 1)"
/usr/sbin/routerd selftest >/dev/null 2>&1; say "routerd-selftest-status=$?"
journalctl -b -u routerd.service --no-pager -o cat 2>&1 | grep -v '^-- ' | head -n 8 | sed 's/^/ROUTER-TEST: routerd-journal: /'
say "firstboot=$(systemctl is-active routerd-firstboot.service)"
say "wg0-key-mode=$(stat -c %a /etc/router/wg0.key 2>/dev/null)"
say "seed-imported=$(cmp -s /boot/firmware/router.json /etc/router/router.json && echo yes || echo no)"
say "wg0-pub=$(cat /boot/firmware/wg0.pub 2>/dev/null)"
say "wg0-pub-of-key=$(wg pubkey < /etc/router/wg0.key 2>/dev/null)"
say "ssh-host-keys=$(ls /etc/ssh/ssh_host_*_key 2>/dev/null | wc -l)"
rootdev=$(basename "$(readlink -f "$(findmnt -n -o SOURCE /)")")
say "grow-root=$(systemctl is-active router-grow-root.service)"
say "root-part-mib=$(( $(cat /sys/class/block/$rootdev/size) / 2048 ))"
say "root-fs-mib=$(df -m --output=size / | tail -n 1 | tr -d ' ')"
journalctl -b -u router-grow-root.service --no-pager -o cat 2>&1 | grep -v '^-- ' | head -n 6 | sed 's/^/ROUTER-TEST: grow-root-journal: /'
say "ssh=$(systemctl is-active ssh.service)"
say "nftables=$(systemctl is-active nftables.service)"
say "nft-tables=$(nft list tables 2>/dev/null | tr '\n' ' ')"
say "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
say "networkd=$(systemctl is-active systemd-networkd.service)"
say "eth0=$(ip -4 -br addr show eth0 2>/dev/null | tr -s ' ')"
say "boot-mount=$(findmnt -n -o FSTYPE,OPTIONS /boot/firmware)"
if ! findmnt -n /boot/firmware >/dev/null; then
  { systemctl status boot-firmware.mount --no-pager 2>&1 | tail -n 4; ls -l /dev/disk/by-label/ 2>&1; ls /dev/vd* 2>&1;
    blkid 2>&1; udevadm info -q property /dev/vda1 2>&1 | grep -E 'ID_FS|DEVLINKS|ID_PART_ENTRY_TYPE';
    systemctl status systemd-udev-trigger.service --no-pager 2>&1 | head -n 4; } | sed 's/^/ROUTER-TEST: boot-mount-diag: /'
fi
say "journal-persistent-files=$(find /var/log/journal -type f 2>/dev/null | wc -l)"
say "journal-runtime=$(ls -d /run/log/journal 2>/dev/null)"
say "failed-units=$(systemctl --failed --no-legend --plain 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
say "jobs=$(systemctl list-jobs --no-legend 2>/dev/null | wc -l)"

if [ "$TUNNEL" != 0 ]; then
  if [ "$TUNNEL" = kernel ]; then
    # Harness self-check: the kernel's WireGuard stands in for routerd, with the same key and peer.
    ip link add wg0 type wireguard && wg set wg0 private-key /etc/router/wg0.key listen-port 51820 \
      peer "$HOST_PUB" allowed-ips 10.99.0.2/32 endpoint "10.0.2.2:$HOST_PORT" persistent-keepalive 1 \
      && ip addr add 10.99.0.1/24 dev wg0 && ip link set wg0 up
    say "kernel-wg-setup=$?"
  fi
  hs=0; i=0
  while [ $i -lt 120 ]; do
    hs=$(wg show wg0 latest-handshakes 2>/dev/null | awk '{print $2}' | head -n 1)
    [ -n "$hs" ] && [ "$hs" != 0 ] && break
    sleep 1; i=$((i + 1))
  done
  say "guest-handshake=${hs:-0} uptime=$(mono)"
  ping -c 3 -W 3 10.99.0.2 >/dev/null 2>&1; say "guest-ping-status=$?"
  routerd show 2>&1 | head -n 12 | sed 's/^/ROUTER-TEST: routerd-show: /'
  wg show wg0 2>&1 | head -n 12 | sed 's/^/ROUTER-TEST: wg-show: /'
  say "routerd-active=$(systemctl is-active routerd.service)"
  say "wg-ports=$(nft list set inet router wireguard_ports 2>/dev/null | grep -oE 'elements = [{][^}]*[}]')"
  say "wg-ports-file=$(grep -c '^add element inet router wireguard_ports' /run/router/wireguard-ports.nft 2>/dev/null)"
fi
say "READY uptime=$(mono)"
i=0
while [ ! -e /run/router-test-done ] && [ $i -lt 150 ]; do sleep 1; i=$((i + 1)); done
say "END uptime=$(mono) host-done=$([ -e /run/router-test-done ] && echo yes || echo no)"
sync
systemctl poweroff --no-block
EOF
# The key unit: prints the gateway's public key on the console as soon as the first-boot step made it (before
# routerd starts), so the host can add the gateway as a peer, as HQ does after reading wg0.pub.
cat > "$work/router-boot-test-key.service" <<'EOF'
[Unit]
Description=Router boot test: the gateway's public key on the console (injected by scripts/boot-test.sh)
DefaultDependencies=no
After=routerd-firstboot.service
Before=routerd.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "ROUTER-TEST: wg0-pub-early=$(cat /boot/firmware/wg0.pub 2>/dev/null) uptime=$(cut -d" " -f1 /proc/uptime)"'
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF
cat > "$work/router-boot-test.service" <<'EOF'
[Unit]
Description=Router boot test (injected by scripts/boot-test.sh)
After=multi-user.target routerd.service ssh.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/router-boot-test
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=400

[Install]
WantedBy=multi-user.target
EOF
# Device waits: emulated udev on a loaded host took more than the image's 5 minutes to announce
# /dev/disk/by-label/RASPIFIRM (seen here at a load average of 30), and /boot/firmware then stayed unmounted. The
# copy's fstab waits as long as the test's own time limit instead (a Pi's udev needs seconds). Only this mount: a
# longer default device timeout would also hold wpa_supplicant@wlan0 (no wlan0 in QEMU), and network-online with it.
debugfs -R "cat /etc/fstab" "$ext" 2>/dev/null | sed -E "s/x-systemd\.device-timeout=[0-9a-z]+/x-systemd.device-timeout=${timeout_s}s/" > "$work/fstab"
grep -q "x-systemd.device-timeout=${timeout_s}s" "$work/fstab" || { echo "boot-test: cannot adapt the copy's /etc/fstab" >&2; exit 1; }
{
  echo "cd /etc"
  echo "rm fstab"
  echo "write $work/fstab fstab"
  echo "sif fstab mode 0100644"
  echo "sif fstab uid 0"
  echo "sif fstab gid 0"
  echo "cd /usr/local/sbin"
  echo "write $work/router-boot-test router-boot-test"
  echo "sif router-boot-test mode 0100755"
  echo "sif router-boot-test uid 0"
  echo "sif router-boot-test gid 0"
  echo "cd /etc/systemd/system"
  echo "write $work/router-boot-test.service router-boot-test.service"
  echo "sif router-boot-test.service mode 0100644"
  echo "cd /etc/systemd/system/multi-user.target.wants"
  echo "symlink router-boot-test.service /etc/systemd/system/router-boot-test.service"
  echo "cd /etc/systemd/system"
  echo "write $work/router-boot-test-key.service router-boot-test-key.service"
  echo "sif router-boot-test-key.service mode 0100644"
  echo "cd /etc/systemd/system/multi-user.target.wants"
  echo "symlink router-boot-test-key.service /etc/systemd/system/router-boot-test-key.service"
} > "$work/debugfs.cmds"
debugfs -w -f "$work/debugfs.cmds" "$ext" >"$work/debugfs.log" 2>&1
if ! debugfs -R "stat /etc/systemd/system/multi-user.target.wants/router-boot-test.service" "$ext" 2>&1 | grep -q '^Inode:'; then
  echo "boot-test: could not inject the test unit:" >&2; cat "$work/debugfs.log" >&2; exit 1
fi
log "injected: authorized_keys$([ "$tunnel" = 1 ] && echo ', router.json seed') on the boot partition; two test units on the root"

# --- network namespace, and the host's WireGuard peer ------------------------------------------------------------
ip netns add "$ns"
ip -n "$ns" link set lo up
if [ "$tunnel" != 0 ]; then
  WG_PROCESS_FOREGROUND=1 ip netns exec "$ns" wireguard-go -f "$wgif" >"$work/wireguard-go.log" 2>&1 &
  wggo_pid=$!
  for _ in $(seq 50); do [ -S "/var/run/wireguard/$wgif.sock" ] && break; sleep 0.1; done
  # The gateway's key is not known yet: it is added when the gateway prints it (below).
  ip netns exec "$ns" wg set "$wgif" private-key "$work/host.key" listen-port "$host_port" \
    && ip -n "$ns" addr add 10.99.0.2/24 dev "$wgif" && ip -n "$ns" link set "$wgif" up \
    || { echo "boot-test: wireguard-go setup failed" >&2; cat "$work/wireguard-go.log" >&2; exit 1; }
  log "wireguard-go $wgif in namespace $ns: 10.99.0.2/24, UDP $host_port (guest sees 10.0.2.2:$host_port)"
fi

# --- boot ---------------------------------------------------------------------------------------------------------
console="$work/console.log"
: > "$console"
log "booting: qemu-system-aarch64 -M virt -cpu $cpu -m 1024 -smp 2, root=LABEL=RASPIROOT, console on ttyAMA0"
t_boot=$(date +%s.%N)
ip netns exec "$ns" qemu-system-aarch64 -M virt -cpu "$cpu" -m 1024 -smp 2 \
  -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
  -append "root=LABEL=RASPIROOT rw rootwait console=ttyAMA0 net.ifnames=0 panic=-1" \
  -drive "file=$disk,format=raw,if=none,id=d0,cache=unsafe" -device virtio-blk-pci,drive=d0 \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$ssh_port-:22,hostfwd=udp:127.0.0.1:$fwd_port-:51820" \
  -device virtio-net-pci,netdev=n0,romfile= \
  -display none -monitor none -serial "file:$console" -no-reboot >"$work/qemu.log" 2>&1 &
qemu_pid=$!
since_boot() { awk -v a="$t_boot" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
deadline=$(( $(date +%s) + timeout_s ))
alive() { kill -0 "$qemu_pid" 2>/dev/null; }
# The first handshake wireguard-go sees, in host time (polled while waiting, since later rekeys overwrite it).
hs_first=""
poll_handshake() {
  [ "$tunnel" != 0 ] && [ -z "$hs_first" ] || return 0
  local h
  h=$(ip netns exec "$ns" wg show "$wgif" latest-handshakes 2>/dev/null | awk '{print $2}' | head -n 1)
  if [ -n "$h" ] && [ "$h" != 0 ]; then hs_first=$(date +%s.%N); fi
}
# wait_for REGEX: until it appears on the console, QEMU ends, or the deadline passes.
wait_for() {
  while ! grep -aqE "$1" "$console"; do
    poll_handshake
    alive || return 1
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 1
  done
  poll_handshake
}
marker() { grep -aoE "ROUTER-TEST: $1=.*" "$console" | head -n 1 | sed -E "s/^ROUTER-TEST: $1=//; s/\r$//"; }

if [ "$tunnel" != 0 ]; then
  # HQ's side of the first boot: read the gateway's public key (wg0.pub), add the gateway as a peer.
  if wait_for 'ROUTER-TEST: wg0-pub-early='; then
    guest_pub=$(marker wg0-pub-early | cut -d' ' -f1)
    if [[ "$guest_pub" =~ ^[A-Za-z0-9+/]{43}=$ ]] \
       && ip netns exec "$ns" wg set "$wgif" peer "$guest_pub" allowed-ips 10.99.0.1/32; then
      t_key=$(date +%s.%N)
      log "gateway key $guest_pub on the console $(since_boot)s after QEMU started; added to wireguard-go"
    else
      log "gateway printed no usable key ('$guest_pub')"
    fi
  fi
fi
if ! wait_for 'ROUTER-TEST: (READY|END)'; then
  bad "boot did not reach the test unit within ${timeout_s}s (QEMU $(alive && echo running || echo exited))"
  echo "--- last console lines"; tail -n 40 "$console" | tr -d '\r'
  cat "$work/qemu.log"
  echo "boot-test: $passed passed, $failed failed"
  exit 1
fi
log "test unit ran $(since_boot)s after QEMU started"

echo "== stage 1: first boot"
usec=$(marker multi-user-usec)
check "multi-user.target reached" test "$(marker multi-user.target)" = active
boot_s=$(awk -v u="${usec:-0}" 'BEGIN { printf "%.1f", u / 1e6 }')
echo "  info  boot to multi-user.target: ${boot_s}s of guest time (kernel start to target), emulated ($cpu, TCG)"
echo "  info  guest kernel $(marker kernel)"
check "routerd.service enabled" test "$(marker routerd-enabled)" = enabled
start_mono=$(marker routerd-ExecMainStartTimestampMonotonic)
check "routerd.service started from its unit (ExecMainStartTimestampMonotonic=${start_mono:-none})" test "${start_mono:-0}" -gt 0
echo "  info  routerd.service: $(marker routerd-ActiveState)/$(marker routerd-SubState) result=$(marker routerd-Result) restarts=$(marker routerd-NRestarts) last-exit=$(marker routerd-ExecMainStatus)"
grep -aoE 'ROUTER-TEST: routerd-journal: .*' "$console" | sed -E 's/^ROUTER-TEST: routerd-journal: /  info    journal: /; s/\r$//' | head -n 5
check "routerd's own output reached the journal from its unit" grep -aq 'ROUTER-TEST: routerd-journal: ' "$console"
check "routerd --version runs on the image ($(marker routerd-version))" grep -aq 'ROUTER-TEST: routerd-version=routerd ' "$console"
check "routerd selftest exits 0" test "$(marker routerd-selftest-status)" = 0
check "first boot: /etc/router/wg0.key generated or kept, mode 600" test "$(marker wg0-key-mode)" = 600
pub=$(marker wg0-pub)
check "first boot: wg0.pub on the boot partition matches the private key" bash -c '[ -n "$1" ] && [ "$1" = "$2" ]' _ "$pub" "$(marker wg0-pub-of-key)"
[ "$tunnel" != 0 ] && check "the key printed early (and given to wireguard-go) is wg0.pub" test "$pub" = "$guest_pub"
check "SSH host keys generated on first boot ($(marker ssh-host-keys))" test "$(marker ssh-host-keys)" -ge 1
# Root growth: the copy is 2 GiB bigger than the image; the root partition must reach the disk's end (within the
# 1 MiB sfdisk keeps for alignment) and ext4 must have grown with it.
part_mib=$(marker root-part-mib); fs_mib=$(marker root-fs-mib)
grep -aoE 'ROUTER-TEST: grow-root-journal: .*' "$console" | sed -E 's/^ROUTER-TEST: grow-root-journal: /  info    grow-root: /; s/\r$//' | head -n 4
check "first boot grew the root partition to the end of the disk (${root_mib_before} -> ${part_mib:-?} MiB on a ${disk_mib} MiB disk)" \
  bash -c '[ -n "$1" ] && [ "$1" -ge $(( $2 - $3 - 2 )) ] && [ "$1" -gt "$4" ]' _ "${part_mib:-0}" "$disk_mib" "$(( $(field 2 start) / 2048 ))" "$root_mib_before"
check "first boot grew the root filesystem with it (df: ${fs_mib:-?} MiB, was at most ${root_mib_before} MiB)" \
  bash -c '[ -n "$1" ] && [ "$1" -gt $(( $2 + 1800 )) ]' _ "${fs_mib:-0}" "$root_mib_before"
check "router-grow-root.service active ($(marker grow-root))" test "$(marker grow-root)" = active
check "ssh.service active" test "$(marker ssh)" = active
check "nftables.service active (tables: $(marker nft-tables))" test "$(marker nftables)" = active
check "IPv4 forwarding on (sysctl.d)" test "$(marker ip_forward)" = 1
check "systemd-networkd active, eth0 by DHCP ($(marker eth0))" bash -c '[ "$1" = active ] && [[ "$2" == *10.0.2.15* ]]' _ "$(marker networkd)" "$(marker eth0)"
check "/boot/firmware mounted vfat with fmask=0077 ($(marker boot-mount))" bash -c '[[ "$1" == vfat*fmask=0077* ]]' _ "$(marker boot-mount)"
check "journal in memory only (no files in /var/log/journal)" test "$(marker journal-persistent-files)" = 0
failed_units=$(marker failed-units)
echo "  info  failed units: ${failed_units:-none}"
if [ "$tunnel" = 1 ]; then
  check "no failed unit" test -z "$failed_units"
else
  check "no failed unit other than routerd.service" bash -c 'for u in $1; do [ "$u" = routerd.service ] || exit 1; done' _ "$failed_units"
fi

# SSH as a person would: the key from the boot partition, no password.
sshq=(ip netns exec "$ns" ssh -F /dev/null -p "$ssh_port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
      -o ConnectTimeout=20 -o LogLevel=ERROR)
ssh_out=$("${sshq[@]}" -i "$work/id_test" -o BatchMode=yes -o IdentitiesOnly=yes root@127.0.0.1 'routerd --version' 2>&1)
check "SSH login as root with the key from /boot/firmware/authorized_keys (routerd --version: ${ssh_out%%$'\n'*})" \
  grep -q '^routerd ' <<<"$ssh_out"
pw_out=$("${sshq[@]}" -o BatchMode=yes -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive \
  root@127.0.0.1 true 2>&1)
check "SSH refuses passwords" grep -q 'Permission denied (publickey)' <<<"$pw_out"

if [ "$tunnel" != 0 ]; then
  echo "== stage 2: tunnel ($([ "$tunnel" = kernel ] && echo "guest kernel WireGuard, harness self-check" || echo routerd)) <-> wireguard-go"
  while [ -z "$hs_first" ] && alive && [ "$(date +%s)" -lt "$deadline" ]; do poll_handshake; [ -n "$hs_first" ] || sleep 1; done
  if [ -n "$hs_first" ]; then
    ok "handshake with wireguard-go (host side)"
    hs_boot=$(awk -v h="$hs_first" -v a="$t_boot" 'BEGIN { printf "%.1f", h - a }')
    hs_key=$(awk -v h="$hs_first" -v a="${t_key:-$t_boot}" 'BEGIN { printf "%.1f", h - a }')
    started=$(awk -v u="${start_mono:-0}" 'BEGIN { printf "%.1f", u / 1e6 }')
    echo "  info  boot to handshake: ${hs_boot}s after QEMU started (emulated, $cpu TCG); ${hs_key}s after the gateway's key was known to the host; routerd started ${started}s into the guest's boot"
    echo "BOOT-TO-HANDSHAKE ${hs_boot}s"
  else
    bad "no handshake with wireguard-go"
  fi
  check "ping host -> guest through the tunnel (10.99.0.1)" ip netns exec "$ns" ping -c 3 -W 3 10.99.0.1
  check "ping guest -> host through the tunnel (10.99.0.2)" test "$(marker guest-ping-status)" = 0
  show=$(grep -aoE 'ROUTER-TEST: routerd-show: .*' "$console" | sed -E 's/^ROUTER-TEST: routerd-show: //; s/\r$//')
  wgshow=$(grep -aoE 'ROUTER-TEST: wg-show: .*' "$console" | sed -E 's/^ROUTER-TEST: wg-show: //; s/\r$//')
  sed 's/^/  info    routerd show: /' <<<"$show"
  sed 's/^/  info    wg show: /' <<<"$wgshow" | grep -v 'private key'
  if [ "$tunnel" = 1 ]; then
    check "seed imported: /etc/router/router.json = the boot partition's router.json" test "$(marker seed-imported)" = yes
    check "routerd.service still active after the tunnel test" test "$(marker routerd-active)" = active
    check "routerd show: peer hq ($host_pub) is up" \
      bash -c 'grep -qF "peer: hq ($2)" <<<"$1" && grep -qE "^ +state: (up|traffic)" <<<"$1"' _ "$show" "$host_pub"
    check "firewall: routerd put its listen port in set wireguard_ports ($(marker wg-ports)) and wrote the include file" \
      bash -c '[ "$1" = "elements = { 51820 }" ] && [ "$2" = 1 ]' _ "$(marker wg-ports)" "$(marker wg-ports-file)"
  fi
  check "wg show (routerd's UAPI socket in the guest): peer $host_pub with a latest handshake" \
    bash -c 'grep -qF "peer: $2" <<<"$1" && grep -q "latest handshake:" <<<"$1"' _ "$wgshow" "$host_pub"
  echo "  info  host: $(ip netns exec "$ns" wg show "$wgif" 2>&1 | grep -v 'private key' | tr '\n' ' ' | tr -s ' ' | cut -c1-300)"
fi

# Let the guest finish and power off.
"${sshq[@]}" -i "$work/id_test" -o BatchMode=yes -o IdentitiesOnly=yes root@127.0.0.1 'touch /run/router-test-done' >/dev/null 2>&1
if wait_for 'ROUTER-TEST: END'; then
  for _ in $(seq 60); do alive || break; sleep 1; done
fi
if alive; then echo "  info  guest did not power off by itself; QEMU killed"; else log "guest powered off"; fi
kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid" 2>/dev/null; qemu_pid=""
# After shutdown, the boot partition of the copy holds what the gateway wrote there.
pub_disk=$(mtype -i "$fat" ::wg0.pub 2>/dev/null | tr -d '\r\n')
end_sector=$(sfdisk -d "$disk" 2>/dev/null | grep -E '^\S+2 :' | sed -nE 's/.*start= *([0-9]+), *size= *([0-9]+).*/\1 \2/p' | awk '{ print $1 + $2 }')
check "after shutdown: the copy's partition table has the root partition up to the disk's end (sector ${end_sector:-?} of $(( disk_mib * 2048 )))" \
  bash -c '[ -n "$1" ] && [ "$1" -gt $(( $2 - 4096 )) ] && [ "$1" -le "$2" ]' _ "${end_sector:-0}" "$(( disk_mib * 2048 ))"
check "wg0.pub readable from the boot partition after shutdown (as from a laptop)" bash -c '[ -n "$1" ] && [ "$1" = "$2" ]' _ "$pub_disk" "$pub"

cp "$console" "${ROUTER_BOOT_CONSOLE_LOG:-/var/tmp/router-boot-test-console.log}" 2>/dev/null || true
log "console log: ${ROUTER_BOOT_CONSOLE_LOG:-/var/tmp/router-boot-test-console.log}"
echo "boot-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
