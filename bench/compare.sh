#!/usr/bin/env bash
# Junction next to Crossbar on the same machine, in the same run: each router pinned to one core
# (ROUTER_CPU, default 0), the load generator to the other (LOAD_CPU, default 1), the same
# scenarios with a warm-up against both, one table at the end (markdown) with the ratio.
#
#   bench/compare.sh                     # everything, ~15 minutes
#   DURATION=3 WARMUP=1 bench/compare.sh # a quicker look
#   ROUTERS=junction bench/compare.sh    # only one router (ROUTERS="junction crossbar" by default)
#   ONLY='^pusher' bench/compare.sh      # only the scenarios whose label matches
#   FULL=1 bench/compare.sh              # also fan-out to 10,000 subscribers
#   BASELINE=/path/to/older/junction ROUTERS="baseline junction baseline junction" bench/compare.sh
#                                        # a change measured against the binary before it,
#                                        # alternating; bench/before_after.py makes its table
#
# Crossbar is installed once with pip into a venv under $JUNCTION_BENCH_CACHE (default
# ~/.cache/junction-bench, outside the repository). Raw results (one JSON line per run) and the
# routers' logs go to $RESULTS (default target/bench-results/<time>).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CACHE=${JUNCTION_BENCH_CACHE:-$HOME/.cache/junction-bench}
RESULTS=${RESULTS:-$ROOT/target/bench-results/$(date +%Y%m%d-%H%M%S)}
ROUTERS=${ROUTERS:-junction crossbar}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
ROUTER_CPU=${ROUTER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
KEY=bench-key
SECRET=bench-secret
mkdir -p "$RESULTS"

say() { printf '==> %s\n' "$*" >&2; }

# --- what runs ---------------------------------------------------------------------------------

say "building junction and junction-bench (release)"
cargo build --release --quiet -p junction -p junction-bench
JUNCTION=$ROOT/target/release/junction
BENCH=$ROOT/target/release/junction-bench

if [[ " $ROUTERS " == *" crossbar "* ]] && [ ! -x "$CACHE/crossbar-venv/bin/crossbar" ]; then
    say "installing Crossbar into $CACHE/crossbar-venv (a few minutes, once)"
    mkdir -p "$CACHE"
    python3 -m venv "$CACHE/crossbar-venv"
    "$CACHE/crossbar-venv/bin/pip" install --quiet --disable-pip-version-check crossbar
fi

# A TCP port nobody listens on now (the OS picks it; the router binds it right after).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The config both routers get, in Crossbar's shape: realm1, anonymous may do everything, WAMP
# at /ws (json, msgpack), an unsigned pusher at /push and a signed one at /push-signed, and the
# paths only one router gets (EXTRA_PATHS: Crossbar's static root, Junction's SSE path).
write_config() { # PORT FILE EXTRA_PATHS
    local extra_paths=$3
    cat > "$2" <<EOF
{
  "version": 2,
  "controller": {},
  "workers": [{
    "type": "router",
    "realms": [{
      "name": "realm1",
      "roles": [{"name": "anonymous", "permissions": [{
        "uri": "", "match": "prefix",
        "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
        "disclose": {"caller": false, "publisher": false}, "cache": true}]}]
    }],
    "transports": [{
      "type": "web",
      "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": $1},
      "paths": {
        $extra_paths
        "ws": {"type": "websocket", "serializers": ["json", "msgpack"]},
        "push": {"type": "publisher", "realm": "realm1", "role": "anonymous"},
        "push-signed": {"type": "publisher", "realm": "realm1", "role": "anonymous",
                        "options": {"key": "$KEY", "secret": "$SECRET"}}
      }
    }]
  }]
}
EOF
}

# --- starting and stopping routers ------------------------------------------------------------

ROUTER_PID=""
SERVER_PIDS=""

stop_router() {
    [ -n "$ROUTER_PID" ] || return 0
    local pids="$SERVER_PIDS"
    kill -TERM "$ROUTER_PID" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$ROUTER_PID" 2>/dev/null || break
        sleep 0.1
    done
    # Crossbar's workers normally leave with the controller; any that did not are ended by PID.
    for pid in $pids; do
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    done
    wait "$ROUTER_PID" 2>/dev/null || true
    ROUTER_PID=""
    SERVER_PIDS=""
}
trap stop_router EXIT

