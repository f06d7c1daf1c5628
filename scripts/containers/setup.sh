#!/usr/bin/env bash
# Installs and configures what building and running Router's images needs on a Debian 12 (bookworm) machine as root,
# without access to a container registry (docs/deploy.md, "Building the images without a registry"):
#   podman + buildah (Debian's 4.3 / 1.28), runc as the OCI runtime, netavark + aardvark-dns (podman networks whose
#   containers resolve each other by name and --network-alias), debootstrap (the base image is made from Debian
#   packages), and kubectl (Debian's kubernetes-client) unless one is on PATH (the container test renders deploy/k8s).
# Then writes /etc/containers/containers.conf with the three settings this kind of machine needs:
#   [containers] default_ulimits = []      podman's default raises RLIMIT_NOFILE, which is not permitted here;
#   [engine] cgroup_manager = "cgroupfs"   no systemd to delegate cgroups to;
#   [engine] runtime = "runc"              crun refuses the hybrid cgroup layout.
# An existing containers.conf is kept as containers.conf.orig the first time. Idempotent; called by
# `scripts/setup.sh --with-containers`.
set -euo pipefail
cd "$(dirname "$0")/../.."

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)

need=()
for pkg in podman buildah runc netavark aardvark-dns iptables debootstrap; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
if (( ${#need[@]} )); then
  echo "containers/setup: installing ${need[*]} (apt-get)"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

conf=/etc/containers/containers.conf
want='# Written by scripts/containers/setup.sh (Router): settings this machine needs to run containers.
[containers]
# podman raises RLIMIT_NOFILE by default, which is not permitted here.
default_ulimits = []

[engine]
# No systemd to delegate cgroups to; runc (Debian), since crun refuses the hybrid cgroup layout.
cgroup_manager = "cgroupfs"
runtime = "runc"

[network]
network_backend = "netavark"
'
if [[ ! -f $conf ]] || [[ "$(cat "$conf")" != "${want%$'\n'}" ]]; then
  [[ -f $conf && ! -f $conf.orig ]] && "${sudo_cmd[@]}" cp "$conf" "$conf.orig"
  echo "containers/setup: writing $conf"
  printf '%s' "$want" | "${sudo_cmd[@]}" tee "$conf" >/dev/null
fi

podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Host.NetworkBackend}}' >/dev/null
