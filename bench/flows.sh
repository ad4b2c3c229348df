#!/usr/bin/env bash
# OpenFlow table loading, side by side: 100,000 distinct flows loaded with the
# real `ovs-ofctl add-flows` into oxvs and into Open vSwitch 3.1 (userspace
# datapath), then dump-flows and del-flows timed, and the switch process's
# resident memory before/after (memory per flow). Interleaved A B A B.
#
# The floor: the same add-flows against a switch that only answers
# (bench/ofp-null-switch.c, busy-polling). ovs-ofctl waits for a barrier
# reply per line, so no switch can load faster than this on this machine.
#
# Prints a markdown table of medians (min-max) with the ratios oxvs/OVS and
# oxvs/floor; writes bench/results/flows.json (or the "flows" section of
# $SUMMARY_JSON, as bench/run.sh uses it).
#
# Usage: bench/flows.sh [ROUNDS] (default 3; N=100000 flows). Root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3}
N=${N:-100000}
bh_init flows
trap 'exit 130' INT TERM
RAW=$BH_OUT/flows-raw.jsonl
JSON=${SUMMARY_JSON:-$BH_OUT/flows.json}
: > "$RAW"
[ -n "${SUMMARY_JSON:-}" ] || rm -f "$JSON"
python3 - "$N" > "$BH_WORK/flows.txt" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"priority={100 + i % 7},tcp,nw_dst=10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255},tp_dst={1 + i % 1000},actions=output:1")
PY

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

measure() {
    local who=$1 round=$2 rss0 rss1 t0 t1 t2 t3 t4 t5 count
    bh_daemons_start "$who"
    if [ "$who" = oxvs ]; then
        ovs-vsctl --timeout=30 add-br bh-fbr0
    else
        ovs-vsctl --timeout=30 add-br bh-fbr0 -- set bridge bh-fbr0 datapath_type=netdev
    fi
    sleep 1
    rss0=$(rss_kb "$SWITCH_PID")
    t0=$(bh_now); ovs-ofctl add-flows bh-fbr0 "$BH_WORK/flows.txt"; t1=$(bh_now)
    sleep 1
    rss1=$(rss_kb "$SWITCH_PID")
    count=$(ovs-ofctl dump-flows bh-fbr0 | grep -c 'actions=' || true)
    t2=$(bh_now); ovs-ofctl dump-flows bh-fbr0 > /dev/null; t3=$(bh_now)
    t4=$(bh_now); ovs-ofctl del-flows bh-fbr0; t5=$(bh_now)
    bh_daemons_stop
    ip link del bh-fbr0 2>/dev/null || true
    python3 -c "import json; print(json.dumps({'who':'$who','round':$round,'flows':$count,
        'add_flows_s':$t1-$t0,'dump_flows_s':$t3-$t2,'del_flows_s':$t5-$t4,
        'rss_before_kb':$rss0,'rss_after_kb':$rss1,'bytes_per_flow':($rss1-$rss0)*1024/max($count,1)}))" | tee -a "$RAW"
}

gcc -O2 -Wall -o "$BH_WORK/ofp-null-switch" bench/ofp-null-switch.c
measure_floor() {
    "$BH_WORK/ofp-null-switch" "$BH_WORK/null.mgmt" & local pid=$!
    sleep 0.3
    local t0 t1
    t0=$(bh_now); ovs-ofctl add-flows unix:"$BH_WORK/null.mgmt" "$BH_WORK/flows.txt"; t1=$(bh_now)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    python3 -c "import json; print(json.dumps({'who':'floor','round':$1,'add_flows_s':$t1-$t0}))" | tee -a "$RAW"
}

for round in $(seq 1 "$ROUNDS"); do
    measure oxvs "$round"
    measure ovs "$round"
    measure_floor "$round"
done

k=$((N / 1000))k
bh_summary "$RAW" "$JSON" flows --title "OpenFlow table: $N flows with ovs-ofctl" \
    --meta "flows_rounds=$ROUNDS" \
    --who "oxvs=${BH_LABEL[oxvs]}" --who "ovs=${BH_LABEL[ovs]}" --who "floor=${BH_LABEL[floor]}" \
    --metric "add_flows_s=add-flows $k (s)" --metric "dump_flows_s=dump-flows $k (s)" \
    --metric "del_flows_s=del-flows (s)" --metric "bytes_per_flow=resident memory per flow (bytes)" \
    --metric "flows=flows present after add-flows" \
    --lower "add_flows_s,dump_flows_s,del_flows_s,bytes_per_flow" --info flows
