#!/usr/bin/env bash
# Installs what oxvs needs to build, run its quickstart and its tests on a
# fresh Debian 12 machine (root): traffic tools, and the real Open vSwitch
# client tools used by the compatibility tests and the side-by-side benchmark.
set -euo pipefail
need=()
for pkg in iproute2 iputils-ping iperf3 tcpdump ethtool python3 gcc libc6-dev sockperf openvswitch-switch openvswitch-common openvswitch-testcontroller; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian package may start its own daemons where an init system runs;
# oxvs uses the same default socket paths, so make sure they are stopped.
if command -v ovs-ctl >/dev/null 2>&1; then
    /usr/share/openvswitch/scripts/ovs-ctl stop >/dev/null 2>&1 || true
fi
pkill -x ovs-vswitchd 2>/dev/null || true
pkill -x ovsdb-server 2>/dev/null || true
pkill -x ovs-testcontroller 2>/dev/null || true
# The Python OVSDB clients of the compatibility tests (Open vSwitch's own
# `ovs` IDL and OpenStack's `ovsdbapp`, from PyPI) and the os-ken OpenFlow
# controller (its `osken-manager` runs simple_switch_13 in tests/osken.rs),
# in a venv of the repo. os-ken 4 dropped `osken-manager`, and os-ken 2
# stopped shipping the sample applications: the manager comes from os-ken 3
# and `os_ken/app/simple_switch_13.py` from the os-ken 1.4.1 wheel (1.4.1
# itself no longer runs with the current eventlet).
VENV="$(cd "$(dirname "$0")/.." && pwd)/.venv"
if ! "$VENV/bin/python" -c 'import ovs.db.idl, ovsdbapp, os_ken.app.simple_switch_13' >/dev/null 2>&1 \
    || [ ! -x "$VENV/bin/osken-manager" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "ovs>=3.1,<3.2" "ovsdbapp>=2.0" "os-ken>=3,<4"
    wheels="$(mktemp -d)"
    "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$wheels" "os-ken==1.4.1"
    "$VENV/bin/python" - "$wheels"/os_ken-1.4.1-*.whl <<'PY'
import os, sys, zipfile
import os_ken.app
app = "os_ken/app/simple_switch_13.py"
with zipfile.ZipFile(sys.argv[1]) as whl, open(os.path.join(os.path.dirname(os_ken.app.__file__), "simple_switch_13.py"), "wb") as out:
    out.write(whl.read(app))
PY
    rm -rf "$wheels"
fi
