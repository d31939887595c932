#!/bin/sh
# Whole-process latency of `domrun validate` and `domrun format` on a typical
# domain (target: well under 5 ms). Needs hyperfine (apt-get install hyperfine).
set -eu
cd "$(dirname "$0")/.."
cargo build --release -q
hyperfine -N --warmup 20 --runs 500 \
  "target/release/domrun validate examples/web-template.xml" \
  "target/release/domrun format examples/web-template.xml"
