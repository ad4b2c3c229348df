#!/usr/bin/env bash
# The side-by-side benchmark (issue 6): oxvs against Open vSwitch 3.1's
# userspace datapath (Debian's openvswitch-switch, datapath_type=netdev),
# the same with userspace TSO, and the Linux bridge, on this machine.
#
# For each round, each contender in turn (A B C D A B C D ...) gets a fresh
# pair of host namespaces bh-a (10.250.0.1) and bh-b (10.250.0.2) attached
# by veth to a fresh switch, and is measured:
#   tcp      iperf3 TCP a->b, 1 and 4 streams, with the hosts' TX checksum/
#            TSO/GSO offloads off and then at their defaults (on); the
#            switch process's CPU seconds per GB received by b (1 stream)
#   udp      iperf3 UDP, 18-byte payload (64-byte frames), unlimited rate:
#            offered and delivered packets/s, loss (as iperf3 counts them:
#            includes what b's own UDP socket drops); what the switch
#            forwarded (b's eth0 rx counter) and lost (against a's eth0 tx
#            counter); switch CPU seconds per million packets received by b
#   flood    bench/newflows.c in `same` mode: 64-byte UDP frames of one
#            flow at full rate (AF_PACKET, ~3x what iperf3 offers here):
#            offered, forwarded to b (b's eth0 rx counter), lost in the
#            switch; switch CPU seconds per million packets forwarded
#   ping     ping -i 0.002 (SECS x 500 echoes): RTT median and p99
#   rr       sockperf ping-pong --tcp: request/response transactions/s
#   newflow  bench/newflows.c sends 64-byte UDP frames, each of a 5-tuple
#            never seen before, at full rate; new flows delivered per second
#            (b's rx counter). One datapath flow per 5-tuple: OVS gets
#            `ovs-appctl upcall/disable-megaflows` (exact-match datapath
#            flows; an extra rule on the ports would not do, OVS's ports
#            trie un-wildcards only a few port bits); oxvs, which has no
#            such command, gets one extra OpenFlow rule (priority=100,udp,
#            nw_src=10.250.0.1,nw_dst=10.250.0.2,tp_src=9,tp_dst=9,
#            actions=drop) whose lookup un-wildcards both UDP ports. The
#            datapath's upcalls during the test are recorded to show that
#            every frame went to the slow path.
# The udp, ping, rr and newflow tests run with the hosts' offloads off (OVS
# without userspace TSO cannot carry TCP with them on; iperf3's and
# sockperf's control channels are TCP). Then, unless FLOWS=0, bench/flows.sh
# (100k flows add/dump/del, memory per flow; oxvs and OVS) with as many
# rounds.
#
# Prints markdown tables of medians (min-max) and the ratios oxvs/peer;
# writes bench/results/$NAME.json (NAME=run) and the raw rows to
# bench/results/$NAME-raw.jsonl, and the chart bench/results/$NAME.svg
# (bench/chart.sh).
#
# Usage: bench/run.sh [ROUNDS]   (default 3). Root.
# Environment: SECS (per measurement, default 5), CONTENDERS (default
# "oxvs ovs ovs-tso bridge"), TESTS (default "tcp udp flood ping rr newflow"),
# FLOWS (1), NAME (run), BH_SKIP_SETUP=1 (no install/build).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3}
SECS=${SECS:-5}
CONTENDERS=${CONTENDERS:-oxvs ovs ovs-tso bridge}
TESTS=${TESTS:-tcp udp flood ping rr newflow}
FLOWS=${FLOWS:-1}
NAME=${NAME:-run}
bh_init "$NAME"
trap 'exit 130' INT TERM
gcc -O2 -Wall -o "$BH_WORK/newflows" bench/newflows.c
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
RAW=$BH_OUT/$NAME-raw.jsonl
JSON=$BH_OUT/$NAME.json
: > "$RAW"
rm -f "$JSON"

has_test() { [[ " $TESTS " == *" $1 "* ]]; }
ROW=""
put() { ROW+=",\"$1\":$2"; } # key value (a number or null)
num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] && echo "$1" || echo null; }
# per UNIT_DIVISOR CPU_S0 CPU_S1 COUNT0 COUNT1: CPU seconds per UNIT of count.
per() {
    awk -v u="$1" -v c0="$2" -v c1="$3" -v n0="$4" -v n1="$5" 'BEGIN {
        if (c0 == "null" || n1 <= n0) print "null"; else printf "%.4f\n", (c1 - c0) / ((n1 - n0) / u) }'
}

