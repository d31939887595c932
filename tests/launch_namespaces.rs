//! End-to-end: user namespaces with id maps, new and joined network
//! namespaces, and a pty console.

mod common;

use common::{dir_root, launch_fixture, run_clean, shell_plan};
use domrun::plan::{ConsoleMode, IdMapRange, NamespaceJoin, NamespaceKind, UserNamespace};

#[test]
fn user_namespace_maps_root_to_an_unprivileged_range() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    std::fs::create_dir(rootfs.path().join("out")).expect("mkdir out");
    rootfs.chown_all(100_000, 100_000);
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "cat /proc/self/uid_map > /out/uid_map; cat /proc/self/gid_map > /out/gid_map; \
         id -u > /out/uid; echo $$ > /out/pid; ls /dev > /out/dev",
    );
    plan.namespaces.user = Some(UserNamespace {
        uid_map: vec![IdMapRange {
            inside: 0,
            outside: 100_000,
            count: 65_536,
        }],
        gid_map: vec![IdMapRange {
            inside: 0,
            outside: 100_000,
            count: 65_536,
        }],
        allow_setgroups: false,
    });
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    let uid_map: Vec<String> = out
        .read("uid_map")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(uid_map, ["0", "100000", "65536"]);
    assert_eq!(out.read("uid"), "0\n");
    assert_eq!(out.read("pid"), "1\n");
    assert!(out.read("dev").lines().any(|d| d == "null"));
    // Files the container's root created are owned by the mapped host uid.
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(out.path().join("uid")).expect("stat");
    assert_eq!(meta.uid(), 100_000);
}

#[test]
fn new_network_namespace_has_only_loopback() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "tail -n +3 /proc/net/dev | sed 's/:.*//;s/ //g' > /out/ifaces",
    );
    plan.process.argv[2] = "sed '1,2d;s/:.*//;s/ //g' /proc/net/dev > /out/ifaces".into();
    plan.namespaces.new_network = true;
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert_eq!(out.read("ifaces"), "lo\n");
}

#[test]
fn joined_network_namespace_is_the_one_named() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "readlink /proc/self/ns/net > /out/net; readlink /proc/self/ns/uts > /out/uts",
    );
    plan.namespaces.join.push(NamespaceJoin {
        kind: NamespaceKind::Network,
        path: "/proc/self/ns/net".into(),
    });
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    let host_net = std::fs::read_link("/proc/self/ns/net").expect("host netns");
    let host_uts = std::fs::read_link("/proc/self/ns/uts").expect("host utsns");
    assert_eq!(out.read("net").trim(), host_net.to_string_lossy());
    // UTS was not joined: the container has its own.
    assert_ne!(out.read("uts").trim(), host_uts.to_string_lossy());
}

#[test]
fn pty_console_is_the_controlling_terminal() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "test -t 0 && test -t 1 && echo yes > /out/isatty; \
         stat -c %t:%T /dev/console > /out/console; echo through-the-pty",
    );
    plan.console = ConsoleMode::Pty;
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert_eq!(out.read("isatty"), "yes\n");
    // /dev/console is the pty slave (major 0x88 = 136, Unix98 pty slaves).
    assert!(
        out.read("console").starts_with("88:"),
        "{}",
        out.read("console")
    );
}
