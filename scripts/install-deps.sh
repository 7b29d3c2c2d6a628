#!/usr/bin/env bash
# Installs the Debian packages Router's scripts need, only those missing, without recommends.
#   scripts/install-deps.sh [test|demo|image]...
# cross: the arm64 cross toolchain (clang, lld, Debian's arm64 C runtime)
# test: everything the test command uses (peers, tools, cross toolchain, qemu user mode, qemu-system-x86 + busybox
#       for the kernel WireGuard peer that scripts/kernel-peer.sh builds), and promtool (see fetch_promtool)
# demo: what the quick-start demo uses; image: what the firmware image build and boot test use
set -euo pipefail
declare -A sets=(
  [demo]="iproute2 iputils-ping wireguard-tools procps ncat"
  [cross]="clang lld llvm gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
  [test]="jq wireguard-go wireguard-tools iperf3 iputils-ping ncat iptables nftables iproute2 procps util-linux openssh-server openssh-client ansible-core ethtool groff-base zbar-tools
          qemu-system-x86 busybox-static cpio
          qemu-user-static clang lld llvm gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
  [image]="mmdebstrap qemu-user-static binfmt-support qemu-system-arm dosfstools mtools e2fsprogs fdisk
           arch-test debian-archive-keyring dpkg-dev openssh-client util-linux wireguard-go wireguard-tools iputils-ping
           device-tree-compiler jq"
)
# promtool, for the alert rules in contrib/prometheus: Debian's prometheus package unpacked into a cache, so that
# the Prometheus service itself is neither installed nor started.
promtool_cache=/var/tmp/router-promtool-cache
fetch_promtool() {
  [ -x "$promtool_cache/usr/bin/promtool" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then echo "install-deps: need root to fetch promtool" >&2; return 1; fi
  local tmp; tmp=$(mktemp -d)
  chmod 755 "$tmp"
  echo "install-deps: fetching promtool (Debian package prometheus, unpacked into $promtool_cache)"
  # A fresh machine may have no package lists yet.
  (cd "$tmp" && { apt-get download -qq -o APT::Sandbox::User=root prometheus 2>/dev/null || { apt-get update -qq && apt-get download -qq -o APT::Sandbox::User=root prometheus; }; }) >/dev/null \
    && dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root" \
    && mkdir -p "$promtool_cache/usr/bin" && mv "$tmp/root/usr/bin/promtool" "$promtool_cache/usr/bin/"
  local status=$?
  rm -rf "$tmp"
  [ "$status" -eq 0 ] && "$promtool_cache/usr/bin/promtool" --version | head -n 1
  return "$status"
}
want=()
for s in "${@:-test}"; do
  [ -n "${sets[$s]+x}" ] || { echo "install-deps: unknown set '$s'" >&2; exit 2; }
  for p in ${sets[$s]}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
  done
done
[[ " ${*:-test} " == *" test "* ]] && need_promtool=1 || need_promtool=0
if [ ${#want[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
  [ "$need_promtool" -eq 0 ] || fetch_promtool
  exit
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${want[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
[ "$need_promtool" -eq 0 ] || fetch_promtool
echo "install-deps: done"
