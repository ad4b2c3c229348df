# Shared parts of the bench/ scripts (sourced, not run): building oxvs,
# starting and stopping each contender's daemons in a private run directory,
# the two host namespaces, process CPU time, and the summary.
#
# Every name this creates starts with `bh-` (namespaces bh-a/bh-b, host-side
# veths bh-a/bh-b, bridge bh-br0) and every daemon runs with its own
# OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR under $BH_WORK, so nothing touches a
# system Open vSwitch. bh_cleanup (set as the EXIT trap by bh_init) stops
# what was started and deletes what was made.
#
# Contenders: oxvs; ovs (Open vSwitch 3.1, datapath_type=netdev, from
# Debian's openvswitch-switch); ovs-tso (the same with
# other_config:userspace-tso-enable=true); bridge (the Linux bridge).

BH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BH_OUT=$BH_ROOT/bench/results
OXVS=${CARGO_TARGET_DIR:-$BH_ROOT/target}/release/oxvs
BH_PIDS=""       # daemons of the running contender (all waited for on stop)
SWITCH_PID=""    # the forwarding process (ovs-vswitchd or oxvs daemon)
BH_WHO=""        # the running contender

declare -A BH_LABEL=(
    [oxvs]="oxvs"
    [ovs]="OVS 3.1 netdev"
    [ovs-tso]="OVS 3.1 netdev + userspace TSO"
    [bridge]="Linux bridge"
    [floor]="null switch (floor)"
)

# bh_init TAG: work directory, results directory, cleanup trap; unless
# BH_SKIP_SETUP=1, installs the system packages and builds oxvs (release).
bh_init() {
    cd "$BH_ROOT"
    mkdir -p "$BH_OUT"
    BH_WORK=$(mktemp -d "/tmp/bh-$1.XXXXXX")
    trap bh_cleanup EXIT
    if [ "${BH_SKIP_SETUP:-0}" != 1 ]; then
        ./scripts/install-deps.sh
        cargo build --release -q -p oxvs
    fi
    [ -x "$OXVS" ] || { echo "bench: $OXVS not built" >&2; exit 1; }
}

bh_now() { date +%s.%N; }

# Private run directory for contender $1 (exported for the OVS tools).
bh_rundir() {
    export OVS_RUNDIR=$BH_WORK/$1 OVS_DBDIR=$BH_WORK/$1 OVS_LOGDIR=$BH_WORK/$1
    rm -rf "${OVS_RUNDIR:?}"
    mkdir -p "$OVS_RUNDIR"
}

# bh_daemons_start WHO: the contender's daemons with an empty database
# (oxvs: one `oxvs daemon`; ovs/ovs-tso: ovsdb-server + ovs-vswitchd).
# Sets SWITCH_PID and BH_PIDS. No daemons for the Linux bridge.
bh_daemons_start() {
    BH_WHO=$1
    case $1 in
    oxvs)
        bh_rundir oxvs
        "$OXVS" daemon --detach
        SWITCH_PID=$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")
        BH_PIDS=$SWITCH_PID
        ovs-vsctl --timeout=30 init
        ;;
    ovs | ovs-tso)
        bh_rundir "$1"
        ovsdb-tool create "$OVS_DBDIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
        ovsdb-server --remote=punix:"$OVS_RUNDIR/db.sock" --pidfile --detach \
            --log-file -vconsole:off "$OVS_DBDIR/conf.db"
        BH_PIDS=$(cat "$OVS_RUNDIR/ovsdb-server.pid")
        ovs-vsctl --no-wait init
        # Read once at start-up by OVS 3.1, so set before ovs-vswitchd runs.
        if [ "$1" = ovs-tso ]; then
            ovs-vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
        fi
        ovs-vswitchd --pidfile --detach --log-file -vconsole:off
        SWITCH_PID=$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")
        BH_PIDS="$SWITCH_PID $BH_PIDS"
        ;;
    bridge) SWITCH_PID="" BH_PIDS="" ;;
    *) echo "bench: unknown contender $1" >&2; return 1 ;;
    esac
}

