#!/usr/bin/env bash
# Memory over time under steady traffic with forced rekeys: does routerd's resident set stay flat?
# Two network namespaces joined by a veth pair (tunnel-lib.sh): routerd in A, a peer in B (default wireguard-go,
# Debian's /usr/bin/wireguard-go; -p routerd for routerd <-> routerd). iperf3 UDP at a fixed rate through the tunnel,
# both directions at once (--bidir: routerd encrypts and decrypts), for the whole run. Every REKEY seconds a forced
# rekey that truly makes new keypairs (fresh ephemeral keys, a full Noise handshake), alternating the two roles:
#   odd rekeys   the peer (B) forgets routerd: wg set B peer PUB_A remove, then re-adds it; B's first packet
#                starts a handshake, routerd answers as responder (new keypair, old ones retired)
#   even rekeys  routerd forgets the peer the same way (its Peer object, keypairs, index entries and staged packets
#                are destroyed and a new Peer made); routerd initiates
# Each rekey is checked: the rekeyed side's latest-handshake must change within 10 s (else the run fails).
# Every QUERY seconds `wg show` asks routerd for its state over UAPI, as a monitor would (`watch -n1 wg show`, an
# exporter): the control plane allocates, the packet path does not, so this is what the GC has to keep up with.
# Every INTERVAL seconds one row: seconds; routerd's VmRSS, RssAnon, RssFile (/proc/PID/status, KiB); threads; forced
# rekeys so far; from the ROUTERD_MEMORY_LOG lines routerd writes to stderr (Hosting/MemoryLog.cs): managed heap
# (GC.GetTotalMemory), pinned-object heap (the packet buffers), MiB allocated since start, gen0 collections; the
# Mbit/s through routerd's TUN in the interval (both directions added: about twice RATE); the 1-minute load average.
# Verdict over the samples after WARMUP seconds (default max(30, DURATION/5)); growth is judged on VmRSS:
#   rise   highest sample minus the first one after the warm-up; FAIL above MAX_RISE MB (default 4)
#   slope  least-squares slope, MB/h; FAIL above MAX_SLOPE (default 6 MB/h, ~150 MB a day, or for a window shorter
#          than 40 min the slope that would add MAX_RISE over the window, so short runs judge the same 4 MB)
# The short form in scripts/test.sh (-d 110 -k 20 -w 30) fails on the code before the fix: its RSS rose ~1.8 MB per
# 10 s there until the default gen0 budget (~16 MiB on this machine's 32 MiB L3) was spent.
#   bench/scripts/soak.sh [-d SECONDS] [-b RATE] [-k REKEY] [-q QUERY] [-i INTERVAL] [-w WARMUP] [-p PEER]
#     -d duration (default 1800), -b iperf3 UDP rate per direction (default 50M; 0 = as fast as it goes),
#     -k seconds between forced rekeys (default 30; 0 = none, only the protocol's own rekey every 120 s),
#     -q seconds between `wg show` polls (default 1; 0 = none), -i sample interval (default 10), -w warm-up seconds,
#     -p peer: wg2022 (default), wg2023, routerd, or a program taking "-f IFNAME"
#   ROUTERD=path (default artifacts/linux-x64/routerd), MAX_SLOPE=MB/h, MAX_RISE=MB, SOAK_TSV=file (the rows as TSV).
# Output: the table on stdout, then "soak: PASS ..." or "soak: FAIL ..." (exit status 1). Removes all it creates.
# Time: DURATION + about 10 s.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
duration=1800 rate=50M rekey=30 interval=10 warmup="" peer=wg2022 query=1
while getopts 'd:b:k:i:w:p:q:' opt; do
  case "$opt" in
    d) duration="$OPTARG" ;; b) rate="$OPTARG" ;; k) rekey="$OPTARG" ;; i) interval="$OPTARG" ;;
    w) warmup="$OPTARG" ;; p) peer="$OPTARG" ;; q) query="$OPTARG" ;;
    *) sed -n '/^#   bench/,/^# Time/p' "$0" >&2; exit 2 ;;
  esac
