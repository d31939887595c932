//! `domrun domxml-from-native openvz CTID.conf`: configs in vzctl's own
//! formats (`tests/data/openvz/`: a vswap one as `vzctl create` writes from
//! ve-vswap.conf-sample, a beancounter one in ve-basic.conf-sample's format,
//! a refused one), each output valid, and `--define` with the autostart mark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Cli;
use std::path::{Path, PathBuf};

fn conf(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/openvz")
        .join(name)
}

/// Converts `name`, checks `domrun validate` accepts the output, returns
/// stdout and stderr.
fn convert_valid(name: &str) -> (String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::bare();
    let run = cli.run(["domxml-from-native", "openvz", conf(name).to_str().unwrap()]);
    run.ok();
    let out = tmp.path().join("out.xml");
    std::fs::write(&out, &run.stdout).unwrap();
    cli.run(["validate", out.to_str().unwrap()]).ok();
    (run.stdout.clone(), run.stderr.clone())
}

fn has_all(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "{w:?} missing from:\n{text}");
    }
}

#[test]
fn vswap_config() {
    let (xml, err) = convert_valid("101.conf");
    has_all(
        &xml,
        &[
            "<domain type='openvz' id='101'>",
            "<name>ct101</name>",
            "<memory unit='KiB'>262144</memory>",
            "<hard_limit unit='KiB'>262144</hard_limit>",
            // memory + swap: 256 MiB + 512 MiB
            "<swap_hard_limit unit='KiB'>786432</swap_hard_limit>",
            "<vcpu placement='static'>2</vcpu>",
            "<shares>1024</shares>",
            "<period>100000</period>\n    <quota>50000</quota>",
            "<filesystem type='template' accessmode='passthrough'>\n      <source name='centos-6-x86_64'/>\n      <target dir='/'/>",
            // 2.2G and 2G
            "<space_hard_limit unit='bytes'>2362232012</space_hard_limit>",
            "<space_soft_limit unit='bytes'>2147483648</space_soft_limit>",
            "<interface type='ethernet'>",
            "<ip address='10.0.0.101' family='ipv4' prefix='32'/>",
            "<ip address='fd00::101' family='ipv6' prefix='128'/>",
            "<guest dev='venet0'/>",
            "<target type='openvz' port='0'/>",
        ],
    );
    has_all(
        &err,
        &[
            "line 27: NAMESERVER: not imported: domain XML has no resolver setting",
            "line 14: DISKINODES: not imported",
            "line 25: HOSTNAME: the container's hostname is the domain's name 'ct101'; the domain part 'example.com' is not imported",
            "starts the container at boot",
        ],
    );
}

#[test]
fn beancounter_config_with_a_bridged_nic() {
    let (xml, err) = convert_valid("102.conf");
    has_all(
        &xml,
        &[
            "<domain type='openvz' id='102'>",
            "<name>web</name>",
            "<description>web front end</description>",
            // PRIVVMPAGES 65536:69632 pages, VMGUARPAGES 33792 pages
            "<hard_limit unit='KiB'>278528</hard_limit>",
            "<soft_limit unit='KiB'>262144</soft_limit>",
            "<min_guarantee unit='KiB'>135168</min_guarantee>",
            "<vcpu placement='static' cpuset='0-1'>1</vcpu>",
            "<shares>2048</shares>",
            "<source dir='/srv/vz/private/102'/>",
            "<space_hard_limit unit='bytes'>1181116416</space_hard_limit>",
            "<interface type='bridge'>\n      <mac address='00:18:51:c1:05:ee'/>\n      <source bridge='vmbr0'/>\n      <target dev='veth102.0'/>\n      <guest dev='eth0'/>",
        ],
    );
    has_all(
        &err,
        &[
            "VZ_FUTURE_KEY: unknown key, not imported",
            "host-side MAC 00:18:51:8f:d9:f3 not imported",
        ],
    );
    // Unlimited beancounters lose nothing and are not mentioned.
    assert!(!err.contains(": NUMPROC"), "{err}");
    assert!(!err.contains("starts the container at boot"), "{err}");
}

#[test]
fn a_count_limit_is_refused() {
    Cli::bare()
        .run(["domxml-from-native", "openvz", conf("103.conf").to_str().unwrap()])
        .fails()
        .stderr_has("line 3: NUMPROC = 240:240: not imported, a count limit domain XML has no element for; remove the line to import without it");
}

#[test]
fn the_veid_is_the_file_name_or_agrees_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("105.conf");
    std::fs::write(&file, "VEID=\"106\"\nOSTEMPLATE=\"debian\"\n").unwrap();
    Cli::bare()
        .run(["domxml-from-native", "openvz", file.to_str().unwrap()])
        .fails()
        .stderr_has("VEID = 106: expected the id the file is named for");
    let file = tmp.path().join("container.conf");
    std::fs::write(&file, "OSTEMPLATE=\"debian\"\n").unwrap();
    Cli::bare()
        .run(["domxml-from-native", "openvz", file.to_str().unwrap()])
        .fails()
        .stderr_has("no VEID");
}

/// ONBOOT lives beside the XML: `--define` stores the definition, the VEID
/// as its wanted id, and the autostart mark.
#[test]
fn define_keeps_the_veid_and_marks_autostart() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let cli = Cli::new(&state);
    cli.run([
        "domxml-from-native",
        "openvz",
        "--define",
        conf("101.conf").to_str().unwrap(),
    ])
    .ok()
    .stdout_has("Domain 'ct101' defined from")
    .stdout_has("Domain 'ct101' marked as autostarted");
    cli.run(["list", "--all", "--autostart", "--name"])
        .ok()
        .stdout_has("ct101");
    let id = std::fs::read_to_string(state.join("domains/ct101.id")).unwrap();
    assert_eq!(id.trim(), "101");
    // ONBOOT="no": defined, not marked.
    cli.run([
        "domxml-from-native",
        "openvz",
        "--define",
        conf("102.conf").to_str().unwrap(),
    ])
    .ok();
    let marked = cli.ok(["list", "--all", "--autostart", "--name"]);
    assert!(!marked.contains("web"), "{marked}");
}
