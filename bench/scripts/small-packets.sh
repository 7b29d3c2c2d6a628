#!/usr/bin/env bash
# Small packets (VoIP-like UDP): the highest packet rate each implementation carries at <= 1% loss, for 64- and
# 256-byte UDP payloads, side by side in one run (issue 14 point 4). The same two namespaces, veth and wg(8) set-up
# as tunnel-throughput.sh (tunnel-lib.sh, tunnel MTU 1420); iperf3 -u -l SIZE from A to B. For each pair, size and
# round: a bounded search of UDP_PROBES (default 7) probes of SECONDS each, starting at 50,000 packets/s, doubling
# while loss stays <= 1%, halving while it does not, then geometric bisection. Reported: received packets/s of the
# best passing probe, its loss, and the CPU both daemons used per million packets received. The iperf3 sender itself
# needs a core at these rates: the figures are the pair's limit on this machine, iperf3 included, alike for all pairs.
#   bench/scripts/small-packets.sh [-t SECONDS] [-r ROUNDS] [-p PAIRS] [-s SIZES]
#     -t seconds per probe (default 4), -r rounds (default 1), -p pairs as tunnel-throughput.sh
#     (default routerd:routerd,wg2023:wg2023), -s comma-separated payload sizes (default 64,256)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
secs=4 rounds=1 pairs="routerd:routerd,wg2023:wg2023" sizes="64,256"
while getopts 't:r:p:s:' opt; do
  case "$opt" in
    t) secs="$OPTARG" ;; r) rounds="$OPTARG" ;; p) pairs="$OPTARG" ;; s) sizes="$OPTARG" ;;
    *) sed -n '/^#   bench/,/^set -e/p' "$0" >&2; exit 2 ;;
  esac
done
[[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 2 && "$secs" -le 60 ]] || { echo "small-packets: -t wants 2..60" >&2; exit 2; }
[[ "$rounds" =~ ^[0-9]+$ && "$rounds" -ge 1 && "$rounds" -le 10 ]] || { echo "small-packets: -r wants 1..10" >&2; exit 2; }
probes="${UDP_PROBES:-7}"
[[ "$probes" =~ ^[0-9]+$ && "$probes" -ge 1 && "$probes" -le 12 ]] || { echo "small-packets: UDP_PROBES wants 1..12" >&2; exit 2; }
for tool in jq iperf3 wg; do
  command -v "$tool" >/dev/null || { echo "small-packets: needs $tool (apt-get install jq iperf3 wireguard-tools)" >&2; exit 1; }
done
# shellcheck source=tunnel-lib.sh
. "$here/tunnel-lib.sh"
impl_init "$pairs"
IFS=, read -r -a pair_list <<<"$pairs"
IFS=, read -r -a size_list <<<"$sizes"
TUN_TAG="sp$$"
work="$(mktemp -d)"
trap 'tunnel_down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# One probe: offered packets/s $1 of size $2 for $secs s; prints "RECEIVED_PPS LOSS%".
probe() {
  local pps=$1 size=$2
  timeout $((secs + 30)) ip netns exec "$TUN_NSA" iperf3 -c 10.99.0.2 -J -u -l "$size" -t "$secs" -b "$((pps * size * 8))" \
    > "$work/udp" 2> "$work/iperf.err" || { echo "small-packets: iperf3 failed: $(cat "$work/iperf.err")" >&2; echo "0 100"; return; }
  jq -r --argjson s "$secs" '"\((.end.sum_received.packets // ((.end.sum.packets // 0) - (.end.sum.lost_packets // 0))) / $s | floor) \(.end.sum_received.lost_percent // .end.sum.lost_percent)"' "$work/udp"
}
ticks() { local a b; read -r a b < <(stat_ticks "/proc/$1/stat"); echo $((a + b)); }

printf '| A | B | payload bytes | round | load | packets/s at <= 1%% loss | its loss %% | CPU s per million packets |\n|---|---|---:|---:|---:|---:|---:|---:|\n'
for round in $(seq "$rounds"); do
  for pair in "${pair_list[@]}"; do
    a="${pair%%:*}" b="${pair#*:}"
    tunnel_up "$(impl_program "$a")" "$(impl_program "$b")"
    tunnel_iperf_server
    for size in "${size_list[@]}"; do
      rate=50000 lo=0 hi=0 best=0 bestloss=100 minloss=101 minrecv=0 cpu_best=0
      for _ in $(seq "$probes"); do
        t0=$(( $(ticks "$TUN_PIDA") + $(ticks "$TUN_PIDB") ))
        read -r recv loss < <(probe "$rate" "$size")
        t1=$(( $(ticks "$TUN_PIDA") + $(ticks "$TUN_PIDB") ))
        if awk -v l="$loss" 'BEGIN { exit !(l <= 1) }'; then
          lo=$rate
          if [ "$recv" -gt "$best" ]; then best=$recv bestloss=$loss cpu_best=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v p="$recv" -v s="$secs" 'BEGIN { printf "%.2f", t / hz / (p * s / 1e6) }'); fi
        else
          hi=$rate
        fi
        if awk -v l="$loss" -v m="$minloss" 'BEGIN { exit !(l < m) }'; then minloss=$loss minrecv=$recv; fi
        rate=$(next_rate "$lo" "$hi" "$rate" "$recv")
        [ "$rate" -ge 1000 ] || break
      done
      [ "$best" -gt 0 ] || { best=$minrecv bestloss=$minloss cpu_best="-"; }
      printf '| %s | %s | %s | %s | %s | %s | %.2f | %s |\n' "$a" "$b" "$size" "$round" "$(cut -d' ' -f1 /proc/loadavg)" "$best" "$bestloss" "$cpu_best"
    done
    tunnel_down
  done
done
