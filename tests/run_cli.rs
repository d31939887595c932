//! `domrun run FILE.xml` end to end, as root: real namespaces, real mounts,
//! a busybox probe inside printing what it sees. Each test asserts that
//! nothing is left behind (mounts, loop devices).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Cli, DomainXml, Run, probe};

struct Fixture {
    tmp: tempfile::TempDir,
    rootfs: PathBuf,
}

fn fixture() -> Option<Fixture> {
    if !common::require_root() {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = common::busybox_rootfs(&tmp.path().join("rootfs"))?;
    Some(Fixture { tmp, rootfs })
}

impl Fixture {
    /// A container domain on the fixture's rootfs running `sh -c script`.
    fn domain(&self, name: &str, script: &str) -> DomainXml {
        DomainXml::lxc(name).rootfs(&self.rootfs).shell(script)
    }
}

/// `domrun run` of `d` (written into the fixture's dir), asserting that no
/// mount is left on the host: every mount happens in the container's own
/// mount namespace.
fn run(f: &Fixture, d: &DomainXml) -> Run {
    run_file(&d.write(f.tmp.path()))
}

fn run_file(xml: &Path) -> Run {
    let before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let out = Cli::bare().run([Path::new("run"), xml]);
    let after = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = xml.parent().unwrap().to_string_lossy().into_owned();
    let leaked: Vec<&str> = after
        .lines()
        .filter(|l| l.contains(&dir) && !before.contains(*l))
        .collect();
    assert!(leaked.is_empty(), "mounts left on the host: {leaked:#?}");
    out
}

/// A fresh 16 MiB ext4 image at `path`.
fn ext4_image(path: &Path) -> PathBuf {
    std::fs::File::create(path)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let mk = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(path)
        .status()
        .unwrap();
    assert!(mk.success());
    path.to_owned()
}

#[test]
fn probe_sees_pid1_hostname_env_identity_and_only_three_fds() {
    let Some(f) = fixture() else { return };
    if probe::install(&f.rootfs).is_none() {
        return;
    }
    let d = DomainXml::lxc("Probe_1")
        .rootfs(&f.rootfs)
        .init(probe::IN_CONTAINER)
        .os(
            "<initenv name='GREETING'>hello world</initenv><initdir>/home</initdir>\
             <inituser>tester</inituser><initgroup>tester</initgroup>",
        );
    let seen = probe::parse(&run(&f, &d).ok().stdout);
    assert_eq!(seen["pid"], 1, "{seen}");
    assert_eq!(seen["hostname"], "Probe-1");
    assert_eq!(seen["uid"], serde_json::json!([1000, 1000, 1000, 1000]));
    assert_eq!(seen["gid"], serde_json::json!([1000, 1000, 1000, 1000]));
    // Supplementary groups only (`id -G` would add the primary 1000).
    assert_eq!(seen["groups"], serde_json::json!([2000]));
    assert_eq!(seen["cwd"], "/home");
    assert_eq!(seen["env"]["GREETING"], "hello world");
    assert_eq!(seen["env"]["container"], "lxc-libvirt");
    assert_eq!(seen["env"]["LIBVIRT_LXC_NAME"], "Probe_1");
    // Only stdin, stdout and stderr reached init.
    assert_eq!(seen["fds"], serde_json::json!([0, 1, 2]));
    // Nothing ignored or blocked: pipelines behave (SIGPIPE kills).
    assert_eq!(seen["sig_blk"], "0000000000000000");
    assert_eq!(seen["sig_ign"], "0000000000000000");
}

#[test]
fn exit_status_and_setup_failures_follow_the_convention() {
    let Some(f) = fixture() else { return };
    run(&f, &f.domain("exit7", "exit 7")).fails_with(7);
    run(&f, &f.domain("missing", "exit 7").init("/bin/no-such-init")).fails_with(127);
    std::fs::write(f.rootfs.join("not-exec"), "#!/bin/sh\n").unwrap();
    run(&f, &f.domain("noexec", "exit 7").init("/not-exec")).fails_with(126);
    let bad = f.tmp.path().join("bad.xml");
    std::fs::write(&bad, "<domain type='lxc'><name>x</name></domain>").unwrap();
    run_file(&bad)
        .fails_with(125)
        .stderr_has("missing element <os>");
}

#[test]
fn sigterm_is_forwarded_to_init() {
    let Some(f) = fixture() else { return };
    let xml = f
        .domain(
            "sig",
            "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done",
        )
        .write(f.tmp.path());
    let mut child = Cli::bare()
        .command([Path::new("run"), &xml])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ready\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(3));
}

