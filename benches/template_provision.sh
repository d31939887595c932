#!/bin/sh
# Provisioning a domain's root from a 1 MiB and a 1 GiB template:
# Store::provision (new, empty layer) + overlayfs mount + umount, 200 new
# domains per size (target: under 20 ms, the same for both sizes). Needs root
# and overlayfs, and ~2.2 GiB free in $DOMRUN_BENCH_DIR (default: $TMPDIR or
# /tmp). Prints a Markdown table; the figures live in docs/performance.md.
set -eu
cd "$(dirname "$0")/.."
cargo bench -q --bench template_provision -- "${1:-200}"
