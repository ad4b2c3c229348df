#!/usr/bin/env bash
# OpenFlow table loading, side by side: 100,000 distinct flows loaded with the
# real `ovs-ofctl add-flows` into oxvs and into Open vSwitch 3.1 (userspace
# datapath), then dump-flows and del-flows timed, and the switch process's
# resident memory before/after (memory per flow). Interleaved A B A B.
#
# Usage: bench/flows.sh [ROUNDS] (default 3; N=100000 flows). Root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
N=${N:-100000}
./scripts/install-deps.sh
cargo build --release -q
OXVS=$PWD/target/release/oxvs
OUT=bench/results
mkdir -p "$OUT"
RAW=$OUT/flows-raw.jsonl
: > "$RAW"
WORK=$(mktemp -d /tmp/oxvs-flows.XXXXXX)
python3 - "$N" > "$WORK/flows.txt" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"priority={100 + i % 7},tcp,nw_dst=10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255},tp_dst={1 + i % 1000},actions=output:1")
PY

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }

start_oxvs() {
    export OVS_RUNDIR=$WORK/oxvs OVS_DBDIR=$WORK/oxvs OVS_LOGDIR=$WORK/oxvs
    rm -rf "$WORK/oxvs"; mkdir -p "$WORK/oxvs"
    "$OXVS" daemon --detach
    "$OXVS" vsctl add-br fbr0
    PID=$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")
}
stop_oxvs() { kill "$PID" 2>/dev/null || true; sleep 0.5; }
start_ovs() {
    export OVS_RUNDIR=$WORK/ovs OVS_DBDIR=$WORK/ovs OVS_LOGDIR=$WORK/ovs
    rm -rf "$WORK/ovs"; mkdir -p "$WORK/ovs"
    ovsdb-tool create "$WORK/ovs/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server --remote=punix:"$WORK/ovs/db.sock" --pidfile --detach --log-file "$WORK/ovs/conf.db"
    ovs-vsctl --no-wait init
    ovs-vswitchd --pidfile --detach --log-file
    ovs-vsctl add-br fbr0 -- set bridge fbr0 datapath_type=netdev
    PID=$(cat "$WORK/ovs/ovs-vswitchd.pid")
}
stop_ovs() {
    ovs-appctl -t ovs-vswitchd exit >/dev/null 2>&1 || kill "$PID" 2>/dev/null || true
    ovs-appctl -t ovsdb-server exit >/dev/null 2>&1 || true
    sleep 0.5
}

measure() {
    local who=$1 round=$2 rss0 rss1 t0 t1 t2 t3 count
    sleep 1
    rss0=$(rss_kb "$PID")
    t0=$(now); ovs-ofctl add-flows fbr0 "$WORK/flows.txt"; t1=$(now)
    sleep 1
    rss1=$(rss_kb "$PID")
    count=$(ovs-ofctl dump-flows fbr0 | grep -c 'actions=' || true)
    t2=$(now); ovs-ofctl dump-flows fbr0 > /dev/null; t3=$(now)
    local t4 t5
    t4=$(now); ovs-ofctl del-flows fbr0; t5=$(now)
    python3 -c "import json; print(json.dumps({'who':'$who','round':$round,'flows':$count,
        'add_flows_s':$t1-$t0,'dump_flows_s':$t3-$t2,'del_flows_s':$t5-$t4,
        'rss_before_kb':$rss0,'rss_after_kb':$rss1,'bytes_per_flow':($rss1-$rss0)*1024/max($count,1)}))" | tee -a "$RAW"
}

# The floor: the same add-flows against a switch that only answers
# (bench/ofp-null-switch.c, busy-polling). ovs-ofctl waits for a barrier
# reply per line, so no switch can load faster than this on this machine.
gcc -O2 -Wall -o "$WORK/ofp-null-switch" bench/ofp-null-switch.c
measure_floor() {
    "$WORK/ofp-null-switch" "$WORK/null.mgmt" & local pid=$!
    sleep 0.3
    local t0 t1
    t0=$(now); ovs-ofctl add-flows unix:"$WORK/null.mgmt" "$WORK/flows.txt"; t1=$(now)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    python3 -c "import json; print(json.dumps({'who':'floor','round':$1,'add_flows_s':$t1-$t0}))" | tee -a "$RAW"
}

trap 'stop_oxvs 2>/dev/null; stop_ovs 2>/dev/null; rm -rf "$WORK"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    start_oxvs; measure oxvs "$round"; stop_oxvs
    start_ovs; measure ovs "$round"; stop_ovs
    measure_floor "$round"
done

python3 - "$RAW" "$OUT/flows.json" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
metrics = [("add_flows_s", "add-flows 100k (s)"), ("dump_flows_s", "dump-flows 100k (s)"),
           ("del_flows_s", "del-flows (s)"), ("bytes_per_flow", "resident memory per flow (bytes)"),
           ("flows", "flows present after add-flows")]
summary = {}
print("| metric | oxvs median (min-max) | OVS netdev median (min-max) | oxvs/OVS |")
print("|---|---|---|---|")
for key, label in metrics:
    cell = {}
    for who in ("oxvs", "ovs"):
        v = [r[key] for r in rows if r["who"] == who]
        cell[who] = (statistics.median(v), min(v), max(v)) if v else (0, 0, 0)
    o, p = cell["oxvs"][0], cell["ovs"][0]
    ratio = f"{o / p:.2f}" if p else "n/a"
    summary[key] = cell
    fmt = lambda c: f"{c[0]:.2f} ({c[1]:.2f}-{c[2]:.2f})"
    print(f"| {label} | {fmt(cell['oxvs'])} | {fmt(cell['ovs'])} | {ratio} |")
floor = [r["add_flows_s"] for r in rows if r["who"] == "floor"]
if floor:
    f = statistics.median(floor)
    o = summary["add_flows_s"]["oxvs"][0]
    p = summary["add_flows_s"]["ovs"][0]
    print(f"\nadd-flows floor (a switch that only answers, busy-polling): median {f:.2f} s "
          f"(min {min(floor):.2f}) = {f / p:.2f}x OVS; oxvs = {o / f:.2f}x the floor")
    summary["add_flows_floor_s"] = f
json.dump({"rows": rows, "summary": summary}, open(sys.argv[2], "w"), indent=1)
PY
