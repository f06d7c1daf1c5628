#!/usr/bin/env bash
# Runs the container test by hand: deploy/k8s's cluster (3 nodes, 2 gateways) in podman containers from the built
# image, with the manifests' environment, DNS names and probes (tests/Router.Tests/Containers). Needs root.
#   scripts/containers/test.sh   set up podman (scripts/containers/setup.sh), build the solution, run the test; the
#                                test (re)builds the image when it is missing or was built from other sources
#                                (scripts/containers/build-images.sh --if-stale)
# ROUTER_TEST_LOGS=<dir> keeps every container's log. Prints the test's figures (time to ready, frame gaps).
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/containers/setup.sh
dotnet build Router.sln -c Release --nologo -v quiet
dotnet test tests/Router.Tests -c Release --no-build --nologo --filter "Category=Containers" \
  --logger "console;verbosity=detailed"
