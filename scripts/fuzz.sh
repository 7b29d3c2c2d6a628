#!/usr/bin/env bash
# The long fuzz campaign (docs/RELIABILITY.md, section "fuzz"): the harnesses of tests/Router.Fuzz for FUZZ_SECONDS
# each (default 600), one after another, at nice 10; prints one line per target (inputs, wall time, inputs per
# second, load average) and exits non-zero if any property failed. Run as root (the GRO target makes a network
# namespace). CsCheck prints the seed of a failure: FUZZ_SEED=<seed> FUZZ_SECONDS=5 scripts/fuzz.sh NAME replays it.
#   scripts/fuzz.sh                               every target, 10 minutes each
#   FUZZ_SECONDS=3600 scripts/fuzz.sh WireGuard Uapi   the harness classes whose names contain these, an hour each
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 FUZZ_SECONDS="${FUZZ_SECONDS:-600}"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
export FUZZ_REPORT="$report"
dotnet build tests/Router.Fuzz -c Release 2>&1 | grep -E ' error |rror\(s\)' | sort -u
status=0
# One dotnet test per harness class, so a failure in one does not stop the others' budgets.
for class in WireGuardReceiveFuzz UapiParserFuzz ConfigFuzz TunSplitFuzz TunCoalesceFuzz UdpGroFuzz; do
  if [ $# -gt 0 ]; then
    wanted=0
    for name in "$@"; do [[ "${class,,}" == *"${name,,}"* ]] && wanted=1; done
    [ "$wanted" = 1 ] || continue
  fi
  echo "--- $class: ${FUZZ_SECONDS} s"
  log="$(mktemp)"
  nice -n 10 dotnet test tests/Router.Fuzz -c Release --no-build --filter "FullyQualifiedName~$class" \
    --logger 'console;verbosity=detailed' >"$log" 2>&1 || status=1
  grep -E '^ (fuzz |drops by|[0-9]+ )|Error Message|^---- |Passed!|Failed!' "$log"
  rm -f "$log"
done
echo
printf 'target\tinputs\tseconds\tper_second\tload_1_5_15\n'
cat "$report"
awk -F'\t' '{ n += $2; s += $3 } END { printf "total: %d inputs in %.0f s\n", n, s }' "$report"
exit $status
