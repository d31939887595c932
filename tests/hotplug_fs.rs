//! Filesystem hot-plug end to end, as root: a host directory bound live into
//! a running container (`attach-device` with a `<filesystem type='mount'>`),
//! written through from inside, refused while busy, unmounted by
//! `detach-device`; `--config` persists it. Nothing is left mounted.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::domain_xml::write_file;
use common::{Cli, DomainXml};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `sh -c script` inside the container's mount namespace and root.
fn inside(pid: i32, script: &str) -> Output {
    Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-m",
            "-r",
            "-w",
            "/bin/sh",
            "-c",
            script,
        ])
        .output()
        .unwrap()
}

/// A running busybox container to plug into: the temp dir, the CLI on its
/// state root, and init's pid. `verb` is `create` (transient) or `define`
/// then `start` (persistent). `None` when skipped.
struct Running {
    tmp: tempfile::TempDir,
    cli: Cli,
    name: &'static str,
    pid: i32,
}

impl Running {
    fn new(name: &'static str, persistent: bool, tools: &[&str]) -> Option<Running> {
        if !common::require_root() || !common::require_tools(tools) {
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = common::busybox_rootfs(&tmp.path().join("rootfs"))?;
        let cli = Cli::new(tmp.path().join("state"));
        let xml = DomainXml::lxc(name)
            .rootfs(&rootfs)
            .shell("sleep 30")
            .write(tmp.path());
        if persistent {
            cli.ok(["define", xml.to_str().unwrap()]);
            cli.ok(["start", name]);
        } else {
            cli.ok(["create", xml.to_str().unwrap()]);
        }
        let pid = common::init_pid(cli.root().unwrap(), name);
        Some(Running {
            tmp,
            cli,
            name,
            pid,
        })
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// `domrun VERB NAME FILE FLAGS…`.
    fn device(&self, verb: &str, file: &Path, flags: &[&str]) -> common::Run {
        let mut args = vec![verb, self.name, file.to_str().unwrap()];
        args.extend_from_slice(flags);
        self.cli.run(args)
    }

    fn dumpxml(&self, flags: &[&str]) -> String {
        let mut args = vec!["dumpxml"];
        args.extend_from_slice(flags);
        args.push(self.name);
        self.cli.ok(args)
    }
}

#[test]
fn a_host_directory_is_bound_live_written_through_and_unmounted() {
    let Some(c) = Running::new("fsd", true, &["nsenter"]) else {
        return;
    };
    let share = c.dir().join("share");
    std::fs::create_dir(&share).unwrap();
    let fs = write_file(
        c.dir(),
        "fs.xml",
        &format!(
            "<filesystem type='mount'><source dir='{}'/><target dir='/mnt/shared'/></filesystem>",
            share.display()
        ),
    );
    c.device("attach-device", &fs, &["--live", "--config"]).ok();
    let w = inside(
        c.pid,
        "echo written-inside > /mnt/shared/probe && cat /proc/1/mounts",
    );
    assert!(w.status.success(), "{}", String::from_utf8_lossy(&w.stderr));
    assert!(stdout(&w).contains(" /mnt/shared "), "{}", stdout(&w));
    assert_eq!(
        std::fs::read_to_string(share.join("probe")).unwrap(),
        "written-inside\n"
    );
    let live = c.dumpxml(&[]);
    assert!(live.contains("<target dir='/mnt/shared'/>"), "{live}");
    // A second filesystem on the same target is refused.
    c.device("attach-device", &fs, &["--live"])
        .stderr_has("already has a filesystem on /mnt/shared");

    // Busy: a process inside has its cwd there.
    let mut holder = Command::new("nsenter")
        .args(["-t", &c.pid.to_string(), "-m", "-r", "/bin/sh", "-c"])
        .arg("cd /mnt/shared && touch /tmp/holding && sleep 3")
        .spawn()
        .unwrap();
    let holding = c.dir().join("rootfs/tmp/holding");
    common::wait_until("the holder to be in /mnt/shared", || holding.exists());
    c.device("detach-device", &fs, &["--live"])
        .fails()
        .stderr_has("/mnt/shared is busy in the container");
    holder.wait().unwrap();
    c.device("detach-device", &fs, &["--live"]).ok();
    let m = inside(c.pid, "cat /proc/1/mounts");
    assert!(!stdout(&m).contains(" /mnt/shared "), "{}", stdout(&m));
    let live = c.dumpxml(&[]);
    assert!(!live.contains("/mnt/shared"), "{live}");

    // --config kept it: the next start mounts it.
    c.cli.ok(["destroy", "fsd"]);
    c.cli.ok(["start", "fsd"]);
    let m = inside(
        common::init_pid(c.cli.root().unwrap(), "fsd"),
        "cat /mnt/shared/probe",
    );
    assert_eq!(stdout(&m), "written-inside\n");
    c.cli.ok(["destroy", "fsd"]);
    c.device("detach-device", &fs, &["--config"]).ok();
    let def = c.dumpxml(&["--inactive"]);
    assert!(!def.contains("/mnt/shared"), "{def}");
    common::assert_no_leaks_under(c.dir());
}

#[test]
fn a_tmpfs_and_an_ext4_image_attach_live_and_detach_without_leaks() {
    let Some(c) = Running::new("fs2", false, &["nsenter", "mkfs.ext4", "debugfs"]) else {
        return;
    };
    let image = c.dir().join("data.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let mk = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        mk.status.success(),
        "{}",
        String::from_utf8_lossy(&mk.stderr)
    );
    let ram = write_file(
        c.dir(),
        "ram.xml",
        "<filesystem type='ram'><source usage='2048' units='KiB'/><target dir='/scratch'/></filesystem>",
    );
    let img = write_file(
        c.dir(),
        "img.xml",
        &format!(
            "<filesystem type='file'><source file='{}'/><target dir='/data'/></filesystem>",
            image.display()
        ),
    );
    for f in [&ram, &img] {
        c.device("attach-device", f, &[]).ok();
    }
    let w = inside(
        c.pid,
        "echo in-image > /data/probe && echo x > /scratch/y && grep -E ' /(data|scratch) ' /proc/1/mounts",
    );
    let seen = stdout(&w);
    assert!(
        w.status.success(),
        "{seen}{}",
        String::from_utf8_lossy(&w.stderr)
    );
    assert!(
        seen.contains("nosuid,nodev") && seen.contains("size=2048k"),
        "{seen}"
    );
    assert!(seen.contains(" /data ext4 "), "{seen}");
    assert!(seen.contains(" /scratch tmpfs "), "{seen}");
    let image_name = image.display().to_string();
    let attached = || {
        common::loop_devices()
            .iter()
            .any(|l| l.ends_with(&image_name))
    };
    assert!(attached(), "no loop device for the image");
    for f in [&ram, &img] {
        c.device("detach-device", f, &[]).ok();
    }
    let m = stdout(&inside(c.pid, "cat /proc/1/mounts"));
    assert!(!m.contains(" /data ") && !m.contains(" /scratch "), "{m}");
    // Autoclear: the loop device went with the unmount.
    common::wait_until("the loop device to detach", || !attached());
    let cat = Command::new("debugfs")
        .args(["-R", "cat /probe"])
        .arg(&image)
        .output()
        .unwrap();
    assert_eq!(stdout(&cat), "in-image\n");
    c.cli.ok(["destroy", "fs2"]);
    common::assert_no_leaks_under(c.dir());
}

#[test]
fn a_host_device_node_appears_live_and_goes_on_detach() {
    if !Path::new("/dev/loop-control").exists() {
        common::skip("needs /dev/loop-control");
        return;
    }
    let Some(c) = Running::new("hd", false, &["nsenter"]) else {
        return;
    };
    let dev = write_file(
        c.dir(),
        "dev.xml",
        "<hostdev mode='capabilities' type='misc'><source><char>/dev/loop-control</char></source></hostdev>",
    );
    assert!(!stdout(&inside(c.pid, "ls /dev")).contains("loop-control"));
    c.device("attach-device", &dev, &[]).ok();
    let ls = stdout(&inside(c.pid, "ls -l /dev/loop-control"));
    assert!(ls.starts_with('c') && ls.contains("10, 237"), "{ls}");
    let live = c.dumpxml(&[]);
    assert!(live.contains("<char>/dev/loop-control</char>"), "{live}");
    c.device("detach-device", &dev, &[]).ok();
    assert!(!stdout(&inside(c.pid, "ls /dev")).contains("loop-control"));
    c.cli.ok(["destroy", "hd"]);
    common::assert_no_leaks_under(c.dir());
}
