#!/usr/bin/env bash
# Where the time goes in a tunnel daemon during an iperf3 TCP run (A sends to B), from the kernel's own accounting:
# utime and stime of every thread (/proc/PID/task/TID/stat) of both daemons, read before and after the run and
# grouped by thread name with the trailing number folded ("wg-crypto-0", "wg-crypto-1" -> "wg-crypto-N").
# routerd names its threads (wg-crypto-N, wg-tun-read, wg-udp-receive, wg-timers, ...); Go names none, so
# wireguard-go shows as one group. user = the daemon's own code (protocol, AEAD, copies), sys = the kernel working
# for it (TUN read/write, sendmmsg/recvmmsg, wake-ups). Works on any kernel; nothing to install.
# With -P it also samples both daemons with perf (Debian's linux-perf; perf 6.1 samples fine on kernel 6.18) and
# prints the split by thread and DSO (routerd, [kernel.kallsyms], libc, libsodium ...), then the top symbols. In a VM
# without a PMU perf samples on a timer, and kernel samples pile up where interrupts are re-enabled (seen here:
# pvm_irq_enable on top): trust its DSO split more than its kernel symbols, and the /proc split most.
# The published routerd is stripped: for function names set ROUTERD to an unstripped publish
# (dotnet publish src/Router.Daemon -c Release -r linux-x64 -o DIR -p:StripSymbols=false).
#   bench/scripts/profile.sh [-t SECONDS] [-s STREAMS] [-p A:B] [-P]
#     -t seconds of iperf3 (default 10), -s parallel streams (default 1), -p pair as in tunnel-throughput.sh
#     (default routerd:routerd), -P add perf sampling at PERF_FREQ Hz (default 499)
# Output: one table per daemon on stdout; with -P also the perf summaries. Everything it creates is removed.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
secs=10 streams=1 pair="routerd:routerd" use_perf=0
while getopts 't:s:p:P' opt; do
  case "$opt" in
    t) secs="$OPTARG" ;; s) streams="$OPTARG" ;; p) pair="$OPTARG" ;; P) use_perf=1 ;;
    *) sed -n '/^#   bench/,/^# Output/p' "$0" >&2; exit 2 ;;
  esac
done
[[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 2 && "$secs" -le 600 ]] || { echo "profile: -t wants 2..600" >&2; exit 2; }
[[ "$streams" =~ ^[0-9]+$ && "$streams" -ge 1 && "$streams" -le 16 ]] || { echo "profile: -s wants 1..16" >&2; exit 2; }
perf_freq="${PERF_FREQ:-499}"
[[ "$perf_freq" =~ ^[0-9]+$ && "$perf_freq" -ge 10 && "$perf_freq" -le 4999 ]] || { echo "profile: PERF_FREQ wants 10..4999" >&2; exit 2; }
[ "$use_perf" = 0 ] || command -v perf >/dev/null || { echo "profile: -P needs perf (apt-get install linux-perf)" >&2; exit 1; }

# shellcheck source=tunnel-lib.sh
. "$here/tunnel-lib.sh"
impl_init "$pair"
program() { impl_program "$1"; }
prog_a="$(program "${pair%%:*}")" prog_b="$(program "${pair#*:}")"
for p in "$prog_a" "$prog_b"; do [ -x "$p" ] || { echo "profile: no program $p" >&2; exit 1; }; done

TUN_TAG="pf$$"
work="$(mktemp -d)"
trap 'tunnel_down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# One line per thread: TID NAME UTIME STIME (ticks); thread names may hold spaces, so they are joined with '_'.
snapshot() {
  local f
  for f in /proc/"$1"/task/*/stat; do
    [ -r "$f" ] || continue
    printf '%s %s %s\n' "$(basename "$(dirname "$f")")" "$(sed 's/^[0-9]* (\(.*\)) .*/\1/; s/ /_/g' "$f")" "$(stat_ticks "$f")"
  done 2>/dev/null
}

# Per group: threads, user s, sys s, share of the daemon's CPU. Threads born during the run count from zero.
report() {
  local side="$1" before="$2" after="$3"
  awk -v side="$side" -v hz="$(getconf CLK_TCK)" -v secs="$secs" '
    NR == FNR { u0[$1] = $3; s0[$1] = $4; next }
    { g = $2; sub(/-[0-9]+$/, "-N", g); n[g]++; u[g] += $3 - u0[$1]; s[g] += $4 - s0[$1]; tu += $3 - u0[$1]; ts += $4 - s0[$1] }
    END {
      t = tu + ts; if (t == 0) t = 1
      printf "%s: %.2f CPU s in %d s (%.0f%% of one core): user %.0f%%, sys %.0f%%\n", side, (tu + ts) / hz, secs, 100 * (tu + ts) / hz / secs, 100 * tu / t, 100 * ts / t
      for (g in n) if (u[g] + s[g] > 0) printf "| %s | %d | %.2f | %.2f | %.0f%% |\n", g, n[g], u[g] / hz, s[g] / hz, 100 * (u[g] + s[g]) / t
    }' "$before" "$after" | {
    read -r summary; echo; echo "$summary"
    echo "| thread group | threads | user s | sys s | share of the daemon |"; echo "|---|---|---|---|---|"
    sort -t'|' -k6,6 -rn
  }
}