# Stops the running contender's daemons and waits until they are gone
# (SIGKILL after 30 s).
bh_daemons_stop() {
    local p i
    case $BH_WHO in
    ovs | ovs-tso)
        ovs-appctl -t ovs-vswitchd exit >/dev/null 2>&1 || true
        ovs-appctl -t ovsdb-server exit >/dev/null 2>&1 || true
        ;;
    esac
    for p in $BH_PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $BH_PIDS; do
        for i in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    BH_PIDS="" SWITCH_PID="" BH_WHO=""
}

# Two hosts: namespaces bh-a (10.250.0.1) and bh-b (10.250.0.2), each with
# eth0 whose veth peer bh-a/bh-b stays in the root namespace for the switch.
bh_hosts_up() {
    local h
    bh_hosts_down
    for h in a b; do
        ip netns add bh-$h
        ip link add bh-$h type veth peer name eth0 netns bh-$h
        ip link set bh-$h up
        ip -n bh-$h link set lo up
        ip -n bh-$h link set eth0 up
    done
    ip -n bh-a addr add 10.250.0.1/24 dev eth0
    ip -n bh-b addr add 10.250.0.2/24 dev eth0
}
bh_hosts_down() {
    local h
    for h in a b; do
        ip netns del bh-$h 2>/dev/null || true
        ip link del bh-$h 2>/dev/null || true
    done
}

# bh_offloads on|off: TX checksum, TSO and GSO of both hosts' eth0.
bh_offloads() {
    local h
    for h in a b; do
        ip netns exec bh-$h ethtool -K eth0 tx "$1" tso "$1" gso "$1" >/dev/null 2>&1 || true
    done
}

# bh_switch_up WHO: the contender's daemons and bridge bh-br0 with bh-a and
# bh-b as ports (for the Linux bridge: a kernel bridge bh-br0).
bh_switch_up() {
    bh_daemons_start "$1"
    case $1 in
    oxvs)
        ovs-vsctl --timeout=30 add-br bh-br0 -- add-port bh-br0 bh-a -- add-port bh-br0 bh-b
        ;;
    ovs | ovs-tso)
        ovs-vsctl --timeout=30 add-br bh-br0 -- set bridge bh-br0 datapath_type=netdev \
            -- add-port bh-br0 bh-a -- add-port bh-br0 bh-b
        ;;
    bridge)
        ip link add bh-br0 type bridge
        ip link set bh-a master bh-br0
        ip link set bh-b master bh-br0
        ip link set bh-br0 up
        ;;
    esac
}
# Stops the contender and deletes bh-br0 (OVS leaves its bridge's tap behind).
bh_switch_down() {
    bh_daemons_stop
    ip link del bh-br0 2>/dev/null || true
}

# CPU seconds (user + system, all threads) used so far by process $1.
bh_cpu_s() {
    [ -n "$1" ] || { echo null; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}

# Received (bh_rx) or sent (bh_tx) bytes and packets of eth0 in namespace
# $1: "BYTES PACKETS".
bh_rx() { bh_link_stats "$1" rx; }
bh_tx() { bh_link_stats "$1" tx; }
bh_link_stats() {
    ip -n "$1" -s -j link show eth0 | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"][sys.argv[1]]
print(s["bytes"], s["packets"])' "$2"
}

bh_cleanup() {
    set +e
    bh_daemons_stop 2>/dev/null
    ip link del bh-br0 2>/dev/null
    bh_hosts_down
    [ -n "${BH_WORK:-}" ] && rm -rf "$BH_WORK"
}

# bh_summary RAW JSON SECTION ARGS...: medians (min-max) and ratios of the
# first contender to each other one, as a markdown table; the section is
# stored in JSON (see bench/summary.py).
bh_summary() {
    local raw=$1 json=$2 section=$3
    shift 3
    python3 "$BH_ROOT/bench/summary.py" --raw "$raw" --json "$json" --section "$section" \
        --meta "commit=$(git -C "$BH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$@"
}
