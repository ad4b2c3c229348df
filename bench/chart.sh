#!/usr/bin/env bash
# Renders a results JSON of bench/run.sh (or compare.sh, flows.sh, vsctl.sh)
# as an SVG chart beside it: bench/chart.sh [RESULTS.json [OUT.svg]]
# (default bench/results/run.json). Python 3 standard library only.
set -euo pipefail
exec python3 "$(dirname "$0")/chart.py" "$@"
