# A stand-in for mcr.microsoft.com/dotnet/sdk:10.0, for machines that cannot pull it (docs/deploy.md): the Debian base
# made by scripts/containers/build-images.sh, the packages the .NET SDK needs (those of .NET's runtime-deps image,
# plus git and curl like the real SDK image), and this machine's own SDK. Used only as the SDK_IMAGE build argument of
# deploy/docker/router.Dockerfile (the build stage). Build context, prepared by build-images.sh:
#   dotnet/            the SDK's install directory (e.g. /usr/share/dotnet)
#   ca-certificates/   extra CA certificates this machine trusts (*.crt), e.g. of a TLS-inspecting egress proxy
ARG BASE_IMAGE=localhost/router-local/debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG NUGET_CERT_REVOCATION_MODE=online
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libc6 libgcc-s1 libicu72 libssl3 libstdc++6 tzdata zlib1g curl git \
 && rm -rf /var/lib/apt/lists/*
COPY ca-certificates/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY dotnet/ /usr/share/dotnet/
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet && dotnet --info >/dev/null
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
    DOTNET_RUNNING_IN_CONTAINER=true \
    NUGET_CERT_REVOCATION_MODE=${NUGET_CERT_REVOCATION_MODE}
