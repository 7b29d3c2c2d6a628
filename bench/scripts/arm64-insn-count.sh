#!/usr/bin/env bash
# ARM64 instructions per AEAD seal without a board: routerd's ChaCha20-Poly1305, OpenSSL's (its NEON assembly) and
# libsodium 1.0.22's, each sealing 64, 1420 and 65536 bytes in one Native AOT program (bench/Router.AeadCount) under
# qemu-aarch64 in single-step mode, where every executed instruction is one translation block and -d exec logs one
# line per block. Each case runs twice (N1 and N2 seals) and the difference / (N2 - N1) is the cost of one seal:
# process start-up, library loading and key setup cancel out. Deterministic (no JIT, no allocation in the loop), so
# one run per case is exact for that code path; -cpu picks the ISA the libraries detect (cortex-a72 = Pi 4,
# cortex-a76 = Pi 5: no SVE, which qemu's default 'max' CPU has and OpenSSL would use).
#   bench/scripts/arm64-insn-count.sh [ARM64_ROOT]
# ARM64_ROOT: an arm64 Debian root with /usr/lib/aarch64-linux-gnu/libcrypto.so.3 (default: extracted from the
# image build's cached base, /var/tmp/router-image-cache/base-*-arm64-*.tar). Prints a markdown table.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
sysroot="${1:-}"
cleanup=""
if [ -z "$sysroot" ]; then
  tarball=$(ls -t /var/tmp/router-image-cache/base-*-arm64-*.tar 2>/dev/null | head -n 1 || true)
  if [ -z "$tarball" ]; then
    echo "no arm64 root: build the image once (scripts/build-image.sh caches its Debian base) or pass ARM64_ROOT" >&2
    exit 2
  fi
  sysroot=$(mktemp -d /tmp/arm64-root.XXXXXX); cleanup="$sysroot"
  tar -xf "$tarball" -C "$sysroot" ./usr/lib/aarch64-linux-gnu ./usr/lib/ld-linux-aarch64.so.1 ./lib 2>/dev/null || true
fi
out="$root/artifacts/aeadcount-arm64"
trap '[ -n "$cleanup" ] && rm -rf "$cleanup"' EXIT
dotnet publish bench/Router.AeadCount -c Release -r linux-arm64 -o "$out" -p:TreatWarningsAsErrors=true -p:DebugType=none \
  -p:SysRoot=/ -p:LinkerFlavor=lld -p:ObjCopyName=llvm-objcopy >/dev/null
openssl_version=$(grep -a -m1 -oE 'OpenSSL [0-9]+\.[0-9]+\.[0-9]+' "$sysroot/usr/lib/aarch64-linux-gnu/libcrypto.so.3" | head -n 1)

# Instructions executed by one run (single-step: one "Trace" line per instruction).
count() {
  local cpu=$1; shift
  (cd "$out" && LD_LIBRARY_PATH="$sysroot/usr/lib/aarch64-linux-gnu:." qemu-aarch64-static -cpu "$cpu" -L "$sysroot" \
    -singlestep -d exec,nochain -D /dev/stderr ./Router.AeadCount "$@" 2>&1 >/dev/null | grep -c '^Trace')
}
per_seal() {
  local cpu=$1 impl=$2 size=$3 n=$4
  local a b
  a=$(count "$cpu" "$impl" "$size" 1); b=$(count "$cpu" "$impl" "$size" $((n + 1)))
  echo $(( (b - a) / n ))
}
# Same result from all three, or the comparison is void.
for impl in routerd libsodium openssl; do
  tag=$(cd "$out" && LD_LIBRARY_PATH="$sysroot/usr/lib/aarch64-linux-gnu:." qemu-aarch64-static -cpu cortex-a72 -L "$sysroot" ./Router.AeadCount $impl 1420 3)
  echo "check: $impl last tag byte $tag" >&2
done

echo "| CPU model | bytes | routerd insn | OpenSSL insn ($openssl_version) | libsodium 1.0.22 insn | routerd insn/byte | OpenSSL insn/byte | routerd / OpenSSL |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for cpu in cortex-a72 cortex-a76; do
  for size in 64 1420 65536; do
    case $size in 64) n=1000 ;; 1420) n=100 ;; *) n=4 ;; esac
    r=$(per_seal $cpu routerd $size $n); o=$(per_seal $cpu openssl $size $n); s=$(per_seal $cpu libsodium $size $n)
    printf '| %s | %d | %d | %d | %d | %.2f | %.2f | %.2f |\n' "$cpu" "$size" "$r" "$o" "$s" \
      "$(echo "$r / $size" | bc -l)" "$(echo "$o / $size" | bc -l)" "$(echo "$r / $o" | bc -l)"
  done
done
