#!/usr/bin/env bash
# The short side-by-side forwarding comparison: oxvs against Open vSwitch
# 3.1's userspace datapath only, TCP (1 and 4 streams, offloads off and
# default) and 64-byte UDP. A thin wrapper of bench/run.sh (see there);
# writes bench/results/compare.json.
#
# Usage: bench/compare.sh [ROUNDS] (default 3; SECS=5 per measurement). Root.
set -euo pipefail
CONTENDERS=${CONTENDERS:-oxvs ovs} TESTS=${TESTS:-tcp udp} FLOWS=0 NAME=compare \
    exec "$(dirname "$0")/run.sh" "$@"
