//! `domrun domxml-from-native lxc-tools`: libvirt's `lxcconf2xmldata` corpus
//! byte for byte (`--libvirt-exact`), every default output valid, the keys
//! libvirt does not read, the refusals, and a real `lxc-create -t busybox`
//! container run through `domrun run`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Cli;
use std::path::{Path, PathBuf};

/// libvirt's test harness fixes the uuid (`testSanitizeDef`); so does this.
const LIBVIRT_TEST_UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

/// What libvirt's `lxcconf2xmltest.c` runs: 14 legacy cases and their 3.0
/// variants; `fstab` is the expected failure (no `.xml`).
const CASES: &[&str] = &[
    "simple",
    "fstab",
    "nonetwork",
    "nonenetwork",
    "physnetwork",
    "macvlannetwork",
    "vlannetwork",
    "miscnetwork",
    "idmap",
    "memtune",
    "cputune",
    "cpusettune",
    "blkiotune",
    "ethernet",
];

fn with_uuid(xml: &str, uuid: &str) -> String {
    xml.lines()
        .map(|l| {
            if l.trim_start().starts_with("<uuid>") {
                format!("  <uuid>{uuid}</uuid>")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Every libvirt case, legacy and v3: byte-exact XML or the expected
/// failure. The count is the one docs/import.md gives.
#[test]
fn lxcconf2xml_corpus_is_byte_exact() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let dir = corpus.join("tests/lxcconf2xmldata");
    let cli = Cli::bare();
    let mut passed = 0;
    for case in CASES {
        let expected = dir.join(format!("lxcconf2xml-{case}.xml"));
        for suffix in ["", "-v3"] {
            let config = dir.join(format!("lxcconf2xml-{case}{suffix}.config"));
            let run = cli.run([
                "domxml-from-native",
                "lxc-tools",
                "--libvirt-exact",
                config.to_str().unwrap(),
            ]);
            if expected.exists() {
                run.ok();
                let want = std::fs::read_to_string(&expected).unwrap();
                assert_eq!(
                    with_uuid(&run.stdout, LIBVIRT_TEST_UUID),
                    want,
                    "{}",
                    config.display()
                );
            } else {
                // libvirt refuses lxc.mount/lxc.mount.fstab outright; domrun
                // reads the file, which the corpus does not have.
                run.fails()
                    .stderr_has("cannot read /var/lib/lxc/migrate_test/fstab");
            }
            passed += 1;
        }
    }
    assert_eq!(passed, 28);
}

/// Without `--libvirt-exact` the output is libvirt's plus a console when
/// the config has no tty, and passes `domrun validate`; the idmap cases,
/// read as LXC documents `lxc.idmap`, leave the container's root unmapped
/// and are refused.
#[test]
fn lxcconf2xml_default_outputs_validate() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let dir = corpus.join("tests/lxcconf2xmldata");
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::bare();
    let console = "    <console type='pty'>\n      <target type='lxc' port='0'/>\n    </console>\n";
    let mut valid = 0;
    for case in CASES.iter().filter(|c| **c != "fstab") {
        for suffix in ["", "-v3"] {
            let config = dir.join(format!("lxcconf2xml-{case}{suffix}.config"));
            let args = ["domxml-from-native", "lxc-tools", config.to_str().unwrap()];
            let run = cli.run(args);
            if *case == "idmap" {
                run.fails()
                    .stderr_has("the container's root (uid 0) must be mapped");
                continue;
            }
            run.ok();
            let out = tmp.path().join(format!("{case}{suffix}.xml"));
            std::fs::write(&out, &run.stdout).unwrap();
            cli.run(["validate", out.to_str().unwrap()]).ok();
            valid += 1;
            let exact = cli.ok([
                "domxml-from-native",
                "lxc-tools",
                "--libvirt-exact",
                config.to_str().unwrap(),
            ]);
            let exact = with_uuid(&exact, LIBVIRT_TEST_UUID);
            let default = with_uuid(&run.stdout, LIBVIRT_TEST_UUID);
            if exact.contains("<console") {
                assert_eq!(default, exact, "{case}{suffix}");
            } else {
                assert_eq!(default.replacen(console, "", 1), exact, "{case}{suffix}");
            }
        }
    }
    assert_eq!(valid, 24);
}

/// The keys libvirt does not read: v3 init, environment, identity, cgroup2,
/// cap.keep, NIC mtu and pair, rootfs options, autostart; unknown keys are
/// named on stderr.
#[test]
fn lxc_keys_beyond_libvirt() {
    let run = Cli::bare().run([
        "domxml-from-native",
        "lxc-tools",
        data("lxc/v3.config").to_str().unwrap(),
    ]);
    run.ok();
    for want in [
        "<name>app</name>",
        "<memory unit='KiB'>524288</memory>",
        "<hard_limit unit='KiB'>524288</hard_limit>",
        "<soft_limit unit='KiB'>262144</soft_limit>",
        "<swap_hard_limit unit='KiB'>655360</swap_hard_limit>",
        "<vcpu placement='static' cpuset='0-1'>1</vcpu>",
        "<shares>2048</shares>",
        "<period>100000</period>",
        "<quota>50000</quota>",
        "<weight>300</weight>",
        "<init>/usr/bin/app</init>",
        "<initarg>--listen</initarg>",
        "<initarg>:8080</initarg>",
        "<initarg>two words</initarg>",
        "<initenv name='MODE'>production</initenv>",
        "<initdir>/srv</initdir>",
        "<inituser>1000</inituser>",
        "<initgroup>1000</initgroup>",
        "<uid start='0' target='100000' count='65536'/>",
        "<capabilities policy='deny'>",
        "<chown state='on'/>",
        "<net_bind_service state='on'/>",
        "<source dir='/srv/lxc/app/rootfs'/>",
        "<readonly/>",
        "<source bridge='br0'/>",
        "<target dev='vapp0'/>",
        "<guest dev='eth0'/>",
        "<mtu size='1400'/>",
        "<link state='up'/>",
        "<console type='pty'>",
    ] {
        run.stdout_has(want);
    }
    run.stderr_has("line 29: lxc.some.future.key: unknown key, not imported")
        .stderr_has("lxc.net.0.hwaddr: not a complete MAC address")
        .stderr_has("starts the container at boot");
}

/// `lxc.mount.fstab` is read (libvirt refuses it): its lines are mount
/// entries; `/proc` is skipped as libvirt skips its basic mounts.
#[test]
fn lxc_fstab_file_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    std::fs::write(
        &config,
        format!(
            "lxc.uts.name = f\nlxc.rootfs.path = /srv/f\nlxc.mount.fstab = {}\n",
            data("lxc/fstab").display()
        ),
    )
    .unwrap();
    let run = Cli::bare().run(["domxml-from-native", "lxc-tools", config.to_str().unwrap()]);
    run.ok()
        .stdout_has("<source dir='/srv/data'/>\n      <target dir='/srv/data'/>")
        .stdout_has("<source usage='16384' units='KiB'/>\n      <target dir='/tmp'/>");
    assert!(!run.stdout.contains("/proc"), "{}", run.stdout);
}

/// Keys whose loss would leave the container less confined are refused,
/// naming the line and the fix.
#[test]
fn lxc_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let base = "lxc.uts.name = r\nlxc.rootfs.path = /srv/r\n";
    for (extra, message) in [
        (
            "lxc.seccomp.profile = /usr/share/lxc/config/common.seccomp",
            "line 3: lxc.seccomp.profile = /usr/share/lxc/config/common.seccomp: not imported, domain XML has no seccomp filter; remove the line to import without it",
        ),
        (
            "lxc.apparmor.profile = my-profile",
            "a custom AppArmor profile",
        ),
        (
            "lxc.cgroup2.pids.max = 100",
            "a cgroup limit domain XML has no element for",
        ),
        ("lxc.no_new_privs = 1", "no_new_privs"),
        (
            "lxc.cap.drop = sys_time\nlxc.cap.keep = chown",
            "either lxc.cap.drop or lxc.cap.keep",
        ),
        (
            "lxc.net.0.type = ipvlan",
            "a network type among veth, macvlan",
        ),
        (
            "lxc.mount.entry = tmpfs tmp tmpfs defaults 0 0",
            "a tmpfs with a size= option",
        ),
        (
            "lxc.network.link = br0",
            "a line after the NIC's lxc.network.type",
        ),
    ] {
        let config = tmp.path().join("config");
        std::fs::write(&config, format!("{base}{extra}\n")).unwrap();
        Cli::bare()
            .run(["domxml-from-native", "lxc-tools", config.to_str().unwrap()])
            .fails()
            .stderr_has(message);
    }
}