tunnel_up "$prog_a" "$prog_b"
tunnel_iperf_server
snapshot "$TUN_PIDA" > "$work/a0"; snapshot "$TUN_PIDB" > "$work/b0"
if [ "$use_perf" = 1 ]; then
  perf record -q -F "$perf_freq" -p "$TUN_PIDA,$TUN_PIDB" -o "$work/perf.data" -- sleep "$secs" > "$work/perf.log" 2>&1 &
  perf_pid=$!; TUN_PIDS+=("$perf_pid")
fi
timeout $((secs + 30)) ip netns exec "$TUN_NSA" iperf3 -c 10.99.0.2 -t "$secs" -P "$streams" -J > "$work/tcp"
snapshot "$TUN_PIDA" > "$work/a1"; snapshot "$TUN_PIDB" > "$work/b1"
[ "$use_perf" = 0 ] || wait "$perf_pid" || { echo "profile: perf record failed:" >&2; cat "$work/perf.log" >&2; exit 1; }

echo "# profile $(date -u +%Y-%m-%dT%H:%MZ): $(basename "$prog_a") -> $(basename "$prog_b"), iperf3 TCP $streams stream(s), $secs s," \
  "$(jq -r '.end.sum_received.bits_per_second / 1e9 | . * 1000 | round / 1000' "$work/tcp") Gbit/s," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
report "A (sender, $(basename "$prog_a"))" "$work/a0" "$work/a1"
report "B (receiver, $(basename "$prog_b"))" "$work/b0" "$work/b1"
if [ "$use_perf" = 1 ]; then
  # Samples per thread (TID) and DSO, mapped to daemon and thread group through the thread lists read above.
  perf report -i "$work/perf.data" --no-children --sort pid,dso --stdio -q -g none 2>/dev/null | awk 'NF' > "$work/perf.tid"
  awk 'FNR == 1 { file++ }
       file <= 2 { g = $2; sub(/-[0-9]+$/, "-N", g); side[$1] = file == 1 ? "A" : "B"; grp[$1] = g; next }
       { split($2, t, ":"); s = side[t[1]]; if (s == "") next; k = s " " grp[t[1]] " " $NF; p[k] += $1; tot[s] += $1; d[s " " $NF] += $1 }
       END {
         print "\nperf: share of the samples of each daemon by thread group and DSO (self time)"
         print "| daemon | thread group | DSO | share |"; print "|---|---|---|---|"
         fflush(); sort = "sort -t\"|\" -k2,2 -k5,5rn"
         for (k in p) { split(k, f, " "); if (p[k] / tot[f[1]] >= 0.005) printf "| %s | %s | %s | %.0f%% |\n", f[1], f[2], f[3], 100 * p[k] / tot[f[1]] | sort }
         close(sort)
         print "\nperf: share of the samples of each daemon by DSO"
         print "| daemon | DSO | share |"; print "|---|---|---|"
         fflush(); sort = "sort -t\"|\" -k2,2 -k4,4rn"
         for (k in d) { split(k, f, " "); printf "| %s | %s | %.0f%% |\n", f[1], f[2], 100 * d[k] / tot[f[1]] | sort }
         close(sort)
       }' "$work/a1" "$work/b1" "$work/perf.tid"
  echo; echo "perf: top symbols, both daemons (self time)"
  perf report -i "$work/perf.data" --no-children --sort comm,dso,sym --stdio -q -g none 2>/dev/null | awk 'NF && n++ < 30'
fi
