#!/usr/bin/env bash
# Draws the TCP throughput of a tunnel-throughput.sh run as a PNG bar chart (gnuplot-nox from Debian).
#   bench/scripts/chart.sh RESULTS.tsv OUT.png
set -euo pipefail
tsv="$1" png="$2"
command -v gnuplot >/dev/null || { echo "chart: needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }
data=$(mktemp); trap 'rm -f "$data"' EXIT
# Label each pair "A <-> B" with short names, then the 1- and 4-stream figures.
tail -n +2 "$tsv" | awk -F'\t' '{ a=$1; b=$2; for (i = 0; i < 2; i++) { x = i ? b : a; sub(/wireguard-go v0\.0\./, "wg-go ", x); if (i) b = x; else a = x }; printf "%s\t%s\t%s\t%s\n", a, b, $3, $4 }' > "$data"
gnuplot <<GP
set terminal pngcairo size 1000,560 noenhanced font ",11"
set output "$png"
set title "TCP throughput through the tunnel (iperf3, veth between two namespaces, 2-core x86-64)"
set ylabel "Gbit/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set bmargin 6
set key top right
set xtics nomirror
set datafile separator "\t"
plot "$data" using 3:xticlabels(stringcolumn(1)."\n<->\n".stringcolumn(2)) title "1 stream", "" using 4 title "4 streams"
GP
echo "chart: $png"
