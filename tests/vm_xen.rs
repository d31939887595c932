//! Xen backend: xl config goldens (`tests/golden/vm/xen-*.xml` →
//! `xen-*.cfg`), round trips, refusals, the CLI verbs, and the `xl` driver
//! and `domrun run` against a fake `xl` that records its calls.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Cli;

use domrun::domain::Domain;
use domrun::vm::xen::{self, Config, Xl};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/vm")
}

fn load(path: &Path) -> Domain {
    let mut d = Domain::parse(&std::fs::read(path).unwrap()).unwrap();
    d.apply_defaults().unwrap();
    d.validate().unwrap_or_else(|e| panic!("{e}"));
    d
}

#[test]
fn xl_config_goldens_and_round_trips() {
    let mut n = 0;
    for e in std::fs::read_dir(golden_dir()).unwrap() {
        let xml = e.unwrap().path();
        let name = xml.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("xen-") && name.ends_with(".xml")) {
            continue;
        }
        n += 1;
        let d = load(&xml);
        let cfg = xen::to_native(&d).unwrap().format().unwrap();
        if let Err(e) = common::golden::check(&xml.with_extension("cfg"), &cfg) {
            panic!("{name}: {e}");
        }
        // cfg → domain → cfg is stable.
        let back = xen::from_native(&Config::parse(&cfg).unwrap()).unwrap();
        let again = xen::to_native(&back).unwrap().format().unwrap();
        assert_eq!(again, cfg, "{name}: round trip changed the config");
    }
    assert!(n >= 3);
}

#[test]
fn strings_are_escaped_and_control_characters_refused() {
    let d = load(&golden_dir().join("xen-pv.xml"));
    let cfg = xen::to_native(&d).unwrap().format().unwrap();
    assert!(
        cfg.contains(r#"cmdline = "root=/dev/xvda1 console=hvc0 msg=\"hello \\ world\"""#),
        "{cfg}"
    );
    let parsed = Config::parse(&cfg).unwrap();
    assert_eq!(parsed.str("cmdline"), d.os.cmdline.as_deref());

    let mut evil = d.clone();
    evil.os.cmdline = Some("quiet\"\non_crash = \"preserve".into());
    let e = xen::to_native(&evil).unwrap().format().unwrap_err();
    assert!(e.to_string().contains("control character"), "{e}");

    let mut evil = d.clone();
    evil.name = "a\u{1b}b".into();
    assert!(xen::to_native(&evil).unwrap().format().is_err());

    // A comma would split a vif spec; in a disk target it is fine (last).
    let mut evil = d.clone();
    if let Some(domrun::domain::Device::Interface(i)) = evil
        .devices
        .list
        .iter_mut()
        .find(|dev| matches!(dev, domrun::domain::Device::Interface(_)))
    {
        i.script = Some("vif-bridge,mac=00:00:00:00:00:00".into());
    }
    let e = xen::to_native(&evil).unwrap_err().to_string();
    assert!(e.contains("would split"), "{e}");
}

#[test]
fn data_uris_never_go_into_a_config() {
    let mut d = load(&golden_dir().join("xen-pv.xml"));
    d.os.kernel = Some("data:;base64,a2VybmVs".into());
    let e = xen::to_native(&d).unwrap_err().to_string();
    assert!(e.contains("<kernel>") && !e.contains("a2VybmVs"), "{e}");
}

#[test]
fn cli_verbs_convert_both_ways() {
    let xml = golden_dir().join("xen-hvm.xml");
    let cli = Cli::bare();
    let cfg = cli.ok([Path::new("domxml-to-native"), Path::new("xen-xl"), &xml]);
    assert_eq!(
        cfg,
        std::fs::read_to_string(xml.with_extension("cfg")).unwrap()
    );
    let back = cli.ok([
        Path::new("domxml-from-native"),
        Path::new("xen-xl"),
        &xml.with_extension("cfg"),
    ]);
    assert!(
        back.starts_with("<domain type='xen'>\n  <name>hvm-guest</name>"),
        "{back}"
    );
    cli.run(["domxml-from-native", "xen-xl", "/nonexistent.cfg"])
        .fails();
}

/// A fake `xl`: appends its arguments to `$XL_LOG` (default DIR/log); `create -F` waits
/// until `shutdown` or `destroy` is called (or fails if `$XL_FAIL_CREATE`);
/// `list` shows Domain-0 only.
fn fake_xl(dir: &Path) -> PathBuf {
    let path = dir.join("xl");
    std::fs::write(
        &path,
        format!(
            r#"#!/bin/sh
: "${{XL_LOG:={dir}/log}}" "${{XL_STATE:={dir}}}"
echo "$*" >> "$XL_LOG"
case "$1" in
  create)
    [ -n "$XL_FAIL_CREATE" ] && {{ echo "libxl: boom" >&2; exit 3; }}
    if [ "$2" = "-F" ]; then
      while [ ! -e "$XL_STATE/stopped" ]; do sleep 0.05; done
    fi ;;
  shutdown|destroy) touch "$XL_STATE/stopped" ;;
  list) printf 'Name                                        ID   Mem VCPUs\tState\tTime(s)\nDomain-0                                     0  4096     4     r-----     12.0\n' ;;
esac
exit 0
"#,
            dir = dir.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn xl_driver_calls() {
    let tmp = tempfile::tempdir().unwrap();
    let xl_path = fake_xl(tmp.path());
    let log = tmp.path().join("log");
    let xl = Xl::new(&xl_path);
    xl.create(Path::new("/x/domain.cfg")).unwrap();
    xl.shutdown("g1", true).unwrap();
    xl.reboot("g1").unwrap();
    xl.destroy("g1").unwrap();
    let list = xl.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "Domain-0");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "create /x/domain.cfg\nshutdown -w g1\nreboot g1\ndestroy g1\nlist\n"
    );
    let missing = Xl::new(tmp.path().join("no-such-xl")).list().unwrap_err();
    assert!(missing.to_string().contains("no-such-xl"), "{missing}");
}

