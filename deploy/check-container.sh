#!/usr/bin/env bash
# The container check, on a machine with a Docker engine and no access to image registries:
#   1. a Debian base image from Debian's packages (debootstrap, docker import);
#   2. .NET SDK and ASP.NET runtime base images made from the .NET on this machine;
#   3. deploy/Dockerfile built with those as SDK_IMAGE and RUNTIME_IMAGE;
#   4. the container run; from the host: /healthz, /readyz, GetServerInfo over the JSON API and over
#      gRPC (h2c), a network created and listed, /metrics, the dashboard page, Docker's HEALTHCHECK,
#      a user other than root, the data volume;
#   5. the container stopped with SIGTERM, which must end it with exit code 0.
# Run as root from anywhere: bash deploy/check-container.sh. Prints "container check passed" at the end.
# Settings (environment): SNN_DEBIAN_SUITE (bookworm), SNN_DEBIAN_MIRROR (http://deb.debian.org/debian),
# DOTNET_ROOT (the folder of the dotnet on PATH), SNN_DOCKER_NETWORK (the build's network, default host:
# the restore reaches the NuGet source as this machine does).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
suite=${SNN_DEBIAN_SUITE:-bookworm}
mirror=${SNN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
dotnet_root=${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}
build_network=${SNN_DOCKER_NETWORK:-host}
container=snn-container-check-$$
work=$(mktemp -d)

step() { echo "== $*"; }
fail() { echo "container check FAILED: $*" >&2; docker logs "$container" 2>&1 | tail -40 >&2 || true; exit 1; }
cleanup() {
  docker rm -f "$container" >/dev/null 2>&1 || true
  docker volume rm -f "$container-data" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

docker info >/dev/null 2>&1 || fail "no Docker engine answers (docker info fails)"
[ -x "$dotnet_root/dotnet" ] || fail "no dotnet in $dotnet_root (set DOTNET_ROOT)"
sdk_version=$("$dotnet_root/dotnet" --version)
runtime_version=$(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | sort -V | tail -1)
base=snn-local/debian:$suite
sdk_image=snn-local/dotnet-sdk:$sdk_version
runtime_image=snn-local/aspnet:$runtime_version

# 1. Debian, from its own packages: the libraries .NET needs (ICU, OpenSSL, CA certificates, time zones).
if ! docker image inspect "$base" >/dev/null 2>&1; then
  step "debootstrap $suite from $mirror"
  command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install debootstrap)"
  debootstrap --variant=minbase --include=ca-certificates,libicu72,libssl3,tzdata "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb
  tar -C "$work/rootfs" -c . | docker import - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

# 2. The .NET images, like the official ones: dotnet on PATH; the runtime image has the user "app" (uid 1654).
# The SDK image also trusts the certificate authorities this machine adds (/usr/local/share/ca-certificates):
# where the way to the NuGet source passes a proxy that signs with its own authority, the restore needs it.
if ! docker image inspect "$runtime_image" >/dev/null 2>&1; then
  step "runtime image $runtime_image from $dotnet_root"
  mkdir -p "$work/runtime/dotnet/shared"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$work/runtime/dotnet/"
  for framework in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
    mkdir -p "$work/runtime/dotnet/shared/$framework"
    cp -a "$dotnet_root/shared/$framework/$runtime_version" "$work/runtime/dotnet/shared/$framework/"
  done
  cat >"$work/runtime/Dockerfile" <<DOCKERFILE
FROM $base
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet && useradd --uid 1654 --user-group --no-create-home --home-dir /app app
ENV DOTNET_RUNNING_IN_CONTAINER=true APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080
DOCKERFILE
  docker build -q -t "$runtime_image" "$work/runtime" >/dev/null
  rm -rf "$work/runtime"
fi
if ! docker image inspect "$sdk_image" >/dev/null 2>&1; then
  step "SDK image $sdk_image from $dotnet_root"
  mkdir -p "$work/sdk"
  cp -a "$dotnet_root" "$work/sdk/dotnet"
  mkdir -p "$work/sdk/ca"
  cp /usr/local/share/ca-certificates/*.crt "$work/sdk/ca/" 2>/dev/null || true
  cat >"$work/sdk/Dockerfile" <<DOCKERFILE
FROM $base
COPY dotnet /usr/share/dotnet
COPY ca /usr/local/share/ca-certificates
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet && update-ca-certificates >/dev/null
ENV DOTNET_RUNNING_IN_CONTAINER=true DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_GENERATE_ASPNET_CERTIFICATE=false
DOCKERFILE
  docker build -q -t "$sdk_image" "$work/sdk" >/dev/null
  rm -rf "$work/sdk"
fi

# 3. The image, as a user builds it, with the local base images.
step "docker build -f deploy/Dockerfile (SDK_IMAGE=$sdk_image, RUNTIME_IMAGE=$runtime_image)"
docker build --network "$build_network" -f "$root/deploy/Dockerfile" \
  --build-arg SDK_IMAGE="$sdk_image" --build-arg RUNTIME_IMAGE="$runtime_image" \
  -t snnservice:check "$root" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "docker build failed"; }

# 4. Run it, with ports published on loopback and a named volume for the data directory.
step "docker run"
docker run -d --name "$container" -p 127.0.0.1::8080 -p 127.0.0.1::50051 -v "$container-data:/data" \
  -e Snn__Limits__MaxInstances=64 snnservice:check >/dev/null
http=$(docker port "$container" 8080/tcp | head -1)
grpc=$(docker port "$container" 50051/tcp | head -1)
echo "HTTP/1.1 on $http, gRPC on $grpc"
for _ in $(seq 60); do
  curl -fsS "http://$http/healthz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://$http/healthz" | grep -qx Healthy || fail "/healthz did not answer Healthy within 60 s"
curl -fsS "http://$http/readyz" | grep -qx Healthy || fail "/readyz is not Healthy"
echo "/healthz and /readyz: Healthy"

info=$(curl -fsS "http://$http/v1/info")
echo "$info" | grep -q '"backend": *"cpu"' || fail "GetServerInfo over the JSON API: no backend cpu in $info"
echo "$info" | grep -q '"maxInstances": *64' || fail "Snn__Limits__MaxInstances=64 from the environment is not in effect: $info"
echo "GetServerInfo (JSON): backend cpu, maxInstances 64 from the environment"

# gRPC over h2c: an empty GetServerInfoRequest is the 5-byte frame 00 00000000.
printf '\0\0\0\0\0' >"$work/empty.grpc"
curl -fsS --http2-prior-knowledge -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @"$work/empty.grpc" \
  -D "$work/grpc.headers" -o "$work/grpc.body" "http://$grpc/snn.v1.Snn/GetServerInfo"
grep -q '^grpc-status: 0' "$work/grpc.headers" || fail "GetServerInfo over gRPC did not end with grpc-status 0: $(cat "$work/grpc.headers")"
grep -qa 'cpu' "$work/grpc.body" || fail "GetServerInfo over gRPC: no backend cpu in the answer"
echo "GetServerInfo (gRPC h2c): grpc-status 0, $(wc -c <"$work/grpc.body") bytes"

curl -fsS -H 'content-type: application/json' \
  -d '{"name":"check","populations":[{"name":"in","model":"input","size":4},{"name":"out","model":"passthrough","size":4}],"projections":[{"name":"ff","source":"in","target":"out","oneToOne":{}}]}' \
  "http://$http/v1/networks" >/dev/null || fail "CreateNetwork over the JSON API failed"
curl -fsS "http://$http/v1/networks" | grep -q '"name": *"check"' || fail "ListNetworks does not list the network created"
curl -fsS "http://$http/metrics" | grep -qx 'snn_networks{[^}]*} 1\|snn_networks 1' || fail "/metrics does not show snn_networks 1"
curl -fsS "http://$http/" | grep -q '<title>SnnService' || fail "the dashboard page is not served at /"
echo "CreateNetwork, ListNetworks, /metrics (snn_networks 1), dashboard at /: ok"

uid=$(docker exec "$container" id -u)
[ "$uid" != 0 ] || fail "the server runs as root"
docker exec "$container" sh -c 'test -w /data' || fail "the data volume is not writable by the server's user"
echo "runs as uid $uid; /data (a volume) writable"

# Docker's own HEALTHCHECK (the server's --healthcheck) must report healthy: the first probe runs 30 s after the start.
for _ in $(seq 90); do
  status=$(docker inspect -f '{{.State.Health.Status}}' "$container")
  [ "$status" = healthy ] && break
  [ "$status" = unhealthy ] && fail "HEALTHCHECK reports unhealthy: $(docker inspect -f '{{json .State.Health.Log}}' "$container")"
  sleep 1
done
[ "$status" = healthy ] || fail "HEALTHCHECK did not report healthy within 90 s (status $status)"
echo "HEALTHCHECK: healthy"

# 5. Stop: SIGTERM, the graceful stop, exit code 0.
step "docker stop"
docker stop -t 20 "$container" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$container")
[ "$code" = 0 ] || fail "the server exited with $code after SIGTERM"
echo "stopped with SIGTERM: exit code 0"
echo "container check passed"
