#!/usr/bin/env bash
# Tunnel throughput, latency and cost of userspace WireGuard implementations, side by side in one run.
# Two network namespaces joined by a veth pair (MTU 1500, tunnel MTU 1420); one implementation per end, both
# configured with wg(8) over the UAPI socket, exactly as wg-quick would (tunnel-lib.sh). For each pair and round:
#   tcp1, tcp4   iperf3 TCP, 1 and 4 streams, A -> B, received Gbit/s
#   udp          iperf3 UDP, 1392-byte datagrams (1420-byte inner packets): the highest received rate with at most
#                1% loss, found by a bounded search of UDP_PROBES (default 6) probes of max(2, SECONDS/4) s each.
#                The first probe offers the pair's 1-stream TCP rate; a probe with loss <= 1% doubles the rate, one
#                with more halves it (or drops to the rate it received, if lower), until both a passing and a failing
#                rate are known; then geometric bisection between the highest passing and the lowest failing rate.
#                Reported: the received Gbit/s of the best passing probe and its loss (if no probe passed, the
#                probe with the least loss, so the loss column shows > 1).
#   rtt idle     median of 20 pings before any load
#   rtt load     median, p95 and max (nearest rank) of pings every 0.1 s during the 4-stream TCP run
#   cpu          CPU seconds both daemons used (utime+stime from /proc/PID/stat) per GB received in the TCP runs,
#                and the kernel's (stime) share of it
#   rss          peak RSS (VmHWM) of each daemon, MiB
#   load1        the machine's 1-minute load average at the end of the pair's measurements: figures taken with other
#                work running are not comparable across runs
#
#   bench/scripts/tunnel-throughput.sh [-t SECONDS] [-r ROUNDS] [-p PAIRS]
#     -t  seconds per iperf3 test (default 10)
#     -r  rounds: every pair once per round, rounds interleaved so drift hits every pair alike (default 1)
#     -p  comma-separated A:B pairs, A and B each routerd, wg2023, wg2022 or a program path taking "-f IFNAME"
#         (default routerd:routerd,routerd:wg2023,wg2023:wg2023,wg2022:wg2022,routerd:wg2022)
#   ROUTERD=path (default artifacts/linux-x64/routerd, from scripts/publish.sh linux-x64),
#   WIREGUARD_GO_2023=path (default: fetched by fetch-wireguard-go-2023.sh), WIREGUARD_GO_2022=path (default
#   /usr/bin/wireguard-go, Debian 12), UDP_PROBES=count (1..12).
# Time: about 2 x SECONDS + UDP_PROBES x max(2, SECONDS/4) + 15 s per pair and round:
# -t 3 -p routerd:routerd,wg2023:wg2023 about 1 min; -t 20 -r 2 (all five pairs) about 14 min.
# Output: a TSV in bench/results/ (for docs/PERFORMANCE.md and chart.sh), every UDP probe in a second TSV beside it,
# and a Markdown table on stdout.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
secs=10 rounds=1 pairs="routerd:routerd,routerd:wg2023,wg2023:wg2023,wg2022:wg2022,routerd:wg2022"
while getopts 't:r:p:' opt; do
  case "$opt" in
    t) secs="$OPTARG" ;; r) rounds="$OPTARG" ;; p) pairs="$OPTARG" ;;
    *) sed -n '/^#   bench/,/^# Time/p' "$0" >&2; exit 2 ;;
  esac
done
[[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 2 && "$secs" -le 600 ]] || { echo "tunnel-throughput: -t wants 2..600" >&2; exit 2; }
[[ "$rounds" =~ ^[0-9]+$ && "$rounds" -ge 1 && "$rounds" -le 20 ]] || { echo "tunnel-throughput: -r wants 1..20" >&2; exit 2; }
for tool in jq iperf3 wg ping ss; do
  command -v "$tool" >/dev/null || { echo "tunnel-throughput: needs $tool (apt-get install jq iperf3 wireguard-tools)" >&2; exit 1; }
