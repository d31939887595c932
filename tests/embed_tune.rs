//! Live tuning: the writes of one verb on fake v1, v2 and hybrid trees
//! (plain files, as in `tests/cgroup_tree.rs`), and every verb on a running
//! domain of this host, read back from the cgroup files and `dumpxml`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{Cli, DomainXml};
use domrun::cgroup::{Cgroup, CgroupSettings, Controller, Layout, SettingGroup, pids_write};

fn populate(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, value) in files {
        fs::write(dir.join(name), value).unwrap();
    }
}

fn read(p: impl AsRef<Path>) -> String {
    fs::read_to_string(p.as_ref()).unwrap().trim().to_owned()
}

fn settings(body: &str) -> CgroupSettings {
    let d = DomainXml::lxc("t").element(body).without_console().domain();
    CgroupSettings::from_domain(&d).unwrap()
}

const DOMAIN: &str = "<memory unit='KiB'>1024</memory>\
    <memtune><soft_limit unit='KiB'>512</soft_limit></memtune>\
    <cputune><shares>512</shares></cputune>";

/// v1 controllers under `root` with `machine/t` and its payload made.
fn v1_controllers(root: &Path) -> BTreeMap<Controller, PathBuf> {
    let files: [(&str, &[(&str, &str)]); 4] = [
        (
            "memory",
            &[
                ("memory.limit_in_bytes", "-1"),
                ("memory.soft_limit_in_bytes", "-1"),
            ],
        ),
        ("cpu", &[("cpu.shares", "1024")]),
        ("cpuset", &[("cpuset.cpus", "0-3"), ("cpuset.mems", "0")]),
        ("pids", &[("pids.max", "max")]),
    ];
    let mut m = BTreeMap::new();
    for (mount, leaf) in files {
        let group = root.join(mount).join("machine/t");
        populate(&group, leaf);
        populate(&group.join("payload"), leaf);
        m.insert(Controller::from_name(mount).unwrap(), root.join(mount));
    }
    m
}

#[test]
fn v1_live_change_writes_only_its_group_of_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::V1 {
        controllers: v1_controllers(tmp.path()),
        systemd: None,
    };
    let cg = Cgroup::open(&layout, "/machine", "t").unwrap().unwrap();
    cg.apply(&settings(DOMAIN).subset(SettingGroup::Cpu))
        .unwrap();
    let memory = tmp.path().join("memory/machine/t");
    assert_eq!(read(tmp.path().join("cpu/machine/t/cpu.shares")), "512");
    assert_eq!(read(memory.join("memory.limit_in_bytes")), "-1");
    cg.apply(&settings(DOMAIN).subset(SettingGroup::Memory))
        .unwrap();
    assert_eq!(read(memory.join("memory.limit_in_bytes")), "1048576");
    assert_eq!(read(memory.join("memory.soft_limit_in_bytes")), "524288");
    cg.apply_writes(&[pids_write(Some(40))]).unwrap();
    assert_eq!(read(tmp.path().join("pids/machine/t/pids.max")), "40");
}

#[test]
fn v1_cpuset_change_narrows_the_payload_below_the_limit_group() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::V1 {
        controllers: v1_controllers(tmp.path()),
        systemd: None,
    };
    let cg = Cgroup::open(&layout, "/machine", "t").unwrap().unwrap();
    let group = tmp.path().join("cpuset/machine/t");
    cg.set_cpus("1").unwrap();
    assert_eq!(read(group.join("cpuset.cpus")), "1");
    assert_eq!(read(group.join("payload/cpuset.cpus")), "1");
    cg.set_cpus("0-2").unwrap();
    assert_eq!(read(group.join("payload/cpuset.cpus")), "0-2");
}

#[test]
fn v2_and_hybrid_live_changes_go_to_their_resource_files() {
    let tmp = tempfile::tempdir().unwrap();
    let v2 = tmp.path().join("v2");
    let leaf = v2.join("machine/t");
    populate(
        &leaf,
        &[
            ("cgroup.controllers", "cpuset cpu memory pids"),
            ("cpu.weight", "100"),
            ("memory.max", "max"),
            ("memory.low", "0"),
            ("cpuset.cpus", ""),
            ("pids.max", "max"),
        ],
    );
    let layout = Layout::V2 { root: v2.clone() };
    let cg = Cgroup::open(&layout, "/machine", "t").unwrap().unwrap();
    cg.apply(&settings(DOMAIN).subset(SettingGroup::Cpu))
        .unwrap();
    assert_eq!(read(leaf.join("cpu.weight")), "50");
    assert_eq!(read(leaf.join("memory.max")), "max");
    cg.set_cpus("0-1").unwrap();
    assert_eq!(read(leaf.join("cpuset.cpus")), "0-1");
    cg.apply_writes(&[pids_write(None)]).unwrap();
    assert_eq!(read(leaf.join("pids.max")), "max");

    // Hybrid: the resources are v1's, the unified group is not written.
    let hy = tmp.path().join("hybrid");
    let unified = hy.join("unified");
    populate(&unified.join("machine/t"), &[("cgroup.procs", "")]);
    let layout = Layout::Hybrid {
        controllers: v1_controllers(&hy),
        unified,
        systemd: None,
    };
    let cg = Cgroup::open(&layout, "/machine", "t").unwrap().unwrap();
    cg.apply(&settings(DOMAIN).subset(SettingGroup::Memory))
        .unwrap();
    assert_eq!(
        read(hy.join("memory/machine/t/memory.limit_in_bytes")),
        "1048576"
    );
}

