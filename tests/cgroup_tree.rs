//! The cgroup handle on fake v1, v2 and hybrid trees in temp dirs: plain
//! files stand in for cgroupfs, and each test asserts the exact files and
//! values written. The "kernel" is the `populate` helper: it pre-creates the
//! control files a real mkdir would make.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use domrun::cgroup::{
    Cgroup, CgroupError, CgroupSettings, Controller, DEFAULT_PARTITION, Hierarchy, Layout, Owner,
    PAYLOAD_GROUP, SUPERVISOR_GROUP,
};
use domrun::domain::Domain;
use nix::unistd::Pid;

fn domain(body: &str) -> Domain {
    common::DomainXml::lxc("t")
        .element(body)
        .without_console()
        .domain()
}

fn settings(body: &str) -> CgroupSettings {
    CgroupSettings::from_domain(&domain(body)).unwrap()
}

/// Makes `dir` and writes each control file.
fn populate(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, value) in files {
        fs::write(dir.join(name), value).unwrap();
    }
}

fn read(p: impl AsRef<Path>) -> String {
    fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

const V2_LEAF: &[(&str, &str)] = &[
    ("cgroup.procs", ""),
    ("cgroup.controllers", "cpuset cpu io memory pids"),
    ("cgroup.subtree_control", ""),
    ("cgroup.kill", ""),
    ("cgroup.freeze", "0"),
    ("memory.max", "max"),
    ("memory.low", "0"),
    ("memory.swap.max", "max"),
    ("memory.current", "4096"),
    (
        "memory.events",
        "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n",
    ),
    ("cpu.weight", "100"),
    ("cpu.max", "max 100000"),
    (
        "cpu.stat",
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
    ),
    ("cpuset.cpus", ""),
    ("cpuset.mems", ""),
    ("io.weight", "default 100"),
    ("io.max", ""),
];

/// A v2 tree at `root` with `machine/NAME` already made by the "kernel".
fn v2_tree(root: &Path, name: &str) -> Layout {
    let ctl = [
        ("cgroup.controllers", "cpuset cpu io memory hugetlb pids"),
        ("cgroup.subtree_control", ""),
        ("cgroup.procs", ""),
    ];
    populate(root, &ctl);
    populate(&root.join("machine"), &ctl);
    populate(&root.join("machine").join(name), V2_LEAF);
    Layout::V2 {
        root: root.to_owned(),
    }
}

/// A v1 tree: `cpu,cpuacct` co-mounted, cpuset, memory, blkio (BFQ only,
/// as on our hosts), freezer.
fn v1_tree(root: &Path, name: &str, with_memsw: bool) -> BTreeMap<Controller, PathBuf> {
    let leaf = |mount: &str| root.join(mount).join("machine").join(name);
    let part = |mount: &str| root.join(mount).join("machine");
    let base = [("cgroup.procs", "")];

    let cpu = "cpu,cpuacct";
    populate(&root.join(cpu), &base);
    populate(&part(cpu), &base);
    populate(
        &leaf(cpu),
        &[
            ("cgroup.procs", ""),
            ("cpu.shares", "1024"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "-1"),
            ("cpuacct.usage", "123456789"),
        ],
    );

    let cpus = [
        ("cgroup.procs", ""),
        ("cpuset.cpus", ""),
        ("cpuset.mems", ""),
    ];
    populate(
        &root.join("cpuset"),
        &[
            ("cgroup.procs", "1\n"),
            ("cpuset.cpus", "0-3\n"),
            ("cpuset.mems", "0\n"),
        ],
    );
    populate(&part("cpuset"), &cpus);
    populate(&leaf("cpuset"), &cpus);

    populate(&root.join("memory"), &base);
    populate(&part("memory"), &base);
    let mut mem = vec![
        ("cgroup.procs", ""),
        ("memory.limit_in_bytes", "9223372036854771712"),
        ("memory.soft_limit_in_bytes", "9223372036854771712"),
        ("memory.usage_in_bytes", "8192"),
        ("memory.failcnt", "3"),
        (
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        ),
    ];
    if with_memsw {
        mem.push(("memory.memsw.limit_in_bytes", "9223372036854771712"));
    }
    populate(&leaf("memory"), &mem);

    populate(&root.join("blkio"), &base);
    populate(&part("blkio"), &base);
    populate(
        &leaf("blkio"),
        &[
            ("cgroup.procs", ""),
            ("blkio.bfq.weight", "100"),
            ("blkio.bfq.weight_device", ""),
            ("blkio.throttle.read_bps_device", ""),
        ],
    );

    populate(&root.join("freezer"), &base);
    populate(&part("freezer"), &base);
    populate(
        &leaf("freezer"),
        &[("cgroup.procs", ""), ("freezer.state", "THAWED")],
    );

    let mut m = BTreeMap::new();
    m.insert(Controller::Cpu, root.join(cpu));
    m.insert(Controller::Cpuacct, root.join(cpu));
    m.insert(Controller::Cpuset, root.join("cpuset"));
    m.insert(Controller::Memory, root.join("memory"));
    m.insert(Controller::Blkio, root.join("blkio"));
    m.insert(Controller::Freezer, root.join("freezer"));
    m
}

/// A hybrid host's unified mount at `root/unified` with `machine/NAME`
/// made: it offers no controllers (they are bound to v1).
fn unified_tree(root: &Path, name: &str) -> PathBuf {
    let unified = root.join("unified");
    populate(
        &unified,
        &[
            ("cgroup.controllers", ""),
            ("cgroup.subtree_control", ""),
            ("cgroup.procs", ""),
        ],
    );
    populate(&unified.join("machine"), &[("cgroup.procs", "")]);
    populate(
        &unified.join("machine").join(name),
        &[
            ("cgroup.procs", ""),
            ("cgroup.controllers", ""),
            ("cgroup.subtree_control", ""),
            ("cgroup.kill", ""),
            ("cpu.stat", "usage_usec 10\n"),
        ],
    );
    unified
}

const FULL: &str = "<memory unit='MiB'>512</memory>\
    <blkiotune><weight>500</weight></blkiotune>\
    <memtune><hard_limit unit='MiB'>256</hard_limit><soft_limit unit='MiB'>128</soft_limit><swap_hard_limit unit='MiB'>384</swap_hard_limit></memtune>\
    <vcpu cpuset='0-3,^1'>2</vcpu>\
    <cputune><shares>2048</shares><period>50000</period><quota>25000</quota></cputune>\
    <numatune><memory mode='strict' nodeset='0'/></numatune>";

#[test]
fn v2_create_enables_controllers_down_the_partition_and_apply_writes_v2_files() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let layout = v2_tree(root, "web");
    let cg = Cgroup::create(&layout, DEFAULT_PARTITION, "web").unwrap();
    assert_eq!(cg.v2_path(), Some(root.join("machine/web").as_path()));
    assert_eq!(cg.relative(), Path::new("machine/web"));
    assert_eq!(cg.dirs().count(), 1);
    // hugetlb is offered but not wanted; the rest in a fixed order.
    assert_eq!(
        read(root.join("cgroup.subtree_control")),
        "+cpuset +cpu +io +memory +pids"
    );
    assert_eq!(
        read(root.join("machine/cgroup.subtree_control")),
        "+cpuset +cpu +io +memory +pids"
    );
    assert_eq!(cg.resource_hierarchy(), Hierarchy::V2);

    cg.apply(&settings(FULL)).unwrap();
    let leaf = root.join("machine/web");
    for (file, want) in [
        ("memory.low", "134217728"),
        ("memory.max", "268435456"),
        ("memory.swap.max", "134217728"),
        ("cpuset.cpus", "0,2-3"),
        ("cpuset.mems", "0"),
        ("cpu.weight", "200"),
        ("cpu.max", "25000 50000"),
        ("io.weight", "500"),
    ] {
        assert_eq!(read(leaf.join(file)), want, "{file}");
    }

    let s = cg.stats().unwrap();
    assert_eq!((s.cpu_time_ns, s.memory_bytes), (1_500_000, 4096));
    let ev = cg.memory_events().unwrap();
    assert_eq!((ev.limit_hits, ev.oom_kills), (7, 1));
    assert!(cg.oom_killed().unwrap());
    assert!(cg.procs().unwrap().is_empty());
}

