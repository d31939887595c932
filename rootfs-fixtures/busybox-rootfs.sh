#!/usr/bin/env bash
# busybox-rootfs.sh DEST: build (or refresh) a minimal root filesystem in DEST
# from the host's static busybox. Idempotent, no network, well under 100 ms.
#
# Layout (see rootfs-fixtures/README.md):
#   bin/busybox            a copy of the static busybox
#   bin/<applet>           -> busybox, for every applet
#   sbin, usr/bin, usr/sbin/<applet> -> ../bin/busybox (busybox's own placement)
#   etc/passwd, etc/group, etc/hostname
#   proc sys dev tmp(1777) mnt home/tester root(0700) var run   (empty dirs)
#
# Environment: BUSYBOX=/path/to/busybox overrides the binary (must be static).
# Exit status: 0 built; 77 skipped (no static busybox: apt-get install
# busybox-static); 2 usage; anything else is a bug.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
DEST=$1

find_busybox() {
  local c
  for c in "${BUSYBOX:-}" /bin/busybox /usr/bin/busybox /usr/sbin/busybox /sbin/busybox; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

if ! BB=$(find_busybox); then
  echo "busybox-rootfs: no busybox found (install busybox-static)" >&2
  exit 77
fi
# A dynamically linked busybox would not run inside the rootfs: ldd succeeds
# only on dynamic executables.
if ldd "$BB" >/dev/null 2>&1; then
  echo "busybox-rootfs: $BB is dynamically linked (install busybox-static)" >&2
  exit 77
fi

mkdir -p "$DEST"
cd "$DEST"

mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp mnt home/tester root var/tmp run
chmod 1777 tmp var/tmp
chmod 0700 root
chmod 0755 . bin sbin usr usr/bin usr/sbin etc proc sys dev mnt home var run

if ! cmp -s "$BB" bin/busybox; then
  rm -f bin/busybox
  cp "$BB" bin/busybox
fi
chmod 0755 bin/busybox

# One symlink per applet. perl (Essential on Debian) makes ~400 links in one
# process; a shell loop of `ln` would take ~0.5 s.
"$BB" --list-full | perl -e '
  use strict; use warnings;
  sub link_to { my ($target, $path) = @_;
    my $cur = readlink $path;
    return if defined $cur && $cur eq $target;
    unlink $path if defined $cur || -e $path;
    symlink $target, $path or die "symlink $path: $!\n";
  }
  while (my $line = <STDIN>) {
    chomp $line;
    my ($dir, $name) = $line =~ m{^(?:(.*)/)?([^/]+)$} or next;
    next if $name eq "busybox";
    link_to("busybox", "bin/$name");
    next if !defined $dir || $dir eq "bin";       # e.g. linuxrc has no dir
    my $up = "../" x (() = $dir =~ m{/}g) . "../bin/busybox";
    link_to($up, "$dir/$name");
  }'

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
tester:x:1000:1000:tester:/home/tester:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >etc/group <<'EOF'
root:x:0:
tester:x:1000:
extra:x:2000:tester
nogroup:x:65534:
EOF
echo "busybox" >etc/hostname
chmod 0644 etc/passwd etc/group etc/hostname

# tester owns its home when we can arrange it (root); harmless otherwise.
if [ "$(id -u)" -eq 0 ]; then
  chown 1000:1000 home/tester 2>/dev/null || true
fi
