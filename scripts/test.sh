#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what it needs, builds, runs every test, prints each stage's
# wall time and a closing "N passed, N failed" line. Run as root (network namespaces, TUN).
#   scripts/test.sh            everything but the firmware image
#   ROUTER_IMAGE_TEST=1 scripts/test.sh   also builds the Raspberry Pi image and boots it in qemu
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
failed_stages=()
timings=()
passed=0 failed=0 skipped=0
start_all=$(date +%s)

# Runs one stage, records its wall time; a failing stage fails the run at the end, the others still run.
stage() {
  local name="$1"; shift
  local t0=$(date +%s)
  echo
  echo "=== stage: $name"
  if "$@"; then local status=ok; else local status=FAILED; failed_stages+=("$name"); fi
  local dt=$(( $(date +%s) - t0 ))
  timings+=("$(printf '%-34s %5ds  %s' "$name" "$dt" "$status")")
  echo "=== stage: $name: $status in ${dt}s"
}

# dotnet test with counts collected from its summary line ("Passed!  - Failed: 0, Passed: 29, Skipped: 0, ...").
run_tests() {
  local project="$1"; shift
  local log="$results/$(basename "$project")-$RANDOM.log"
  dotnet test "$project" -c Release --no-build "$@" 2>&1 | tee "$log" | grep -E 'Passed!|Failed!|\[FAIL\]|Skipped |error' | head -n 60
  local status=${PIPESTATUS[0]}
  # On failure show why: the assertion messages, without the stack traces.
  [ "$status" -eq 0 ] || grep -E -A6 'Error Message:' "$log" | grep -vE '^\s+at |Stack Trace' | head -n 80
  # The names and first message lines again at the very end of the run, where a truncated CI log still shows them.
  [ "$status" -eq 0 ] || grep -E -A2 '\[FAIL\]$' "$log" | grep -vE '^--$|Error Message:' | sed -E 's/^\[xUnit[^]]*\] +//' | cut -c1-300 | head -n 30 >> "$results/failures"
  local line
  line=$(grep -E '(Passed|Failed)! +- ' "$log" | tail -n 1)
  if [ -z "$line" ]; then echo "no test summary from $project"; return 1; fi
  passed=$(( passed + $(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$line") ))
  failed=$(( failed + $(sed -E 's/.*Failed: *([0-9]+),.*/\1/' <<<"$line") ))
  skipped=$(( skipped + $(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$line") ))
  return "$status"
}

deps() { scripts/install-deps.sh test; }
build() { dotnet build Router.sln -c Release 2>&1 | grep -E 'error|warn|Elapsed' | sort -u; return "${PIPESTATUS[0]}"; }
unit_tests() {
  local ok=0
  for p in tests/Router.Crypto.Tests tests/Router.Tunnel.Tests tests/Router.Leds.Tests; do
    run_tests "$p" || ok=1
  done
  run_tests tests/Router.Daemon.Tests --filter 'Category!=Interop' || ok=1
  return $ok
}
# Every SIMD path runs: the crypto tests again with the wider instruction sets switched off, down to scalar.
# .NET 10 merged the AVX-512 knobs (dotnet/runtime#115983): DOTNET_EnableAVX512F=0 no longer disables AVX-512,
# DOTNET_EnableAVX512=0 does, so both are run and the tests print the paths each run exercised.
isa_matrix() {
  local ok=0
  for knob in DOTNET_EnableAVX512F DOTNET_EnableAVX512 DOTNET_EnableAVX2 DOTNET_EnableHWIntrinsic; do
    echo "--- crypto tests with $knob=0"
    export "$knob=0"
    run_tests tests/Router.Crypto.Tests || ok=1
    unset "$knob"
  done
  return $ok
}
linux_tests() { run_tests tests/Router.Linux.Tests; }
# Every outside-bytes parser fuzzed for 12 s each (6 targets, about 90 s with start-up); scripts/fuzz.sh runs the long campaign.
fuzz_tests() { FUZZ_SECONDS=12 run_tests tests/Router.Fuzz; }
# routerd against wireguard-go and itself in network namespaces; uses the AOT binary the publish stage made.
interop_tests() { ROUTERD_BIN="$root/artifacts/linux-x64/routerd" run_tests tests/Router.Daemon.Tests --filter 'Category=Interop'; }
# The Ansible collection (ansible/) against four namespaced sites, each with its own sshd and `routerd run`: build a
# hub-and-spoke fleet, LAN to LAN through the tunnels, an idempotent rerun, --check --diff, a broken change rolled back
# on one site only, the health gate's own rollback (docs/FLEET.md). About 2-3 min.
fleet() {
  if ROUTERD_BIN="$root/artifacts/linux-x64/routerd" tests/fleet/run.sh; then
    echo "fleet: 1 passed, 0 failed"
  else
    echo "fleet: 0 passed, 1 failed"; return 1
  fi
}
# routerd's RSS for 110 s of 50 Mbit/s each way with wireguard-go, a forced rekey every 20 s and `wg show` every
# second (bench/scripts/soak.sh; the 30-minute run is in docs/RELIABILITY.md): fails when RSS grows after 30 s. ~2 min.
soak_short() {
  if ROUTERD="$root/artifacts/linux-x64/routerd" bench/scripts/soak.sh -d 110 -k 20 -q 1 -w 30; then
    echo "soak: 1 passed, 0 failed"
  else
    echo "soak: 0 passed, 1 failed"; return 1
  fi
}
# The README's demo as a user runs it: two sites in namespaces, each gateway on `routerd run` from its router.json.
demo_firmware() {
  if ROUTERD="$root/artifacts/linux-x64/routerd" scripts/demo.sh; then
    echo "demo: 1 passed, 0 failed"
  else
    echo "demo: 0 passed, 1 failed"; return 1
  fi
}
# contrib/'s alert rules and dashboard: promtool checks the rules and runs their unit tests (routerd-rules.test.yml),
# jq parses the dashboard. That every metric name they use is one routerd exports: MetricsAlertingTests (interop).
alerting_files() {
  local promtool=/var/tmp/router-promtool-cache/usr/bin/promtool p=0 f=0
  [ -x "$promtool" ] || promtool=promtool # fetched by scripts/install-deps.sh test
  if "$promtool" check rules contrib/prometheus/routerd-rules.yml; then p=$((p + 1)); else f=$((f + 1)); fi
  if (cd contrib/prometheus && "$promtool" test rules routerd-rules.test.yml); then p=$((p + 1)); else f=$((f + 1)); fi
  if jq -e '.panels | length > 0' contrib/grafana/routerd.json >/dev/null; then p=$((p + 1)); else f=$((f + 1)); echo "contrib/grafana/routerd.json: not a dashboard"; fi
  echo "alerting: $p passed, $f failed"
  [ "$f" -eq 0 ]
}
publish_x64() {
  scripts/publish.sh linux-x64 "$root/artifacts/linux-x64" || return 1
  artifacts/linux-x64/routerd --version && artifacts/linux-x64/routerd selftest || return 1
  size_check artifacts/linux-x64/routerd
}
publish_arm64() {
  scripts/publish.sh linux-arm64 "$root/artifacts/linux-arm64" || return 1
  local q=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
  "${q[@]}" artifacts/linux-arm64/routerd --version && "${q[@]}" artifacts/linux-arm64/routerd selftest || return 1
  # Wycheproof on the arm64 paths (Vector128 is NEON there) as a Native AOT program under qemu: the xunit suite
  # needs a .NET runtime for arm64, which this machine does not have.
  dotnet publish tests/Router.Crypto.Conformance -c Release -r linux-arm64 -o "$root/artifacts/conformance-arm64" \
    -p:TreatWarningsAsErrors=true -p:DebugType=none -p:SysRoot=/ -p:LinkerFlavor=lld -p:ObjCopyName=llvm-objcopy | tail -n 1 || return 1
  (cd artifacts/conformance-arm64 && "${q[@]}" ./Router.Crypto.Conformance) || return 1
  size_check artifacts/linux-arm64/routerd
}
# The firmware image (slow: run when ROUTER_IMAGE_TEST=1, as .ci/run does): build from Debian's archive (the Debian
# base is cached under /var/tmp/router-image-cache), check it statically, boot it in qemu-system-aarch64.
image_build() { scripts/install-deps.sh image && ROUTERD_PUBLISH_DIR="$root/artifacts/linux-arm64" scripts/build-image.sh "$root/artifacts/image"; }
image_check() { counted scripts/check-image.sh artifacts/image/router-rpi-arm64.img; }
image_boot() { counted scripts/boot-test.sh artifacts/image/router-rpi-arm64.img; }
# Runs a script that ends with "...: N passed, N failed" and adds its counts to the totals.
counted() {
  local log="$results/counted-$RANDOM.log"
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]} line
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    passed=$(( passed + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line") ))
    failed=$(( failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line") ))
  fi
  return "$status"
}
# Target: routerd itself at most 8 MB.
size_check() {
  local bytes; bytes=$(stat -c %s "$1")
  echo "size: $1 = $bytes bytes (limit 8388608)"
  [ "$bytes" -le 8388608 ]
}

stage "install Debian packages" deps
stage "build (warnings are errors)" build || true
if printf '%s\n' "${failed_stages[@]}" | grep -q build; then
  echo "build failed; stopping"
else
  stage "unit tests" unit_tests
  stage "alert rules and dashboard (promtool)" counted alerting_files
  stage "crypto tests, SIMD paths off" isa_matrix
  stage "Linux tests (root, namespaces)" linux_tests
  stage "fuzz, bounded (6 targets x 12 s)" fuzz_tests
  stage "AOT publish linux-x64" publish_x64
  stage "interop: routerd, wireguard-go, wg" interop_tests
  stage "demo: two sites on routerd run" counted demo_firmware
  stage "fleet: Ansible, 4 sites with sshd" counted fleet
  stage "soak: RSS flat under traffic, 110 s" counted soak_short
  stage "AOT cross-publish linux-arm64 + qemu" publish_arm64
  if [ "${ROUTER_IMAGE_TEST:-0}" = 1 ]; then
    stage "firmware image build" image_build
    stage "firmware image static check" image_check
    stage "firmware image boot (qemu)" image_boot
  else
    echo; echo "(firmware image stages skipped: set ROUTER_IMAGE_TEST=1)"
  fi
fi

echo
echo "=== wall time per stage"
printf '%s\n' "${timings[@]}"
echo "total: $(( $(date +%s) - start_all ))s"
# The ISA matrix re-runs the crypto suite on each slower path; those runs count too.
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ ${#failed_stages[@]} -ne 0 ]; then
  echo "FAILED stages: ${failed_stages[*]}"
  [ -s "$results/failures" ] && { echo "failed tests:"; head -n 40 "$results/failures"; }
  exit 1
fi
