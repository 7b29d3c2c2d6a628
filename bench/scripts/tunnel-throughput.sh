#!/usr/bin/env bash
# Tunnel throughput, latency and cost of userspace WireGuard implementations, side by side in one run.
# Two network namespaces joined by a veth pair (MTU 1500, tunnel MTU 1420); one implementation per end, both
# configured with wg(8) over the UAPI socket, exactly as wg-quick would. For each pair it measures:
# iperf3 TCP throughput (1 and 4 streams), ping RTT idle and under load, the CPU seconds both daemons used per GB
# moved and their peak RSS.
#   bench/scripts/tunnel-throughput.sh [SECONDS] [PAIR...]       PAIR = IMPL_A:IMPL_B, IMPL = a program path
# Defaults: 10 s per run; pairs routerd:routerd, routerd:wireguard-go, wireguard-go:wireguard-go.
# Output: a Markdown table on stdout and a TSV in bench/results/ (for docs/PERFORMANCE.md and the chart).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
secs="${1:-10}"; shift || true
routerd="${ROUTERD:-$root/artifacts/linux-x64/routerd}"
wggo="${WIREGUARD_GO:-/usr/bin/wireguard-go}"
pairs=("$@")
[ ${#pairs[@]} -gt 0 ] || pairs=("$routerd:$routerd" "$routerd:$wggo" "$wggo:$wggo")
mkdir -p "$root/bench/results"
tsv="$root/bench/results/tunnel-$(date +%Y%m%d-%H%M%S).tsv"
tag="tb$$"
nsa="${tag}a" nsb="${tag}b"
pids=()

cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 0.3
  ip netns del "$nsa" 2>/dev/null || true
  ip netns del "$nsb" 2>/dev/null || true
  rm -f "/var/run/wireguard/${tag}A.sock" "/var/run/wireguard/${tag}B.sock"
}
trap cleanup EXIT

name_of() { case "$(basename "$1")" in routerd) echo routerd;; wireguard-go*) echo "wireguard-go $("$1" --version 2>/dev/null | awk '{print $2}' | head -1)";; *) basename "$1";; esac; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
peak_rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