#[test]
fn v2_already_enabled_controllers_are_not_written_again() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let layout = v2_tree(root, "web");
    fs::write(root.join("cgroup.subtree_control"), "cpu memory").unwrap();
    Cgroup::create(&layout, "/machine", "web").unwrap();
    assert_eq!(
        read(root.join("cgroup.subtree_control")),
        "+cpuset +io +pids"
    );
}

#[test]
fn v2_missing_controller_names_setting_and_controller_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let layout = v2_tree(root, "web");
    let leaf = root.join("machine/web");
    fs::write(leaf.join("cgroup.controllers"), "cpu memory pids").unwrap();
    let cg = Cgroup::create(&layout, "/machine", "web").unwrap();
    let e = cg
        .apply(&settings(
            "<memory unit='MiB'>64</memory><blkiotune><weight>300</weight></blkiotune>",
        ))
        .unwrap_err();
    assert!(matches!(e, CgroupError::MissingController { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("blkiotune/weight") && msg.contains("'io'") && msg.contains("v2"),
        "{msg}"
    );
    // Checked before any write: memory.max untouched.
    assert_eq!(read(leaf.join("memory.max")), "max");
}

#[test]
fn v1_create_copies_cpuset_from_parent_and_apply_writes_v1_files() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let controllers = v1_tree(root, "web", true);
    let layout = Layout::V1 {
        controllers,
        systemd: None,
    };
    let cg = Cgroup::create(&layout, "/machine", "web").unwrap();
    // cpu and cpuacct share one directory: five hierarchies, five dirs.
    assert_eq!(cg.dirs().count(), 5);
    assert_eq!(cg.v2_path(), None);
    for level in ["cpuset/machine", "cpuset/machine/web"] {
        assert_eq!(read(root.join(level).join("cpuset.cpus")), "0-3", "{level}");
        assert_eq!(read(root.join(level).join("cpuset.mems")), "0", "{level}");
    }

    cg.apply(&settings(FULL)).unwrap();
    let leaf = |c: &str, f: &str| read(root.join(c).join("machine/web").join(f));
    assert_eq!(leaf("memory", "memory.limit_in_bytes"), "268435456");
    assert_eq!(leaf("memory", "memory.soft_limit_in_bytes"), "134217728");
    assert_eq!(leaf("memory", "memory.memsw.limit_in_bytes"), "402653184");
    assert_eq!(leaf("cpuset", "cpuset.cpus"), "0,2-3");
    assert_eq!(leaf("cpuset", "cpuset.mems"), "0");
    assert_eq!(leaf("cpu,cpuacct", "cpu.shares"), "2048");
    assert_eq!(leaf("cpu,cpuacct", "cpu.cfs_period_us"), "50000");
    assert_eq!(leaf("cpu,cpuacct", "cpu.cfs_quota_us"), "25000");
    // No blkio.weight (no CFQ): BFQ's file takes the weight.
    assert_eq!(leaf("blkio", "blkio.bfq.weight"), "500");

    let s = cg.stats().unwrap();
    assert_eq!((s.cpu_time_ns, s.memory_bytes), (123_456_789, 8192));
    let ev = cg.memory_events().unwrap();
    assert_eq!((ev.limit_hits, ev.oom_kills), (3, 2));
}

