#!/bin/bash
# Start-up latency of `domrun run` next to crun, runc and a C floor program,
# all running /bin/true in the same busybox rootfs, with (net) or without
# (nonet) a new network namespace.
#   benches/startup.sh [nonet|net] [RUNS]
# Needs root, busybox-static, crun, runc, gcc, hyperfine. Prints hyperfine's
# table; docs/performance.md records the figures.
set -euo pipefail
mode=${1:-nonet}; runs=${2:-200}
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
work=$(mktemp -d /tmp/domrun-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$repo"
cargo build --release -q
domrun="${CARGO_TARGET_DIR:-$repo/target}/release/domrun"
bash rootfs-fixtures/busybox-rootfs.sh "$work/bundle/rootfs" >/dev/null
gcc -O2 -o "$work/floor" "$here/floor.c"

# The domain: busybox root, init /bin/true; <privnet/> for the net variant.
privnet=""; [ "$mode" = net ] && privnet="<features><privnet/></features>"
cat >"$work/bench.xml" <<XML
<domain type='lxc'>
  <name>bench</name>
  <os><type>exe</type><init>/bin/true</init></os>
  $privnet
  <devices>
    <filesystem type='mount'><source dir='$work/bundle/rootfs'/><target dir='/'/></filesystem>
    <console type='pty'/>
  </devices>
</domain>
XML

# The OCI bundle for crun and runc: their default spec, /bin/true, no tty,
# and the network namespace dropped for nonet.
(cd "$work/bundle" && crun spec)
python3 - "$work/bundle/config.json" "$mode" <<'PY'
import json, sys
path, mode = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"]["readonly"] = False
# Raising rlimits needs CAP_SYS_RESOURCE, which our VMs lack.
c["process"].pop("rlimits", None)
if mode == "nonet":
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
json.dump(c, open(path, "w"))
PY
floor_net=""; [ "$mode" = net ] && floor_net="--net"
# crun refuses hybrid cgroup hosts (ours are), and its cgroup-v2 device
# filter needs CAP_SYS_RESOURCE; so every runtime runs in a private mount
# namespace that sees a pure cgroup2 tree, and crun without a cgroup manager
# (domrun does not create cgroups for this domain either; runc does, which
# it cannot be told not to).
unshare -m --propagation private bash -c '
  umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup || exit 1
  hyperfine -N --warmup 10 --runs "$1" --export-json "$2/result.json" \
    -n "domrun-$3" "$4 run $2/bench.xml" \
    -n "crun-$3" "crun --cgroup-manager=disabled run --bundle $2/bundle bench-crun" \
    -n "runc-$3" "runc run --bundle $2/bundle bench-runc" \
    -n "floor-$3" "$2/floor $5 $2/bundle/rootfs"
' bench "$runs" "$work" "$mode" "$domrun" "$floor_net"
python3 - "$work/result.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
print("| runtime | median ms | mean ms | min ms | max ms |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    ms = lambda v: f"{v * 1000:.2f}"
    print(f"| {r['command']} | {ms(r['median'])} | {ms(r['mean'])} | {ms(r['min'])} | {ms(r['max'])} |")
PY
