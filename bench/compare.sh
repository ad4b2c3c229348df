#!/usr/bin/env bash
# Side-by-side forwarding benchmark: oxvs against Open vSwitch 3.1's userspace
# datapath (Debian package, datapath_type=netdev) on this machine, interleaved
# A B A B, two host namespaces attached by veth pairs.
#
# Measures per contender and round: iperf3 TCP (1 stream, hosts' offloads off,
# which OVS needs), iperf3 TCP with the hosts' default offloads, and 64-byte
# UDP delivered packets/s at full offered load. Prints a markdown table of
# medians (min-max) with the ratio oxvs/OVS and writes JSON to
# bench/results/compare.json.
#
# Usage: bench/compare.sh [ROUNDS] (default 3; SECS=5 per measurement). Root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${SECS:-5}
./scripts/install-deps.sh
cargo build --release -q
OXVS=$PWD/target/release/oxvs
OUT=bench/results
mkdir -p "$OUT"
RAW=$OUT/raw.jsonl
: > "$RAW"
WORK=$(mktemp -d /tmp/oxvs-bench.XXXXXX)

hosts_up() {
    for h in a b; do
        ip netns del bn-$h 2>/dev/null || true
        ip link del bn-$h 2>/dev/null || true
        ip netns add bn-$h
        ip link add bn-$h type veth peer name eth0 netns bn-$h
        ip link set bn-$h up
        ip -n bn-$h link set lo up
        ip -n bn-$h link set eth0 up
    done
    ip -n bn-a addr add 10.250.0.1/24 dev eth0
    ip -n bn-b addr add 10.250.0.2/24 dev eth0
}
hosts_down() { ip netns del bn-a 2>/dev/null || true; ip netns del bn-b 2>/dev/null || true; }
offloads() { # on|off
    for h in a b; do ip netns exec bn-$h ethtool -K eth0 tx "$1" tso "$1" gso "$1" >/dev/null 2>&1 || true; done
}

start_oxvs() {
    export OVS_RUNDIR=$WORK/oxvs OVS_DBDIR=$WORK/oxvs OVS_LOGDIR=$WORK/oxvs
    rm -rf "$WORK/oxvs"; mkdir -p "$WORK/oxvs"
    "$OXVS" daemon --detach
    "$OXVS" vsctl add-br br0
    "$OXVS" vsctl add-port br0 bn-a
    "$OXVS" vsctl add-port br0 bn-b
    SWITCH_PID=$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")
}
stop_oxvs() { kill "$SWITCH_PID" 2>/dev/null || true; sleep 0.5; }

start_ovs() {
    export OVS_RUNDIR=$WORK/ovs OVS_DBDIR=$WORK/ovs OVS_LOGDIR=$WORK/ovs
    rm -rf "$WORK/ovs"; mkdir -p "$WORK/ovs"
    ovsdb-tool create "$WORK/ovs/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server --remote=punix:"$WORK/ovs/db.sock" --pidfile --detach --log-file "$WORK/ovs/conf.db"
    ovs-vsctl --no-wait init
    ovs-vswitchd --pidfile --detach --log-file
    ovs-vsctl add-br br0 -- set bridge br0 datapath_type=netdev
    ovs-vsctl add-port br0 bn-a
    ovs-vsctl add-port br0 bn-b
    SWITCH_PID=$(cat "$WORK/ovs/ovs-vswitchd.pid")
}
stop_ovs() {
    ovs-appctl -t ovs-vswitchd exit >/dev/null 2>&1 || kill "$SWITCH_PID" 2>/dev/null || true
    ovs-appctl -t ovsdb-server exit >/dev/null 2>&1 || true
    sleep 0.5
}

measure() { # contender round
    local who=$1 round=$2
    ip netns exec bn-a ping -c 3 -i 0.2 -W 1 10.250.0.2 >/dev/null || true
    ip netns exec bn-b iperf3 -s -D -I "$WORK/iperf.pid" >/dev/null 2>&1
    sleep 0.5
    # Offloads off first (OVS needs it: with them on, its TCP never connects,
    # and iperf3's control channel is TCP, so UDP runs with them off too).
    offloads off
    local tcp_off tcp_on udp
    tcp_off=$(ip netns exec bn-a timeout $((SECS + 20)) iperf3 -c 10.250.0.2 -t "$SECS" -J 2>/dev/null \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["end"]["sum_received"]["bits_per_second"]/1e9)' 2>/dev/null || echo 0)
    udp=$(ip netns exec bn-a timeout $((SECS + 20)) iperf3 -c 10.250.0.2 -u -b 0 -l 18 -t "$SECS" -J 2>/dev/null \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["end"]["sum"]; print((s["packets"]-s["lost_packets"])/s["seconds"]/1e3, s["lost_percent"])' 2>/dev/null || echo "0 100")
    offloads on
    tcp_on=$(ip netns exec bn-a timeout $((SECS + 20)) iperf3 -c 10.250.0.2 -t "$SECS" -J --connect-timeout 3000 2>/dev/null \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["end"]["sum_received"]["bits_per_second"]/1e9)' 2>/dev/null || echo 0)
    kill "$(cat "$WORK/iperf.pid" 2>/dev/null)" 2>/dev/null || true
    sleep 0.3
    echo "{\"who\":\"$who\",\"round\":$round,\"tcp_offloads_off_gbps\":$tcp_off,\"tcp_default_offloads_gbps\":$tcp_on,\"udp64_kpps\":${udp% *},\"udp64_loss_pct\":${udp#* }}" | tee -a "$RAW"
}

trap 'stop_oxvs 2>/dev/null; stop_ovs 2>/dev/null; hosts_down; rm -rf "$WORK"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    hosts_up; start_oxvs; measure oxvs "$round"; stop_oxvs; hosts_down
    hosts_up; start_ovs; measure ovs "$round"; stop_ovs; hosts_down
done

python3 - "$RAW" "$OUT/compare.json" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
metrics = [("tcp_offloads_off_gbps", "TCP 1 stream, offloads off (Gbit/s)"),
           ("tcp_default_offloads_gbps", "TCP 1 stream, default offloads (Gbit/s)"),
           ("udp64_kpps", "UDP 64-byte delivered (kpps)"),
           ("udp64_loss_pct", "UDP 64-byte loss (%)")]
summary = {}
print("| metric | oxvs median (min-max) | OVS netdev median (min-max) | oxvs/OVS |")
print("|---|---|---|---|")
for key, label in metrics:
    cell = {}
    for who in ("oxvs", "ovs"):
        v = [r[key] for r in rows if r["who"] == who]
        cell[who] = (statistics.median(v), min(v), max(v)) if v else (0, 0, 0)
    o, p = cell["oxvs"][0], cell["ovs"][0]
    ratio = f"{o / p:.2f}" if p else "n/a (OVS 0)"
    summary[key] = {"oxvs": cell["oxvs"], "ovs": cell["ovs"]}
    fmt = lambda c: f"{c[0]:.2f} ({c[1]:.2f}-{c[2]:.2f})"
    print(f"| {label} | {fmt(cell['oxvs'])} | {fmt(cell['ovs'])} | {ratio} |")
json.dump({"rows": rows, "summary": summary}, open(sys.argv[2], "w"), indent=1)
PY
