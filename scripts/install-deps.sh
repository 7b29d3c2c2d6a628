#!/usr/bin/env bash
# Installs the Debian packages Router's scripts need, only those missing, without recommends.
#   scripts/install-deps.sh [test|demo|image]...
# cross: the arm64 cross toolchain (clang, lld, Debian's arm64 C runtime)
# test: everything the test command uses (peers, tools, cross toolchain, qemu user mode, qemu-system-x86 + busybox
#       for the kernel WireGuard peer that scripts/kernel-peer.sh builds)
# demo: what the quick-start demo uses; image: what the firmware image build and boot test use
set -euo pipefail
declare -A sets=(
  [demo]="iproute2 iputils-ping wireguard-tools procps ncat"
  [cross]="clang lld llvm gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
  [test]="jq wireguard-go wireguard-tools iperf3 iputils-ping ncat iptables nftables iproute2 procps util-linux openssh-server openssh-client ethtool groff-base
          qemu-system-x86 busybox-static cpio
          qemu-user-static clang lld llvm gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
  [image]="mmdebstrap qemu-user-static binfmt-support qemu-system-arm dosfstools mtools e2fsprogs fdisk
           arch-test debian-archive-keyring dpkg-dev openssh-client util-linux wireguard-go wireguard-tools iputils-ping
           device-tree-compiler jq"
)
want=()
for s in "${@:-test}"; do
  [ -n "${sets[$s]+x}" ] || { echo "install-deps: unknown set '$s'" >&2; exit 2; }
  for p in ${sets[$s]}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
  done
done
if [ ${#want[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${want[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
echo "install-deps: done"
