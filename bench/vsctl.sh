#!/usr/bin/env bash
# Configuration speed, side by side: the real ovs-vsctl against oxvs (one
# daemon: database + switch) and against Open vSwitch 3.1 (ovsdb-server +
# ovs-vswitchd, datapath_type=netdev), interleaved A B A B:
#   - N1 (1000) internal ports added by ONE ovs-vsctl command chained with --
#     (one transaction; ovs-vsctl waits until the switch reports every ofport);
#   - N2 (200) internal ports added by N2 separate default (waiting)
#     ovs-vsctl calls (each waits for the switch to apply it).
# Bridges are not deleted in the measurement: tearing down 1,000 tap devices
# is the kernel's work for both switches. After each contender stops, the
# script deletes the tap devices left behind (OVS makes its taps persistent).
# Prints a markdown table of medians (min-max) with the ratio oxvs/OVS and
# writes JSON to bench/results/vsctl.json.
#
# Usage: bench/vsctl.sh [ROUNDS] (default 3; N1=1000 N2=200). Root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
N1=${N1:-1000}
N2=${N2:-200}
./scripts/install-deps.sh
cargo build --release -q
OXVS=${CARGO_TARGET_DIR:-$PWD/target}/release/oxvs
OUT=bench/results
mkdir -p "$OUT"
RAW=$OUT/vsctl-raw.jsonl
: > "$RAW"
WORK=$(mktemp -d /tmp/oxvs-vsctl.XXXXXX)
now() { date +%s.%N; }

start_oxvs() {
    export OVS_RUNDIR=$WORK/oxvs OVS_DBDIR=$WORK/oxvs OVS_LOGDIR=$WORK/oxvs
    rm -rf "$WORK/oxvs"; mkdir -p "$WORK/oxvs"
    "$OXVS" daemon --detach
    ovs-vsctl init
    PIDS=$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")
}
# Remove the previous contender's tap devices (vbrN, vpN, vqN).
wait_links_gone() {
    local l
    for l in $(ip -o link show | grep -oE ': v(br|p|q)[0-9]+[:@]' | tr -d ' :@'); do
        ip link del "$l" 2>/dev/null || true
    done
}
wait_exit() { local p; for p in $PIDS; do while kill -0 "$p" 2>/dev/null; do sleep 0.2; done; done; }
stop_oxvs() { kill $PIDS 2>/dev/null || true; wait_exit; wait_links_gone; }
start_ovs() {
    export OVS_RUNDIR=$WORK/ovs OVS_DBDIR=$WORK/ovs OVS_LOGDIR=$WORK/ovs
    rm -rf "$WORK/ovs"; mkdir -p "$WORK/ovs"
    ovsdb-tool create "$WORK/ovs/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server --remote=punix:"$WORK/ovs/db.sock" --pidfile --detach --log-file "$WORK/ovs/conf.db"
    ovs-vsctl --no-wait init
    ovs-vswitchd --pidfile --detach --log-file
    PIDS="$(cat "$WORK/ovs/ovs-vswitchd.pid") $(cat "$WORK/ovs/ovsdb-server.pid")"
}
stop_ovs() {
    ovs-appctl -t ovs-vswitchd exit >/dev/null 2>&1 || true
    ovs-appctl -t ovsdb-server exit >/dev/null 2>&1 || true
    wait_exit
    wait_links_gone
}

measure() {
    local who=$1 round=$2 t0 t1 t2 t3 args=()
    ovs-vsctl add-br vbr0 -- set bridge vbr0 datapath_type=netdev
    for i in $(seq 1 "$N1"); do
        args+=(-- add-port vbr0 "vp$i" -- set interface "vp$i" type=internal)
    done
    t0=$(now); ovs-vsctl --timeout=600 "${args[@]}"; t1=$(now)
    [ "$(ovs-vsctl list-ports vbr0 | wc -l)" = "$N1" ]
    ovs-vsctl add-br vbr1 -- set bridge vbr1 datapath_type=netdev
    t2=$(now)
    for i in $(seq 1 "$N2"); do
        ovs-vsctl --timeout=60 add-port vbr1 "vq$i" -- set interface "vq$i" type=internal
    done
    t3=$(now)
    [ "$(ovs-vsctl list-ports vbr1 | wc -l)" = "$N2" ]
    python3 -c "import json; print(json.dumps({'who':'$who','round':$round,
        'chained_s':$t1-$t0,'separate_s':$t3-$t2}))" | tee -a "$RAW"
}

trap 'stop_oxvs 2>/dev/null; stop_ovs 2>/dev/null; rm -rf "$WORK"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    start_oxvs; measure oxvs "$round"; stop_oxvs
    start_ovs; measure ovs "$round"; stop_ovs
done

python3 - "$RAW" "$OUT/vsctl.json" "$N1" "$N2" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n1, n2 = sys.argv[3], sys.argv[4]
metrics = [("chained_s", f"{n1} ports, one chained ovs-vsctl (s)"),
           ("separate_s", f"{n2} ports, {n2} waiting ovs-vsctl calls (s)")]
summary = {}
print("| metric | oxvs median (min-max) | OVS 3.1 median (min-max) | oxvs/OVS |")
print("|---|---|---|---|")
for key, label in metrics:
    cell = {}
    for who in ("oxvs", "ovs"):
        v = [r[key] for r in rows if r["who"] == who]
        cell[who] = (statistics.median(v), min(v), max(v)) if v else (0, 0, 0)
    o, p = cell["oxvs"][0], cell["ovs"][0]
    summary[key] = cell
    fmt = lambda c: f"{c[0]:.2f} ({c[1]:.2f}-{c[2]:.2f})"
    print(f"| {label} | {fmt(cell['oxvs'])} | {fmt(cell['ovs'])} | {o / p:.2f} |" if p else f"| {label} | n/a |")
json.dump({"rows": rows, "summary": summary}, open(sys.argv[2], "w"), indent=1)
PY
