#!/usr/bin/env bash
# Starts and stops a local Router cluster by hand: 3 node processes (Router.Node --role=node) and 2 gateway
# processes (Router.Node --role=gateway) on 127.0.0.1, the same shape the fault tests (tests/Router.Tests/Cluster) run.
#
#   deploy/local/cluster.sh up       build (Release), start, wait until every member is ready, print URLs and the key
#   deploy/local/cluster.sh status   which processes run
#   deploy/local/cluster.sh down     SIGTERM every process (graceful leave and shard hand-off), kill what is left after 50 s
#
# Tenant "demo" with camera lobby/main (the demo clip, pulled by whichever node hosts the camera) and an API key with
# scopes ingest and view: $ROUTER_DEMO_API_KEY, or one generated at the first `up` and kept in the state directory.
# Ports: nodes HTTP 8551-8553 / remoting 4051-4053; gateways HTTP 8081-8082 / remoting 4061-4062.
# Override the first port of each range with NODE_HTTP, NODE_REMOTING, GATEWAY_HTTP, GATEWAY_REMOTING.
# State (pids, logs, key) lives in $ROUTER_CLUSTER_DIR (default /tmp/router-local-cluster).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
state=${ROUTER_CLUSTER_DIR:-/tmp/router-local-cluster}
node_http=${NODE_HTTP:-8551}
node_remoting=${NODE_REMOTING:-4051}
gateway_http=${GATEWAY_HTTP:-8081}
gateway_remoting=${GATEWAY_REMOTING:-4061}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_ready() { # name port
  local deadline=$((SECONDS + 90))
  until curl -fsS "http://127.0.0.1:$2/readyz" >/dev/null 2>&1; do
    if ! alive "$state/$1.pid"; then echo "cluster: $1 exited; its log:" >&2; tail -30 "$state/$1.log" >&2; exit 1; fi
    if (( SECONDS > deadline )); then echo "cluster: $1 not ready after 90 s; see $state/$1.log" >&2; exit 1; fi
    sleep 0.5
  done
}

up() {
  mkdir -p "$state"
  for pid in "$state"/*.pid; do
    if alive "$pid"; then echo "cluster: already running ($(basename "$pid" .pid)); run '$0 down' first" >&2; exit 1; fi
  done
  scripts/setup.sh
  dotnet build src/Router.Node -c Release --no-restore -v quiet -nologo

  local key=${ROUTER_DEMO_API_KEY:-}
  if [[ -z $key ]]; then
    [[ -s "$state/demo-key" ]] || head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$state/demo-key"
    key=$(cat "$state/demo-key")
  fi
  local hash
  hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
  local clip="$repo/assets/media/lobby.avi"

  # Every member knows the pull source (gateways list it as online; the node hosting the camera captures it).
  local -a pull=(--Router:PullSources:0:Tenant=demo --Router:PullSources:0:SourceId=lobby
    --Router:PullSources:0:CameraId=main "--Router:PullSources:0:Url=$clip")
  local -a common=(
    --Router:Cluster:Hostname=127.0.0.1
    "--Router:Cluster:SeedNodes:0=akka.tcp://router@127.0.0.1:$node_remoting"
    "--Router:Cluster:SeedNodes:1=akka.tcp://router@127.0.0.1:$((node_remoting + 1))"
    "--Router:Cluster:SeedNodes:2=akka.tcp://router@127.0.0.1:$((node_remoting + 2))"
  )
  for i in 0 1 2; do
    local name="node-$i"
    nohup dotnet "src/Router.Node/bin/Release/net10.0/Router.Node.dll" --role=node \
      "--urls=http://127.0.0.1:$((node_http + i))" "--Router:Cluster:Port=$((node_remoting + i))" "${common[@]}" \
      "${pull[@]}" >"$state/$name.log" 2>&1 &
    echo $! >"$state/$name.pid"
  done
  for i in 0 1; do
    local name="gateway-$i"
    nohup dotnet "src/Router.Node/bin/Release/net10.0/Router.Node.dll" --role=gateway \
      "--urls=http://127.0.0.1:$((gateway_http + i))" "--Router:Cluster:Port=$((gateway_remoting + i))" "${common[@]}" \
      "--Router:ApiKeys:0:Sha256=$hash" --Router:ApiKeys:0:Tenant=demo --Router:ApiKeys:0:Name=demo \
      --Router:ApiKeys:0:Scopes:0=ingest --Router:ApiKeys:0:Scopes:1=view "${pull[@]}" >"$state/$name.log" 2>&1 &
    echo $! >"$state/$name.pid"
  done
  for i in 0 1 2; do wait_ready "node-$i" $((node_http + i)); done
  for i in 0 1; do wait_ready "gateway-$i" $((gateway_http + i)); done

  echo
  echo "Router local cluster is up: 3 nodes, 2 gateways (logs and pids in $state)."
  for i in 0 1; do echo "  Gateway $i:   http://127.0.0.1:$((gateway_http + i))/#key=$key"; done
  echo "  Demo tenant: demo, API key: $key"
  echo "  Demo camera: lobby/main (pulled from $clip by the node hosting it)"
  echo "  Push frames: dotnet run --project src/Router.Cli -- push --url ws://127.0.0.1:$gateway_http --url ws://127.0.0.1:$((gateway_http + 1)) --key $key --source robot-01 --file clip.avi"
  echo "  Stop:        $0 down"
}

status() {
  local any=0
  for pid in "$state"/*.pid; do
    [[ -f $pid ]] || continue
    if alive "$pid"; then echo "$(basename "$pid" .pid): running (pid $(cat "$pid"))"; any=1
    else echo "$(basename "$pid" .pid): stopped"; fi
  done
  (( any )) || echo "cluster: not running"
}

down() {
  local -a pids=()
  for pid in "$state"/*.pid; do
    [[ -f $pid ]] || continue
    if alive "$pid"; then pids+=("$(cat "$pid")"); kill -TERM "$(cat "$pid")"; fi
  done
  local deadline=$((SECONDS + 50))
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
    kill -0 "$p" 2>/dev/null && { echo "cluster: pid $p still running after 50 s; killing it" >&2; kill -KILL "$p"; }
  done
  rm -f "$state"/*.pid
  echo "cluster: stopped ${#pids[@]} process(es)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|status|down" >&2; exit 2 ;;
esac
