#!/usr/bin/env bash
# Builds Router's image without a container registry, with podman, from Debian packages (docs/deploy.md):
#   1. localhost/router-local/debian:bookworm-slim  debootstrap --variant=minbase bookworm, imported with `podman import`
#      (stands in for debian:bookworm-slim, the runtime base of deploy/docker/router.Dockerfile);
#   2. localhost/router-local/dotnet-sdk:10.0        that base + the SDK's packages + this machine's .NET SDK
#      (scripts/containers/sdk.Dockerfile; stands in for mcr.microsoft.com/dotnet/sdk:10.0);
#   3. the Router image: deploy/docker/router.Dockerfile itself, unchanged, with --build-arg SDK_IMAGE and
#      RUNTIME_BASE_IMAGE pointing at 1 and 2, tagged with the image name deploy/k8s's manifests use.
# Steps 1 and 2 are skipped when their image exists (--rebuild-bases redoes them); step 3 always runs (layer cache).
# The Router image is labelled router.sources with a SHA-256 over the files it is built from (src, assets/media,
# deploy/docker, the build props, .dockerignore), committed or not.
# Needs root and scripts/containers/setup.sh. Prints the images and their sizes at the end.
#   scripts/containers/build-images.sh [--rebuild-bases] [--if-stale]
#     --if-stale: do nothing when the Router image exists and was built from the current files (the container test
#                 runs this, so it never tests an image of older code).
set -euo pipefail
cd "$(dirname "$0")/../.."

rebuild_bases=0
if_stale=0
for arg in "$@"; do
  case "$arg" in
    --rebuild-bases) rebuild_bases=1 ;;
    --if-stale) if_stale=1 ;;
    *) echo "build-images: unknown argument $arg" >&2; exit 2 ;;
  esac
done

base_image=localhost/router-local/debian:bookworm-slim
sdk_image=localhost/router-local/dotnet-sdk:10.0
# The image deploy/k8s names (node StatefulSet and gateway Deployment use the same one).
router_image=$(sed -n 's/^ *image: *//p' deploy/k8s/base/node-statefulset.yaml | head -n1)
[[ -n $router_image ]] || { echo "build-images: no image: in deploy/k8s/base/node-statefulset.yaml" >&2; exit 1; }
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

command -v podman >/dev/null 2>&1 || { echo "build-images: podman is missing; run scripts/containers/setup.sh" >&2; exit 1; }
exists() { podman image exists "$1"; }

sources=$(find src assets/media deploy/docker global.json Directory.Build.props Directory.Packages.props .dockerignore \
            -type f ! -path '*/bin/*' ! -path '*/obj/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
if (( if_stale )) && exists "$router_image"; then
  built_from=$(podman image inspect "$router_image" --format '{{index .Labels "router.sources"}}')
  if [[ $built_from == "$sources" ]]; then
    echo "build-images: $router_image is up to date (sources ${sources:0:12})"
    exit 0
  fi
  echo "build-images: $router_image was built from other sources (${built_from:0:12}, now ${sources:0:12}): rebuilding"
fi

# ---- 1. Debian base --------------------------------------------------------------------------------------------
if (( rebuild_bases )) || ! exists "$base_image"; then
  command -v debootstrap >/dev/null 2>&1 || { echo "build-images: debootstrap is missing; run scripts/containers/setup.sh" >&2; exit 1; }
  root=$(mktemp -d /var/tmp/router-debootstrap.XXXXXX)
  trap 'rm -rf --one-file-system "$root"' EXIT  # never into a /proc or /sys debootstrap left mounted
  echo "build-images: debootstrap --variant=minbase bookworm ($mirror)"
  start=$SECONDS
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
  # What debian:bookworm-slim has besides: all three suites (security updates for libssl and friends), dpkg told
  # to skip documentation and locales, apt told to keep no package cache.
  rm -f "$root/etc/apt/sources.list"
  cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
DPKG
  cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/{man,info,locale}/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
         "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/tmp/* "$root"/var/tmp/*
  tar -C "$root" --numeric-owner -c . | podman import -q --change 'CMD ["bash"]' - "$base_image" >/dev/null
  rm -rf --one-file-system "$root"
  trap - EXIT
  echo "build-images: $base_image made in $((SECONDS - start)) s"
fi

# ---- 2. SDK stand-in -------------------------------------------------------------------------------------------
# Build context: this machine's SDK (hard-linked, not copied, when on the same file system) and the extra CA
# certificates it trusts (/usr/local/share/ca-certificates: a TLS-inspecting egress proxy's CA, say), so that
# `dotnet restore` in the build stage reaches NuGet the way this machine does. They stay in the build stage: the
# Router image's runtime stage copies only the published app.
if (( rebuild_bases )) || ! exists "$sdk_image"; then
  dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  echo "build-images: $sdk_image from $base_image + the SDK in $dotnet_root"
  start=$SECONDS
  context=$(mktemp -d /var/tmp/router-sdk-context.XXXXXX)
  trap 'rm -rf "$context"' EXIT
  cp -al "$dotnet_root" "$context/dotnet" 2>/dev/null || cp -a "$dotnet_root" "$context/dotnet"
  mkdir "$context/ca-certificates"
  find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$context/ca-certificates/" \; 2>/dev/null || true
  podman build -q -f "$PWD/scripts/containers/sdk.Dockerfile" --build-arg BASE_IMAGE="$base_image" \
    --build-arg NUGET_CERT_REVOCATION_MODE="${NUGET_CERT_REVOCATION_MODE:-online}" -t "$sdk_image" "$context" >/dev/null
  rm -rf "$context"
  trap - EXIT
  echo "build-images: $sdk_image made in $((SECONDS - start)) s"
fi

# ---- 3. Router, from the unchanged Dockerfile -----------------------------------------------------------------------
echo "build-images: $router_image from deploy/docker/router.Dockerfile"
start=$SECONDS
podman build -f deploy/docker/router.Dockerfile \
  --build-arg SDK_IMAGE="$sdk_image" --build-arg RUNTIME_BASE_IMAGE="$base_image" \
  --label router.sources="$sources" -t "$router_image" .
echo "build-images: $router_image made in $((SECONDS - start)) s"
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
  | grep -E "^($base_image|$sdk_image|$router_image) " | sed 's/^/build-images: size /'