/// A real container made by LXC's own busybox template: its config imports
/// and validates as it is; with its NIC made `empty` (no bridge here) and
/// an `lxc.init.cmd`, it runs through `domrun run` from LXC's rootfs.
#[test]
fn lxc_create_busybox_runs_under_domrun() {
    if !common::require_root() || !common::require_tools(&["lxc-create", "busybox"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let lxcpath = tmp.path().join("lxc");
    let made = std::process::Command::new("lxc-create")
        .arg("-P")
        .arg(&lxcpath)
        .args(["-n", "bbimport", "-t", "busybox"])
        .output()
        .unwrap();
    if !made.status.success() {
        // The template needs a static busybox; anything else is a failure.
        let err = String::from_utf8_lossy(&made.stderr);
        assert!(err.contains("busybox"), "lxc-create failed: {err}");
        common::skip(&format!("lxc-create -t busybox failed: {err}"));
        return;
    }
    let config = lxcpath.join("bbimport/config");
    let cli = Cli::new(tmp.path().join("state"));
    let as_is = cli.ok(["domxml-from-native", "lxc-tools", config.to_str().unwrap()]);
    assert!(as_is.contains("<name>bbimport</name>"), "{as_is}");
    let as_is_file = tmp.path().join("as-is.xml");
    std::fs::write(&as_is_file, &as_is).unwrap();
    cli.run(["validate", as_is_file.to_str().unwrap()]).ok();

    let text = std::fs::read_to_string(&config).unwrap();
    let mut runnable: String = text
        .lines()
        .filter(|l| !l.starts_with("lxc.net."))
        .map(|l| format!("{l}\n"))
        .collect();
    runnable.push_str("lxc.net.0.type = empty\n");
    runnable.push_str("lxc.init.cmd = /bin/sh -c \"echo imported-from-lxc on $(hostname)\"\n");
    let runnable_config = tmp.path().join("runnable.config");
    std::fs::write(&runnable_config, runnable).unwrap();
    let xml = cli.ok([
        "domxml-from-native",
        "lxc-tools",
        runnable_config.to_str().unwrap(),
    ]);
    let xml_file = tmp.path().join("bbimport.xml");
    std::fs::write(&xml_file, &xml).unwrap();
    cli.run(["run", xml_file.to_str().unwrap()])
        .ok()
        .stdout_has("imported-from-lxc on bbimport");
    common::assert_no_leaks_under(tmp.path());
}
