//! `domrun start` and `create` report a guest that failed to start as
//! `domrun run` does: the same message, the same 125/126/127 exit code (the
//! monitor sends the typed failure over its start pipe). Also: a hot-plug
//! that would break a whole-domain rule is refused before it is applied.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Cli, DomainXml, Rootfs};
use std::path::Path;

/// A busybox rootfs, a temp dir and a CLI on a state root inside it; `None`
/// (skipped) without root or busybox.
fn set_up() -> Option<(Rootfs, tempfile::TempDir, Cli)> {
    if !common::require_root() {
        return None;
    }
    let rootfs = Rootfs::busybox()?;
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(tmp.path().join("state"));
    Some((rootfs, tmp, cli))
}

/// `run`, `start` and `create` of `xml` fail alike: same code, same message.
fn fails_alike(cli: &Cli, xml: &Path, name: &str, code: i32) -> String {
    let xml = xml.to_str().unwrap();
    let run = cli.run(["run", xml]);
    run.fails_with(code);
    cli.ok(["define", xml]);
    let start = cli.run(["start", name]);
    start.fails_with(code);
    assert_eq!(start.stderr, run.stderr);
    let create = cli.run(["create", xml]);
    create.fails_with(code);
    assert_eq!(create.stderr, run.stderr);
    // Nothing is left running.
    assert!(cli.ok(["list", "--all"]).contains("shut off"));
    run.stderr
}

#[test]
fn start_of_a_domain_whose_init_is_missing_exits_127_like_run() {
    let Some((rootfs, tmp, cli)) = set_up() else {
        return;
    };
    let xml = DomainXml::lxc("noinit")
        .rootfs(rootfs.path())
        .init("/bin/no-such-init")
        .write(tmp.path());
    let message = fails_alike(&cli, &xml, "noinit", 127);
    assert!(
        message.starts_with("domrun: noinit: ") && message.contains("/bin/no-such-init"),
        "{message}"
    );
    common::assert_no_leaks_under(tmp.path());
}

#[test]
fn start_of_a_domain_whose_init_is_not_executable_exits_126_like_run() {
    let Some((rootfs, tmp, cli)) = set_up() else {
        return;
    };
    std::fs::write(rootfs.path().join("not-executable"), "#!/bin/sh\n").unwrap();
    common::chmod(&rootfs.path().join("not-executable"), 0o644);
    let xml = DomainXml::lxc("noexec")
        .rootfs(rootfs.path())
        .init("/not-executable")
        .write(tmp.path());
    fails_alike(&cli, &xml, "noexec", 126);
    common::assert_no_leaks_under(tmp.path());
}

#[test]
fn a_hot_plug_that_breaks_a_whole_domain_rule_is_refused_before_it_is_applied() {
    let Some((rootfs, tmp, cli)) = set_up() else {
        return;
    };
    let shared = tmp.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    // `/data` is already a filesystem target: a second one must be refused
    // by the domain's validation, and nothing mounted.
    let xml = DomainXml::lxc("plug")
        .rootfs(rootfs.path())
        .init("/bin/sleep")
        .initargs(&["30"])
        .device(&format!(
            "<filesystem type='mount'><source dir='{}'/><target dir='/data'/></filesystem>",
            shared.display()
        ))
        .write(tmp.path());
    cli.ok(["create", xml.to_str().unwrap()]);
    // Same target, spelled with a trailing slash: only the whole-domain
    // rule (targets compared as paths) sees it is the same.
    let dev = common::domain_xml::write_file(
        tmp.path(),
        "dup.xml",
        "<filesystem type='ram'><source usage='1024'/><target dir='/data/'/></filesystem>",
    );
    cli.run(["attach-device", "plug", dev.to_str().unwrap(), "--live"])
        .fails()
        .stderr_has("target dir '/data/' is already used by");
    let live = cli.ok(["dumpxml", "plug"]);
    assert_eq!(live.matches("<filesystem").count(), 2, "{live}");
    // Nothing was mounted inside: /data is still the bind mount only.
    let state = std::fs::read_to_string(tmp.path().join("state/run/plug/state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let init = state["init"]["pid"].as_i64().unwrap();
    let mounts = std::fs::read_to_string(format!("/proc/{init}/mountinfo")).unwrap();
    let on_data: Vec<&str> = mounts
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some("/data"))
        .collect();
    assert_eq!(on_data.len(), 1, "{on_data:?}");
    assert!(!on_data[0].contains(" tmpfs "), "{on_data:?}");
    cli.ok(["destroy", "plug"]);
    common::assert_no_leaks_under(tmp.path());
}
