#!/usr/bin/env bash
# Draws a tunnel-throughput.sh run as one PNG (gnuplot-nox from Debian), one group of bars per pair:
#   top     TCP 1 stream, TCP 4 streams, UDP at <= 1% loss (Gbit/s)
#   middle  ping RTT during the 4-stream TCP run: median and p95 (ms)
#   bottom  CPU seconds both daemons used per GB moved
# With several rounds, each bar is the median of the pair's rounds (the upper median for an even count). It also
# prints those medians as the Markdown table of docs/PERFORMANCE.md.
#   bench/scripts/chart.sh RESULTS.tsv [OUT.png]        (default docs/tunnel-throughput.png)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tsv="${1:?usage: chart.sh RESULTS.tsv [OUT.png]}" png="${2:-$root/docs/tunnel-throughput.png}"
command -v gnuplot >/dev/null || { echo "chart: needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }
head -n 1 "$tsv" | grep -q 'tcp1_gbps.*udp_gbps.*rtt_load_p95_ms' || { echo "chart: $tsv is not a tunnel-throughput.sh TSV" >&2; exit 1; }
data=$(mktemp); trap 'rm -f "$data"' EXIT
load=$(tail -n +2 "$tsv" | awk -F'\t' '$4 + 0 > m { m = $4 + 0 } END { print m + 0 }')

# Per pair (in order of first appearance): A, B, rounds, then the median over rounds of every TSV column from load1 on
# (so columns 4..16 are those of the TSV), each column on its own.
tail -n +2 "$tsv" | awk -F'\t' '
  function median(key, col,   n, i, j, v, t) {
    n = split(vals[key, col], v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return v[int(n / 2) + 1]
  }
  {
    key = $2 "\t" $3
    if (!(key in seen)) { seen[key] = 1; order[++pairs] = key }
    rounds[key]++
    for (c = 4; c <= 16; c++) vals[key, c] = vals[key, c] " " $c
  }
  END {
    for (p = 1; p <= pairs; p++) {
      k = order[p]; line = k "\t" rounds[k]
      for (c = 4; c <= 16; c++) line = line "\t" median(k, c)
      print line
    }
  }' > "$data"

# The same medians as the Markdown table of docs/PERFORMANCE.md.
echo "| A | B | TCP 1 (Gbit/s) | TCP 4 (Gbit/s) | UDP at <= 1% loss (Gbit/s) | RTT idle (ms) | RTT load median / p95 / max (ms) | CPU s per GB | sys % | peak RSS A / B (MiB) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s / %s / %s | %s | %s | %s / %s |\n", $1, $2, $5, $6, $7, $9, $10, $11, $12, $13, $14, $15, $16 }' "$data"
awk -F'\t' '{ printf "%s%s <-> %s: %d round(s)", (NR > 1 ? "; " : "(medians per column; "), $1, $2, $3 } END { print ")" }' "$data"

gnuplot <<GP
set terminal pngcairo size 1100,1150 noenhanced font ",11"
set output "$png"
set datafile separator "\t"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set xtics nomirror
set key top right
label(dummy) = stringcolumn(1)."\n<->\n".stringcolumn(2)
set bmargin 5
set multiplot layout 3,1 title "Userspace WireGuard over a veth pair between two namespaces (iperf3, tunnel MTU 1420)\n$(basename "$tsv"), 1-min load average up to $load"
set title "Throughput"
set ylabel "Gbit/s"
plot "$data" using 5:xticlabels(label(0)) title "TCP 1 stream", "" using 6 title "TCP 4 streams", "" using 7 title "UDP at <= 1% loss"
set title "Ping RTT during the 4-stream TCP run"
set ylabel "ms"
plot "$data" using 10:xticlabels(label(0)) title "median", "" using 11 title "p95"
set title "CPU seconds of both daemons per GB moved (lower is better)"
set ylabel "CPU s / GB"
set key off
plot "$data" using 13:xticlabels(label(0)) title "CPU s/GB"
unset multiplot
GP
echo "chart: $png"
