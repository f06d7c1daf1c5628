#!/usr/bin/env bash
# Runs every test (unit, actor, end-to-end on Kestrel, headless browser, cluster processes).
# Extra arguments pass to `dotnet test`, e.g. --filter Category=Cluster
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-browser
dotnet build Router.sln -c Release --no-restore --nologo -v quiet
log=$(mktemp)
set +e
# The container test (Category=Containers: root, podman, a 6-9 min image build) runs by hand, scripts/containers/test.sh;
# it is left out unless the arguments bring their own --filter.
filter=(--filter "Category!=Containers")
for arg in "$@"; do [[ $arg == --filter* ]] && filter=(); done
dotnet test Router.sln -c Release --no-build --nologo --logger "console;verbosity=detailed" "${filter[@]}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain summary line over all test assemblies: "N passed, N failed".
awk '/^[[:space:]]+(Passed|Failed|Skipped): [0-9]+[[:space:]]*$/ { n[$1] += $2 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", n["Passed:"], n["Failed:"], n["Skipped:"] }' "$log"
# CI keeps only the end of the output: name the failed tests again there.
# -a: a test's output may hold bytes that are not text, and grep would then print only "binary file matches".
grep -aE '^[[:space:]]+Failed [A-Za-z]' "$log" | sed 's/^[[:space:]]*/failed: /' || true
# And each failure's message and first stack lines (at most 40 lines per failed test).
awk '/^[[:space:]]+Failed [A-Za-z]/ { keep = 40 }
     /^[[:space:]]+(Passed|Skipped) [A-Za-z]/ { keep = 0 }
     keep > 0 { print; keep-- }' "$log" || true
rm -f "$log"
exit "$status"
