//! config.json → Plan goldens: every `tests/golden/oci/NAME.json` is a
//! bundle config (its bundle directory is this one, so `"root": {"path":
//! "rootfs"}` is `@GOLDEN@/rootfs`); `domrun::oci::plan_from_spec` turns it
//! into a Plan printed as in `tests/plan_golden.rs` (`{:#?}`, capability
//! sets after it relative to what this process holds) into `NAME.plan`, or,
//! for a config domrun refuses, the error's message chain into `NAME.err`.
//!
//! * A name starting `systemd-` is planned with `--systemd-cgroup`.
//! * The last line is what `Plan::validate` says of the plan today.
//! * The seccomp program prints as the length of each filter (the BPF
//!   itself is unit-tested in `src/oci/seccomp.rs`).
//!
//! `DOMRUN_BLESS=1 cargo test --test oci_golden` rewrites them (an `.err`
//! is written when the config is refused, a `.plan` otherwise).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use domrun::oci::{SpecOptions, parse_config, plan_from_spec};
use domrun::plan::{CapabilityPlan, Plan};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/oci")
}

fn configs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn options(config: &Path) -> SpecOptions {
    let stem = config.file_stem().unwrap().to_string_lossy().into_owned();
    SpecOptions {
        systemd_cgroup: stem.starts_with("systemd-"),
        id: stem,
    }
}

/// The plan of `config`, or its error as the message chain.
fn outcome(config: &Path) -> Result<Plan, String> {
    let bytes = std::fs::read(config).unwrap();
    let name = Path::new(config.file_name().unwrap());
    parse_config(&bytes, name)
        .and_then(|spec| plan_from_spec(&spec, &golden_dir(), &options(config)))
        .map_err(|e| domrun::oci::log::chain(&e))
}

fn render(mut plan: Plan) -> String {
    // What today's `Plan::validate` (the launcher's first step) says: the
    // refusals phase 2 must lift (joins of pid/mnt, args[0] found via PATH).
    let validated = match plan.validate() {
        Ok(()) => "validate: ok\n".to_owned(),
        Err(e) => format!("validate: {e}\n"),
    };
    let c = std::mem::replace(&mut plan.capabilities, CapabilityPlan::only(&[]));
    let seccomp = plan.seccomp.take().map(|s| {
        let lens: Vec<usize> = s.filters.iter().map(Vec::len).collect();
        format!(
            "seccomp: filters of {lens:?} instructions, flags {:?}\n",
            s.flags
        )
    });
    let mut out = format!("{plan:#?}\n").replace(&*golden_dir().to_string_lossy(), "@GOLDEN@");
    out.push_str(&seccomp.unwrap_or_default());
    out.push_str(&common::golden::describe_capabilities(&c));
    out.push_str(&validated);
    out
}

#[test]
fn oci_goldens() {
    let held = caps::read(None, caps::CapSet::Permitted).unwrap();
    if held.len() < caps::all().len() / 2 {
        common::skip("OCI goldens need root's capability set");
        return;
    }
    let configs = configs();
    assert!(configs.len() >= 10, "goldens missing: {configs:?}");
    let mut failures = Vec::new();
    for config in &configs {
        let (plan_file, err_file) = (config.with_extension("plan"), config.with_extension("err"));
        let checked = match outcome(config) {
            Ok(plan) => {
                if !common::golden::blessing() && err_file.exists() {
                    failures.push(format!(
                        "{}: planned, but {} says it is refused",
                        config.display(),
                        err_file.display()
                    ));
                    continue;
                }
                common::golden::check(&plan_file, &render(plan))
            }
            Err(message) => {
                if !common::golden::blessing() && plan_file.exists() {
                    failures.push(format!("{}: refused ({message})", config.display()));
                    continue;
                }
                common::golden::check(&err_file, &format!("{message}\n"))
            }
        };
        if let Err(e) = checked {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each config has exactly one expectation, and each expectation its config.
#[test]
fn every_golden_has_one_config() {
    if common::golden::blessing() {
        // oci_goldens is writing them right now.
        return;
    }
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("plan" | "err") => assert!(
                path.with_extension("json").exists(),
                "{} has no .json",
                path.display()
            ),
            Some("json") => assert!(
                path.with_extension("plan").exists() != path.with_extension("err").exists(),
                "{} needs exactly one of .plan and .err",
                path.display()
            ),
            _ => {}
        }
    }
}

/// `domrun oci spec` writes `default.json`'s config, and it plans.
#[test]
fn the_spec_verb_writes_the_default_golden() {
    let want: serde_json::Value =
        serde_json::from_slice(&std::fs::read(golden_dir().join("default.json")).unwrap()).unwrap();
    let got = domrun::oci::default_spec::default_spec_json();
    assert_eq!(got, want, "regenerate default.json with `domrun oci spec`");
}
