#!/usr/bin/env bash
# Random loss on the outer UDP between two userspace WireGuard ends (no netem here: an nftables rule drops
# "numgen random mod 100 < P" of each namespace's incoming port-51820 datagrams, so each direction loses P%), then
# what the tunnel does about it: handshake time from fresh peers (TRIALS runs), inner ping loss against the outer loss
# the rules counted, TCP goodput (iperf3, IPERF_SECONDS s), and recovery once the rules are gone (time to the first reply,
# then loss over 50 pings).
#   sudo bench/scripts/loss-recovery.sh [PAIR...]      PAIR = A:B (routerd, wg2022, wg2023 or a path); default routerd:wg2022 wg2022:wg2022
#   LOSSES="10 30" TRIALS=5 IPERF_SECONDS=5
# Prints one block per pair and loss, and the load average (2-core machine, shared: compare within one run).
set -euo pipefail
LOSSES="${LOSSES:-10 30}"
TRIALS="${TRIALS:-5}"
SECONDS_IPERF="${IPERF_SECONDS:-5}"
TUN_TAG="ls$$"; TUN_TAG="${TUN_TAG:0:7}"
source "$(dirname "$0")/tunnel-lib.sh"
trap tunnel_down EXIT
pairs=("${@:-routerd:wg2022 wg2022:wg2022}")
# shellcheck disable=SC2206
pairs=(${pairs[*]})
impl_init "${pairs[*]}"

loss_on() { # PERCENT: the rule in both namespaces
  for ns in "$TUN_NSA" "$TUN_NSB"; do
    ip netns exec "$ns" nft -f - <<EOF
table inet loss {
  chain input {
    type filter hook input priority 0;
    udp dport 51820 counter
    udp dport 51820 numgen random mod 100 < $1 counter drop
  }
}
EOF
  done
}
loss_off() { for ns in "$TUN_NSA" "$TUN_NSB"; do ip netns exec "$ns" nft delete table inet loss 2>/dev/null || true; done; }
# Outer loss the rules saw, both directions together: dropped/seen in percent.
outer_loss() {
  local seen=0 dropped=0 s d
  for ns in "$TUN_NSA" "$TUN_NSB"; do
    read -r s d < <(ip netns exec "$ns" nft -j list table inet loss | jq -r '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | "\(.[0]) \(.[1])"')
    seen=$((seen + s)); dropped=$((dropped + d))
  done
  awk -v s="$seen" -v d="$dropped" 'BEGIN { printf "%.1f%% of %d", (s ? 100 * d / s : 0), s }'
}
now_ms() { date +%s%3N; }
ping_loss() { # COUNT INTERVAL: percent lost, from A
  ip netns exec "$TUN_NSA" ping -q -c "$1" -i "$2" -W 1 10.99.0.2 2>/dev/null | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p'
}
# Fresh peers on both ends (wg setconf replaces them: no session), then time until A reports a handshake while a
# ping keeps asking for one; prints milliseconds or "none".
handshake_ms() {
  local start pid t
  ip netns exec "$TUN_NSA" wg showconf "${TUN_TAG}A" >"$tmp/a.conf"; ip netns exec "$TUN_NSB" wg showconf "${TUN_TAG}B" >"$tmp/b.conf"
  ip netns exec "$TUN_NSA" wg setconf "${TUN_TAG}A" "$tmp/a.conf"; ip netns exec "$TUN_NSB" wg setconf "${TUN_TAG}B" "$tmp/b.conf"
  start=$(now_ms)
  ip netns exec "$TUN_NSA" ping -q -i 0.2 -w 100 10.99.0.2 >/dev/null 2>&1 & pid=$!
  t=none
  for _ in $(seq 1000); do
    if ip netns exec "$TUN_NSA" wg show "${TUN_TAG}A" latest-handshakes | awk '{ exit !($2 > 0) }'; then t=$(( $(now_ms) - start )); break; fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  echo "$t"
}
goodput() { # Mbit/s received, iperf3 TCP from A to B
  ip netns exec "$TUN_NSA" timeout $((SECONDS_IPERF + 20)) iperf3 -c 10.99.0.2 -t "$SECONDS_IPERF" -J 2>/dev/null \
    | jq -r '.end.sum_received.bits_per_second // 0 | . / 1e6 | floor' || echo 0
}

tmp="$(mktemp -d)"; trap 'tunnel_down; rm -rf "$tmp"' EXIT
for pair in "${pairs[@]}"; do
  a="${pair%%:*}" b="${pair##*:}"
  tunnel_up "$(impl_program "$a")" "$(impl_program "$b")"
  tunnel_iperf_server
  echo "=== $a (A) <-> $b (B): load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "no loss: ping loss $(ping_loss 100 0.02)%, TCP $(goodput) Mbit/s"
  for p in $LOSSES; do
    loss_on "$p"
    times=()
    for _ in $(seq "$TRIALS"); do times+=("$(handshake_ms)"); done
    inner=$(ping_loss 300 0.02)
    tcp=$(goodput)
    outer=$(outer_loss)
    loss_off
    start=$(now_ms); first=none
    for _ in $(seq 100); do
      if ip netns exec "$TUN_NSA" ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1; then first=$(( $(now_ms) - start )); break; fi
    done
    echo "loss ${p}%/direction (outer counted: $outer): handshake ms [${times[*]}], inner ping loss ${inner}%, TCP ${tcp} Mbit/s; rules removed: first reply after ${first} ms, then ping loss $(ping_loss 50 0.05)%; load $(cut -d' ' -f1-3 /proc/loadavg)"
  done
  tunnel_down
done