#[test]
fn v1_missing_controller_and_missing_file_are_named() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let mut controllers = v1_tree(root, "web", false);
    let layout = Layout::V1 {
        controllers: controllers.clone(),
        systemd: None,
    };
    let cg = Cgroup::create(&layout, "/machine", "web").unwrap();
    let e = cg
        .apply(&settings(
            "<memory unit='MiB'>64</memory><memtune><swap_hard_limit unit='MiB'>128</swap_hard_limit></memtune>",
        ))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("memtune/swap_hard_limit")
            && e.contains("memory.memsw.limit_in_bytes")
            && e.contains("'memory'"),
        "{e}"
    );
    // Nothing was written before the check failed.
    assert_eq!(
        read(root.join("memory/machine/web/memory.limit_in_bytes")),
        "9223372036854771712"
    );

    controllers.remove(&Controller::Cpuset);
    let layout = Layout::V1 {
        controllers,
        systemd: None,
    };
    let cg = Cgroup::create(&layout, "/machine", "web").unwrap();
    let e = cg
        .apply(&settings("<vcpu cpuset='1'>1</vcpu>"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("vcpu/@cpuset") && e.contains("'cpuset'") && e.contains("v1"),
        "{e}"
    );
}

#[test]
fn blkio_device_must_be_a_block_device() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let layout = Layout::V1 {
        controllers: v1_tree(root, "web", true),
        systemd: None,
    };
    let cg = Cgroup::create(&layout, "/machine", "web").unwrap();
    let e = cg
        .apply(&settings(
            "<blkiotune><device><path>/dev/null</path><read_bytes_sec>1000</read_bytes_sec></device></blkiotune>",
        ))
        .unwrap_err();
    assert!(matches!(e, CgroupError::NotBlockDevice { .. }), "{e:?}");
    assert!(e.to_string().contains("blkiotune/device[/dev/null]"));
}

