#!/usr/bin/env bash
# The README's main-job command: two branch sites joined by routerd.
# Builds routerd (Native AOT), checks its crypto on this CPU, then builds two sites in network namespaces — each a
# LAN host behind a routerd gateway, the gateways joined by a "WAN" veth — brings the tunnel up with wg(8) as
# wg-quick would, sends traffic from LAN to LAN through it, and prints the tunnel state. Everything it creates is
# removed when it ends, also on failure or Ctrl-C. Run as root.
#   scripts/demo.sh            ROUTERD=path/to/routerd scripts/demo.sh (skip the build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "checking Debian packages"
scripts/install-deps.sh demo
if [ -z "${ROUTERD:-}" ]; then
  say "publishing routerd (Native AOT, linux-x64)"
  scripts/publish.sh linux-x64 "$root/artifacts/linux-x64"
  ROUTERD="$root/artifacts/linux-x64/routerd"
fi
say "routerd --version"; "$ROUTERD" --version
say "routerd selftest (crypto known answers on this CPU's paths)"; "$ROUTERD" selftest

t="demo$$"
lanA="${t}-lanA" gwA="${t}-gwA" gwB="${t}-gwB" lanB="${t}-lanB"
ifA="${t:0:8}a" ifB="${t:0:8}b"
cleanup() {
  for ns in "$gwA" "$gwB"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; done
  sleep 0.3
  for ns in "$lanA" "$gwA" "$gwB" "$lanB"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -f "/var/run/wireguard/$ifA.sock" "/var/run/wireguard/$ifB.sock"
}
trap cleanup EXIT INT TERM

say "building two sites: LAN 192.168.10.0/24 behind gateway A, LAN 192.168.20.0/24 behind gateway B, WAN 192.0.2.0/24"
for ns in "$lanA" "$gwA" "$gwB" "$lanB"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
link() { ip link add "$3" netns "$1" type veth peer name "$4" netns "$2"; ip -n "$1" link set "$3" up; ip -n "$2" link set "$4" up; }
link "$lanA" "$gwA" lan0 lan0
link "$gwA" "$gwB" wan0 wan0
link "$gwB" "$lanB" lan0 lan0
ip -n "$lanA" addr add 192.168.10.2/24 dev lan0; ip -n "$lanA" route add default via 192.168.10.1
ip -n "$gwA" addr add 192.168.10.1/24 dev lan0;  ip -n "$gwA" addr add 192.0.2.1/24 dev wan0
ip -n "$gwB" addr add 192.0.2.2/24 dev wan0;     ip -n "$gwB" addr add 192.168.20.1/24 dev lan0
ip -n "$lanB" addr add 192.168.20.2/24 dev lan0; ip -n "$lanB" route add default via 192.168.20.1
for ns in "$gwA" "$gwB"; do ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1; done

say "starting routerd on both gateways (drop-in mode, as wg-quick runs it) and configuring it with wg(8)"
keyA=$("$ROUTERD" genkey 2>/dev/null || wg genkey); keyB=$(wg genkey)
pubA=$(wg pubkey <<<"$keyA"); pubB=$(wg pubkey <<<"$keyB")
ip netns exec "$gwA" "$ROUTERD" "$ifA"
ip netns exec "$gwB" "$ROUTERD" "$ifB"
ip netns exec "$gwA" wg set "$ifA" private-key <(echo "$keyA") listen-port 51820 \
  peer "$pubB" endpoint 192.0.2.2:51820 allowed-ips 10.10.0.2/32,192.168.20.0/24 persistent-keepalive 25
ip netns exec "$gwB" wg set "$ifB" private-key <(echo "$keyB") listen-port 51820 \
  peer "$pubA" endpoint 192.0.2.1:51820 allowed-ips 10.10.0.1/32,192.168.10.0/24 persistent-keepalive 25
ip -n "$gwA" addr add 10.10.0.1/30 dev "$ifA"; ip -n "$gwA" link set "$ifA" up; ip -n "$gwA" route add 192.168.20.0/24 dev "$ifA"
ip -n "$gwB" addr add 10.10.0.2/30 dev "$ifB"; ip -n "$gwB" link set "$ifB" up; ip -n "$gwB" route add 192.168.10.0/24 dev "$ifB"

say "LAN A host pings LAN B host through the tunnel"
ip netns exec "$lanA" ping -c 4 -i 0.3 192.168.20.2

say "LAN B host sends 16 MB to LAN A host over TCP through the tunnel (checked by SHA-256)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; cleanup' EXIT INT TERM
head -c 16M /dev/urandom > "$tmp/sent"
ip netns exec "$lanA" timeout 60 ncat -l -p 7000 --recv-only > "$tmp/received" &
sleep 0.5
ip netns exec "$lanB" timeout 60 ncat --send-only 192.168.10.2 7000 < "$tmp/sent"
wait
a=$(sha256sum < "$tmp/sent" | cut -c1-16); b=$(sha256sum < "$tmp/received" | cut -c1-16)
echo "sent $a..., received $b... ($(stat -c %s "$tmp/received") bytes)"
[ "$a" = "$b" ] || { echo "demo: MISMATCH"; exit 1; }

say "tunnel state on gateway A (wg show)"
ip netns exec "$gwA" wg show "$ifA"
say "tunnel state on gateway B (wg show)"
ip netns exec "$gwB" wg show "$ifB"
say "demo: ok — two LANs joined through routerd; cleaning up"
