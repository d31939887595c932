#!/bin/sh
# Bytes in vs peak RSS and time of reading documents of 1 k to 1 M elements:
# the XML tree alone and the whole validate pipeline (see
# benches/parse_memory.rs). Release mode; each case in its own process.
# Prints a Markdown table; the figures live in docs/performance.md. Needs
# ~1.5 GiB free (the 1 M-device domain).
set -eu
cd "$(dirname "$0")/.."
cargo bench -q --bench parse_memory