#[test]
fn hybrid_places_in_v1_and_unified_and_sets_resources_through_v1() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let controllers = v1_tree(root, "web", true);
    let unified = unified_tree(root, "web");
    let layout = Layout::Hybrid {
        controllers,
        unified: unified.clone(),
        systemd: None,
    };
    let cg = Cgroup::create(&layout, "/machine", "web").unwrap();
    // No controller enabling on the unified mount.
    assert_eq!(read(unified.join("cgroup.subtree_control")), "");
    assert_eq!(cg.dirs().count(), 6);
    assert_eq!(cg.resource_hierarchy(), Hierarchy::V1);

    cg.add_pid(Pid::from_raw(4242)).unwrap();
    for dir in cg.dirs() {
        assert_eq!(read(dir.join("cgroup.procs")), "4242", "{}", dir.display());
    }
    for mount in [
        "cpu,cpuacct",
        "cpuset",
        "memory",
        "blkio",
        "freezer",
        "unified",
    ] {
        assert_eq!(
            read(root.join(mount).join("machine/web/cgroup.procs")),
            "4242"
        );
    }
    assert_eq!(cg.procs().unwrap(), vec![Pid::from_raw(4242)]);
    // Clear the fake pid before anything could try to kill it.
    for dir in cg.dirs() {
        fs::write(dir.join("cgroup.procs"), "").unwrap();
    }

    cg.apply(&settings("<memory unit='MiB'>64</memory>"))
        .unwrap();
    assert_eq!(
        read(root.join("memory/machine/web/memory.limit_in_bytes")),
        "67108864"
    );
    // cpuacct is preferred for CPU time; memory from v1.
    let s = cg.stats().unwrap();
    assert_eq!((s.cpu_time_ns, s.memory_bytes), (123_456_789, 8192));
}

#[test]
fn existing_group_with_processes_is_busy_and_existing_empty_group_is_adopted() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let layout = v2_tree(root, "web");
    assert!(Cgroup::open(&layout, "/machine", "web").unwrap().is_some());
    assert!(
        Cgroup::open(&layout, "/machine", "other")
            .unwrap()
            .is_none()
    );
    assert!(!Cgroup::sweep_stale(&layout, "/machine", "other").unwrap());
    Cgroup::create(&layout, "/machine", "web").unwrap();
    fs::write(root.join("machine/web/cgroup.procs"), "77\n").unwrap();
    let e = Cgroup::create(&layout, "/machine", "web").unwrap_err();
    assert!(
        matches!(e, CgroupError::GroupBusy { ref pids, .. } if pids == &[77]),
        "{e:?}"
    );
    // The pre-existing group is left alone.
    assert!(root.join("machine/web").is_dir());
}

#[test]
fn failed_create_removes_the_leaves_it_made() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    // A v2 root without cgroup.controllers: enabling fails after nothing
    // was made; then a tree where the leaf mkdir works but the procs check
    // fails (no cgroup.procs in a plain directory).
    let layout = Layout::V2 {
        root: root.to_owned(),
    };
    let e = Cgroup::create(&layout, "/machine", "web").unwrap_err();
    assert!(matches!(e, CgroupError::ReadFile { .. }), "{e:?}");
    populate(
        root,
        &[("cgroup.controllers", ""), ("cgroup.subtree_control", "")],
    );
    populate(
        &root.join("machine"),
        &[("cgroup.controllers", ""), ("cgroup.subtree_control", "")],
    );
    let e = Cgroup::create(&layout, "/machine", "web").unwrap_err();
    assert!(matches!(e, CgroupError::ReadFile { .. }), "{e:?}");
    assert!(!root.join("machine/web").exists());
    assert!(root.join("machine").exists(), "the partition stays");
}