done
[[ "$duration" =~ ^[0-9]+$ && "$duration" -ge 30 && "$duration" -le 86400 ]] || { echo "soak: -d wants 30..86400" >&2; exit 2; }
[[ "$interval" =~ ^[0-9]+$ && "$interval" -ge 1 && "$interval" -le 600 ]] || { echo "soak: -i wants 1..600" >&2; exit 2; }
[[ "$rekey" =~ ^[0-9]+$ && ( "$rekey" = 0 || "$rekey" -ge 5 ) ]] || { echo "soak: -k wants 0 or at least 5" >&2; exit 2; }
[[ "$query" =~ ^[0-9]+$ && "$query" -le 600 ]] || { echo "soak: -q wants 0..600" >&2; exit 2; }
[[ "$rate" =~ ^[0-9]+[KMG]?$ ]] || { echo "soak: -b wants an iperf3 rate such as 50M" >&2; exit 2; }
[ -n "$warmup" ] || warmup=$(( duration / 5 > 30 ? duration / 5 : 30 ))
[[ "$warmup" =~ ^[0-9]+$ && "$warmup" -lt "$duration" ]] || { echo "soak: -w wants 0..duration-1" >&2; exit 2; }
max_rise="${MAX_RISE:-4}"
for tool in jq iperf3 wg ip awk; do
  command -v "$tool" >/dev/null || { echo "soak: needs $tool (apt-get install jq iperf3 wireguard-tools)" >&2; exit 1; }
done

# shellcheck source=tunnel-lib.sh
. "$here/tunnel-lib.sh"
impl_init "$peer"
prog_a="$(impl_program routerd)" prog_b="$(impl_program "$peer")"
for p in "$prog_a" "$prog_b"; do [ -x "$p" ] || { echo "soak: no program $p" >&2; exit 1; }; done

TUN_TAG="sk$$"
work="$(mktemp -d)"
trap 'tunnel_down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# routerd writes one managed-heap line every INTERVAL seconds to stderr (Hosting/MemoryLog.cs).
export ROUTERD_MEMORY_LOG="$interval" TUN_STDERR_A="$work/memory.log"
tunnel_up "$prog_a" "$prog_b" 2> "$work/up.err" || { cat "$work/up.err" >&2; echo "soak: FAIL: the tunnel did not come up" >&2; exit 1; }
unset ROUTERD_MEMORY_LOG TUN_STDERR_A
pid=$TUN_PIDA
ifa="${TUN_TAG}A" ifb="${TUN_TAG}B"
pub_a=$(ip netns exec "$TUN_NSA" wg show "$ifa" public-key)
pub_b=$(ip netns exec "$TUN_NSB" wg show "$ifb" public-key)
tunnel_iperf_server

# Steady traffic for the whole run (plus slack so it outlives the sampling).
tunnel_spawn "$TUN_NSA" timeout $((duration + 60)) iperf3 -c 10.99.0.2 -u -b "$rate" -l 1392 --bidir \
  -t $((duration + 30)) -i "$interval" --forceflush > "$work/iperf.log" 2>&1

