//! qemu argv goldens: every `tests/golden/vm/qemu-*.xml` goes through the
//! real `Launch::prepare` (sockets bound in a temp dir, `data:` images in
//! sealed memfds) and its argv, one element per line, must equal
//! `qemu-*.args`. Descriptor numbers differ from run to run, so `fd=N` and
//! `/dev/fd/N` are numbered `@0`, `@1`, … in order of first appearance.
//! `DOMRUN_BLESS=1` rewrites the goldens.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use domrun::domain::{Domain, DomainType};
use domrun::vm::qemu::{self, Launch};
use domrun::vm::{AccelChoice, VmOptions};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/vm")
}

fn load(path: &Path) -> Domain {
    let mut d = Domain::parse(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    d.apply_defaults().unwrap();
    d.validate()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    d
}

/// Renumbers descriptors in order of appearance.
fn normalize(argv: &[String]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    argv.iter()
        .map(|arg| {
            let mut out = String::new();
            let mut rest = arg.as_str();
            loop {
                let hit = ["fd=", "/dev/fd/"]
                    .iter()
                    .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
                    .min();
                let Some((i, plen)) = hit else {
                    out.push_str(rest);
                    break;
                };
                out.push_str(&rest[..i + plen]);
                rest = &rest[i + plen..];
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if digits.is_empty() {
                    continue;
                }
                let n = match seen.iter().position(|s| *s == digits) {
                    Some(n) => n,
                    None => {
                        seen.push(digits.clone());
                        seen.len() - 1
                    }
                };
                out.push_str(&format!("@{n}"));
                rest = &rest[digits.len()..];
            }
            out
        })
        .collect()
}

fn options(d: &Domain) -> VmOptions {
    VmOptions {
        accel: if d.kind == DomainType::Kvm {
            AccelChoice::Kvm
        } else {
            AccelChoice::Tcg
        },
        ..VmOptions::default()
    }
}

#[test]
fn argv_goldens() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("qemu-") && name.ends_with(".xml")
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 6, "goldens missing: {cases:?}");
    let mut failures = Vec::new();
    for xml in &cases {
        let d = load(xml);
        let tmp = tempfile::tempdir().unwrap();
        let launch = Launch::prepare(&d, &options(&d), tmp.path())
            .unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
        let mut text = normalize(launch.argv()).join("\n");
        text.push('\n');
        if let Err(e) = common::golden::check(&xml.with_extension("args"), &text) {
            failures.push(e);
        }
        drop(launch);
        // A launch never spawned removes the sockets it bound.
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn data_uri_never_reaches_the_command_line() {
    let d = load(&golden_dir().join("qemu-data-uri.xml"));
    let tmp = tempfile::tempdir().unwrap();
    let launch = Launch::prepare(&d, &options(&d), tmp.path()).unwrap();
    let all = launch.argv().join(" ");
    assert!(!all.contains("data:"), "{all}");
    assert!(!all.contains("a2VybmVs"), "{all}");
    assert!(!all.contains("initrd%00"), "{all}");
    // The kernel is a sealed memfd this process can read back.
    let kernel = launch
        .argv()
        .windows(2)
        .find(|w| w[0] == "-kernel")
        .map(|w| w[1].clone())
        .unwrap();
    assert!(kernel.starts_with("/dev/fd/"), "{kernel}");
    assert_eq!(std::fs::read(&kernel).unwrap(), b"kernel");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .open(&kernel)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"evil"));
    assert!(written.is_err(), "a sealed memfd must refuse writing");
    assert_eq!(std::fs::read(&kernel).unwrap(), b"kernel");
}

#[test]
fn data_uri_over_the_cap_is_refused_before_decoding() {
    let d = load(&golden_dir().join("qemu-data-uri.xml"));
    let tmp = tempfile::tempdir().unwrap();
    let opts = VmOptions {
        data_uri_max: 4,
        ..options(&d)
    };
    let e = Launch::prepare(&d, &opts, tmp.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("<kernel>") && e.contains("cap"), "{e}");
    assert!(!e.contains("a2VybmVs"), "{e}");
    // Nothing was left bound.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

fn argv_error(xml: &str) -> String {
    let mut d = Domain::parse(xml.as_bytes()).unwrap();
    d.apply_defaults().unwrap();
    let r = qemu::Resolved {
        binary: "qemu-system-x86_64".into(),
        accel: qemu::Accel::Tcg,
        qmp_fd: 3,
        console_fds: vec![],
        kernel: None,
        initrd: None,
        dtb: None,
        networks: vec![],
    };
    qemu::argv(&d, &r).unwrap_err().to_string()
}

#[test]
fn unsupported_elements_are_refused_with_their_path() {
    let wrap = |devices: &str| {
        format!(
            "<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os><devices>{devices}</devices></domain>"
        )
    };
    let cases = [
        (
            "<disk type='file' device='cdrom'><source file='/x.iso'/><target dev='hdc'/></disk>",
            "/domain/devices/disk[1]: device='cdrom'",
        ),
        (
            "<disk type='file'><driver type='vmdk'/><source file='/x'/><target dev='vda'/></disk>",
            "image format 'vmdk'",
        ),
        (
            "<disk type='file'><source file='/x'/><target dev='sda' bus='sata'/></disk>",
            "bus 'sata'",
        ),
        (
            "<disk type='network'><source protocol='nbd' name='x'/><target dev='vda'/></disk>",
            "disk type 'network'",
        ),
        ("<interface type='direct'/>", "interface type 'direct'"),
        (
            "<interface type='user'><model type='ne2k_isa'/></interface>",
            "NIC model 'ne2k_isa'",
        ),
        (
            "<interface type='network'><source network='lab'/></interface>",
            "interface network 'lab'",
        ),
        ("<serial type='tcp'/>", "serial type 'tcp'"),
    ];
    for (dev, want) in cases {
        let e = argv_error(&wrap(dev));
        assert!(e.contains(want), "{dev}: {e}");
    }
}

#[test]
fn kvm_falls_back_to_tcg_with_a_warning_when_the_probe_fails() {
    let d = load(&golden_dir().join("qemu-kernel-boot.xml"));
    for dev in ["/nonexistent/kvm", "/dev/null"] {
        let opts = VmOptions {
            kvm_device: dev.into(),
            ..VmOptions::default()
        };
        let (accel, warning) = qemu::choose_accel(&d, &opts);
        assert_eq!(accel, qemu::Accel::Tcg, "{dev}");
        let w = warning.unwrap();
        assert!(w.contains("KVM is not usable") && w.contains("TCG"), "{w}");
    }
    // type='qemu' never probes and never warns.
    let q = load(&golden_dir().join("qemu-minimal.xml"));
    let opts = VmOptions {
        kvm_device: "/nonexistent/kvm".into(),
        ..VmOptions::default()
    };
    assert_eq!(qemu::choose_accel(&q, &opts), (qemu::Accel::Tcg, None));
}