#[test]
fn readonly_root_ram_limit_and_capability_policy() {
    let Some(f) = fixture() else { return };
    if probe::install(&f.rootfs).is_none() {
        return;
    }
    let d = f
        .domain(
            "limits",
            "dd if=/dev/zero of=/scratch/f bs=64k count=64 2>&1 | grep -o 'No space left' ; /probe",
        )
        .readonly_root()
        .feature("<capabilities policy='deny'><kill state='on'/><chown state='on'/></capabilities>")
        .device(
            "<filesystem type='ram'><source usage='1' units='MiB'/><target dir='/scratch'/></filesystem>",
        );
    let s = run(&f, &d).stdout;
    assert!(s.contains("No space left"), "{s}");
    let seen = probe::parse(&s);
    // CAP_CHOWN (0) and CAP_KILL (5) only.
    assert_eq!(probe::caps(&seen, "bnd"), 0x21, "{s}");
    assert_eq!(probe::caps(&seen, "eff"), 0x21, "{s}");
    let root = probe::mount(&seen, "/").expect("a root mount");
    assert!(
        root["options"].as_str().unwrap().starts_with("ro"),
        "{root}"
    );
    let scratch = probe::mount(&seen, "/scratch").expect("/scratch");
    assert_eq!(scratch["fstype"], "tmpfs");
}

/// Runs a domain with `image` (ext4 inside) on /data through `<driver DRIVER>`:
/// it writes `note` to /data/note and must see ext4 there; no loop device is
/// left attached afterwards.
fn run_on_image(f: &Fixture, name: &str, driver: &str, image: &Path, note: &str) {
    let loops_before = common::loop_devices();
    let d = f
        .domain(
            name,
            &format!("echo {note} > /data/note && grep ' /data ' /proc/mounts | cut -d' ' -f3"),
        )
        .device(&format!(
            "<filesystem type='file'><driver {driver}/><source file='{}'/><target dir='/data'/></filesystem>",
            image.display()
        ));
    let out = run(f, &d);
    assert_eq!(out.stdout, "ext4\n", "{}", out.stderr);
    assert_eq!(
        common::loop_devices(),
        loops_before,
        "a loop device was left attached"
    );
}

#[test]
fn raw_image_is_loop_mounted_and_written_data_survives() {
    let Some(f) = fixture() else { return };
    if !common::require_tools(&["mkfs.ext4", "fsck.ext4"]) {
        return;
    }
    let img = ext4_image(&f.tmp.path().join("data.img"));
    run_on_image(&f, "image", "type='loop' format='raw'", &img, "persisted");
    let fsck = Command::new("fsck.ext4")
        .arg("-n")
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let cat = Command::new("debugfs")
        .args(["-R", "cat /note"])
        .arg(&img)
        .output();
    if let Ok(cat) = cat {
        assert_eq!(String::from_utf8_lossy(&cat.stdout), "persisted\n");
    }
}

#[test]
fn a_symlink_in_the_rootfs_never_leads_a_mount_onto_the_host() {
    let Some(f) = fixture() else { return };
    // /mnt inside the container points at /etc: the mount must land in the
    // container's /etc, never the host's.
    std::fs::remove_dir_all(f.rootfs.join("mnt")).ok();
    std::os::unix::fs::symlink("/etc", f.rootfs.join("mnt")).unwrap();
    let marker = format!("domrun-escape-{}", std::process::id());
    let d = f
        .domain("escape", &format!("grep -c ' /etc/{marker} ' /proc/mounts"))
        .device(&format!(
            "<filesystem type='ram'><source usage='1' units='MiB'/><target dir='/mnt/{marker}'/></filesystem>"
        ));
    let out = run(&f, &d);
    assert_eq!(out.stdout, "1\n", "{}", out.stderr);
    assert!(
        !Path::new("/etc").join(&marker).exists(),
        "a directory was created on the host's /etc"
    );
    assert!(f.rootfs.join("etc").join(&marker).is_dir());
}

