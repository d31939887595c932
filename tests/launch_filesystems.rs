//! End-to-end: user filesystems (tmpfs limits, read-only binds, ext4 images
//! on loop devices), symlink escapes, masked /proc paths, the shared host
//! root, and the error a failing mount reports.

mod common;

use std::process::Command;

use common::{Output, dir_root, launch_fixture, run_clean, serial, shell_plan};
use domrun::plan::{FsType, MountSource, MountStep, RootSource};

fn tmpfs(target: &str, size_bytes: Option<u64>) -> MountStep {
    MountStep {
        source: MountSource::Tmpfs { size_bytes },
        target: target.into(),
        readonly: false,
    }
}

#[test]
fn tmpfs_size_limit_gives_enospc() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "dd if=/dev/zero of=/scratch/fits bs=1024 count=512 2>/dev/null && echo fits > /out/small; \
         dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2> /out/big; echo $? >> /out/big",
    );
    plan.mounts.push(tmpfs("/scratch", Some(1024 * 1024)));
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert_eq!(out.read("small"), "fits\n");
    let big = out.read("big");
    assert!(big.contains("No space left on device"), "{big}");
    assert!(big.ends_with("1\n"), "{big}");
}

#[test]
fn readonly_bind_and_readonly_root_give_erofs() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let shared = tempfile::tempdir().expect("tempdir");
    std::fs::write(shared.path().join("data"), "from host\n").expect("write");
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "cat /ro/data > /out/read; touch /ro/new 2> /out/ro-bind; touch /newfile 2> /out/ro-root; \
         touch /scratch/ok && echo ok > /out/scratch",
    );
    plan.root.readonly = true;
    plan.mounts.push(MountStep {
        source: MountSource::HostBind {
            path: shared.path().to_path_buf(),
        },
        target: "/ro".into(),
        readonly: true,
    });
    plan.mounts.push(tmpfs("/scratch", None));
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert_eq!(out.read("read"), "from host\n");
    assert!(out.read("ro-bind").contains("Read-only file system"));
    assert!(out.read("ro-root").contains("Read-only file system"));
    // Mounts below a read-only root keep their own mode.
    assert_eq!(out.read("scratch"), "ok\n");
    // Read-only inside the container only: the host can still write both.
    std::fs::write(shared.path().join("after"), "x").expect("host dir still writable");
    std::fs::write(rootfs.path().join("after"), "x").expect("rootfs still writable on the host");
}

fn make_ext4_image(dir: &std::path::Path) -> std::path::PathBuf {
    let image = dir.join("app.img");
    let file = std::fs::File::create(&image).expect("create image");
    file.set_len(32 * 1024 * 1024).expect("size image");
    let status = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&image)
        .status()
        .expect("mkfs.ext4");
    assert!(status.success());
    image
}

/// [`launch_fixture`] plus a fresh 32 MiB ext4 image (in a temp dir of its
/// own), when `tools` are installed.
fn image_fixture(
    tools: &[&str],
) -> Option<(
    std::sync::MutexGuard<'static, ()>,
    common::Rootfs,
    common::Output,
    tempfile::TempDir,
    std::path::PathBuf,
)> {
    if !common::require_tools(tools) {
        return None;
    }
    let (serial, rootfs, out) = launch_fixture()?;
    let images = tempfile::tempdir().expect("tempdir");
    let image = make_ext4_image(images.path());
    Some((serial, rootfs, out, images, image))
}

#[test]
fn ext4_image_on_a_loop_device_keeps_data_and_stays_clean() {
    let Some((_serial, rootfs, out, _images, image)) = image_fixture(&["mkfs.ext4", "fsck.ext4"])
    else {
        return;
    };
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "echo persisted > /var/lib/app/hello && grep ' /var/lib/app ' /proc/self/mountinfo > /out/mnt",
    );
    // No filesystem given: the launcher probes the superblock.
    plan.mounts.push(MountStep {
        source: MountSource::Image {
            file: image.clone(),
            fs: None,
        },
        target: "/var/lib/app".into(),
        readonly: false,
    });
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    let mnt = out.read("mnt");
    assert!(mnt.contains(" - ext4 /dev/loop"), "{mnt}");
    // run_clean has checked the loop device is detached again.
    let fsck = Command::new("fsck.ext4")
        .args(["-n", "-f"])
        .arg(&image)
        .output()
        .expect("fsck");
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );

    // Second start, read-only: the data is there and cannot be changed.
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "cat /data/hello > /out/hello; touch /data/x 2> /out/ro; true",
    );
    plan.mounts.push(MountStep {
        source: MountSource::Image {
            file: image.clone(),
            fs: Some(FsType::Ext4),
        },
        target: "/data".into(),
        readonly: true,
    });
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert_eq!(out.read("hello"), "persisted\n");
    assert!(out.read("ro").contains("Read-only file system"));
}

