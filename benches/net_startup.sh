#!/bin/bash
# Start-up cost of one bridged NIC: `domrun run` of /bin/true in a busybox
# rootfs with <privnet/> only (new network namespace, loopback) against the
# same domain with one <interface type='bridge'> (veth pair, host end on a
# bridge, address and default route inside), and one with four.
#   benches/net_startup.sh [RUNS]
# Needs root, busybox-static, hyperfine, ip. Everything runs inside a network
# namespace made for the run (domrun-bench-PID, with its own bridge), deleted
# at the end: the host's network is never touched. Prints hyperfine's table;
# docs/performance.md ("Networking") records the figures.
set -euo pipefail
runs=${1:-300}
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
work=$(mktemp -d /tmp/domrun-netbench.XXXXXX)
ns=domrun-bench-$$
trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$repo"
cargo build --release -q
domrun="${CARGO_TARGET_DIR:-$repo/target}/release/domrun"
bash rootfs-fixtures/busybox-rootfs.sh "$work/rootfs" >/dev/null

ip netns add "$ns"
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add 10.250.0.1/16 dev br0
ip -n "$ns" link set br0 up

# domain NAME DEVICES
domain() {
  cat >"$work/$1.xml" <<XML
<domain type='lxc'>
  <name>$1</name>
  <os><type>exe</type><init>/bin/true</init></os>
  <features><privnet/></features>
  <devices>
    <filesystem type='mount'><source dir='$work/rootfs'/><target dir='/'/></filesystem>
    $2
    <console type='pty'/>
  </devices>
</domain>
XML
}
nic() {
  echo "<interface type='bridge'><source bridge='br0'/><ip address='10.250.1.$1' prefix='16'/><route address='0.0.0.0' prefix='0' gateway='10.250.0.1'/></interface>"
}
domain privnet ""
domain nic1 "$(nic 2)"
domain nic4 "$(nic 2) $(nic 3 | sed 's/<route[^>]*>//') $(nic 4 | sed 's/<route[^>]*>//') $(nic 5 | sed 's/<route[^>]*>//')"

ip netns exec "$ns" hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/result.json" \
  -n "privnet (lo only)" "$domrun --root $work/state run $work/privnet.xml" \
  -n "1 bridged NIC" "$domrun --root $work/state run $work/nic1.xml" \
  -n "4 bridged NICs" "$domrun --root $work/state run $work/nic4.xml" >&2
python3 - "$work/result.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
print("| domain | median ms | mean ms | min ms | max ms |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    ms = lambda v: f"{v * 1000:.2f}"
    print(f"| {r['command']} | {ms(r['median'])} | {ms(r['mean'])} | {ms(r['min'])} | {ms(r['max'])} |")
PY
left=$(ip -n "$ns" -o link | grep -vc -e ': lo:' -e ': br0:' || true)
echo "links left in $ns after the runs: $left"
