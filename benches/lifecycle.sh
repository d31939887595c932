#!/bin/bash
# Issue 4's targets, measured as whole processes with hyperfine:
#   - `domrun list --all` with 1000 defined domains (none running): < 20 ms
#   - `domrun start` over `domrun run` for the same domain: < 5 ms added
# (start = fork a monitor, start init, write the live state, return; the
# domain is destroyed between runs, outside the timing).
# Needs root, busybox-static, hyperfine.   benches/lifecycle.sh [RUNS]
set -euo pipefail
runs=${1:-100}
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
work=$(mktemp -d /tmp/domrun-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$repo"
cargo build --release -q
domrun="${CARGO_TARGET_DIR:-$repo/target}/release/domrun"
bash rootfs-fixtures/busybox-rootfs.sh "$work/rootfs" >/dev/null

# 1000 definitions, defined the normal way (validated and formatted).
for i in $(seq 1 1000); do
  cat >"$work/d.xml" <<XML
<domain type='lxc'><name>d$i</name><memory unit='MiB'>64</memory>
  <os><type>exe</type><init>/bin/true</init></os>
  <devices><filesystem type='mount'><source dir='$work/rootfs'/><target dir='/'/></filesystem>
  <console type='pty'/></devices></domain>
XML
  "$domrun" --root "$work/state" define "$work/d.xml" >/dev/null
done
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/list.json" \
  -n "list --all (1000 defined)" "$domrun --root $work/state list --all"

# start vs run: init sleeps so `start` measures only the start path.
cat >"$work/s.xml" <<XML
<domain type='lxc'><name>bench</name>
  <os><type>exe</type><init>/bin/sleep</init><initarg>1000</initarg></os>
  <devices><filesystem type='mount'><source dir='$work/rootfs'/><target dir='/'/></filesystem>
  <console type='pty'/></devices></domain>
XML
"$domrun" --root "$work/state2" define "$work/s.xml" >/dev/null
sed 's#<init>/bin/sleep</init><initarg>1000</initarg>#<init>/bin/true</init>#' "$work/s.xml" >"$work/r.xml"
printf '#!/bin/sh\n"%s" --root "%s" destroy bench >/dev/null 2>&1; exit 0\n' "$domrun" "$work/state2" >"$work/stop.sh"
chmod +x "$work/stop.sh"
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/start.json" \
  --prepare "$work/stop.sh" \
  -n "start" "$domrun --root $work/state2 start bench" \
  -n "run (init /bin/true)" "$domrun --root $work/state2 run $work/r.xml"
"$work/stop.sh"
python3 - "$work/list.json" "$work/start.json" <<'PY'
import json, sys
print("| command | median ms | mean ms | min ms | max ms |")
print("|---|---:|---:|---:|---:|")
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        ms = lambda v: f"{v * 1000:.2f}"
        print(f"| {r['command']} | {ms(r['median'])} | {ms(r['mean'])} | {ms(r['min'])} | {ms(r['max'])} |")
PY
