#!/usr/bin/env bash
# Handshake floods, routerd and wireguard-go side by side in one run, repeated:
#   bench/scripts/attack.sh [ROUNDS]          (default 3; ROUTERD=path, else artifacts/linux-x64/routerd)
# Each round runs the two namespaced flood experiments of tests/Router.Daemon.Tests/Interop/HandshakeFloodTests.cs,
# each with routerd and then wireguard-go as the responder against the same attacker namespace (150 addresses):
#   trickle: wrong-MAC1 initiations at ~200/s; first ping of fresh legitimate handshakes (worst of several);
#   flood:   valid-MAC1 initiations from two senders at full speed; pings through an established tunnel every 0.1 s
#            (loss, RTT), a fresh handshake's time, the responder's CPU and drop counts.
# Prints each round's figure lines with the load average, then the best and worst round per implementation for
# the flood's ping loss. Run as root after `dotnet build Router.sln -c Release` and scripts/publish.sh linux-x64.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds="${1:-3}"
export ROUTERD_BIN="${ROUTERD:-$root/artifacts/linux-x64/routerd}"
[ -x "$ROUTERD_BIN" ] || { echo "attack: no routerd at $ROUTERD_BIN (scripts/publish.sh linux-x64)" >&2; exit 1; }
out="$(mktemp)"; trap 'rm -f "$out"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "=== round $r of $rounds (load $(cut -d' ' -f1-3 /proc/loadavg))"
  dotnet test "$root/tests/Router.Daemon.Tests" -c Release --no-build --filter 'FullyQualifiedName~HandshakeFloodTests' \
    --logger 'console;verbosity=detailed' 2>&1 | tee -a "$out" \
    | grep -E '^\s+(wrong-mac1|valid-mac1|routerd|wireguard-go|load average)|Passed!|Failed!' || true
done
echo
echo "=== flood ping loss over $rounds round(s): best / worst"
for impl in routerd wireguard-go; do
  grep -E "^\s+$impl " "$out" | grep -oE '[0-9.]+% (ping )?loss|loss [0-9.]+%' | grep -oE '[0-9.]+' \
    | sort -n | awk -v i="$impl" 'NR == 1 { b = $1 } { w = $1 } END { if (NR) printf "  %-13s %s%% / %s%% (%d flood figures)\n", i, b, w, NR }'
done
