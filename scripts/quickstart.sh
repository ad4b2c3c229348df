#!/usr/bin/env bash
# Quickstart: install what is needed, build oxvs, and switch real traffic
# between two network namespaces: ping and iperf3 through the switch.
# Run as root on Debian 12. Leaves nothing behind unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo build --release -q
OXVS=$PWD/target/release/oxvs
export OVS_RUNDIR=${OVS_RUNDIR:-/var/run/openvswitch} OVS_DBDIR=${OVS_DBDIR:-/var/lib/oxvs}
mkdir -p "$OVS_RUNDIR" "$OVS_DBDIR"

cleanup() {
    [ "${KEEP:-0}" = 1 ] && return
    [ -n "${IPERF_PID:-}" ] && kill "$IPERF_PID" 2>/dev/null || true
    "$OXVS" vsctl --no-wait --if-exists del-br br0 >/dev/null 2>&1 || true
    [ -f "$OVS_RUNDIR/ovs-vswitchd.pid" ] && kill "$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")" 2>/dev/null || true
    ip netns del qs-a 2>/dev/null || true
    ip netns del qs-b 2>/dev/null || true
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; "$@"; }

# Two hosts, each a namespace with eth0; the other veth end stays here.
for h in a b; do
    ip netns del qs-$h 2>/dev/null || true
    ip link del qs-$h 2>/dev/null || true
    ip netns add qs-$h
    ip link add qs-$h type veth peer name eth0 netns qs-$h
    ip link set qs-$h up
    ip -n qs-$h link set lo up
    ip -n qs-$h link set eth0 up
done
ip -n qs-a addr add 10.200.0.1/24 dev eth0
ip -n qs-b addr add 10.200.0.2/24 dev eth0

run "$OXVS" daemon --detach
run "$OXVS" vsctl --may-exist add-br br0
run "$OXVS" vsctl --may-exist add-port br0 qs-a
run "$OXVS" vsctl --may-exist add-port br0 qs-b
run "$OXVS" vsctl show
run ip netns exec qs-a ping -c 3 10.200.0.2
run ip netns exec qs-b ping -c 3 10.200.0.1
ip netns exec qs-b iperf3 -s -1 >/dev/null 2>&1 &
IPERF_PID=$!
sleep 0.5
run ip netns exec qs-a iperf3 -c 10.200.0.2 -t 5
run "$OXVS" appctl fdb/show br0
run "$OXVS" appctl dpctl/dump-flows
run "$OXVS" appctl dpctl/show
echo
echo "quickstart: traffic switched by oxvs."
