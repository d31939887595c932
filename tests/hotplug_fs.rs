//! Filesystem hot-plug end to end, as root: a host directory bound live into
//! a running container (`attach-device` with a `<filesystem type='mount'>`),
//! written through from inside, refused while busy, unmounted by
//! `detach-device`; `--config` persists it. Nothing is left mounted.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn domrun(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domrun"))
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn init_pid(root: &Path, name: &str) -> i32 {
    let text = std::fs::read_to_string(root.join("run").join(name).join("state.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["init"]["pid"].as_i64().unwrap() as i32
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

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

#[test]
fn a_host_directory_is_bound_live_written_through_and_unmounted() {
    if !common::require_root() || !common::require_tool("nsenter") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(rootfs) = common::busybox_rootfs(&tmp.path().join("rootfs")) else {
        return;
    };
    let state = tmp.path().join("state");
    let share = tmp.path().join("share");
    std::fs::create_dir(&share).unwrap();
    let xml = write(
        &tmp.path().join("fsd.xml"),
        &format!(
            "<domain type='lxc'><name>fsd</name>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>sleep 30</initarg></os>
  <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>
  <console type='pty'/></devices></domain>",
            rootfs.display()
        ),
    );
    let out = domrun(&state, &["define", xml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = domrun(&state, &["start", "fsd"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid = init_pid(&state, "fsd");

    let fs = write(
        &tmp.path().join("fs.xml"),
        &format!(
            "<filesystem type='mount'><source dir='{}'/><target dir='/mnt/shared'/></filesystem>",
            share.display()
        ),
    );
    let out = domrun(
        &state,
        &[
            "attach-device",
            "fsd",
            fs.to_str().unwrap(),
            "--live",
            "--config",
        ],
    );
    assert!(out.status.success(), "attach: {}", stderr(&out));
    let w = inside(
        pid,
        "echo written-inside > /mnt/shared/probe && cat /proc/1/mounts",
    );
    assert!(w.status.success(), "{}", stderr(&w));
    assert!(stdout(&w).contains(" /mnt/shared "), "{}", stdout(&w));
    assert_eq!(
        std::fs::read_to_string(share.join("probe")).unwrap(),
        "written-inside\n"
    );
    let live = stdout(&domrun(&state, &["dumpxml", "fsd"]));
    assert!(live.contains("<target dir='/mnt/shared'/>"), "{live}");
    // A second filesystem on the same target is refused.
    let out = domrun(
        &state,
        &["attach-device", "fsd", fs.to_str().unwrap(), "--live"],
    );
    assert!(
        stderr(&out).contains("already has a filesystem on /mnt/shared"),
        "{}",
        stderr(&out)
    );

    // Busy: a process inside has its cwd there.
    let mut holder = Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-m",
            "-r",
            "/bin/sh",
            "-c",
            "cd /mnt/shared && sleep 3",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = domrun(
        &state,
        &["detach-device", "fsd", fs.to_str().unwrap(), "--live"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/mnt/shared is busy in the container"),
        "{}",
        stderr(&out)
    );
    holder.wait().unwrap();
    let out = domrun(
        &state,
        &["detach-device", "fsd", fs.to_str().unwrap(), "--live"],
    );
    assert!(out.status.success(), "detach: {}", stderr(&out));
    let m = inside(pid, "cat /proc/1/mounts");
    assert!(!stdout(&m).contains(" /mnt/shared "), "{}", stdout(&m));
    let live = stdout(&domrun(&state, &["dumpxml", "fsd"]));
    assert!(!live.contains("/mnt/shared"), "{live}");

    // --config kept it: the next start mounts it.
    let out = domrun(&state, &["destroy", "fsd"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = domrun(&state, &["start", "fsd"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = inside(init_pid(&state, "fsd"), "cat /mnt/shared/probe");
    assert_eq!(stdout(&m), "written-inside\n");
    let out = domrun(&state, &["destroy", "fsd"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = domrun(
        &state,
        &["detach-device", "fsd", fs.to_str().unwrap(), "--config"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let def = stdout(&domrun(&state, &["dumpxml", "--inactive", "fsd"]));
    assert!(!def.contains("/mnt/shared"), "{def}");
    common::assert_no_leaks_under(tmp.path());
}

#[test]
fn a_tmpfs_and_an_ext4_image_attach_live_and_detach_without_leaks() {
    if !common::require_root()
        || !common::require_tool("nsenter")
        || !common::require_tool("mkfs.ext4")
        || !common::require_tool("debugfs")
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(rootfs) = common::busybox_rootfs(&tmp.path().join("rootfs")) else {
        return;
    };
    let state = tmp.path().join("state");
    let image = tmp.path().join("data.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let mk = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(mk.status.success(), "{}", stderr(&mk));
    let xml = write(
        &tmp.path().join("fs2.xml"),
        &format!(
            "<domain type='lxc'><name>fs2</name>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>sleep 30</initarg></os>
  <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>
  <console type='pty'/></devices></domain>",
            rootfs.display()
        ),
    );
    let out = domrun(&state, &["create", xml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid = init_pid(&state, "fs2");
    let ram = write(
        &tmp.path().join("ram.xml"),
        "<filesystem type='ram'><source usage='2048' units='KiB'/><target dir='/scratch'/></filesystem>",
    );
    let img = write(
        &tmp.path().join("img.xml"),
        &format!(
            "<filesystem type='file'><source file='{}'/><target dir='/data'/></filesystem>",
            image.display()
        ),
    );
    for f in [&ram, &img] {
        let out = domrun(&state, &["attach-device", "fs2", f.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "attach {}: {}",
            f.display(),
            stderr(&out)
        );
    }
    let w = inside(
        pid,
        "echo in-image > /data/probe && echo x > /scratch/y && grep -E ' /(data|scratch) ' /proc/1/mounts",
    );
    let seen = stdout(&w);
    assert!(w.status.success(), "{seen}{}", stderr(&w));
    assert!(
        seen.contains("nosuid,nodev") && seen.contains("size=2048k"),
        "{seen}"
    );
    assert!(seen.contains(" /data ext4 "), "{seen}");
    assert!(seen.contains(" /scratch tmpfs "), "{seen}");
    let image_name = image.display().to_string();
    assert!(
        common::loop_devices()
            .iter()
            .any(|l| l.ends_with(&image_name)),
        "no loop device for the image"
    );
    for f in [&ram, &img] {
        let out = domrun(&state, &["detach-device", "fs2", f.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "detach {}: {}",
            f.display(),
            stderr(&out)
        );
    }
    let m = stdout(&inside(pid, "cat /proc/1/mounts"));
    assert!(!m.contains(" /data ") && !m.contains(" /scratch "), "{m}");
    // Autoclear: the loop device went with the unmount.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while common::loop_devices()
        .iter()
        .any(|l| l.ends_with(&image_name))
    {
        assert!(std::time::Instant::now() < deadline, "loop device left");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let cat = Command::new("debugfs")
        .args(["-R", "cat /probe"])
        .arg(&image)
        .output()
        .unwrap();
    assert_eq!(stdout(&cat), "in-image\n");
    let out = domrun(&state, &["destroy", "fs2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    common::assert_no_leaks_under(tmp.path());
}

#[test]
fn a_host_device_node_appears_live_and_goes_on_detach() {
    if !common::require_root() || !common::require_tool("nsenter") {
        return;
    }
    let node = Path::new("/dev/loop-control");
    if !node.exists() {
        common::skip("needs /dev/loop-control");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(rootfs) = common::busybox_rootfs(&tmp.path().join("rootfs")) else {
        return;
    };
    let state = tmp.path().join("state");
    let xml = write(
        &tmp.path().join("hd.xml"),
        &format!(
            "<domain type='lxc'><name>hd</name>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>sleep 30</initarg></os>
  <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>
  <console type='pty'/></devices></domain>",
            rootfs.display()
        ),
    );
    let out = domrun(&state, &["create", xml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid = init_pid(&state, "hd");
    let dev = write(
        &tmp.path().join("dev.xml"),
        "<hostdev mode='capabilities' type='misc'><source><char>/dev/loop-control</char></source></hostdev>",
    );
    assert!(!stdout(&inside(pid, "ls /dev")).contains("loop-control"));
    let out = domrun(&state, &["attach-device", "hd", dev.to_str().unwrap()]);
    assert!(out.status.success(), "attach: {}", stderr(&out));
    let ls = stdout(&inside(pid, "ls -l /dev/loop-control"));
    assert!(ls.starts_with('c') && ls.contains("10, 237"), "{ls}");
    let live = stdout(&domrun(&state, &["dumpxml", "hd"]));
    assert!(live.contains("<char>/dev/loop-control</char>"), "{live}");
    let out = domrun(&state, &["detach-device", "hd", dev.to_str().unwrap()]);
    assert!(out.status.success(), "detach: {}", stderr(&out));
    assert!(!stdout(&inside(pid, "ls /dev")).contains("loop-control"));
    let out = domrun(&state, &["destroy", "hd"]);
    assert!(out.status.success(), "{}", stderr(&out));
    common::assert_no_leaks_under(tmp.path());
}
