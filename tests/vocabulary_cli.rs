//! The vocabulary check through the commands that load a domain: `run`,
//! `define`, `start`, `attach-device` refuse a name libvirt does not define
//! before anything starts or is stored; `--permissive` keeps the old
//! behaviour; `format` stays permissive; a harmless ignored name is a note.
//!
//! The documents are the `tests/invalid` cases (whose `validate` messages
//! `tests/invalid.rs` checks exactly).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn invalid(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/invalid")
        .join(name)
}

/// `domrun --root ROOT ARGS…` with a fresh state root per test.
fn domrun(root: &Path, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domrun"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_refuses_a_misspelt_root_filesystem_before_anything_starts() {
    let root = tempfile::tempdir().unwrap();
    let file = invalid("misspelt-filesystem.xml");
    let out = domrun(root.path(), &["run".as_ref(), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "domrun: {}:9:5: /domain/devices/fileystem: unknown element <fileystem>; \
             did you mean <filesystem>?\n",
            file.display()
        )
    );
    // Nothing was set up: the state root holds nothing for the domain.
    let left: Vec<_> = std::fs::read_dir(root.path())
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n != "c1"),
        "state left behind: {left:?}"
    );
}

#[test]
fn permissive_keeps_the_old_behaviour_and_format_stays_permissive() {
    let root = tempfile::tempdir().unwrap();
    let file = invalid("misspelt-memory.xml");
    let strict = domrun(root.path(), &["validate".as_ref(), file.as_os_str()]);
    assert_eq!(strict.status.code(), Some(1));
    let loose = domrun(
        root.path(),
        &[
            "--permissive".as_ref(),
            "validate".as_ref(),
            file.as_os_str(),
        ],
    );
    assert!(loose.status.success(), "{}", stderr(&loose));
    assert_eq!(stderr(&loose), "");
    // `format` prints a document as it stands, unknown names kept.
    let fmt = domrun(root.path(), &["format".as_ref(), file.as_os_str()]);
    assert!(fmt.status.success(), "{}", stderr(&fmt));
    assert!(String::from_utf8_lossy(&fmt.stdout).contains("<memroy unit='MiB'>512</memroy>"));
}

#[test]
fn define_refuses_and_start_rechecks_a_permissive_definition() {
    let root = tempfile::tempdir().unwrap();
    let file = invalid("misspelt-readonly.xml");
    let refused = domrun(root.path(), &["define".as_ref(), file.as_os_str()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("unknown element <read-only>; did you mean <readonly>?"),
        "{}",
        stderr(&refused)
    );
    let list = domrun(
        root.path(),
        &["list".as_ref(), "--all".as_ref(), "--name".as_ref()],
    );
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "");

    let defined = domrun(
        root.path(),
        &["--permissive".as_ref(), "define".as_ref(), file.as_os_str()],
    );
    assert!(defined.status.success(), "{}", stderr(&defined));
    // The stored definition keeps <read-only/>; a strict start refuses it
    // before any monitor is spawned.
    let start = domrun(root.path(), &["start".as_ref(), "c1".as_ref()]);
    assert_eq!(start.status.code(), Some(1));
    let msg = stderr(&start);
    assert!(
        msg.contains("/domain/devices/filesystem/read-only: unknown element <read-only>"),
        "{msg}"
    );
    assert!(msg.contains("c1.xml:"), "the stored file is named: {msg}");
    let undefine = domrun(root.path(), &["undefine".as_ref(), "c1".as_ref()]);
    assert!(undefine.status.success(), "{}", stderr(&undefine));
}

#[test]
fn attach_device_refuses_a_misspelt_fragment_before_looking_for_the_domain() {
    let root = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("fs.xml");
    std::fs::write(
        &dev,
        "<filesystem type='mount'>\n  <source dir='/srv'/>\n  <target dir='/srv'/>\n  <read-only/>\n</filesystem>\n",
    )
    .unwrap();
    let out = domrun(
        root.path(),
        &["attach-device".as_ref(), "nosuch".as_ref(), dev.as_os_str()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "domrun: {}:4:3: /domain/devices/filesystem/read-only: unknown element <read-only>; \
             did you mean <readonly>?\n",
            dev.display()
        )
    );
}

#[test]
fn a_harmlessly_ignored_name_is_a_one_line_note() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pm.xml");
    std::fs::write(
        &file,
        "<domain type='lxc'>\n  <name>c1</name>\n  <os>\n    <type>exe</type>\n    \
         <init>/bin/sh</init>\n  </os>\n  <pm>\n    <suspend-to-disk enabled='no'/>\n  </pm>\n  \
         <devices>\n    <console type='pty'/>\n  </devices>\n</domain>\n",
    )
    .unwrap();
    let out = domrun(dir.path(), &["validate".as_ref(), file.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "note: {}:7:3: /domain/pm: <pm> is ignored in a domain of type 'lxc': \
             a container has no power management\n",
            file.display()
        )
    );
}
