#!/usr/bin/env bash
# The README's main-job command: two branch sites joined by routerd.
# Builds routerd (Native AOT), checks its crypto on this CPU, then builds two sites in network namespaces — each a
# LAN host behind a routerd gateway, the gateways joined by a "WAN" veth — gives each gateway a router.json and a
# 0600 key file, starts `routerd run` (firmware mode, as the Pi image does) on both, sends traffic from LAN to LAN
# through the tunnel, and prints `routerd show` and `wg show`. Everything it creates is
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

say "writing each gateway's router.json and key file (as an admin would under /etc/router), checked with routerd check"
etc=$(mktemp -d); chmod 700 "$etc"
trap 'rm -rf "$etc"; cleanup' EXIT INT TERM
(umask 077; "$ROUTERD" genkey > "$etc/a.key"; "$ROUTERD" genkey > "$etc/b.key")
pubA=$("$ROUTERD" pubkey < "$etc/a.key"); pubB=$("$ROUTERD" pubkey < "$etc/b.key")
site() { # NAME IFNAME KEY ADDRESS PEER-NAME PEER-PUB PEER-ENDPOINT PEER-TUNNEL PEER-LAN
  cat > "$etc/$1.json" <<JSON
{
  "interfaces": {
    "$2": {
      "privateKeyFile": "$etc/$3",
      "listenPort": 51820,
      "addresses": ["$4"],
      "mtu": 1420,
      "peers": [
        { "name": "$5", "publicKey": "$6", "endpoint": "$7",
          "allowedIps": ["$8", "$9"], "persistentKeepalive": 25 }
      ]
    }
  },
  "forwarding": { "enabled": true, "masquerade": [], "mssClamp": true },
  "state": { "timestampFloorFile": "$etc/$1-timestamp-floor" }
}
JSON
  "$ROUTERD" check "$etc/$1.json"
}
site site-a "$ifA" a.key 10.10.0.1/30 site-b "$pubB" 192.0.2.2:51820 10.10.0.2/32 192.168.20.0/24
site site-b "$ifB" b.key 10.10.0.2/30 site-a "$pubA" 192.0.2.1:51820 10.10.0.1/32 192.168.10.0/24
cat "$etc/site-a.json"

say "starting 'routerd run' (firmware mode, as the Pi image runs it) on both gateways"
for s in a b; do
  ns=$gwA; [ "$s" = b ] && ns=$gwB
  ip netns exec "$ns" env ROUTERD_CONTROL_SOCKET="$etc/$s-control.sock" ROUTERD_STATUS_SOCKET="$etc/$s-status.sock" \
    ROUTERD_SEED=none "$ROUTERD" run --config "$etc/site-$s.json" > >(sed -u "s/^/  [gateway $s] /") 2>&1 &
done
for s in a b; do
  for _ in $(seq 1 100); do [ -S "$etc/$s-status.sock" ] && break; sleep 0.1; done
  [ -S "$etc/$s-status.sock" ] || { echo "demo: routerd run on gateway $s did not come up"; exit 1; }
done

say "LAN A host pings LAN B host through the tunnel"
ip netns exec "$lanA" ping -c 4 -i 0.3 192.168.20.2

say "LAN B host sends 16 MB to LAN A host over TCP through the tunnel (checked by SHA-256)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp" "$etc"; cleanup' EXIT INT TERM
head -c 16M /dev/urandom > "$tmp/sent"
ip netns exec "$lanA" timeout 60 ncat -l -p 7000 --recv-only > "$tmp/received" &
listener=$!
sleep 0.5
ip netns exec "$lanB" timeout 60 ncat --send-only 192.168.10.2 7000 < "$tmp/sent"
wait "$listener"  # not a bare wait: the gateways' routerd run are background jobs too
a=$(sha256sum < "$tmp/sent" | cut -c1-16); b=$(sha256sum < "$tmp/received" | cut -c1-16)
echo "sent $a..., received $b... ($(stat -c %s "$tmp/received") bytes)"
[ "$a" = "$b" ] || { echo "demo: MISMATCH"; exit 1; }

say "tunnel state on gateway A (routerd show)"
ip netns exec "$gwA" env ROUTERD_STATUS_SOCKET="$etc/a-status.sock" "$ROUTERD" show
say "tunnel state on gateway B (routerd show)"
ip netns exec "$gwB" env ROUTERD_STATUS_SOCKET="$etc/b-status.sock" "$ROUTERD" show
say "the same gateway as wg(8) sees it (routerd serves the UAPI socket in firmware mode too)"
ip netns exec "$gwA" wg show "$ifA"
say "demo: ok — two LANs joined through routerd; cleaning up"
