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

#[test]
fn domain_xml_escapes_and_parses() {
    let d = common::DomainXml::lxc("x&y")
        .rootfs(std::path::Path::new("/srv/root's"))
        .readonly_root()
        .shell("echo '<a>' && true")
        .element("<memory unit='MiB'>64</memory>")
        .feature("<privnet/>")
        .attr("id", "7")
        .domain();
    assert_eq!(d.name, "x&y");
    assert_eq!(d.os.init.as_deref(), Some("/bin/sh"));
    assert_eq!(d.os.initargs, ["-c", "echo '<a>' && true"]);
    let xml = common::DomainXml::lxc("x").render();
    assert!(xml.contains("<console type='pty'/>"), "{xml}");
}

#[test]
fn cli_runs_the_binary_and_checks_its_status() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("bad.xml");
    std::fs::write(&bad, "<domain type='lxc'><name>x</name></domain>").expect("write");
    common::Cli::bare()
        .current_dir(tmp.path())
        .run(["validate", "bad.xml"])
        .fails_with(1)
        .stderr_has("bad.xml:");
    let list = common::Cli::new(tmp.path().join("state")).run(["list", "--all"]);
    list.ok();
}

#[test]
fn probe_reports_what_it_sees_as_json() {
    let Some(probe) = common::probe::binary() else {
        return;
    };
    let out = std::process::Command::new(probe)
        .arg("an-arg")
        .env("PROBE_TEST", "v a l")
        .output()
        .expect("run probe");
    assert!(out.status.success());
    let seen = common::probe::parse(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(seen["argv"][1], "an-arg");
    assert_eq!(seen["env"]["PROBE_TEST"], "v a l");
    assert!(seen["pid"].as_u64().is_some_and(|p| p > 1), "{seen}");
    assert!(common::probe::mount(&seen, "/").is_some(), "{seen}");
    assert!(
        seen["namespaces"]["mnt"]
            .as_str()
            .unwrap()
            .starts_with("mnt:[")
    );
    let _ = common::probe::caps(&seen, "bnd");
    // Statically linked: it runs in a rootfs without a libc.
    let ldd = std::process::Command::new("ldd").arg(probe).output();
    if let Ok(ldd) = ldd {
        // ldd fails on a static binary, or says so (static-pie).
        let said = String::from_utf8_lossy(&ldd.stdout);
        assert!(
            !ldd.status.success() || said.contains("statically linked"),
            "the probe is dynamically linked: {said}"
        );
    }
}