# tcp_test KEY STREAMS [CPU_KEY]: iperf3 TCP a->b.
tcp_test() {
    local key=$1 streams=$2 c0 c1 rx0 rx1 out gbps
    c0=$(bh_cpu_s "$SWITCH_PID"); rx0=$(bh_rx bh-b)
    out=$(ip netns exec bh-a timeout $((SECS + 20)) iperf3 -c 10.250.0.2 -P "$streams" \
        -t "$SECS" -J --connect-timeout 3000 2>/dev/null || true)
    c1=$(bh_cpu_s "$SWITCH_PID"); rx1=$(bh_rx bh-b)
    gbps=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)' \
        <<<"$out" 2>/dev/null || echo 0)
    put "$key" "$(num "$gbps")"
    if [ -n "${3:-}" ]; then
        # Per GB (1e9 bytes) received by b, only if TCP ran.
        if [ "$(num "$gbps")" != null ] && awk -v g="$gbps" 'BEGIN { exit !(g > 0) }'; then
            put "$3" "$(per 1e9 "$c0" "$c1" "${rx0% *}" "${rx1% *}")"
        else
            put "$3" null
        fi
    fi
}

udp_test() {
    local c0 c1 rx0 rx1 tx0 tx1 out r
    c0=$(bh_cpu_s "$SWITCH_PID"); rx0=$(bh_rx bh-b); tx0=$(bh_tx bh-a)
    out=$(ip netns exec bh-a timeout $((SECS + 20)) iperf3 -c 10.250.0.2 -u -b 0 -l 18 \
        -t "$SECS" -J --connect-timeout 3000 2>/dev/null || true)
    c1=$(bh_cpu_s "$SWITCH_PID"); rx1=$(bh_rx bh-b); tx1=$(bh_tx bh-a)
    # What the switch forwarded: frames that reached b's eth0 (before b's
    # UDP socket, whose buffer overflows when iperf3 cannot keep up), of
    # those a's eth0 sent.
    local sent=$((${tx1#* } - ${tx0#* })) fwd=$((${rx1#* } - ${rx0#* }))
    put udp64_fwd_kpps "$(awk -v n="$fwd" -v s="$SECS" 'BEGIN { print n / s / 1e3 }')"
    # (b also gets a few frames a did not send, e.g. ARP: clamped at 0.)
    put udp64_switch_loss_pct "$(awk -v n="$fwd" -v s="$sent" 'BEGIN {
        l = s > 0 ? 100 * (1 - n / s) : 100; print (l < 0 ? 0 : l) }')"
    r=$(python3 -c 'import json,sys; s=json.load(sys.stdin)["end"]["sum"]
print(s["packets"]/s["seconds"]/1e3, (s["packets"]-s["lost_packets"])/s["seconds"]/1e3, s["lost_percent"])' \
        <<<"$out" 2>/dev/null || echo "null 0 100")
    read -r offered delivered loss <<<"$r"
    put udp64_offered_kpps "$(num "$offered")"
    put udp64_kpps "$(num "$delivered")"
    put udp64_loss_pct "$(num "$loss")"
    put cpu_s_per_mpkt "$(per 1e6 "$c0" "$c1" "${rx0#* }" "${rx1#* }")"
}

flood_test() {
    local mac c0 c1 rx0 rx1 sent fwd
    mac=$(ip -n bh-b -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
    c0=$(bh_cpu_s "$SWITCH_PID"); rx0=$(bh_rx bh-b)
    sent=$(ip netns exec bh-a "$BH_WORK/newflows" eth0 "$mac" 10.250.0.1 10.250.0.2 "$SECS" same)
    sleep 0.5
    c1=$(bh_cpu_s "$SWITCH_PID"); rx1=$(bh_rx bh-b)
    fwd=$((${rx1#* } - ${rx0#* }))
    put flood64_offered_kpps "$(awk -v n="$sent" -v s="$SECS" 'BEGIN { print n / s / 1e3 }')"
    put flood64_fwd_kpps "$(awk -v n="$fwd" -v s="$SECS" 'BEGIN { print n / s / 1e3 }')"
    put flood64_switch_loss_pct "$(awk -v n="$fwd" -v s="$sent" 'BEGIN {
        l = s > 0 ? 100 * (1 - n / s) : 100; print (l < 0 ? 0 : l) }')"
    put cpu_s_per_mpkt_flood "$(per 1e6 "$c0" "$c1" "${rx0#* }" "${rx1#* }")"
}

ping_test() {
    local n=$((SECS * 500)) r
    r=$(ip netns exec bh-a ping -n -i 0.002 -W 1 -c "$n" 10.250.0.2 2>/dev/null | python3 -c '
import re, statistics, sys
t = sorted(float(m.group(1)) * 1e3 for m in re.finditer(r"time=([0-9.]+) ms", sys.stdin.read()))
if not t:
    print("null null null"); sys.exit()
p99 = t[min(len(t) - 1, -(-99 * len(t) // 100) - 1)]
print(statistics.median(t), p99, 100 * (1 - len(t) / int(sys.argv[1])))' "$n" || echo "null null 100")
    read -r median p99 loss <<<"$r"
    put ping_median_us "$(num "$median")"
    put ping_p99_us "$(num "$p99")"
    put ping_loss_pct "$(num "$loss")"
}

rr_test() {
    local srv out tps
    ip netns exec bh-b sockperf server --tcp -i 10.250.0.2 -p 11111 >/dev/null 2>&1 &
    srv=$!
    sleep 0.5
    out=$(ip netns exec bh-a timeout $((SECS + 20)) sockperf ping-pong --tcp -i 10.250.0.2 \
        -p 11111 -t "$SECS" 2>&1 || true)
    kill "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
    # "[Valid Duration] RunTime=4.550 sec; SentMessages=...; ReceivedMessages=N"
    tps=$(sed -n 's/.*Valid Duration\] RunTime=\([0-9.]*\) sec.*ReceivedMessages=\([0-9]*\).*/\2 \1/p' <<<"$out" \
        | awk '$2 > 0 { print $1 / $2 }')
    put rr_tps "$(num "${tps:-null}")"
}

newflow_test() {
    local who=$1 mac sent rx0 rx1 miss0 miss1
    case $who in
    ovs | ovs-tso) ovs-appctl -t ovs-vswitchd upcall/disable-megaflows >/dev/null ;;
    oxvs)
        ovs-ofctl add-flow bh-br0 \
            "priority=100,udp,nw_src=10.250.0.1,nw_dst=10.250.0.2,tp_src=9,tp_dst=9,actions=drop"
        ;;
    esac
    [ "$who" = bridge ] || miss0=$(dp_upcalls)
    mac=$(ip -n bh-b -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
    rx0=$(bh_rx bh-b)
    sent=$(ip netns exec bh-a "$BH_WORK/newflows" eth0 "$mac" 10.250.0.1 10.250.0.2 "$SECS")
    sleep 1 # frames still queued in the switch
    rx1=$(bh_rx bh-b)
    local got=$((${rx1#* } - ${rx0#* }))
    put newflow_offered_kfps "$(awk -v n="$sent" -v s="$SECS" 'BEGIN { print n / s / 1e3 }')"
    put newflow_kfps "$(awk -v n="$got" -v s="$SECS" 'BEGIN { print n / s / 1e3 }')"
    put newflow_loss_pct "$(awk -v n="$got" -v s="$sent" 'BEGIN { print (s > 0 ? 100 * (1 - n / s) : 100) }')"
    if [ "$who" != bridge ]; then
        miss1=$(dp_upcalls)
        # Upcalls during the test: one per frame the switch received if every
        # frame needed a new flow.
        put newflow_upcalls "$(num "$((miss1 - miss0))")"
    fi
}
# Upcalls so far: the datapath's missed + lost lookups (ovs-appctl
# dpctl/show: "lookups: hit:H missed:M lost:L"; OVS counts as lost the
# misses whose flow it did not install, e.g. over its flow limit, though it
# still forwards those packets).
dp_upcalls() {
    ovs-appctl -t ovs-vswitchd dpctl/show 2>/dev/null \
        | sed -n 's/.*missed:\([0-9]*\) lost:\([0-9]*\).*/\1 \2/p' | head -1 \
        | awk '{ print $1 + $2 } END { if (NR == 0) print 0 }'
}

measure() { # contender round
    local who=$1 round=$2
    ROW="\"who\":\"$who\",\"round\":$round,\"secs\":$SECS,\"load1\":$(cut -d' ' -f1 /proc/loadavg)"
    bh_hosts_up
    bh_switch_up "$who"
    bh_offloads off
    ip netns exec bh-a ping -c 3 -i 0.2 -W 1 10.250.0.2 >/dev/null || true
    ip netns exec bh-b iperf3 -s >/dev/null 2>&1 &
    local iperf=$!
    sleep 0.5
    if has_test tcp; then
        tcp_test tcp1_off_gbps 1 cpu_s_per_gb_off
        tcp_test tcp4_off_gbps 4
    fi
    has_test udp && udp_test
    has_test flood && flood_test
    has_test ping && ping_test
    has_test rr && rr_test
    if has_test tcp; then
        bh_offloads on
        tcp_test tcp1_gbps 1 cpu_s_per_gb
        tcp_test tcp4_gbps 4
    fi
    kill "$iperf" 2>/dev/null || true
    wait "$iperf" 2>/dev/null || true
    has_test newflow && newflow_test "$who"
    bh_switch_down
    bh_hosts_down
    echo "{$ROW}" | tee -a "$RAW"
}

for round in $(seq 1 "$ROUNDS"); do
    for who in $CONTENDERS; do
        measure "$who" "$round"
    done
done

whos=()
for who in $CONTENDERS; do whos+=(--who "$who=${BH_LABEL[$who]}"); done
metrics=()
has_test tcp && metrics+=(
    --metric "tcp1_gbps=TCP 1 stream, default offloads (Gbit/s)"
    --metric "tcp4_gbps=TCP 4 streams, default offloads (Gbit/s)"
    --metric "tcp1_off_gbps=TCP 1 stream, offloads off (Gbit/s)"
    --metric "tcp4_off_gbps=TCP 4 streams, offloads off (Gbit/s)")
has_test udp && metrics+=(
    --metric "udp64_kpps=UDP 64-byte delivered to iperf3 (kpps)"
    --metric "udp64_offered_kpps=UDP 64-byte offered (kpps)"
    --metric "udp64_loss_pct=UDP 64-byte loss, iperf3 (%)"
    --metric "udp64_fwd_kpps=UDP 64-byte forwarded by the switch to b (kpps)"
    --metric "udp64_switch_loss_pct=UDP 64-byte lost in the switch (%)")
has_test flood && metrics+=(
    --metric "flood64_fwd_kpps=64-byte flood of one flow, forwarded to b (kpps)"
    --metric "flood64_offered_kpps=64-byte flood offered (kpps)"
    --metric "flood64_switch_loss_pct=64-byte flood lost in the switch (%)")
has_test ping && metrics+=(
    --metric "ping_median_us=ping RTT median (us)"
    --metric "ping_p99_us=ping RTT p99 (us)")
has_test rr && metrics+=(--metric "rr_tps=TCP request/response, sockperf (transactions/s)")
has_test newflow && metrics+=(
    --metric "newflow_kfps=new flows delivered (k/s)"
    --metric "newflow_offered_kfps=new flows offered (k/s)"
    --metric "newflow_loss_pct=new-flow frames lost (%)"
    --metric "newflow_upcalls=upcalls (datapath missed + lost) in the new-flow test")
has_test tcp && metrics+=(
    --metric "cpu_s_per_gb=switch CPU per GB, TCP default offloads (s)"
    --metric "cpu_s_per_gb_off=switch CPU per GB, TCP offloads off (s)")
has_test udp && metrics+=(--metric "cpu_s_per_mpkt=switch CPU per million 64-byte packets, iperf3 UDP (s)")
has_test flood && metrics+=(--metric "cpu_s_per_mpkt_flood=switch CPU per million 64-byte packets, flood (s)")
echo
echo "### Forwarding: medians (min-max) of $ROUNDS rounds, ${SECS} s per measurement"
echo
bh_summary "$RAW" "$JSON" forwarding --title "Forwarding (two namespaces through the switch)" \
    --meta "rounds=$ROUNDS" --meta "secs=$SECS" --meta "contenders=$CONTENDERS" --meta "tests=$TESTS" \
    --meta "loadavg_at_start=$LOAD_AT_START" \
    --info "udp64_offered_kpps,flood64_offered_kpps,newflow_offered_kfps,newflow_upcalls" \
    --lower "udp64_loss_pct,udp64_switch_loss_pct,flood64_switch_loss_pct,cpu_s_per_mpkt_flood,ping_median_us,ping_p99_us,newflow_loss_pct,cpu_s_per_gb,cpu_s_per_gb_off,cpu_s_per_mpkt" \
    "${whos[@]}" "${metrics[@]}"

if [ "$FLOWS" = 1 ]; then
    echo
    echo "### OpenFlow table: 100,000 flows with ovs-ofctl, medians (min-max) of $ROUNDS rounds"
    echo
    BH_SKIP_SETUP=1 SUMMARY_JSON=$JSON bench/flows.sh "$ROUNDS"
fi
echo
echo "JSON: $JSON; chart: $(python3 bench/chart.py "$JSON")"