#[test]
fn failing_mount_names_device_image_and_target() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let images = tempfile::tempdir().expect("tempdir");
    // A file with an ext4 magic but no valid filesystem.
    let image = images.path().join("broken.img");
    let mut bytes = vec![0u8; 4 * 1024 * 1024];
    bytes[1024 + 56] = 0x53;
    bytes[1024 + 57] = 0xEF;
    std::fs::write(&image, &bytes).expect("write image");
    let mut plan = shell_plan(dir_root(&rootfs), &out, "true");
    plan.mounts.push(MountStep {
        source: MountSource::Image {
            file: image.clone(),
            fs: None,
        },
        target: "/var/lib/app".into(),
        readonly: false,
    });
    let before = common::HostState::capture();
    let err = domrun::launch::run_foreground(&plan).expect_err("bad image");
    before.assert_restored();
    let text = err.to_string();
    assert!(text.starts_with("mounting /dev/loop"), "{text}");
    assert!(
        text.contains(&format!(
            "(ext2, from {}) on /var/lib/app: ",
            image.display()
        )),
        "{text}"
    );
    assert_eq!(err.exit_code().0, 125);
}

#[test]
fn symlinked_target_stays_inside_the_container() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    // The rootfs's /mnt points at /etc: absolute, so naively joined to the
    // host path it would resolve to the host's /etc.
    rootfs.symlink_dir("mnt", "/etc");
    let host_etc_x = std::path::Path::new("/etc/x");
    assert!(!host_etc_x.exists(), "test needs /etc/x absent on the host");
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "grep ' /etc/x ' /proc/self/mountinfo > /out/mnt; echo inside > /mnt/x/file",
    );
    plan.mounts.push(tmpfs("/mnt/x", Some(1024 * 1024)));
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert!(out.read("mnt").contains(" /etc/x "));
    assert!(
        !host_etc_x.exists(),
        "a mount point was created on the host's /etc"
    );
    // The mount point was created in the container's /etc.
    assert!(rootfs.path().join("etc/x").is_dir());
}

#[test]
fn proc_paths_are_masked_and_proc_sys_is_readonly() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    // For every masked path the host kernel has: a file reads empty, a
    // directory lists nothing. (Kernels differ: /proc/kcore, sysrq-trigger...)
    let probe: String = domrun::plan::defaults::MASKED_PATHS
        .iter()
        .filter(|p| std::path::Path::new(p).exists())
        .map(|p| {
            format!(
                "if [ -d {p} ]; then ls -A {p} | wc -l; else wc -c < {p}; fi | sed 's|^|{p} |' >> /out/masked; "
            )
        })
        .collect();
    let plan = shell_plan(
        dir_root(&rootfs),
        &out,
        &format!(
            "exec 2> /out/stderr; {probe} \
             {{ echo 1 > /proc/sys/kernel/ns_last_pid; }} 2> /out/procsys; \
             touch /sys/x 2> /out/sys; ls /dev > /out/dev"
        ),
    );
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    let masked = out.read("masked");
    assert!(masked.lines().count() >= 3, "{masked}");
    for line in masked.lines() {
        assert!(line.ends_with(" 0"), "not masked: {line}");
    }
    assert!(out.read("procsys").contains("Read-only file system"));
    assert!(out.read("sys").contains("Read-only file system"));
    let dev: Vec<String> = out.read("dev").lines().map(str::to_owned).collect();
    for name in [
        "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
        "stdout", "tty", "urandom", "zero",
    ] {
        assert!(
            dev.iter().any(|d| d == name),
            "/dev/{name} missing: {dev:?}"
        );
    }
}

