# Router image: the one executable, Router.Node, for every role. The role is chosen at start (--role or Router__Role):
# standalone (the default: node and gateway in one process with the demo camera), node (camera shard region,
# pull-source capture) or gateway (HTTP/WebSocket endpoints, viewer, shard region proxy). deploy/k8s runs it twice,
# as the router-node StatefulSet and the router-gateway Deployment.
#
#   docker build -f deploy/docker/router.Dockerfile -t registry.example.com/router/router:0.1.0 .
#
# Build context: the repository root (see /.dockerignore). Runs as UID 1000, non-root.
# Base: .NET 10 ships no Debian images (mcr.microsoft.com/dotnet/aspnet:10.0 is Ubuntu), so the app is published
# self-contained (runtime included) onto debian:bookworm-slim, the OS the native library list below was taken on.

ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_BASE_IMAGE=debian:bookworm-slim

# ---- build -------------------------------------------------------------------------------------------------------
FROM ${SDK_IMAGE} AS build
WORKDIR /source
# Restore first, from the project files only, so the package layer is cached across source changes.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Router.Protocol/Router.Protocol.csproj src/Router.Protocol/
COPY src/Router.Actors/Router.Actors.csproj src/Router.Actors/
COPY src/Router.Gateway/Router.Gateway.csproj src/Router.Gateway/
COPY src/Router.Node/Router.Node.csproj src/Router.Node/
RUN dotnet restore src/Router.Node/Router.Node.csproj -r linux-x64 -p:SelfContained=true
COPY src/ src/
RUN dotnet publish src/Router.Node/Router.Node.csproj --no-restore -c Release -r linux-x64 --self-contained true \
      -o /app

# ---- runtime -----------------------------------------------------------------------------------------------------
FROM ${RUNTIME_BASE_IMAGE} AS runtime
# .NET's own dependencies (ca-certificates libc6 libgcc-s1 libicu72 libssl3 libstdc++6 tzdata zlib1g), then the
# libraries libOpenCvSharpExtern.so (OpenCvSharp4.official.runtime.linux-x64) links against, by Debian package:
#   libgtk-3.so.0 libgdk-3.so.0 -> libgtk-3-0          libgdk_pixbuf-2.0.so.0 -> libgdk-pixbuf-2.0-0
#   libglib/gobject/gio-2.0    -> libglib2.0-0         libpango-1.0.so.0 -> libpango-1.0-0
#   libpangocairo-1.0.so.0     -> libpangocairo-1.0-0  libcairo.so.2 -> libcairo2
#   libcairo-gobject.so.2      -> libcairo-gobject2    libatk-1.0.so.0 -> libatk1.0-0
#   libharfbuzz.so.0           -> libharfbuzz0b        libfreetype.so.6 -> libfreetype6
#   libX11.so.6                -> libx11-6             libdrm.so.2 -> libdrm2
#   libatomic.so.1             -> libatomic1
# (FFmpeg is linked into libOpenCvSharpExtern.so itself, without network protocols: it reads files and webcams.)
# Then ffmpeg, the executable that reads rtsp:// and http(s):// pull sources and writes MJPEG to a pipe.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libc6 libgcc-s1 libicu72 libssl3 libstdc++6 tzdata zlib1g \
      libgtk-3-0 libgdk-pixbuf-2.0-0 libglib2.0-0 libpango-1.0-0 libpangocairo-1.0-0 libcairo2 \
      libcairo-gobject2 libatk1.0-0 libharfbuzz0b libfreetype6 libx11-6 libdrm2 libatomic1 \
      ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 app \
 && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin app

WORKDIR /app
COPY --from=build /app/ /app/
# The demo clip, where the app looks for it (assets/media/lobby.avi beside the binaries): standalone mode plays it.
COPY assets/media/lobby.avi assets/media/PROVENANCE.md assets/media/opencv-doc.copyright /app/assets/media/

# Defaults: the app's default role (standalone) on 8080; deploy/k8s sets the role, the addresses and ports of each
# workload explicitly (node: Router__Role=node on 8558; gateway: Router__Role=gateway on 8080). Standalone:
#   docker run --rm -p 8080:8080 <image>
ENV DOTNET_RUNNING_IN_CONTAINER=true \
    ASPNETCORE_URLS=http://+:8080 \
    Router__Cluster__Hostname=0.0.0.0 \
    Router__Cluster__Port=4053

# 8080: HTTP and WebSocket of the gateway and standalone roles (devices, consumers, REST, viewer, /healthz, /readyz).
# 8558: HTTP of the node role (/healthz, /readyz). 4053: Akka.NET remoting.
EXPOSE 8080 8558 4053
USER 1000:1000
ENTRYPOINT ["/app/Router.Node"]
