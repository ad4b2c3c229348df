#!/usr/bin/env bash
# Profiles one contender's switch process under one of bench/run.sh's loads:
# the same namespaces and switch set-up as run.sh, then `perf record
# --call-graph dwarf` on the switch's process for the length of the load.
# Writes to bench/results/profile-WHO-LOAD.{data,txt} (perf.data and the
# top of `perf report --no-children`), and, when inferno is installed
# (`cargo install inferno`), a flame graph profile-WHO-LOAD.svg.
#
# Usage: bench/profile.sh [WHO [LOAD]]   WHO: oxvs (default), ovs, ovs-tso;
#   LOAD: udp (default: iperf3 64-byte UDP, unlimited), tcp (iperf3 TCP 1
#   stream, default offloads), tcp-off (the same, offloads off), rr
#   (sockperf TCP ping-pong), newflow (bench/newflows.c). SECS=10. Root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
WHO=${1:-oxvs}
LOAD=${2:-udp}
SECS=${SECS:-10}
case $WHO in oxvs | ovs | ovs-tso) ;; *) echo "profile: WHO is oxvs, ovs or ovs-tso" >&2; exit 2 ;; esac
case $LOAD in udp | tcp | tcp-off | rr | newflow) ;; *) echo "profile: unknown LOAD $LOAD" >&2; exit 2 ;; esac
command -v perf >/dev/null || { echo "profile: perf not found (apt-get install linux-perf)" >&2; exit 1; }
BH_SKIP_SETUP=${BH_SKIP_SETUP:-1} bh_init profile
trap 'exit 130' INT TERM
OUT=$BH_OUT/profile-$WHO-$LOAD

bh_hosts_up
bh_switch_up "$WHO"
if [ "$LOAD" = tcp ]; then bh_offloads on; else bh_offloads off; fi
ip netns exec bh-a ping -c 3 -i 0.2 -W 1 10.250.0.2 >/dev/null || true
SERVER=""
case $LOAD in
udp | tcp | tcp-off)
    ip netns exec bh-b iperf3 -s >/dev/null 2>&1 & SERVER=$!
    ;;
rr)
    ip netns exec bh-b sockperf server --tcp -i 10.250.0.2 -p 11111 >/dev/null 2>&1 & SERVER=$!
    ;;
newflow)
    gcc -O2 -Wall -o "$BH_WORK/newflows" bench/newflows.c
    if [ "$WHO" = oxvs ]; then
        ovs-ofctl add-flow bh-br0 \
            "priority=100,udp,nw_src=10.250.0.1,nw_dst=10.250.0.2,tp_src=9,tp_dst=9,actions=drop"
    else
        ovs-appctl -t ovs-vswitchd upcall/disable-megaflows >/dev/null
    fi
    ;;
esac
sleep 0.5
# Load in the background for SECS + 2 s; perf records SECS s in the middle.
case $LOAD in
udp) ip netns exec bh-a iperf3 -c 10.250.0.2 -u -b 0 -l 18 -t $((SECS + 2)) >/dev/null 2>&1 & ;;
tcp | tcp-off) ip netns exec bh-a iperf3 -c 10.250.0.2 -t $((SECS + 2)) >/dev/null 2>&1 & ;;
rr) ip netns exec bh-a sockperf ping-pong --tcp -i 10.250.0.2 -p 11111 -t $((SECS + 2)) >/dev/null 2>&1 & ;;
newflow)
    mac=$(ip -n bh-b -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
    ip netns exec bh-a "$BH_WORK/newflows" eth0 "$mac" 10.250.0.1 10.250.0.2 $((SECS + 2)) >/dev/null &
    ;;
esac
LOADER=$!
sleep 1
perf record -F 499 --call-graph dwarf,16384 -p "$SWITCH_PID" -o "$OUT.data" -- sleep "$SECS" 2>/dev/null
wait "$LOADER" || true
[ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
perf report -i "$OUT.data" --no-children --percent-limit 0.5 --stdio 2>/dev/null \
    | grep -E '^ +[0-9.]+%' > "$OUT.txt" || true
echo "top of the profile ($OUT.txt):"
head -25 "$OUT.txt"
if command -v inferno-collapse-perf >/dev/null; then
    perf script -i "$OUT.data" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph > "$OUT.svg"
    echo "flame graph: $OUT.svg"
fi