#[test]
fn shared_host_root_gets_private_proc_and_dev() {
    // The shared host root needs no rootfs, only the lock and root.
    let _serial = serial();
    if !common::require_root() {
        return;
    }
    let out = Output::new();
    // The host's /bin/busybox, seen through the shared root. Mount points
    // are created on the shared (host) filesystem, so bind the output over
    // an existing directory, /tmp, instead of creating /out on the host.
    let mut plan = shell_plan(
        RootSource::SharedHost,
        &out,
        "echo $$ > /tmp/pid; ls /proc | grep -c '^[0-9]' > /tmp/procs; ls /dev > /tmp/dev; \
         touch /var/domrun-test-file 2> /tmp/ro-root; true",
    );
    plan.mounts[0].target = "/tmp".into();
    plan.root.readonly = true;
    plan.process.argv[0] = "/bin/busybox".into();
    plan.process.argv.insert(1, "sh".into());
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert_eq!(out.read("pid"), "1\n");
    // Only the container's own processes: sh and its pipeline.
    let procs: u32 = out.read("procs").trim().parse().expect("count");
    assert!(procs <= 4, "{procs} processes visible");
    assert!(
        !out.read("dev")
            .lines()
            .any(|d| d.starts_with("loop") || d == "vda")
    );
    // Read-only in the container's copy of the host's root mount only.
    assert!(out.read("ro-root").contains("Read-only file system"));
    let probe = std::path::Path::new("/var/domrun-test-file");
    std::fs::write(probe, "host").expect("host root still writable");
    std::fs::remove_file(probe).expect("cleanup");
}

#[test]
fn block_device_filesystem_is_probed_and_mounted() {
    let Some((_serial, rootfs, out, _images, image)) = image_fixture(&["mkfs.ext4", "losetup"])
    else {
        return;
    };
    // Stand-in for a host disk: a loop device the test attaches itself.
    let attach = Command::new("losetup")
        .args(["--find", "--show"])
        .arg(&image)
        .output()
        .expect("losetup");
    assert!(attach.status.success());
    let device = std::path::PathBuf::from(String::from_utf8_lossy(&attach.stdout).trim());
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "grep ' /srv ' /proc/self/mountinfo > /out/mnt; echo block > /srv/file",
    );
    plan.mounts.push(MountStep {
        source: MountSource::Block {
            device: device.clone(),
            fs: None,
        },
        target: "/srv".into(),
        readonly: false,
    });
    let result = run_clean(&plan);
    let detach = Command::new("losetup").arg("-d").arg(&device).status();
    assert_eq!(result.expect("launch"), 0);
    assert!(detach.expect("losetup -d").success());
    assert!(
        out.read("mnt")
            .contains(&format!(" - ext4 {} ", device.display()))
    );
}

#[test]
fn container_bind_and_mounts_inside_a_readonly_tmpfs() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "cat /srv/passwd-copy > /out/copy; cat /srv/etc/group > /out/group; \
         touch /srv/new 2> /out/ro-tmpfs; touch /srv/etc/new 2> /out/ro-bind; true",
    );
    // A read-only tmpfs that later steps still mount into: read-only is
    // applied last, after the mount points below it exist.
    let mut ro_tmpfs = tmpfs("/srv", Some(64 * 1024));
    ro_tmpfs.readonly = true;
    plan.mounts.push(ro_tmpfs);
    plan.mounts.push(MountStep {
        source: MountSource::ContainerBind {
            path: "/etc/passwd".into(),
        },
        target: "/srv/passwd-copy".into(),
        readonly: false,
    });
    plan.mounts.push(MountStep {
        source: MountSource::ContainerBind {
            path: "/etc".into(),
        },
        target: "/srv/etc".into(),
        readonly: true,
    });
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert!(out.read("copy").starts_with("root:x:0:0"));
    assert!(out.read("group").contains("extra:x:2000:tester"));
    assert!(out.read("ro-tmpfs").contains("Read-only file system"));
    assert!(out.read("ro-bind").contains("Read-only file system"));
    // The bound /etc is read-only only at /srv/etc; the rootfs's stays writable.
    assert!(!rootfs.path().join("etc/new").exists());
}
