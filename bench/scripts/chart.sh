#!/usr/bin/env bash
# Draws a tunnel-throughput.sh run as one PNG (gnuplot-nox from Debian), one group of bars per pair:
#   top     TCP 1 stream, TCP 4 streams, UDP at <= 1% loss (Gbit/s)
#   middle  ping RTT during the 4-stream TCP run: median and p95 (ms)
#   bottom  CPU seconds both daemons used per GB moved
# With several rounds, each bar is the median of the pair's rounds (the upper median for an even count).
#   bench/scripts/chart.sh RESULTS.tsv [OUT.png]        (default docs/tunnel-throughput.png)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tsv="${1:?usage: chart.sh RESULTS.tsv [OUT.png]}" png="${2:-$root/docs/tunnel-throughput.png}"
command -v gnuplot >/dev/null || { echo "chart: needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }
head -n 1 "$tsv" | grep -q 'tcp1_gbps.*udp_gbps.*rtt_load_p95_ms' || { echo "chart: $tsv is not a tunnel-throughput.sh TSV" >&2; exit 1; }
data=$(mktemp); trap 'rm -f "$data"' EXIT
load=$(tail -n +2 "$tsv" | awk -F'\t' '$4 + 0 > m { m = $4 + 0 } END { print m + 0 }')

# Per pair (in order of first appearance): A, B, then the median over rounds of tcp1 tcp4 udp rtt_med rtt_p95 cpu.
tail -n +2 "$tsv" | awk -F'\t' '
  function median(key, col,   n, i, j, v, t) {
    n = split(vals[key, col], v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return v[int(n / 2) + 1]
  }
  {
    key = $2 "\t" $3
    if (!(key in seen)) { seen[key] = 1; order[++pairs] = key }
    split("5 6 7 10 11 13", cols, " ")
    for (c = 1; c <= 6; c++) vals[key, c] = vals[key, c] " " $(cols[c])
  }
  END {
    for (p = 1; p <= pairs; p++) {
      k = order[p]; line = k
      for (c = 1; c <= 6; c++) line = line "\t" median(k, c)
      print line
    }
  }' > "$data"

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
plot "$data" using 3:xticlabels(label(0)) title "TCP 1 stream", "" using 4 title "TCP 4 streams", "" using 5 title "UDP at <= 1% loss"
set title "Ping RTT during the 4-stream TCP run"
set ylabel "ms"
plot "$data" using 6:xticlabels(label(0)) title "median", "" using 7 title "p95"
set title "CPU seconds of both daemons per GB moved (lower is better)"
set ylabel "CPU s / GB"
set key off
plot "$data" using 8:xticlabels(label(0)) title "CPU s/GB"
unset multiplot
GP
echo "chart: $png"