handshake_of() { # NS IF PEER_PUB -> unix time of the latest handshake with that peer (0: none)
  ip netns exec "$1" wg show "$2" latest-handshakes | awk -v k="$3" '$1 == k { print $2 }'
}
# Removes and re-adds the peer on one side, then pings from that side so it initiates; waits for the new handshake.
force_rekey() {
  local ns="$1" ifn="$2" pub="$3" endpoint="$4" allowed="$5" target="$6" before now
  before=$(date +%s)
  ip netns exec "$ns" wg set "$ifn" peer "$pub" remove
  ip netns exec "$ns" wg set "$ifn" peer "$pub" endpoint "$endpoint" allowed-ips "$allowed"
  ip netns exec "$ns" ping -c 1 -W 1 "$target" >/dev/null 2>&1 || true
  for _ in $(seq 100); do
    now=$(handshake_of "$ns" "$ifn" "$pub")
    [ "${now:-0}" -ge "$before" ] && return 0
    sleep 0.1
  done
  echo "soak: FAIL: no new handshake within 10 s of rekey in $ns" >&2
  return 1
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# Bytes routerd moved through its TUN both ways (RX: written to it, decrypted; TX: read from it, to encrypt).
tun_bytes() { ip -n "$TUN_NSA" -s link show "$ifa" | awk '/RX:|TX:/ { getline; sum += $1 } END { printf "%.0f\n", sum }'; }

header="seconds rss_kb anon_kb file_kb threads rekeys heap_kb poh_kb alloc_mib gc0 tun_mbit load1"
# shellcheck disable=SC2086 # the header splits into its columns
printf '%6s %8s %8s %8s %7s %6s %8s %8s %9s %5s %7s %6s\n' $header
start=$(date +%s) next_sample=0 next_rekey=$rekey next_query=$query rekeys=0 last_rx=$(tun_bytes) last_t=0 ok=1
: > "$work/rows"
while :; do
  t=$(( $(date +%s) - start ))
  if [ "$t" -ge "$next_sample" ]; then
    kill -0 "$pid" 2>/dev/null || { echo "soak: FAIL: routerd (pid $pid) is gone" >&2; exit 1; }
    rx=$(tun_bytes)
    mbit=$(awk -v b=$((rx - last_rx)) -v s=$((t - last_t)) 'BEGIN { printf "%.1f", (s > 0 ? b * 8 / s / 1e6 : 0) }')
    last_rx=$rx last_t=$t
    gc=$(tail -n 1 "$work/memory.log" 2>/dev/null || true)
    read -r heap poh alloc gc0 <<<"$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
      END { if (!("heap_kb" in v)) { print "- - - -"; exit }
            printf "%d %d %.1f %d\n", v["heap_kb"], v["poh_kb"], v["allocated_kb"] / 1024, v["gc0"] }' <<<"$gc")"
    row=$(printf '%6d %8d %8d %8d %7d %6d %8s %8s %9s %5s %7s %6s' "$t" "$(status_kb "$pid" VmRSS)" \
      "$(status_kb "$pid" RssAnon)" "$(status_kb "$pid" RssFile)" "$(status_kb "$pid" Threads)" \
      "$rekeys" "$heap" "$poh" "$alloc" "$gc0" "$mbit" "$(cut -d' ' -f1 /proc/loadavg)")
    echo "$row"; echo "$row" >> "$work/rows"
    next_sample=$((next_sample + interval))
    [ "$t" -lt "$duration" ] || break
  fi
  if [ "$rekey" -gt 0 ] && [ "$t" -ge "$next_rekey" ] && [ "$t" -lt "$duration" ]; then
    rekeys=$((rekeys + 1))
    if [ $((rekeys % 2)) = 1 ]; then
      force_rekey "$TUN_NSB" "$ifb" "$pub_a" 192.0.2.1:51820 10.99.0.1/32 10.99.0.1 || ok=0
    else
      force_rekey "$TUN_NSA" "$ifa" "$pub_b" 192.0.2.2:51820 10.99.0.2/32 10.99.0.2 || ok=0
    fi
    next_rekey=$((next_rekey + rekey))
  fi
  if [ "$query" -gt 0 ] && [ "$t" -ge "$next_query" ]; then
    ip netns exec "$TUN_NSA" wg show "$ifa" > /dev/null
    next_query=$((next_query + query))
  fi
  sleep 0.5
done
[ -z "${SOAK_TSV:-}" ] || { echo "$header"; cat "$work/rows"; } | awk -v OFS='\t' '{ $1 = $1; print }' > "$SOAK_TSV"

# Verdict over the rows after the warm-up (see the header).
verdict=$(awk -v w="$warmup" -v ms="${MAX_SLOPE:-}" -v mr="$max_rise" '
  $1 >= w { n++; x = $1 / 3600; y = $2 / 1024; sx += x; sy += y; sxx += x * x; sxy += x * y
            if (n == 1) { first = y; t0 = $1 } if (y > top) top = y; t1 = $1 }
  END {
    if (n < 3) { print "FAIL fewer than 3 samples after the warm-up"; exit }
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx); rise = top - first
    if (ms == "") { ms = 6; span = (t1 - t0) / 3600; if (span < 40 / 60 && span > 0 && mr / span > ms) ms = mr / span }
    v = (slope > ms || rise > mr) ? "FAIL" : "PASS"
    printf "%s slope %.1f MB/h (limit %.1f), rise %.1f MB (limit %s) over %d samples from %d s to %d s\n", v, slope, ms, rise, mr, n, t0, t1 }' "$work/rows")
[ "$ok" = 1 ] || verdict="FAIL (a rekey did not complete) ${verdict#* }"
echo "soak: $verdict; rekeys $rekeys, rate $rate each way, peer $peer"
[[ "$verdict" == PASS* ]]