run_pair() {
  local a="$1" b="$2"
  cleanup; pids=()
  ip netns add "$nsa"; ip netns add "$nsb"
  ip link add "${tag}va" type veth peer name "${tag}vb"
  ip link set "${tag}va" netns "$nsa"; ip link set "${tag}vb" netns "$nsb"
  ip -n "$nsa" addr add 192.0.2.1/24 dev "${tag}va"; ip -n "$nsb" addr add 192.0.2.2/24 dev "${tag}vb"
  ip -n "$nsa" link set lo up; ip -n "$nsb" link set lo up
  ip -n "$nsa" link set "${tag}va" up; ip -n "$nsb" link set "${tag}vb" up

  local ka kb pa pb
  ka=$(wg genkey); kb=$(wg genkey); pa=$(wg pubkey <<<"$ka"); pb=$(wg pubkey <<<"$kb")
  LOG_LEVEL=error ip netns exec "$nsa" "$a" -f "${tag}A" >/dev/null 2>&1 & pids+=($!); local pida=$!
  LOG_LEVEL=error ip netns exec "$nsb" "$b" -f "${tag}B" >/dev/null 2>&1 & pids+=($!); local pidb=$!
  for _ in $(seq 100); do [ -S "/var/run/wireguard/${tag}A.sock" ] && [ -S "/var/run/wireguard/${tag}B.sock" ] && break; sleep 0.1; done
  ip netns exec "$nsa" wg set "${tag}A" private-key <(echo "$ka") listen-port 51820 peer "$pb" endpoint 192.0.2.2:51820 allowed-ips 10.99.0.2/32
  ip netns exec "$nsb" wg set "${tag}B" private-key <(echo "$kb") listen-port 51820 peer "$pa" endpoint 192.0.2.1:51820 allowed-ips 10.99.0.1/32
  ip -n "$nsa" addr add 10.99.0.1/24 dev "${tag}A"; ip -n "$nsb" addr add 10.99.0.2/24 dev "${tag}B"
  ip -n "$nsa" link set "${tag}A" mtu 1420 up; ip -n "$nsb" link set "${tag}B" mtu 1420 up
  ip netns exec "$nsa" ping -c 3 -i 0.2 -W 2 10.99.0.2 >/dev/null

  ip netns exec "$nsb" iperf3 -s -D -1 >/dev/null; sleep 0.3
  local t0a t0b; t0a=$(cpu_ticks "$pida"); t0b=$(cpu_ticks "$pidb")
  local j1; j1=$(ip netns exec "$nsa" iperf3 -c 10.99.0.2 -t "$secs" -J)
  ip netns exec "$nsb" iperf3 -s -D -1 >/dev/null; sleep 0.3
  local rtt_load
  ip netns exec "$nsa" ping -c $((secs * 5)) -i 0.2 -q 10.99.0.2 > /tmp/$tag.ping &
  local j4; j4=$(ip netns exec "$nsa" iperf3 -c 10.99.0.2 -t "$secs" -P 4 -J)
  wait $! || true
  rtt_load=$(awk -F/ '/rtt/ {print $5}' /tmp/$tag.ping)
  local t1a t1b; t1a=$(cpu_ticks "$pida"); t1b=$(cpu_ticks "$pidb")
  local rtt_idle; rtt_idle=$(ip netns exec "$nsa" ping -c 20 -i 0.05 -q 10.99.0.2 | awk -F/ '/rtt/ {print $5}')
  local bps1 bps4 bytes
  bps1=$(jq -r '.end.sum_received.bits_per_second' <<<"$j1"); bps4=$(jq -r '.end.sum_received.bits_per_second' <<<"$j4")
  bytes=$(jq -r '(.end.sum_received.bytes)' <<<"$j1"); bytes=$((bytes + $(jq -r '.end.sum_received.bytes' <<<"$j4")))
  local hz; hz=$(getconf CLK_TCK)
  local cpu_s; cpu_s=$(awk -v a=$((t1a - t0a + t1b - t0b)) -v hz="$hz" 'BEGIN { printf "%.2f", a / hz }')
  local cpu_per_gb; cpu_per_gb=$(awk -v c="$cpu_s" -v b="$bytes" 'BEGIN { printf "%.2f", c / (b / 1e9) }')
  local rss; rss=$(( $(peak_rss_kb "$pida") > $(peak_rss_kb "$pidb") ? $(peak_rss_kb "$pida") : $(peak_rss_kb "$pidb") ))
  printf '%s\t%s\t%.3f\t%.3f\t%s\t%s\t%s\t%s\n' "$(name_of "$a")" "$(name_of "$b")" \
    "$(awk -v x="$bps1" 'BEGIN{print x/1e9}')" "$(awk -v x="$bps4" 'BEGIN{print x/1e9}')" "$rtt_idle" "$rtt_load" "$cpu_per_gb" "$((rss / 1024))" | tee -a "$tsv"
  rm -f /tmp/$tag.ping
}

command -v jq >/dev/null || { echo "tunnel-throughput: needs jq (apt-get install jq)" >&2; exit 1; }
printf 'a\tb\ttcp1_gbps\ttcp4_gbps\trtt_idle_ms\trtt_load_ms\tcpu_s_per_gb\tpeak_rss_mib\n' | tee "$tsv"
for pair in "${pairs[@]}"; do run_pair "${pair%%:*}" "${pair#*:}"; done
echo
echo "| A | B | TCP 1 stream (Gbit/s) | TCP 4 streams (Gbit/s) | RTT idle (ms) | RTT under load (ms) | CPU s per GB | peak RSS (MiB) |"
echo "|---|---|---|---|---|---|---|---|"
tail -n +2 "$tsv" | awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1,$2,$3,$4,$5,$6,$7,$8 }'
echo "results: $tsv"