#[test]
fn a_qcow2_image_is_exported_loop_mounted_and_released() {
    let Some(f) = fixture() else { return };
    if !common::require_tools(&["mkfs.ext4", "qemu-img", "qemu-storage-daemon", "debugfs"]) {
        return;
    }
    let raw = ext4_image(&f.tmp.path().join("seed.img"));
    let qcow = f.tmp.path().join("data.qcow2");
    let convert = |args: &[&str], from: &Path, to: &Path| {
        let ok = Command::new("qemu-img")
            .args(args)
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(ok.success());
    };
    convert(&["convert", "-O", "qcow2"], &raw, &qcow);
    run_on_image(
        &f,
        "qcow",
        "type='nbd' format='qcow2'",
        &qcow,
        "through-qcow2",
    );
    // Everything the export needed is gone: daemon, FUSE mount, loop device.
    assert!(common::mounts_containing("domrun-exports").is_empty());
    let daemons = Command::new("pgrep")
        .args(["-f", &qcow.to_string_lossy()])
        .output()
        .unwrap();
    assert!(
        daemons.stdout.is_empty(),
        "qemu-storage-daemon left running"
    );
    // The write went into the qcow2 image.
    let back = f.tmp.path().join("back.img");
    convert(&["convert", "-O", "raw"], &qcow, &back);
    let cat = Command::new("debugfs")
        .args(["-R", "cat /note"])
        .arg(&back)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "through-qcow2\n");
}

#[test]
fn memory_limit_cpuset_and_the_containers_read_only_cgroup_view() {
    let Some(f) = fixture() else { return };
    if !Path::new("/sys/fs/cgroup").is_dir() {
        common::skip("no cgroup filesystem");
        return;
    }
    if probe::install(&f.rootfs).is_none() {
        return;
    }
    let d = f
        .domain(
            "limited",
            "grep -c ':/$' /proc/self/cgroup; \
             cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; \
             mkdir /sys/fs/cgroup/x 2>/dev/null || echo read-only; \
             head -c 200m /dev/zero | tail; echo init-survived; /probe",
        )
        .element("<memory unit='MiB'>64</memory><vcpu cpuset='0'>1</vcpu>");
    let out = run(&f, &d);
    let s = &out.stdout;
    let seen = probe::parse(s);
    assert_eq!(seen["cpus_allowed"], "0", "{s}");
    // The cgroup view is mounted read-only.
    let view = seen["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["target"].as_str().unwrap().starts_with("/sys/fs/cgroup"))
        .collect::<Vec<_>>();
    assert!(!view.is_empty(), "{s}");
    // Every hierarchy's root, as the container sees it, is its own group.
    assert!(
        s.lines()
            .next()
            .is_some_and(|n| n.parse::<u32>().unwrap_or(0) >= 1),
        "{s}"
    );
    // The limit sits on the limit group, above the container's root and out
    // of its reach (docs/system-containers.md); the OOM kill below proves it.
    assert!(s.contains("read-only"), "{s}");
    // The OOM killer took the 200 MiB allocator; init lived on.
    assert!(s.contains("init-survived"), "{s}");
    out.stderr_has("Killed");
    let left = Command::new("find")
        .args([
            "/sys/fs/cgroup",
            "-maxdepth",
            "4",
            "-name",
            "limited.domrun",
        ])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "cgroup left behind");
}

#[test]
fn network_sysctls_are_writable_only_with_an_own_network_stack() {
    let Some(f) = fixture() else { return };
    let probe = "echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null && echo net-rw || echo net-ro; \
                 echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo kernel-rw || echo kernel-ro";
    let own = f.domain("netns-own", probe).feature("<privnet/>");
    assert_eq!(run(&f, &own).stdout, "net-rw\nkernel-ro\n");
    // Sharing the host's network stack, the container must not retune it.
    let host = f.domain("netns-host", probe);
    assert_eq!(run(&f, &host).stdout, "net-ro\nkernel-ro\n");
}
