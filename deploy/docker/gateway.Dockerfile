# Router gateway image: the gateway role (HTTP/WebSocket endpoints, viewer, shard region proxy).
#
#   docker build -f deploy/docker/gateway.Dockerfile -t registry.example.com/router/router-gateway:0.1.0 .
#
# Build context: the repository root (see /.dockerignore). Runs as UID 1000, non-root.
# Base: .NET 10 ships no Debian images (mcr.microsoft.com/dotnet/aspnet:10.0 is Ubuntu), so the app is published
# self-contained (runtime included) onto debian:bookworm-slim, the OS the native library list below was taken on.

ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_BASE_IMAGE=debian:bookworm-slim

# ---- build -------------------------------------------------------------------------------------------------------
FROM ${SDK_IMAGE} AS build
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Router.Protocol/Router.Protocol.csproj src/Router.Protocol/
COPY src/Router.Actors/Router.Actors.csproj src/Router.Actors/
COPY src/Router.Gateway/Router.Gateway.csproj src/Router.Gateway/
RUN dotnet restore src/Router.Gateway/Router.Gateway.csproj -r linux-x64 -p:SelfContained=true
COPY src/Router.Protocol/ src/Router.Protocol/
COPY src/Router.Actors/ src/Router.Actors/
COPY src/Router.Gateway/ src/Router.Gateway/
RUN dotnet publish src/Router.Gateway/Router.Gateway.csproj --no-restore -c Release -r linux-x64 --self-contained true \
      -o /app

# ---- runtime -----------------------------------------------------------------------------------------------------
FROM ${RUNTIME_BASE_IMAGE} AS runtime
# .NET's own dependencies, then the libraries libOpenCvSharpExtern.so links against (Router.Actors brings
# OpenCvSharp; the package-by-library list is in node.Dockerfile).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libc6 libgcc-s1 libicu72 libssl3 libstdc++6 tzdata zlib1g \
      libgtk-3-0 libgdk-pixbuf-2.0-0 libglib2.0-0 libpango-1.0-0 libpangocairo-1.0-0 libcairo2 \
      libcairo-gobject2 libatk1.0-0 libharfbuzz0b libfreetype6 libx11-6 libdrm2 libatomic1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 app \
 && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin app

WORKDIR /app
COPY --from=build /app/ /app/

# Defaults for Kubernetes; deploy/k8s sets them explicitly too (plus the seeds and PublicHostname=$(POD_IP)).
ENV DOTNET_RUNNING_IN_CONTAINER=true \
    ASPNETCORE_URLS=http://+:8080 \
    Router__Cluster__Hostname=0.0.0.0 \
    Router__Cluster__Port=4053

# 8080: HTTP and WebSocket (devices, consumers, REST, viewer, /healthz, /readyz). 4053: Akka.NET remoting.
EXPOSE 8080 4053
USER 1000:1000
ENTRYPOINT ["/app/Router.Gateway"]
