#!/usr/bin/env bash
# Builds the routerd Debian package from a publish folder: routerd_VERSION_ARCH.deb.
#   scripts/build-deb.sh PUBLISH_DIR [OUTDIR] [ARCH]
#     PUBLISH_DIR  output of scripts/publish.sh (routerd, libsodium.so and any other native library beside it)
#     OUTDIR       where the .deb goes (default: artifacts/deb)
#     ARCH         Debian architecture (default: arm64; amd64 for a linux-x64 publish)
#   ROUTERD_VERSION overrides the version (default: <Version> in Directory.Build.props).
# The last line printed is the path of the package. No root needed (dpkg-deb --root-owner-group).
#
# Layout: /usr/lib/routerd/{routerd,libsodium.so,...} with /usr/sbin/routerd -> ../lib/routerd/routerd, so the
# private libsodium (NSec pins 1.0.22; Debian has 1.0.18) sits beside the real binary, where .NET's native library
# probing looks (AppContext.BaseDirectory is the resolved path of the executable), and `routerd` is on root's PATH
# for wg-quick (WG_QUICK_USERSPACE_IMPLEMENTATION=routerd). Files: rootfs/routerd/ (units, sysctl, first-boot
# script, example), packaging/deb/ (control, maintainer scripts), docs/FIRMWARE.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
publish="${1:?usage: build-deb.sh PUBLISH_DIR [OUTDIR] [ARCH]}"
out="${2:-$root/artifacts/deb}"
arch="${3:-arm64}"
[ -x "$publish/routerd" ] || { echo "build-deb: no executable routerd in $publish" >&2; exit 1; }
version="${ROUTERD_VERSION:-$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$root/Directory.Build.props" | head -n 1)}"
[ -n "$version" ] || { echo "build-deb: no version" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib/routerd" "$pkg/usr/sbin" "$pkg/usr/share/doc/routerd"

cp -a "$root/rootfs/routerd/." "$pkg/"
install -m 0755 "$publish/routerd" "$pkg/usr/lib/routerd/routerd"
for lib in "$publish"/*.so; do
  [ -e "$lib" ] || continue
  install -m 0644 "$lib" "$pkg/usr/lib/routerd/"
done
[ -e "$pkg/usr/lib/routerd/libsodium.so" ] || echo "build-deb: warning: no libsodium.so in $publish" >&2
ln -s ../lib/routerd/routerd "$pkg/usr/sbin/routerd"
install -D -m 0644 "$root/packaging/man/routerd.8" "$pkg/usr/share/man/man8/routerd.8"
gzip -9n "$pkg/usr/share/man/man8/routerd.8"
[ -f "$root/docs/FIRMWARE.md" ] && install -m 0644 "$root/docs/FIRMWARE.md" "$pkg/usr/share/doc/routerd/FIRMWARE.md"
cat > "$pkg/usr/share/doc/routerd/copyright" <<'EOF'
routerd: see the Router source repository for its licence.
Bundled: libsodium (ISC licence, Copyright (c) 2013-2025 Frank Denis), from the NSec.Cryptography package.
EOF

# Modes: directories 0755, files 0644 unless executable; the first-boot script and binaries 0755.
find "$pkg" -type d -exec chmod 0755 {} +
find "$pkg" -type f ! -perm -u+x -exec chmod 0644 {} +
find "$pkg" -type f -perm -u+x -exec chmod 0755 {} +

install -m 0644 "$root/packaging/deb/conffiles" "$pkg/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$root/packaging/deb/$s" "$pkg/DEBIAN/$s"; done
size_kib=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size_kib/" \
  "$root/packaging/deb/control.in" > "$pkg/DEBIAN/control"
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/routerd_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Installed-Size\|Depends\): /  \1: /p' >&2
dpkg-deb --contents "$deb" | awk '{ printf "  %s %10s %s %s %s\n", $1, $3, $6, $7, $8 }' >&2
echo "$deb"
