//! Exercises the shared test helpers in `tests/common` (see docs/testing.md).

mod common;

use std::os::unix::fs::PermissionsExt as _;

#[test]
fn busybox_rootfs_has_shell_and_users() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("rootfs");
    let Some(root) = common::busybox_rootfs(&dest) else {
        return;
    };
    assert_eq!(root, dest);

    let sh = std::fs::read_link(root.join("bin/sh")).expect("/bin/sh is a symlink");
    assert_eq!(sh, std::path::Path::new("busybox"));
    assert!(root.join("bin/sh").is_file(), "/bin/sh resolves to busybox");
    assert!(root.join("sbin/init").is_file(), "/sbin/init resolves");

    let passwd = std::fs::read_to_string(root.join("etc/passwd")).expect("passwd");
    assert!(
        passwd.lines().any(|l| l.starts_with("tester:x:1000:1000:")),
        "{passwd}"
    );
    let group = std::fs::read_to_string(root.join("etc/group")).expect("group");
    assert!(group.lines().any(|l| l == "extra:x:2000:tester"), "{group}");

    let tmp_mode = std::fs::metadata(root.join("tmp"))
        .expect("tmp")
        .permissions()
        .mode();
    assert_eq!(tmp_mode & 0o7777, 0o1777);

    // Idempotent: a second run over the same tree succeeds and keeps it.
    assert!(common::busybox_rootfs(&dest).is_some());
    assert!(root.join("bin/busybox").is_file());
}

#[test]
fn busybox_in_rootfs_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(root) = common::busybox_rootfs(&tmp.path().join("rootfs")) else {
        return;
    };
    // Static busybox runs from the fixture without a chroot.
    let out = std::process::Command::new(root.join("bin/busybox"))
        .args(["echo", "hello"])
        .output()
        .expect("run busybox");
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hello\n");
}

#[test]
fn mountinfo_escapes_decode() {
    assert_eq!(
        common::unescape_mountinfo(r"/tmp/a\040b\134c"),
        r"/tmp/a b\c"
    );
    assert_eq!(common::unescape_mountinfo(r"/x\9"), r"/x\9");
}

#[test]
fn leak_helpers_read_the_host() {
    // The root mount always exists; nothing of ours is mounted or attached.
    assert!(!common::mounts_containing("/").is_empty());
    let tmp = tempfile::tempdir().expect("tempdir");
    common::assert_no_leaks_under(tmp.path());
    let _ = common::loop_devices();
}

#[test]
fn tool_lookup() {
    assert!(common::find_tool("sh").is_some());
    assert!(common::find_tool("no-such-tool-domrun").is_none());
}