fn xen_domain(dir: &Path, kernel: &str) -> PathBuf {
    let xml = format!(
        "<domain type='xen'>
  <name>xenrun</name>
  <memory unit='MiB'>256</memory>
  <os><type>xen</type><kernel>{kernel}</kernel><initrd>data:,initrd%21</initrd><cmdline>console=hvc0</cmdline></os>
  <devices><console type='pty'/></devices>
</domain>"
    );
    let p = dir.join("xen.xml");
    std::fs::write(&p, xml).unwrap();
    p
}

fn run_cmd(tmp: &Path, xml: &Path, xl: &Path) -> Command {
    let run_dir = tmp.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    let mut c = Cli::bare()
        .env("DOMRUN_XL", xl)
        .env("XDG_RUNTIME_DIR", &run_dir)
        .env("XL_LOG", tmp.join("log"))
        .env("XL_STATE", tmp)
        .command([Path::new("run"), xml]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

#[test]
fn run_writes_private_images_and_shuts_down_through_xl() {
    let tmp = tempfile::tempdir().unwrap();
    let xl = fake_xl(tmp.path());
    let xml = xen_domain(
        tmp.path(),
        "data:application/octet-stream;base64,ZmFrZS1rZXJuZWw=",
    );
    let child = run_cmd(tmp.path(), &xml, &xl).spawn().unwrap();
    let log = tmp.path().join("log");
    let created = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines()
            .find(|l| l.starts_with("create -F "))
            .map(|l| PathBuf::from(l.trim_start_matches("create -F ")))
    };
    common::wait_until("xl create", || created().is_some());
    let cfg_path = created().unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    let dir = cfg_path.parent().unwrap().to_path_buf();
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    assert!(!cfg.contains("data:"), "{cfg}");
    let c = Config::parse(&cfg).unwrap();
    let kernel = PathBuf::from(c.str("kernel").unwrap());
    assert_eq!(kernel.parent().unwrap(), dir);
    assert_eq!(std::fs::read(&kernel).unwrap(), b"fake-kernel");
    assert_eq!(
        std::fs::metadata(&kernel).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::read(c.str("ramdisk").unwrap()).unwrap(),
        b"initrd!"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    let verbs: Vec<&str> = calls
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(verbs, ["list", "create", "shutdown"], "{calls}");
    assert!(calls.contains("shutdown xenrun"), "{calls}");
    assert!(!dir.exists(), "the domain directory was not removed");
}

#[test]
fn a_failed_start_removes_the_images() {
    let tmp = tempfile::tempdir().unwrap();
    let xl = fake_xl(tmp.path());
    let xml = xen_domain(tmp.path(), "data:;base64,ZmFrZS1rZXJuZWw=");
    let out = run_cmd(tmp.path(), &xml, &xl)
        .env("XL_FAIL_CREATE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("run/domrun-xen"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
