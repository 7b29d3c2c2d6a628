#!/usr/bin/env bash
# Publishes routerd with Native AOT for one runtime: linux-x64 (native) or linux-arm64 (cross-compiled on x86-64).
# This is the one publish recipe: test.sh, the image build and Dockerfile.cross all call it.
#   scripts/publish.sh [linux-x64|linux-arm64] [OUTDIR]
# Fails on any trim/AOT warning (IL2xxx/IL3xxx) and prints the published files with their sizes.
set -euo pipefail
rid="${1:-linux-x64}"
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${2:-$root/artifacts/$rid}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

args=(-c Release -r "$rid" -o "$out" -p:TreatWarningsAsErrors=true -p:DebugType=none -p:DebugSymbols=false)
case "$rid" in
  linux-x64) ;;
  linux-arm64)
    if [ "$(uname -m)" != aarch64 ]; then
      # Cross-link with clang + lld against Debian's arm64 multiarch C runtime (gcc-aarch64-linux-gnu,
      # libc6-dev-arm64-cross). A sysroot of /usr/aarch64-linux-gnu fails: its libc.so script has absolute paths.
      args+=(-p:SysRoot=/ -p:LinkerFlavor=lld -p:ObjCopyName=llvm-objcopy)
    fi ;;
  *) echo "publish.sh: unsupported runtime '$rid' (linux-x64 or linux-arm64)" >&2; exit 2 ;;
esac

echo "publish: dotnet publish src/Router.Daemon ${args[*]}"
rm -rf "$out"
dotnet publish "$root/src/Router.Daemon/Router.Daemon.csproj" "${args[@]}" 2>&1 | tee "$log" | grep -vE '^\s*$' | tail -n 5
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "publish: FAILED for $rid" >&2
  grep -E 'error|warning' "$log" | sort -u | head -n 40 >&2 || true
  exit 1
fi
if grep -E 'warning (IL[23][0-9]{3}|IL[0-9]{4})' "$log" >/dev/null; then
  echo "publish: trim/AOT warnings for $rid:" >&2
  grep -E 'warning IL[0-9]{4}' "$log" | sort -u >&2
  exit 1
fi
echo "publish: $rid -> $out (0 trim/AOT warnings)"
(cd "$out" && find . -maxdepth 1 -type f ! -name '*.dbg' -printf '%s\t%f\n' | sort -rn | awk -F'\t' '{ printf "  %10d  %6.2f MB  %s\n", $1, $1/1048576, $2 }')
