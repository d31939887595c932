//! `domrun generate systemd`: the unit passes `systemd-analyze verify`, the
//! generator writes and enables units for autostarted domains only, and
//! `run --cgroup=inherit` makes the domain's group below its own cgroup.
//!
//! PID 1 here is not systemd, so a unit is verified, never started: the
//! inherit test stands in for systemd by putting `domrun run` in a made-up
//! `test.slice/domrun-NAME.service` group itself.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Cli, DomainXml};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Defines `name` (a host-root shell) in a fresh state root.
fn defined(tmp: &Path, name: &str) -> (Cli, PathBuf) {
    let state = tmp.join("state");
    let cli = Cli::new(&state);
    let xml = DomainXml::lxc(name).shell("true").write(tmp);
    cli.run(["define", xml.to_str().unwrap()]).ok();
    (cli, state)
}

#[test]
fn generated_unit_passes_systemd_analyze_verify() {
    if !common::require_tool("systemd-analyze") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (cli, state) = defined(tmp.path(), "unitweb");
    let text = cli.ok(["generate", "systemd", "unitweb"]);
    for line in ["Type=notify", "Delegate=yes", "KillMode=mixed"] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    let definition = state.join("domains/unitweb.xml");
    assert!(
        text.contains(&format!("run --cgroup=inherit {}", definition.display())),
        "{text}"
    );
    let unit = tmp.path().join("domrun-unitweb.service");
    std::fs::write(&unit, &text).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn generate_systemd_of_an_undefined_domain_fails() {
    let tmp = tempfile::tempdir().unwrap();
    Cli::new(tmp.path())
        .run(["generate", "systemd", "nosuch"])
        .fails_with(1)
        .stderr_has("domain 'nosuch' is not defined");
}

#[test]
fn generator_writes_and_enables_autostarted_domains_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (cli, state) = defined(tmp.path(), "genon");
    let other = DomainXml::lxc("genoff").shell("true").write(tmp.path());
    cli.run(["define", other.to_str().unwrap()]).ok();
    cli.run(["autostart", "genon"]).ok();
    // As systemd calls it: through a symlink named domrun-generator.
    let generator = tmp.path().join("domrun-generator");
    std::os::unix::fs::symlink(common::cli::BIN, &generator).unwrap();
    let out_dir = tmp.path().join("generator");
    std::fs::create_dir(&out_dir).unwrap();
    let status = std::process::Command::new(&generator)
        .args([
            &out_dir,
            &tmp.path().join("early"),
            &tmp.path().join("late"),
        ])
        .env("DOMRUN_ROOT", &state)
        .status()
        .unwrap();
    assert!(status.success());
    let unit = std::fs::read_to_string(out_dir.join("domrun-genon.service")).unwrap();
    assert_eq!(unit, cli.ok(["generate", "systemd", "genon"]));
    let link = out_dir.join("machines.target.wants/domrun-genon.service");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../domrun-genon.service")
    );
    assert!(!out_dir.join("domrun-genoff.service").exists());
    // The same through the subcommand, run again over its own output.
    cli.run([
        "generate",
        "systemd",
        "--generator",
        out_dir.to_str().unwrap(),
    ])
    .ok();
    assert!(link.exists());
}

