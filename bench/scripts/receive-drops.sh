#!/usr/bin/env bash
# Where a tunnel end receiving TCP at saturation loses packets, counted in every place one can be lost:
#   bench/scripts/receive-drops.sh [SENDER RECEIVER [SECONDS]]     (default: wg2022 routerd 10)
# SENDER in namespace a sends one iperf3 TCP stream through the tunnel to RECEIVER in namespace b (names as in
# tunnel-lib.sh: routerd, wg2022, wg2023 or a program path). Printed, for the receiving namespace: the sender's
# throughput and TCP retransmits; the kernel's UDP counters (RcvbufErrors: datagrams the tunnel's socket had no room
# for; ss's skmem "d" for that socket); the TUN's and veth's rx/tx drops (ip -s link); TCP's receive-side drops
# (TCPRcvQDrop, TCPBacklogDrop, TCPOFODrop); and for routerd its own totals by reason (its log at SIGTERM:
# QueueFull, UdpReceive, TunWrite, ReplayedCounter, ...). Run as root; takes SECONDS + ~5 s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/tunnel-lib.sh"
sender="${1:-wg2022}" receiver="${2:-routerd}" secs="${3:-10}"
TUN_TAG="rd$(( $$ % 10000 ))"
log="$(mktemp)"; json="$(mktemp)"
trap 'tunnel_down; rm -f "$log" "$json"' EXIT
impl_init "$sender $receiver"
TUN_LOG_B="$log" TUN_LOG_LEVEL_B=info tunnel_up "$(impl_program "$sender")" "$(impl_program "$receiver")"
tunnel_iperf_server
ip netns exec "$TUN_NSA" iperf3 -c 10.99.0.2 -t "$secs" -J > "$json"
snmp() { ip netns exec "$TUN_NSB" awk -v p="$1" -v f="$2" '$1 == p":" { if (!n) { for (i = 2; i <= NF; i++) h[i] = $i; n = 1 } else for (i = 2; i <= NF; i++) if (h[i] == f) print $i }' /proc/net/"$3"; }
udp_rcvbuf=$(snmp Udp RcvbufErrors snmp) udp_inerr=$(snmp Udp InErrors snmp)
rcvq=$(snmp TcpExt TCPRcvQDrop netstat) backlog=$(snmp TcpExt TCPBacklogDrop netstat) ofo=$(snmp TcpExt TCPOFODrop netstat)
skd=$(ip netns exec "$TUN_NSB" ss -Huam 'sport = :51820' | grep -oE ',d[0-9]+\)' | tr -dc '0-9\n' | awk '{ s += $1 } END { print s + 0 }')
linkdrops() { ip -n "$TUN_NSB" -s -o link show dev "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i == "RX:") rx = i; else if ($i == "TX:") tx = i; print "rx " $(rx + 10) ", tx " $(tx + 10) }'; }
tun_drops=$(linkdrops "${TUN_TAG}B") veth_drops=$(linkdrops "${TUN_TAG}vb")
kill -TERM "$TUN_PIDB"; for _ in $(seq 50); do kill -0 "$TUN_PIDB" 2>/dev/null || break; sleep 0.1; done
echo "$sender -> $receiver, TCP 1 stream, ${secs} s, load $(cut -d' ' -f1-3 /proc/loadavg):"
jq -r '.end | "  throughput \(.sum_received.bits_per_second / 1e6 | floor) Mbit/s, retransmits \(.sum_sent.retransmits)"' "$json"
echo "  UDP RcvbufErrors $udp_rcvbuf, InErrors $udp_inerr; tunnel socket skmem drops $skd"
echo "  TUN drops ($tun_drops); veth drops ($veth_drops)"
echo "  TCP receiver: RcvQDrop $rcvq, BacklogDrop $backlog, OFODrop $ofo"
grep -h 'dropped in total' "$log" | sed 's/^/  routerd: /' || echo "  routerd: nothing dropped (or not routerd)"