#[test]
fn names_and_partitions_are_checked_or_escaped() {
    let layout = Layout::V2 {
        root: "/nonexistent".into(),
    };
    for (partition, name) in [
        ("machine", "a"),
        ("/", "a"),
        ("/machine/../x", "a"),
        ("/machine", ""),
        ("/machine", "a/b"),
        ("/machine", "a\0b"),
    ] {
        let e = Cgroup::create(&layout, partition, name).unwrap_err();
        assert!(
            matches!(
                e,
                CgroupError::InvalidName { .. } | CgroupError::InvalidPartition { .. }
            ),
            "{partition} {name}: {e:?}"
        );
    }
    // Names shaped like control files get libvirt's leading '_'; other dots
    // are fine (domain names often have them).
    for (name, dir) in [
        ("web.example.org", "web.example.org"),
        ("cpu.example.org", "_cpu.example.org"),
        ("cgroup.procs", "_cgroup.procs"),
        ("..", "_.."),
        ("_x", "__x"),
        ("tasks", "_tasks"),
    ] {
        let t = tempfile::tempdir().unwrap();
        let layout = v2_tree(t.path(), dir);
        let cg = Cgroup::create(&layout, "/machine", name).unwrap();
        assert_eq!(cg.relative(), Path::new("machine").join(dir));
    }
}

// Delegation (system containers): the limit group keeps the settings, init
// runs in its payload group, the tracking hierarchies are the container's.

/// What a kernel mkdir of a sub-group would make: its `cgroup.procs` (and,
/// under a cpuset hierarchy, empty `cpuset.cpus`/`cpuset.mems`).
fn populate_subgroup(cg: &Cgroup, name: &str) {
    for dir in cg.dirs() {
        let sub = dir.join(name);
        populate(&sub, &[("cgroup.procs", "")]);
        if dir.join("cpuset.cpus").exists() {
            populate(&sub, &[("cpuset.cpus", ""), ("cpuset.mems", "")]);
        }
    }
}

/// A name=systemd tree at `root/systemd` with `machine/NAME` made.
fn systemd_tree(root: &Path, name: &str) -> PathBuf {
    let systemd = root.join("systemd");
    populate(&systemd, &[("cgroup.procs", "")]);
    populate(&systemd.join("machine"), &[("cgroup.procs", "")]);
    populate(&systemd.join("machine").join(name), &[("cgroup.procs", "")]);
    systemd
}

/// Root may hand a file to any id; others test with their own.
fn some_owner() -> Owner {
    if nix::unistd::Uid::effective().is_root() {
        Owner {
            uid: 100_000,
            gid: 100_000,
        }
    } else {
        Owner {
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        }
    }
}

fn owner_of(path: &Path) -> Owner {
    use std::os::unix::fs::MetadataExt as _;
    let m = fs::metadata(path).unwrap();
    Owner {
        uid: m.uid(),
        gid: m.gid(),
    }
}

/// Clears fake pids so nothing could ever try to kill them.
fn clear_procs(dirs: &[PathBuf]) {
    for dir in dirs {
        fs::write(dir.join("cgroup.procs"), "").unwrap();
    }
}

#[test]
fn v2_delegation_enables_controllers_in_the_limit_group_and_places_init_below() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let layout = v2_tree(root, "web");
    let cg = Cgroup::create(&layout, DEFAULT_PARTITION, "web").unwrap();
    cg.apply(&settings("<memory unit='MiB'>64</memory>"))
        .unwrap();
    populate_subgroup(&cg, PAYLOAD_GROUP);
    let owner = some_owner();
    cg.delegate(Some(owner)).unwrap();
    let limit = root.join("machine/web");
    // The offered controllers reach the payload's subtree; the limit stays
    // on the limit group.
    assert_eq!(
        read(limit.join("cgroup.subtree_control")),
        "+cpuset +cpu +io +memory +pids"
    );
    assert_eq!(read(limit.join("memory.max")), "67108864");
    let payload = limit.join(PAYLOAD_GROUP);
    assert_eq!(cg.payload_dirs(), std::slice::from_ref(&payload));
    // The payload and its delegation files that exist go to the container's
    // root; the limit group stays the host's.
    assert_eq!(
        cg.delegation_targets(),
        [payload.clone(), payload.join("cgroup.procs")]
    );
    assert_eq!(owner_of(&payload), owner);
    assert_eq!(owner_of(&payload.join("cgroup.procs")), owner);
    assert_eq!(owner_of(&limit), owner_of(root));

    cg.add_payload_pid(Pid::from_raw(4242)).unwrap();
    assert_eq!(read(payload.join("cgroup.procs")), "4242");
    assert_eq!(read(limit.join("cgroup.procs")), "");
    // Processes below the group count as the group's.
    assert_eq!(cg.procs().unwrap(), [Pid::from_raw(4242)]);
    clear_procs(&cg.payload_dirs());
}