done
udp_probes="${UDP_PROBES:-6}"
[[ "$udp_probes" =~ ^[0-9]+$ && "$udp_probes" -ge 1 && "$udp_probes" -le 12 ]] || { echo "tunnel-throughput: UDP_PROBES wants 1..12" >&2; exit 2; }
udp_secs=$(( secs / 4 > 2 ? secs / 4 : 2 ))
# shellcheck source=tunnel-lib.sh
. "$here/tunnel-lib.sh"
impl_init "$pairs"
program() { impl_program "$1"; }
label() {
  case "$1" in routerd) echo routerd ;; wg2023) echo "wireguard-go 2023" ;; wg2022) echo "wireguard-go 2022" ;; *) echo "${1#"$root"/}" ;; esac
}
version_of() {
  local p; p="$(program "$1")"
  if [ -f "$(dirname "$p")/../../PACKAGE-VERSION" ]; then echo "package $(cat "$(dirname "$p")/../../PACKAGE-VERSION")"
  else "$p" --version 2>/dev/null | head -n 1; fi
}
IFS=, read -r -a pair_list <<<"$pairs"
for pair in "${pair_list[@]}"; do
  for side in "${pair%%:*}" "${pair#*:}"; do
    [ -x "$(program "$side")" ] || { echo "tunnel-throughput: no program for '$side' ($(program "$side"))" >&2; exit 1; }
  done
done

mkdir -p "$root/bench/results"
tsv="$root/bench/results/tunnel-$(date -u +%Y%m%d-%H%M%S).tsv"
probes="${tsv%.tsv}-udp-probes.tsv"
TUN_TAG="tb$$"
work="$(mktemp -d)"
trap 'tunnel_down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