wait_for_log() { # FILE PATTERN SECONDS
    for _ in $(seq $(($3 * 10))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$ROUTER_PID" 2>/dev/null || { cat "$1" >&2; return 1; }
        sleep 0.1
    done
    say "timed out waiting for '$2' in $1"
    tail -20 "$1" >&2
    return 1
}

start_junction() { # PORT
    local dir=$RESULTS/${RESULTS_DIR_NAME:-junction}
    mkdir -p "$dir"
    # Server-Sent Events at /events (Junction only; Crossbar has no such path type).
    write_config "$1" "$dir/config.json" '"events": {"type": "sse", "realm": "realm1", "role": "anonymous"},'
    # The idle scenario holds 10,000 sessions from 4 loopback addresses: over Junction's
    # default max_connections_per_ip (1000), a key Crossbar would refuse in the shared config.
    sed -i 's/"port": \([0-9]*\)}/"port": \1, "max_connections_per_ip": 100000}/' "$dir/config.json"
    taskset -c "$ROUTER_CPU" "$JUNCTION" start --config "$dir/config.json" > "$dir/log" 2>&1 &
    ROUTER_PID=$!
    wait_for_log "$dir/log" "listening on" 30
    SERVER_PIDS=$ROUTER_PID
}

# An older Junction binary ($BASELINE), run exactly like the current one.
start_baseline() { # PORT
    local current=$JUNCTION
    JUNCTION=${BASELINE:?BASELINE names the older junction binary}
    RESULTS_DIR_NAME=baseline start_junction "$1"
    JUNCTION=$current
}

start_crossbar() { # PORT
    local dir=$RESULTS/crossbar
    mkdir -p "$dir/.crossbar" "$dir/web"
    echo ok > "$dir/web/index.html"
    write_config "$1" "$dir/.crossbar/config.json" '"/": {"type": "static", "directory": "../web"},'
    taskset -c "$ROUTER_CPU" "$CACHE/crossbar-venv/bin/crossbar" start \
        --cbdir "$dir/.crossbar" --loglevel info > "$dir/log" 2>&1 &
    ROUTER_PID=$!
    wait_for_log "$dir/log" "NODE_BOOT_COMPLETE" 120
    # The controller and its router worker(s): CPU and memory are counted over all of them.
    SERVER_PIDS="$ROUTER_PID $(pgrep -P "$ROUTER_PID" | tr '\n' ' ')"
}

# --- scenarios ----------------------------------------------------------------------------------

# run ROUTER LABEL SCENARIO ARGS...: one generator run pinned to LOAD_CPU, its JSON line kept.
run() {
    local router=$1 label=$2
    shift 2
    # ONLY=<regex>: only the scenarios whose label matches.
    if [ -n "${ONLY:-}" ] && ! [[ "$label" =~ $ONLY ]]; then
        return 0
    fi
    local pids
    pids=$(echo "$SERVER_PIDS" | xargs | tr ' ' ',')
    local line load
    load=$(cut -d' ' -f1 /proc/loadavg)
    if line=$(timeout 600 taskset -c "$LOAD_CPU" "$BENCH" "$@" --server-pid "$pids" \
            2> >(sed "s/^/    /" >&2)); then
        printf '{"router": "%s", "label": "%s", "loadavg": %s, "report": %s}\n' "$router" "$label" "$load" "$line" \
            >> "$RESULTS/results.jsonl"
    else
        say "$router: '$label' failed"
        printf '{"router": "%s", "label": "%s", "loadavg": %s, "report": null}\n' "$router" "$label" "$load" \
            >> "$RESULTS/results.jsonl"
    fi
    sleep 1
}

scenarios() { # ROUTER PORT
    local r=$1 http=http://127.0.0.1:$2 ws=ws://127.0.0.1:$2/ws
    local t=(--warmup "$WARMUP" --duration "$DURATION")
    run "$r" "pusher c=64" pusher --url "$http/push" -c 64 "${t[@]}"
    run "$r" "pusher signed c=64" pusher --url "$http/push-signed" -c 64 --key "$KEY" --secret "$SECRET" "${t[@]}"
    run "$r" "pusher c=64 s=100" pusher --url "$http/push" -c 64 -s 100 --ws-url "$ws" "${t[@]}"
    run "$r" "fanout s=100" fanout --url "$ws" -s 100 "${t[@]}"
    run "$r" "fanout s=1000" fanout --url "$ws" -s 1000 "${t[@]}"
    # The same fan-out to Server-Sent Events streams: Crossbar has no SSE path, so only Junction
    # (and a Junction BASELINE) runs these rows.
    if [ "$r" != crossbar ]; then
        run "$r" "sse-fanout s=100" sse-fanout --url "$ws" --sse-url "$http/events" -s 100 "${t[@]}"
        run "$r" "sse-fanout s=1000" sse-fanout --url "$ws" --sse-url "$http/events" -s 1000 "${t[@]}"
    fi
    run "$r" "fanout s=1000 msgpack" fanout --url "$ws" -s 1000 --serializer msgpack "${t[@]}"
    # The same at a load both routers sustain (50 publishes/s = 50,000 deliveries/s): latency
    # without queueing, rather than at saturation.
    run "$r" "fanout s=1000 at 50/s" fanout --url "$ws" -s 1000 --rate 50 "${t[@]}"
    if [ -n "${FULL:-}" ]; then
        run "$r" "fanout s=10000" fanout --url "$ws" -s 10000 --sources 4 "${t[@]}"
    fi
    run "$r" "rpc 16x16" rpc --url "$ws" -n 16 -k 16 "${t[@]}"
    run "$r" "rpc 16x16 msgpack" rpc --url "$ws" -n 16 -k 16 --serializer msgpack "${t[@]}"
    run "$r" "rpc 1x1" rpc --url "$ws" -n 1 -k 1 "${t[@]}"
    # idle takes --server-pid like the others (it has no warm-up or duration).
    run "$r" "idle n=10000" idle --url "$ws" -n 10000 --sources 4
}

for router in $ROUTERS; do
    port=$(free_port)
    say "$router on 127.0.0.1:$port (core $ROUTER_CPU), load on core $LOAD_CPU"
    "start_$router" "$port"
    scenarios "$router" "$port"
    stop_router
done

# --- the table ---------------------------------------------------------------------------------

python3 - "$RESULTS/results.jsonl" "$ROOT/bench" <<'EOF'
import json, sys

sys.path.insert(0, sys.argv[2])
from bench_metrics import metrics

runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
labels = list(dict.fromkeys(r["label"] for r in runs))
by = {(r["router"], r["label"]): r["report"] for r in runs}

def fmt(v):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if v < 10 else f"{v:.1f}"

print("| scenario | metric | Junction | Crossbar | ratio |")
print("|---|---|---:|---:|---:|")
for label in labels:
    j, c = by.get(("junction", label)), by.get(("crossbar", label))
    names = metrics(j or c) if (j or c) else []
    jm = {n: v for n, v, _ in metrics(j)} if j else {}
    cm = {n: v for n, v, _ in metrics(c)} if c else {}
    for name, _, higher in names:
        jv, cv = jm.get(name), cm.get(name)
        ratio = "-"
        if jv and cv:
            ratio = f"{(jv / cv if higher else cv / jv):.1f}x"
        print(f"| {label} | {name} | {fmt(jv)} | {fmt(cv)} | {ratio} |")
print()
print("ratio: how many times better Junction is (throughput Junction/Crossbar; latency and memory Crossbar/Junction).")
for router in dict.fromkeys(r["router"] for r in runs):
    rs = [r for r in runs if r["router"] == router]
    loads = [r["loadavg"] for r in rs]
    waits = [r["report"]["cpu"].get("server_wait", 0) for r in rs if r["report"] and "cpu" in r["report"]]
    print(f"{router}: 1-minute load average before the runs {min(loads)}-{max(loads)}; "
          f"share of time the router waited for its core: up to {max(waits, default=0):.2f}")
EOF
say "raw results: $RESULTS/results.jsonl"
