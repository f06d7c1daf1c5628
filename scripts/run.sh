#!/usr/bin/env bash
# Runs Router standalone (node + gateway roles in one process) with the demo camera lobby/main.
# Extra arguments pass through, e.g. --urls http://0.0.0.0:9000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec dotnet run --project src/Router.Node -c Release --no-restore -- "$@"
