//! `domrun start` and `create` report a guest that failed to start as
//! `domrun run` does: the same message, the same 125/126/127 exit code (the
//! monitor sends the typed failure over its start pipe). Also: a hot-plug
//! that would break a whole-domain rule is refused before it is applied.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Env {
    tmp: tempfile::TempDir,
    rootfs: PathBuf,
}

impl Env {
    fn new() -> Option<Env> {
        if !common::require_root() {
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = common::busybox_rootfs(&tmp.path().join("rootfs"))?;
        Some(Env { tmp, rootfs })
    }

    fn domrun(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_domrun"))
            .arg("--root")
            .arg(self.tmp.path().join("state"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.domrun(args);
        assert!(out.status.success(), "domrun {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A domain whose init is `init`, with `devices` besides the root.
    fn domain(&self, name: &str, init: &str, devices: &str) -> PathBuf {
        let xml = format!(
            "<domain type='lxc'>
  <name>{name}</name>
  <os><type>exe</type><init>{init}</init></os>
  <devices>
    <filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>
    {devices}
    <console type='pty'/>
  </devices>
</domain>",
            self.rootfs.display()
        );
        let path = self.tmp.path().join(format!("{name}.xml"));
        std::fs::write(&path, xml).unwrap();
        path
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `run`, `start` and `create` of `xml` fail alike: same code, same message.
fn fails_alike(env: &Env, xml: &Path, name: &str, code: i32) {
    let run = env.domrun(&["run", xml.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(code), "run: {run:?}");
    env.ok(&["define", xml.to_str().unwrap()]);
    let start = env.domrun(&["start", name]);
    assert_eq!(start.status.code(), Some(code), "start: {start:?}");
    assert_eq!(stderr(&start), stderr(&run));
    let create = env.domrun(&["create", xml.to_str().unwrap()]);
    assert_eq!(create.status.code(), Some(code), "create: {create:?}");
    assert_eq!(stderr(&create), stderr(&run));
    // Nothing is left running.
    let list = env.ok(&["list", "--all"]);
    assert!(list.contains("shut off"), "{list}");
}

#[test]
fn start_of_a_domain_whose_init_is_missing_exits_127_like_run() {
    let Some(env) = Env::new() else { return };
    let xml = env.domain("noinit", "/bin/no-such-init", "");
    fails_alike(&env, &xml, "noinit", 127);
    let out = env.domrun(&["start", "noinit"]);
    let text = stderr(&out);
    assert!(
        text.starts_with("domrun: noinit: ") && text.contains("/bin/no-such-init"),
        "{text}"
    );
}

#[test]
fn start_of_a_domain_whose_init_is_not_executable_exits_126_like_run() {
    let Some(env) = Env::new() else { return };
    let init = env.rootfs.join("not-executable");
    std::fs::write(&init, "#!/bin/sh\n").unwrap();
    let xml = env.domain("noexec", "/not-executable", "");
    fails_alike(&env, &xml, "noexec", 126);
}

#[test]
fn a_hot_plug_that_breaks_a_whole_domain_rule_is_refused_before_it_is_applied() {
    let Some(env) = Env::new() else { return };
    let shared = env.tmp.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    // `/data` is already a filesystem target: a second one must be refused
    // by the domain's validation, and nothing mounted.
    let devices = format!(
        "<filesystem type='mount'><source dir='{}'/><target dir='/data'/></filesystem>",
        shared.display()
    );
    let xml = env.domain("plug", "/bin/sleep", &devices);
    let text = std::fs::read_to_string(&xml).unwrap().replace(
        "<init>/bin/sleep</init>",
        "<init>/bin/sleep</init><initarg>30</initarg>",
    );
    std::fs::write(&xml, text).unwrap();
    env.ok(&["create", xml.to_str().unwrap()]);
    // Same target, spelled with a trailing slash: only the whole-domain
    // rule (targets compared as paths) sees it is the same.
    let dev = env.tmp.path().join("dup.xml");
    std::fs::write(
        &dev,
        "<filesystem type='ram'><source usage='1024'/><target dir='/data/'/></filesystem>",
    )
    .unwrap();
    let out = env.domrun(&["attach-device", "plug", dev.to_str().unwrap(), "--live"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        stderr(&out).contains("target dir '/data/' is already used by"),
        "{out:?}"
    );
    let live = env.ok(&["dumpxml", "plug"]);
    assert_eq!(live.matches("<filesystem").count(), 2, "{live}");
    // Nothing was mounted inside: /data is still the bind mount only.
    let state = std::fs::read_to_string(env.tmp.path().join("state/run/plug/state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let init = state["init"]["pid"].as_i64().unwrap();
    let mounts = std::fs::read_to_string(format!("/proc/{init}/mountinfo")).unwrap();
    let on_data: Vec<&str> = mounts
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some("/data"))
        .collect();
    assert_eq!(on_data.len(), 1, "{on_data:?}");
    assert!(!on_data[0].contains(" tmpfs "), "{on_data:?}");
    env.ok(&["destroy", "plug"]);
}