#[test]
fn inherit_outside_a_delegated_cgroup_is_refused() {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    if domrun::generate::delegated_cgroup(&own).is_some() {
        common::skip("this test runs inside a non-root cgroup");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let xml = DomainXml::lxc("inhno").shell("true").write(tmp.path());
    Cli::new(tmp.path().join("state"))
        .run(["run", "--cgroup=inherit", xml.to_str().unwrap()])
        .fails_with(125)
        .stderr_has("not in a delegated one");
}

/// A made-up unit group in the tracking hierarchies, removed on drop.
struct FakeUnit {
    dirs: Vec<PathBuf>,
}

impl Drop for FakeUnit {
    fn drop(&mut self) {
        for d in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[test]
fn inherit_places_the_domain_below_the_units_cgroup() {
    if !common::require_root() {
        return;
    }
    let layout = domrun::cgroup::Layout::detect().unwrap();
    let (Some(unified), Some(memory)) = (
        layout.v2_root(),
        layout
            .v1_controllers()
            .and_then(|c| c.get(&domrun::cgroup::Controller::Memory)),
    ) else {
        common::skip("needs a hybrid cgroup host (v1 memory and cgroup2)");
        return;
    };
    let slice = format!("domrun-test-{}.slice", std::process::id());
    let unit = format!("{slice}/domrun-inhweb.service");
    let mut fake = FakeUnit { dirs: Vec::new() };
    let mut roots: Vec<&Path> = vec![unified];
    roots.extend(layout.systemd_hierarchy());
    for root in &roots {
        for rel in [slice.as_str(), unit.as_str()] {
            std::fs::create_dir(root.join(rel)).unwrap();
            fake.dirs.push(root.join(rel));
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let stop = tmp.path().join("stop");
    let xml = DomainXml::lxc("inhweb")
        .element("<memory unit='MiB'>64</memory>")
        .shell(&format!(
            "until [ -e {} ]; do sleep 0.1; done",
            stop.display()
        ))
        .write(tmp.path());
    // systemd's part: start the service's process in the unit's group.
    let procs: Vec<String> = roots
        .iter()
        .map(|r| r.join(&unit).join("cgroup.procs").display().to_string())
        .collect();
    let script = format!(
        "for f in {}; do echo $$ > $f; done; exec \"$@\"",
        procs.join(" ")
    );
    let mut child = Cli::new(tmp.path().join("state"))
        .command(["run", "--cgroup=inherit", xml.to_str().unwrap()])
        .stdout(Stdio::null())
        .spawn_under_sh(&script);
    let payload = unified
        .join(&unit)
        .join("inhweb.domrun/payload/cgroup.procs");
    common::wait_until("init in the unit's payload group", || {
        std::fs::read_to_string(&payload).is_ok_and(|p| !p.trim().is_empty())
    });
    for root in &roots {
        let p = root.join(&unit).join("inhweb.domrun/payload/cgroup.procs");
        assert!(
            !std::fs::read_to_string(&p).unwrap().trim().is_empty(),
            "{p:?}"
        );
    }
    // The limits stay in the v1 controllers, at the same path.
    let limit = memory
        .join(&unit)
        .join("inhweb.domrun/memory.limit_in_bytes");
    assert_eq!(
        std::fs::read_to_string(&limit).unwrap().trim(),
        (64 << 20).to_string()
    );
    std::fs::write(&stop, "").unwrap();
    assert!(child.wait().unwrap().success());
    for root in &roots {
        assert!(!root.join(&unit).join("inhweb.domrun").exists());
    }
    assert!(!memory.join(&unit).join("inhweb.domrun").exists());
    // The partition levels domrun made in the v1 hierarchies stay (shared
    // partitions are never removed); the test removes its own.
    for c in layout
        .v1_controllers()
        .into_iter()
        .flatten()
        .map(|(_, m)| m)
    {
        let _ = std::fs::remove_dir(c.join(&unit));
        let _ = std::fs::remove_dir(c.join(&slice));
    }
}

/// `sh -c SCRIPT domrun ARGS…` for a command built by `Cli::command`.
trait SpawnUnderSh {
    fn spawn_under_sh(&mut self, script: &str) -> std::process::Child;
}

impl SpawnUnderSh for std::process::Command {
    fn spawn_under_sh(&mut self, script: &str) -> std::process::Child {
        let mut sh = std::process::Command::new("/bin/sh");
        sh.arg("-c").arg(script).arg("sh").arg(self.get_program());
        sh.args(self.get_args());
        for (k, v) in self.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        if let Some(dir) = self.get_current_dir() {
            sh.current_dir(dir);
        }
        sh.stdin(Stdio::null()).stdout(Stdio::null());
        sh.spawn().unwrap()
    }
}
