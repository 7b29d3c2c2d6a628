#!/usr/bin/env bash
# The fleet test (issue 15): four sites in network namespaces, each a gateway with its own sshd (throwaway host keys,
# key-only) and 'routerd run', plus a LAN host; ansible-playbook builds a hub-and-spoke fleet from one inventory, the
# LANs reach each other through the tunnels, a second run changes nothing, and a broken change on one spoke is rolled
# back on that spoke only. Everything it creates is removed, also on failure.
#   tests/fleet/run.sh          ROUTERD_BIN=path/to/routerd tests/fleet/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ROUTERD=${ROUTERD_BIN:-$root/artifacts/linux-x64/routerd}
[ -x "$ROUTERD" ] || { echo "fleet: no routerd at $ROUTERD (scripts/publish.sh linux-x64 \$PWD/artifacts/linux-x64)"; exit 1; }
command -v ansible-playbook >/dev/null || { echo "fleet: ansible-playbook missing (scripts/install-deps.sh test)"; exit 1; }
sites=(1 2 3 4)              # site 1 is the hub
p=h15f                       # prefix of every namespace and interface this test makes
net=172.31.15                # WAN + management: gateway N is $net.N, the control node $net.254
confirm=20                   # confirm window of the test (the default is 60 s)
tmp=$(mktemp -d /tmp/h15fleet.XXXXXX)
say() { printf '\n== %s\n' "$*"; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }  # seconds since $1, no bc needed
cleanup() {
  set +e
  for n in "${sites[@]}"; do ip netns pids "${p}g$n" 2>/dev/null | xargs -r kill 2>/dev/null; done
  sleep 1
  for n in "${sites[@]}"; do ip netns pids "${p}g$n" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
  for n in "${sites[@]}"; do ip netns del "${p}g$n"; ip netns del "${p}l$n"; rm -f "/var/run/wireguard/${p}wg$n.sock"; done 2>/dev/null
  ip link del "${p}c" 2>/dev/null; ip netns del "${p}w" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say "namespaces: WAN bridge ${p}w, gateways ${p}g1-4 (sshd + routerd run), LAN hosts ${p}l1-4; load $(cut -d' ' -f1-3 /proc/loadavg)"
ip netns add "${p}w"; ip -n "${p}w" link set lo up
ip -n "${p}w" link add name sw type bridge; ip -n "${p}w" link set sw up
ip link add name "${p}c" type veth peer name c netns "${p}w"
ip -n "${p}w" link set c master sw up; ip addr add "$net.254/24" dev "${p}c"; ip link set "${p}c" up
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$tmp/admin" -C fleet-admin
cp "$tmp/admin.pub" "$tmp/authorized_keys"
: > "$tmp/known_hosts"
for n in "${sites[@]}"; do
  g=${p}g$n l=${p}l$n d=$tmp/g$n
  mkdir -p "$d"
  ip netns add "$g"; ip netns add "$l"; ip -n "$g" link set lo up; ip -n "$l" link set lo up
  ip link add name wan netns "$g" type veth peer name "w$n" netns "${p}w"
  ip -n "${p}w" link set "w$n" master sw up
  ip -n "$g" addr add "$net.$n/24" dev wan; ip -n "$g" link set wan up
  ip link add name lan netns "$g" type veth peer name lan netns "$l"
  ip -n "$g" addr add "10.15.$n.1/24" dev lan; ip -n "$g" link set lan up
  ip -n "$l" addr add "10.15.$n.2/24" dev lan; ip -n "$l" link set lan up; ip -n "$l" route add default via "10.15.$n.1"
  # sshd of the site: throwaway host key, key-only, root by key, listening on the site's address only.
  ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
  echo "$net.$n $(cut -d' ' -f1-2 "$d/host_key.pub")" >> "$tmp/known_hosts"
  cat > "$d/sshd_config" <<CFG
ListenAddress $net.$n
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $tmp/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp /usr/lib/openssh/sftp-server
CFG
  ip netns exec "$g" /usr/sbin/sshd -f "$d/sshd_config" -D -E "$d/sshd.log" &
  # First boot: the device makes its own key; only its public half is ever read.
  (umask 077; "$ROUTERD" genkey > "$d/${p}wg$n.key")
  ip netns exec "$g" env ROUTERD_CONTROL_SOCKET="$d/control.sock" ROUTERD_STATUS_SOCKET="$d/status.sock" ROUTERD_SEED=none \
    ROUTERD_PROBE_TIMEOUT=10 "$ROUTERD" run --config "$d/router.json" > "$d/routerd.log" 2>&1 &
done
for n in "${sites[@]}"; do
  for _ in $(seq 100); do [ -S "$tmp/g$n/status.sock" ] && ip netns exec "${p}g$n" bash -c "echo > /dev/tcp/$net.$n/22" 2>/dev/null && break; sleep 0.1; done
  [ -S "$tmp/g$n/status.sock" ] || { echo "fleet: routerd run on site $n did not come up"; cat "$tmp/g$n/routerd.log"; exit 1; }
done

say "inventory (one file for the whole fleet)"
{
  echo "fleet:"
  echo "  vars:"
  echo "    ansible_user: root"
  echo "    ansible_python_interpreter: /usr/bin/python3"
  echo "    ansible_ssh_private_key_file: $tmp/admin"
  echo "    ansible_ssh_common_args: -o UserKnownHostsFile=$tmp/known_hosts -o StrictHostKeyChecking=yes"
  echo "    routerd_bin: $ROUTERD"
  echo "    fleet_overlay: 10.199.15.0/24"
  echo "    fleet_confirm_seconds: $confirm"
  echo "  hosts:"
  for n in "${sites[@]}"; do
    d=$tmp/g$n
    echo "    site$n:"
    echo "      ansible_host: $net.$n"
    [ "$n" = 1 ] && echo "      hub: true"
    echo "      endpoint: $net.$n:51820"
    echo "      lan_prefixes: [10.15.$n.0/24]"
    echo "      lan_address: 10.15.$n.1"
    echo "      overlay_address: 10.199.15.$n"
    echo "      wg_interface: ${p}wg$n"
    echo "      routerd_config: $d/router.json"
    echo "      routerd_key_file: $d/${p}wg$n.key"
    echo "      routerd_timestamp_floor: $d/timestamp-floor"
    echo "      routerd_env: {ROUTERD_CONTROL_SOCKET: $d/control.sock, ROUTERD_STATUS_SOCKET: $d/status.sock, ROUTERD_CONFIG: $d/router.json}"
  done
} > "$tmp/inventory.yml"
cat "$tmp/inventory.yml"

export ANSIBLE_CONFIG=$root/ansible/ansible.cfg ANSIBLE_ROLES_PATH=$root/ansible/roles ANSIBLE_LOCAL_TEMP=$tmp/ansible-local \
  ANSIBLE_REMOTE_TMP=$tmp/ansible-remote ANSIBLE_SSH_CONTROL_PATH_DIR=$tmp/cp ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
  ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_HOME=$tmp/ansible-home
play() { ansible-playbook -i "${inventory:-$tmp/inventory.yml}" "$root/ansible/playbooks/fleet.yml" "$@" < /dev/null 2>&1 | tee "$tmp/play.log"; return "${PIPESTATUS[0]}"; }
recap() { sed -n '/PLAY RECAP/,$p' "$tmp/play.log"; }
lanping() { ip netns exec "${p}l$1" ping -c 2 -i 0.3 -W 2 "10.15.$2.2" > /dev/null; }

say "first run: builds the fleet"
t0=$(date +%s.%N)
play || { echo "fleet: the first run failed"; tail -n 30 "$tmp"/g*/routerd.log; exit 1; }
echo "first run: $(since "$t0") s wall (load $(cut -d' ' -f1-3 /proc/loadavg))"
grep -o 'apply time [^"]*' "$tmp/play.log" || true

say "LAN to LAN through the tunnels (spoke-spoke goes through the hub)"
for a in "${sites[@]}"; do for b in "${sites[@]}"; do
  [ "$a" = "$b" ] && continue
  lanping "$a" "$b" || { echo "fleet: LAN $a cannot reach LAN $b"; exit 1; }
done; done
echo "all 12 LAN pairs reach each other"

say "second run: nothing changes"
t0=$(date +%s.%N)
play || { echo "fleet: the second run failed"; exit 1; }
echo "second run: $(since "$t0") s wall"
if recap | grep -E 'changed=[1-9]'; then echo "fleet: the second run changed something"; exit 1; fi
grep -q 'apply time' "$tmp/play.log" && { echo "fleet: the second run applied"; exit 1; }
echo "changed=0 on every site, no apply"

say "a broken change on site 4 only (its hub endpoint points to a dead port): site 4 must roll back, the others stay"
before=$(cat "$tmp/g4/router.json")
sed "/^    site4:/a\\      hub_endpoint_override: $net.1:1" "$tmp/inventory.yml" > "$tmp/inventory-broken.yml"
say "--check --diff first: shows site4's change, changes nothing"
inventory=$tmp/inventory-broken.yml play --check --diff || { echo "fleet: --check --diff failed"; exit 1; }
grep -E '^[-+] .*"endpoint"' "$tmp/play.log" || { echo "fleet: --diff did not show the endpoint change"; exit 1; }
recap | grep -E '^site4 .*changed=1' > /dev/null && [ "$(recap | grep -cE '^site[123] .*changed=0')" = 3 ] || { echo "fleet: --check did not single out site4"; exit 1; }
[ "$(cat "$tmp/g4/router.json")" = "$before" ] || { echo "fleet: --check changed site4"; exit 1; }
say "now for real"
t0=$(date +%s.%N)
if inventory=$tmp/inventory-broken.yml play; then
  echo "fleet: the broken change was not refused"; exit 1
fi
recap
recap | grep -E '^site4 .*failed=1' > /dev/null || { echo "fleet: site4 did not fail"; exit 1; }
recap | grep -E '^site[123] .*failed=0' | wc -l | grep -qx 3 || { echo "fleet: another site failed"; exit 1; }
for _ in $(seq $((confirm + 30))); do [ "$(cat "$tmp/g4/router.json")" = "$before" ] && break; sleep 1; done
[ "$(cat "$tmp/g4/router.json")" = "$before" ] || { echo "fleet: site4 did not roll back"; exit 1; }
grep -o '"delta": "[^"]*", "end": "[^"]*", "msg": "non-zero return code", "rc": 1, "start": "[^"]*", "stderr": "", "stderr_lines": \[\], "stdout": "rolled back[^"]*' "$tmp/play.log" | head -1 | sed 's/"end".*"stdout": / /' || true
echo "site4 rolled back $(since "$t0") s after the run started"
for _ in $(seq 30); do lanping 4 1 && break; sleep 1; done
lanping 4 1 && lanping 2 4 || { echo "fleet: site4 does not reach the fleet after its rollback"; exit 1; }
echo "site4 reaches the fleet again; sites 1-3 untouched"

say "a change that applies but fails the health gate: site4's timestamp floor moves (a change routerd's apply does not probe: no peer's path changes) while its WAN drops the tunnel's packets"
sed "s|$tmp/g4/timestamp-floor\$|$tmp/g4/timestamp-floor-2|" "$tmp/inventory.yml" > "$tmp/inventory-gate.yml"
ip netns exec "${p}g4" nft -f - <<'NFT'
table inet h15fblock { chain out { type filter hook output priority 0; policy accept; udp dport 51820 drop; }; }
NFT
t0=$(date +%s.%N)
if inventory=$tmp/inventory-gate.yml play; then echo "fleet: the health gate did not fail site4"; exit 1; fi
recap | grep -E '^site4 .*failed=1' > /dev/null && [ "$(recap | grep -cE '^site[123] .*failed=0')" = 3 ] || { echo "fleet: not site4 alone failed"; exit 1; }
grep -q 'RETRYING: \[site4\]: Health - ping' "$tmp/play.log" || { echo "fleet: site4 did not fail in its health check"; exit 1; }
echo "site4 applied, failed its health check and was left unconfirmed; the play ended $(since "$t0") s after it started"
for _ in $(seq $((confirm * 5 + 100))); do grep -q "no 'routerd confirm' within" "$tmp/g4/routerd.log" && break; sleep 0.2; done
grep "no 'routerd confirm' within" "$tmp/g4/routerd.log" || { echo "fleet: site4's confirm window did not roll it back"; exit 1; }
[ "$(cat "$tmp/g4/router.json")" = "$before" ] || { echo "fleet: site4's router.json is not the one before"; exit 1; }
echo "site4 rolled back by its own confirm window (${confirm} s); router.json is the one before"
ip netns exec "${p}g4" nft delete table inet h15fblock
for _ in $(seq 30); do lanping 4 1 && break; sleep 1; done
lanping 4 1 || { echo "fleet: site4 does not reach the hub after its rollback"; exit 1; }
say "fleet test passed"
