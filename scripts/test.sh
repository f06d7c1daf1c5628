#!/usr/bin/env bash
# Runs every test (unit, actor, end-to-end on Kestrel, headless browser, cluster processes).
# Extra arguments pass to `dotnet test`, e.g. --filter Category=Cluster
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-browser
dotnet build Router.sln -c Release --no-restore --nologo -v quiet
log=$(mktemp)
set +e
dotnet test Router.sln -c Release --no-build --nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain summary line over all test assemblies: "N passed, N failed".
awk '/^(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { if ($i == "Passed:") p += $(i+1); if ($i == "Failed:") f += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { gsub(",", "", p); printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
