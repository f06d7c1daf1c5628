#!/usr/bin/env bash
# Runs Router's benchmark (bench/Router.Bench) from a clean clone: installs the native libraries, builds Router and the
# benchmark in Release, then runs it. Arguments pass through, e.g. --scenario fanout, --quick, --help.
# Default: all five scenarios and the floor (~6 min); results in docs/benchmarks/.
# --scenario hostile: a normal tenant streams while a hostile tenant attacks (bombs, floods, held bodies; ~3 min,
# docs/benchmarks.md "Hostile tenant"); --attacks, --attack-seconds, --settle-seconds, --pod-limit-mib tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
dotnet build Router.sln -c Release --no-restore -nologo -v quiet -nodeReuse:false
dotnet build-server shutdown >/dev/null 2>&1 || true   # no idle compiler servers competing with the measurement
(( $# )) || set -- --scenario all
exec dotnet run -c Release --no-build --project bench/Router.Bench -- "$@"
