#!/usr/bin/env bash
# Installs what oxvs needs to build, run its quickstart and its tests on a
# fresh Debian 12 machine (root): traffic tools, and the real Open vSwitch
# client tools used by the compatibility tests and the side-by-side benchmark.
set -euo pipefail
need=()
for pkg in iproute2 iputils-ping iperf3 tcpdump ethtool python3 openvswitch-switch openvswitch-common openvswitch-testcontroller; do
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
# `ovs` IDL and OpenStack's `ovsdbapp`, from PyPI) in a venv of the repo.
VENV="$(cd "$(dirname "$0")/.." && pwd)/.venv"
if ! "$VENV/bin/python" -c 'import ovs.db.idl, ovsdbapp' >/dev/null 2>&1; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "ovs>=3.1,<3.2" "ovsdbapp>=2.0"
fi
