#!/usr/bin/env bash
# The README's main-job command: builds routerd with Native AOT and runs it.
# Until the data plane lands this builds, prints the version and runs the crypto self-test on this CPU;
# it then becomes the two-site demo (two LANs in network namespaces joined by routerd gateways).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "demo: checking Debian packages"
scripts/install-deps.sh demo
echo "demo: publishing routerd (Native AOT, linux-x64)"
scripts/publish.sh linux-x64 "$root/artifacts/linux-x64"
echo "demo: routerd --version"
artifacts/linux-x64/routerd --version
echo "demo: routerd selftest"
artifacts/linux-x64/routerd selftest
