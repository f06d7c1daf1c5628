#!/usr/bin/env bash
# Runs Router standalone (node + gateway roles in one process) with the demo camera lobby/main.
# Extra arguments pass through, e.g. --urls http://0.0.0.0:9000
set -euo pipefail
cd "$(dirname "$0")/.."
echo "run: installing native libraries if missing and restoring NuGet packages (first run: a minute or more)" >&2
scripts/setup.sh
echo "run: building Router (Release)" >&2
dotnet build src/Router.Node -c Release --no-restore --nologo -v quiet -clp:ErrorsOnly
echo "run: starting Router standalone; the viewer URL and demo key follow" >&2
exec dotnet run --project src/Router.Node -c Release --no-build -- "$@"
