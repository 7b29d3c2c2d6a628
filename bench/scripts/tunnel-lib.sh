# Sourced by tunnel-throughput.sh and profile.sh: one tunnel between two network namespaces, and its teardown.
#   tunnel_up PROG_A PROG_B    namespaces $TUN_TAG{a,b} joined by a veth pair (MTU 1500, 192.0.2.1-2/24), PROG_A and
#                              PROG_B run as "PROG -f IFNAME" (the wireguard-go command line) at each end, configured
#                              by wg(8) over the UAPI socket; tunnel MTU 1420, 10.99.0.1 <-> 10.99.0.2.
#                              Sets TUN_NSA, TUN_NSB, TUN_PIDA, TUN_PIDB (the daemons' PIDs). Their stderr goes to
#                              TUN_STDERR_A / TUN_STDERR_B if set (files), else nowhere.
#                              TUN_LOG_B=FILE and TUN_LOG_LEVEL_B=LEVEL keep B's log at that level (default: error).
#   tunnel_down                kills every process started here (TUN_PIDS), deletes both namespaces and sockets.
#   impl_init PAIRS            resolves the implementation names routerd, wg2023 and wg2022 to programs (ROUTERD,
#                              WIREGUARD_GO_2023, WIREGUARD_GO_2022 override); fetches wg2023 only if PAIRS name it.
#   impl_program NAME          the program of a name; any other NAME is taken as a program path.
# The caller sets TUN_TAG (short: interface names are at most 15 characters) and traps EXIT to tunnel_down.
TUN_PIDS=()
TUN_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TUN_ROOT="$(cd "$TUN_SCRIPTS/../.." && pwd)"

impl_init() {
  IMPL_ROUTERD="${ROUTERD:-$TUN_ROOT/artifacts/linux-x64/routerd}"
  IMPL_WG2022="${WIREGUARD_GO_2022:-/usr/bin/wireguard-go}"
  IMPL_WG2023="${WIREGUARD_GO_2023:-}"
  if [[ "$1" == *wg2023* && -z "$IMPL_WG2023" ]]; then
    IMPL_WG2023="$("$TUN_SCRIPTS/fetch-wireguard-go-2023.sh")"; IMPL_WG2023="${IMPL_WG2023%%$'\n'*}"
  fi
}
impl_program() {
  case "$1" in routerd) echo "$IMPL_ROUTERD" ;; wg2023) echo "$IMPL_WG2023" ;; wg2022) echo "$IMPL_WG2022" ;; *) echo "$1" ;; esac
}

tunnel_down() {
  local p
  for p in "${TUN_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${TUN_PIDS[@]}"; do
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  TUN_PIDS=()
  ip netns del "${TUN_TAG}a" 2>/dev/null || true
  ip netns del "${TUN_TAG}b" 2>/dev/null || true
  rm -f "/var/run/wireguard/${TUN_TAG}A.sock" "/var/run/wireguard/${TUN_TAG}B.sock"
}

# Runs a command in the background inside a namespace and remembers its PID for tunnel_down
# (ip netns exec execs the command, so $! is the program itself).
tunnel_spawn() {
  local ns="$1"; shift
  ip netns exec "$ns" "$@" & TUN_PIDS+=($!)
}

tunnel_up() {
  local a="$1" b="$2" ka kb pa pb
  TUN_NSA="${TUN_TAG}a" TUN_NSB="${TUN_TAG}b"
  tunnel_down
  ip netns add "$TUN_NSA"; ip netns add "$TUN_NSB"
  ip link add "${TUN_TAG}va" type veth peer name "${TUN_TAG}vb"
  ip link set "${TUN_TAG}va" netns "$TUN_NSA"; ip link set "${TUN_TAG}vb" netns "$TUN_NSB"
  ip -n "$TUN_NSA" addr add 192.0.2.1/24 dev "${TUN_TAG}va"; ip -n "$TUN_NSB" addr add 192.0.2.2/24 dev "${TUN_TAG}vb"
  ip -n "$TUN_NSA" link set lo up; ip -n "$TUN_NSB" link set lo up
  ip -n "$TUN_NSA" link set "${TUN_TAG}va" up; ip -n "$TUN_NSB" link set "${TUN_TAG}vb" up

  ka=$(wg genkey); kb=$(wg genkey); pa=$(wg pubkey <<<"$ka"); pb=$(wg pubkey <<<"$kb")
  LOG_LEVEL=error tunnel_spawn "$TUN_NSA" "$a" -f "${TUN_TAG}A" >/dev/null 2>"${TUN_STDERR_A:-/dev/null}"; TUN_PIDA=$!
  LOG_LEVEL="${TUN_LOG_LEVEL_B:-error}" tunnel_spawn "$TUN_NSB" "$b" -f "${TUN_TAG}B" >"${TUN_LOG_B:-/dev/null}" 2>"${TUN_STDERR_B:-${TUN_LOG_B:-/dev/null}}"; TUN_PIDB=$!
  for _ in $(seq 100); do
    [ -S "/var/run/wireguard/${TUN_TAG}A.sock" ] && [ -S "/var/run/wireguard/${TUN_TAG}B.sock" ] && break; sleep 0.1
  done
  ip netns exec "$TUN_NSA" wg set "${TUN_TAG}A" private-key <(echo "$ka") listen-port 51820 \
    peer "$pb" endpoint 192.0.2.2:51820 allowed-ips 10.99.0.2/32
  ip netns exec "$TUN_NSB" wg set "${TUN_TAG}B" private-key <(echo "$kb") listen-port 51820 \
    peer "$pa" endpoint 192.0.2.1:51820 allowed-ips 10.99.0.1/32
  ip -n "$TUN_NSA" addr add 10.99.0.1/24 dev "${TUN_TAG}A"; ip -n "$TUN_NSB" addr add 10.99.0.2/24 dev "${TUN_TAG}B"
  ip -n "$TUN_NSA" link set "${TUN_TAG}A" mtu 1420 up; ip -n "$TUN_NSB" link set "${TUN_TAG}B" mtu 1420 up
  ip netns exec "$TUN_NSA" ping -c 3 -i 0.2 -W 2 10.99.0.2 >/dev/null
}

# Starts an iperf3 server in namespace B (kept for every test of the pair) and waits until it listens.
tunnel_iperf_server() {
  tunnel_spawn "$TUN_NSB" iperf3 -s -B 10.99.0.2 >/dev/null 2>&1
  for _ in $(seq 50); do ip netns exec "$TUN_NSB" ss -Hltn 'sport = :5201' | grep -q . && return 0; sleep 0.1; done
  echo "tunnel-lib: iperf3 server did not start" >&2; return 1
}

# CPU ticks (utime, stime) of a process or thread from its stat file; the comm field may hold spaces, so cut at ')'.
stat_ticks() { sed 's/.*) //' "$1" | awk '{ print $12, $13 }'; }

# The next offered rate of a bounded search for the highest rate at <= 1% loss: double while nothing failed, halve
# (or drop to what got through) while nothing passed, then geometric bisection. Args: LO HI RATE RECEIVED_SAME_UNIT.
next_rate() {
  awk -v lo="$1" -v hi="$2" -v r="$3" -v got="$4" 'BEGIN {
    if (hi == 0) n = 2 * r; else if (lo > 0) n = sqrt(lo * hi); else { n = r / 2; if (got < n) n = got }
    printf "%d", n }'
}
