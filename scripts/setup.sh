#!/usr/bin/env bash
# Installs what Router needs on a fresh Debian/Ubuntu machine, then restores NuGet packages.
#   native libraries for OpenCvSharp's full runtime (libgtk-3-0 and friends), and ffmpeg (rtsp:// and http(s):// pull
#   sources are read by an ffmpeg child process),
#   with --with-browser, everything the tests need besides: chromium for the headless browser test, kubectl
#   (Debian's kubernetes-client) for the deploy/k8s tests, unless a kubectl is already on PATH, and GStreamer's RTSP
#   server with python3-gi and the plugins tests/tools/rtsp_test_server.py uses (videotestsrc, jpegenc, x264enc);
#   with --with-containers, podman and what building and running the images needs (scripts/containers/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

with_browser=0
with_containers=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) with_browser=1 ;;
    --with-containers) with_containers=1 ;;
  esac
done

need=()
dpkg -s libgtk-3-0 >/dev/null 2>&1 || need+=(libgtk-3-0)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
if [[ $with_browser == 1 ]]; then
  [[ -x /usr/bin/chromium ]] || need+=(chromium)
  dpkg -s fonts-liberation >/dev/null 2>&1 || need+=(fonts-liberation)
  command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
  for pkg in python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
fi
if (( ${#need[@]} )); then
  echo "setup: installing ${need[*]} (apt-get)"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if (( with_containers )); then scripts/containers/setup.sh; fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required (https://dotnet.microsoft.com/download)" >&2
  exit 1
fi
dotnet restore Router.sln --nologo -v quiet