ticks_of() { stat_ticks "/proc/$1/stat"; }
rss_mib() { awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }
gbps() { jq -r '.end.sum_received.bits_per_second' "$1" | awk '{ printf "%.3f", $1 / 1e9 }'; }
# Nearest-rank percentile P of the numbers in a file, one a line.
percentile() { sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(NR * p / 100); if (i < NR * p / 100) i++; if (i < 1) i = 1; print v[i] }'; }
ping_times() { sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p'; }
# iperf3 client in namespace A, JSON to file $1; bounded in time, its own message shown if it fails.
iperf() {
  local out="$1"; shift
  timeout $((secs + 30)) ip netns exec "$TUN_NSA" iperf3 -c 10.99.0.2 -J "$@" > "$out" 2> "$work/iperf.err" || {
    echo "tunnel-throughput: iperf3 $* failed: $(jq -r '.error // empty' "$out" 2>/dev/null) $(cat "$work/iperf.err")" >&2; return 1; }
}
# Bounded search for the highest UDP rate with at most 1% loss (see the header); prints "GBIT/S LOSS%".
# Called by run_pair, whose round, a and b label the probe rows.
udp_search() {
  local rate lo=0 hi=0 recv loss
  rate=$(jq -r '[.end.sum_received.bits_per_second / 1e6, 50] | max | floor' "$work/tcp1")
  for _ in $(seq "$udp_probes"); do
    iperf "$work/udp" -t "$udp_secs" -u -b "${rate}M" -l 1392
    recv=$(jq -r '.end.sum_received.bits_per_second / 1e9' "$work/udp")
    loss=$(jq -r '.end.sum_received.lost_percent' "$work/udp")
    echo "$rate $recv $loss" >> "$work/udp.probes"
    printf '%s\t%s\t%s\t%s\t%.3f\t%.1f\n' "$round" "$(label "$a")" "$(label "$b")" "$rate" "$recv" "$loss" >> "$probes"
    if awk -v l="$loss" 'BEGIN { exit !(l <= 1) }'; then lo=$rate; else hi=$rate; fi
    # No passing rate yet: at most half, and no more than what got through (overload can collapse the received rate).
    rate=$(next_rate "$lo" "$hi" "$rate" "$(awk -v g="$recv" 'BEGIN { printf "%d", g * 1000 }')")
    [ "$rate" -ge 1 ] || break
  done
  # Best passing probe by received rate, else the probe with the least loss.
  awk '$3 <= 1 { if ($2 > pr) { pr = $2; pl = $3 } ok = 1 } { if (n++ == 0 || $3 < ml) { ml = $3; mr = $2 } }
       END { if (ok) printf "%.3f %.1f\n", pr, pl; else printf "%.3f %.1f\n", mr, ml }' "$work/udp.probes"
}

run_pair() {
  local round="$1" a="$2" b="$3"
  tunnel_up "$(program "$a")" "$(program "$b")"
  tunnel_iperf_server
  ip netns exec "$TUN_NSA" ping -c 20 -i 0.05 -W 1 10.99.0.2 | ping_times > "$work/idle"

  local u0a s0a u0b s0b u1a s1a u1b s1b
  read -r u0a s0a < <(ticks_of "$TUN_PIDA"); read -r u0b s0b < <(ticks_of "$TUN_PIDB")
  iperf "$work/tcp1" -t "$secs"
  tunnel_spawn "$TUN_NSA" ping -i 0.1 -w "$((secs + 1))" -W 1 10.99.0.2 > "$work/load.raw"
  local ping_pid=$!
  iperf "$work/tcp4" -t "$secs" -P 4
  read -r u1a s1a < <(ticks_of "$TUN_PIDA"); read -r u1b s1b < <(ticks_of "$TUN_PIDB")
  wait "$ping_pid" || true
  ping_times < "$work/load.raw" > "$work/load"
  rm -f "$work/udp.probes"
  local udp; udp=$(udp_search)

  local bytes user sys hz
  bytes=$(jq -s 'map(.end.sum_received.bytes) | add' "$work/tcp1" "$work/tcp4")
  user=$((u1a - u0a + u1b - u0b)) sys=$((s1a - s0a + s1b - s0b)) hz=$(getconf CLK_TCK)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$(label "$a")" "$(label "$b")" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$(gbps "$work/tcp1")" "$(gbps "$work/tcp4")" "${udp% *}" "${udp#* }" \
    "$(percentile 50 "$work/idle")" "$(percentile 50 "$work/load")" "$(percentile 95 "$work/load")" \
    "$(percentile 100 "$work/load")" \
    "$(awk -v t=$((user + sys)) -v hz="$hz" -v b="$bytes" 'BEGIN { printf "%.2f", t / hz / (b / 1e9) }')" \
    "$(awk -v s="$sys" -v t=$((user + sys)) 'BEGIN { printf "%d", t ? 100 * s / t : 0 }')" \
    "$(rss_mib "$TUN_PIDA")" "$(rss_mib "$TUN_PIDB")" >> "$tsv"
  tunnel_down
}

echo "# tunnel-throughput $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, kernel $(uname -r), ${secs} s per TCP test, $rounds round(s), $udp_probes UDP probes of $udp_secs s"
for impl in routerd wg2023 wg2022; do
  [[ ",$pairs," == *"$impl"* ]] && echo "# $(label "$impl"): $(program "$impl") ($(version_of "$impl"))"
done
echo "# scripts from commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown); load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
printf 'round\ta\tb\tload1\ttcp1_gbps\ttcp4_gbps\tudp_gbps\tudp_loss_pct\trtt_idle_ms\trtt_load_med_ms\trtt_load_p95_ms\trtt_load_max_ms\tcpu_s_per_gb\tcpu_sys_pct\trss_a_mib\trss_b_mib\n' > "$tsv"
printf 'round\ta\tb\toffered_mbps\treceived_gbps\tloss_pct\n' > "$probes"
for round in $(seq "$rounds"); do
  for pair in "${pair_list[@]}"; do
    run_pair "$round" "${pair%%:*}" "${pair#*:}"
    echo "# round $round: $(label "${pair%%:*}") <-> $(label "${pair#*:}") done (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  done
done
echo
echo "| A | B | round | load | TCP 1 (Gbit/s) | TCP 4 (Gbit/s) | UDP at <= 1% loss (Gbit/s) | its loss % | RTT idle (ms) | RTT load median / p95 / max (ms) | CPU s/GB | sys % | RSS A / B (MiB) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
tail -n +2 "$tsv" | awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s | %s | %s / %s |\n",
  $2, $3, $1, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 }'
echo "results: $tsv (UDP probes: $probes)"
