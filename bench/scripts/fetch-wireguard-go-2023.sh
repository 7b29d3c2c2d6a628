#!/usr/bin/env bash
# Fetches Debian 13 (trixie)'s wireguard-go (0.0.20231211: batched I/O, TUN offloads) for the tunnel benchmark,
# with apt's ordinary client and a private sources list, state and cache: the machine's own sources stay Debian 12
# only and its apt lists, caches and dpkg database are not touched. Idempotent: a second run only prints the version.
#   bench/scripts/fetch-wireguard-go-2023.sh [CACHEDIR]      (default /var/tmp/router-bench)
# Result: CACHEDIR/wireguard-go-2023/usr/bin/wireguard-go; prints its path and the package version on stdout.
# The binary itself reports "v0.0.20230223" (upstream did not bump version.go for the 0.0.20231211 tag), so the
# package version is kept beside it in CACHEDIR/wireguard-go-2023/PACKAGE-VERSION.
set -euo pipefail
cache="${1:-/var/tmp/router-bench}"
dest="$cache/wireguard-go-2023"
bin="$dest/usr/bin/wireguard-go"
want="0.0.20231211"

if [ ! -x "$bin" ]; then
  apt_dir="$cache/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb http://deb.debian.org/debian trixie main" > "$apt_dir/sources.list"
  apt=(apt-get -q -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
       -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
       -o "APT::Architectures=$(dpkg --print-architecture)" -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false)
  work="$(mktemp -d "$cache/fetch.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  chown _apt "$work" 2>/dev/null || true   # lets apt download as its unprivileged _apt user
  "${apt[@]}" update >&2
  version="$("${apt[@]}" -q=2 download --print-uris "wireguard-go/trixie" | awk '{ print $2 }' | sed -E 's/^wireguard-go_([^_]+)_.*/\1/')"
  case "$version" in "$want"*) ;; *) echo "fetch-wireguard-go-2023: trixie has wireguard-go '$version', want $want" >&2; exit 1 ;; esac
  (cd "$work" && "${apt[@]}" download "wireguard-go/trixie" >&2)
  dpkg-deb -x "$work"/wireguard-go_*.deb "$work/root"
  dpkg-deb -f "$work"/wireguard-go_*.deb Version > "$work/root/PACKAGE-VERSION"
  rm -rf "$dest"
  mv "$work/root" "$dest"
fi
echo "$bin"
echo "wireguard-go $(cat "$dest/PACKAGE-VERSION") (Debian 13 package; binary says: $("$bin" --version | head -n 1))"
