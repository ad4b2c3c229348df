#!/usr/bin/env bash
# The project's test command: every unit, property, compatibility and
# end-to-end test (the end-to-end ones need root: namespaces and veth pairs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# End-to-end tests share the machine's network stack and CPU (2 cores):
# run the test binaries one at a time, tests within a binary in parallel.
cargo test --workspace -- --test-threads=2
