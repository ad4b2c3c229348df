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
# writes bench/results/vsctl.json.
#
# Usage: bench/vsctl.sh [ROUNDS] (default 3; N1=1000 N2=200). Root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3}
N1=${N1:-1000}
N2=${N2:-200}
bh_init vsctl
trap 'bh_cleanup; links_gone' EXIT
trap 'exit 130' INT TERM
RAW=$BH_OUT/vsctl-raw.jsonl
JSON=$BH_OUT/vsctl.json
: > "$RAW"
rm -f "$JSON"

# Remove the previous contender's tap devices (bh-vbrN, bh-pN, bh-qN).
links_gone() {
    local l
    for l in $(ip -o link show | grep -oE ': bh-(vbr|p|q)[0-9]+[:@]' | tr -d ' :@'); do
        ip link del "$l" 2>/dev/null || true
    done
}

measure() {
    local who=$1 round=$2 t0 t1 t2 t3 args=()
    bh_daemons_start "$who"
    ovs-vsctl add-br bh-vbr0 -- set bridge bh-vbr0 datapath_type=netdev
    for i in $(seq 1 "$N1"); do
        args+=(-- add-port bh-vbr0 "bh-p$i" -- set interface "bh-p$i" type=internal)
    done
    t0=$(bh_now); ovs-vsctl --timeout=600 "${args[@]}"; t1=$(bh_now)
    [ "$(ovs-vsctl list-ports bh-vbr0 | wc -l)" = "$N1" ]
    ovs-vsctl add-br bh-vbr1 -- set bridge bh-vbr1 datapath_type=netdev
    t2=$(bh_now)
    for i in $(seq 1 "$N2"); do
        ovs-vsctl --timeout=60 add-port bh-vbr1 "bh-q$i" -- set interface "bh-q$i" type=internal
    done
    t3=$(bh_now)
    [ "$(ovs-vsctl list-ports bh-vbr1 | wc -l)" = "$N2" ]
    bh_daemons_stop
    links_gone
    python3 -c "import json; print(json.dumps({'who':'$who','round':$round,
        'chained_s':$t1-$t0,'separate_s':$t3-$t2}))" | tee -a "$RAW"
}

for round in $(seq 1 "$ROUNDS"); do
    measure oxvs "$round"
    measure ovs "$round"
done

bh_summary "$RAW" "$JSON" vsctl --title "Port adds with the real ovs-vsctl" \
    --who "oxvs=${BH_LABEL[oxvs]}" --who "ovs=OVS 3.1 (ovsdb-server + ovs-vswitchd)" \
    --metric "chained_s=$N1 ports, one chained ovs-vsctl (s)" \
    --metric "separate_s=$N2 ports, $N2 waiting ovs-vsctl calls (s)" \
    --lower "chained_s,separate_s"