/// `dumpxml NAME` (live or `--inactive`) has `needle`.
fn xml_has(cli: &Cli, name: &str, inactive: bool, needle: &str) {
    let mut args = vec!["dumpxml", name];
    if inactive {
        args.push("--inactive");
    }
    let xml = cli.ok(args);
    assert!(xml.contains(needle), "{needle} not in\n{xml}");
}

#[test]
fn every_verb_reads_back_from_the_cgroup_and_dumpxml() {
    if !common::require_root() {
        return;
    }
    let layout = Layout::detect().unwrap();
    if !matches!(layout, Layout::Hybrid { .. } | Layout::V1 { .. }) {
        common::skip("the read-back below names v1 files (this host is hybrid)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(tmp.path().join("state"));
    let xml = DomainXml::lxc("tunelive")
        .element("<memory unit='MiB'>64</memory>")
        .shell("sleep 300")
        .write(tmp.path());
    cli.run(["define", xml.to_str().unwrap()]).ok();
    cli.run(["start", "tunelive"]).ok();
    let v1 = |c: Controller, file: &str| {
        let mount = layout.v1_controllers().unwrap()[&c].clone();
        read(mount.join("machine/tunelive.domrun").join(file))
    };
    cli.run(["setmem", "tunelive", "80M"]).ok();
    assert_eq!(v1(Controller::Memory, "memory.limit_in_bytes"), "83886080");
    xml_has(&cli, "tunelive", false, "<memory unit='KiB'>81920</memory>");
    cli.run([
        "memtune",
        "tunelive",
        "--hard-limit",
        "100M",
        "--soft-limit",
        "50M",
    ])
    .ok();
    assert_eq!(v1(Controller::Memory, "memory.limit_in_bytes"), "104857600");
    assert_eq!(
        v1(Controller::Memory, "memory.soft_limit_in_bytes"),
        "52428800"
    );
    xml_has(
        &cli,
        "tunelive",
        false,
        "<hard_limit unit='KiB'>102400</hard_limit>",
    );
    cli.run(["memtune", "tunelive"])
        .ok()
        .stdout_has("soft_limit     : 51200");
    let sched = ["schedinfo", "tunelive", "--set", "cpu_shares=512"];
    cli.run(sched).ok();
    cli.run([
        "schedinfo",
        "tunelive",
        "--set",
        "vcpu_period=100000",
        "--set",
        "vcpu_quota=50000",
    ])
    .ok();
    assert_eq!(v1(Controller::Cpu, "cpu.shares"), "512");
    assert_eq!(v1(Controller::Cpu, "cpu.cfs_quota_us"), "50000");
    xml_has(&cli, "tunelive", false, "<quota>50000</quota>");
    cli.run(["schedinfo", "tunelive"])
        .ok()
        .stdout_has("cpu_shares : 512");
    cli.run(["emulatorpin", "tunelive", "0"]).ok();
    assert_eq!(v1(Controller::Cpuset, "cpuset.cpus"), "0");
    assert_eq!(v1(Controller::Cpuset, "payload/cpuset.cpus"), "0");
    xml_has(&cli, "tunelive", false, "cpuset='0'");
    cli.run(["setpids", "tunelive", "64"]).ok();
    assert_eq!(v1(Controller::Pids, "pids.max"), "64");
    cli.run(["setpids", "tunelive", "64", "--config"])
        .fails_with(1)
        .stderr_has("no pids limit");
    // BFQ's weight file only where the scheduler offers it.
    let blkio = layout
        .v1_controllers()
        .unwrap()
        .get(&Controller::Blkio)
        .cloned();
    if blkio.is_some_and(|m| m.join("machine/tunelive.domrun/blkio.bfq.weight").exists()) {
        cli.run(["blkiotune", "tunelive", "--weight", "300"]).ok();
        assert_eq!(v1(Controller::Blkio, "blkio.bfq.weight"), "300");
        xml_has(&cli, "tunelive", false, "<weight>300</weight>");
    }
    // The definition changed nothing until --config.
    xml_has(&cli, "tunelive", true, "<memory unit='KiB'>65536</memory>");
    cli.run(["setmem", "tunelive", "96M", "--config"]).ok();
    xml_has(&cli, "tunelive", true, "<memory unit='KiB'>98304</memory>");
    assert_eq!(v1(Controller::Memory, "memory.limit_in_bytes"), "104857600");
    cli.run(["destroy", "tunelive"]).ok();
    // --current on a stopped domain: the definition.
    cli.run(["schedinfo", "tunelive", "--set", "cpu_shares=256"])
        .ok();
    xml_has(&cli, "tunelive", true, "<shares>256</shares>");
    cli.run(["setpids", "tunelive", "10", "--live"])
        .fails_with(1)
        .stderr_has("not running");
}