#[test]
fn hybrid_delegation_places_init_in_every_hierarchy_and_hands_over_only_tracking_ones() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let controllers = v1_tree(root, "web", true);
    let unified = unified_tree(root, "web");
    let systemd = systemd_tree(root, "web");
    let layout = Layout::Hybrid {
        controllers,
        unified: unified.clone(),
        systemd: Some(systemd.clone()),
    };
    let cg = Cgroup::create(&layout, "/machine", "web").unwrap();
    // Five v1 hierarchies, name=systemd, unified.
    assert_eq!(cg.dirs().count(), 7);
    assert_eq!(
        cg.systemd_dir(),
        Some(systemd.join("machine/web").as_path())
    );
    populate_subgroup(&cg, PAYLOAD_GROUP);
    let owner = some_owner();
    cg.delegate(Some(owner)).unwrap();
    // Nothing is enabled on hybrid: the unified mount has no controllers.
    assert_eq!(read(unified.join("machine/web/cgroup.subtree_control")), "");
    // The v1 cpuset payload starts with its parent's CPUs and nodes.
    let cpuset_payload = root.join("cpuset/machine/web").join(PAYLOAD_GROUP);
    assert_eq!(read(cpuset_payload.join("cpuset.cpus")), "0-3");
    assert_eq!(read(cpuset_payload.join("cpuset.mems")), "0");

    let systemd_payload = systemd.join("machine/web").join(PAYLOAD_GROUP);
    let unified_payload = unified.join("machine/web").join(PAYLOAD_GROUP);
    assert_eq!(
        cg.delegation_targets(),
        [
            systemd_payload.clone(),
            systemd_payload.join("cgroup.procs"),
            unified_payload.clone(),
            unified_payload.join("cgroup.procs"),
        ]
    );
    for path in cg.delegation_targets() {
        assert_eq!(owner_of(&path), owner, "{}", path.display());
    }
    // Never a v1 controller.
    let memory_payload = root.join("memory/machine/web").join(PAYLOAD_GROUP);
    assert_eq!(owner_of(&memory_payload), owner_of(root));

    cg.add_payload_pid(Pid::from_raw(4242)).unwrap();
    let payloads = cg.payload_dirs();
    assert_eq!(payloads.len(), 7);
    for dir in &payloads {
        assert_eq!(read(dir.join("cgroup.procs")), "4242", "{}", dir.display());
    }
    assert_eq!(cg.procs().unwrap(), [Pid::from_raw(4242)]);
    clear_procs(&payloads);
}

#[test]
fn v1_delegation_hands_over_name_systemd_only_and_helpers_go_beside_the_payload() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let systemd = systemd_tree(root, "web");
    let layout = Layout::V1 {
        controllers: v1_tree(root, "web", true),
        systemd: Some(systemd.clone()),
    };
    let cg = Cgroup::create(&layout, "/machine", "web").unwrap();
    populate_subgroup(&cg, PAYLOAD_GROUP);
    cg.delegate(None).unwrap();
    // Without a user namespace nothing changes hands.
    let systemd_payload = systemd.join("machine/web").join(PAYLOAD_GROUP);
    assert_eq!(owner_of(&systemd_payload), owner_of(root));
    assert_eq!(
        cg.delegation_targets(),
        [
            systemd_payload.clone(),
            systemd_payload.join("cgroup.procs")
        ]
    );

    populate_subgroup(&cg, SUPERVISOR_GROUP);
    cg.add_helper_pid(Pid::from_raw(77)).unwrap();
    let helpers: Vec<PathBuf> = cg.dirs().map(|d| d.join(SUPERVISOR_GROUP)).collect();
    assert_eq!(helpers.len(), 6);
    for dir in &helpers {
        assert_eq!(read(dir.join("cgroup.procs")), "77", "{}", dir.display());
    }
    for dir in cg.payload_dirs() {
        assert_eq!(read(dir.join("cgroup.procs")), "");
    }
    clear_procs(&helpers);
}

#[test]
fn a_stale_payload_makes_the_group_busy() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let layout = v2_tree(root, "web");
    populate(
        &root.join("machine/web").join(PAYLOAD_GROUP),
        &[("cgroup.procs", "999999\n")],
    );
    let e = Cgroup::create(&layout, "/machine", "web").unwrap_err();
    assert!(matches!(e, CgroupError::GroupBusy { .. }), "{e:?}");
    fs::write(
        root.join("machine/web")
            .join(PAYLOAD_GROUP)
            .join("cgroup.procs"),
        "",
    )
    .unwrap();
}
