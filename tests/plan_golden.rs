//! XML → Plan goldens: every `tests/golden/plan/NAME.xml` goes through
//! parse → defaults → validate → `plan_from_domain`, and the Plan, printed
//! in a stable text form, must equal `NAME.plan`.
//!
//! The text form is `{:#?}` of the Plan with the host-specific parts
//! normalised, so the goldens hold on any machine:
//! * `@GOLDEN@` in the XML is this directory (its `rootfs/` has the account
//!   files `<inituser>` resolves against; `networks/` the named networks),
//!   and is printed back as `@GOLDEN@`;
//! * init's `TERM` (copied from the caller's environment) prints as `@TERM@`;
//! * the capability sets (hash sets, and limited to what this process holds)
//!   are printed after the Plan, sorted, each as `only [..]` or as
//!   `all held except [..]` relative to this process's permitted set.
//!
//! `DOMRUN_BLESS=1 cargo test --test plan_golden` rewrites every `NAME.plan`
//! (review the diff: it is the change in behaviour).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use domrun::domain::Domain;
use domrun::plan::{CapabilityPlan, Plan, Sources, plan_from_domain};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/plan")
}

fn cases() -> Vec<PathBuf> {
    let mut xmls: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    xmls.sort();
    xmls
}

fn plan_of(xml: &Path) -> Plan {
    let dir = golden_dir();
    let text = std::fs::read_to_string(xml)
        .unwrap()
        .replace("@GOLDEN@", &dir.to_string_lossy());
    let mut d = Domain::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
    d.apply_defaults().unwrap();
    d.validate()
        .unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
    let networks = dir.join("networks");
    let sources = Sources {
        networks_dir: Some(&networks),
        ..Sources::default()
    };
    plan_from_domain(&d, &sources).unwrap_or_else(|e| panic!("{}: {e}", xml.display()))
}

fn render(mut plan: Plan) -> String {
    let c = std::mem::replace(&mut plan.capabilities, CapabilityPlan::only(&[]));
    for (name, value) in &mut plan.process.env {
        if name == "TERM" {
            *value = "@TERM@".into();
        }
    }
    let mut out = format!("{plan:#?}\n").replace(&*golden_dir().to_string_lossy(), "@GOLDEN@");
    out.push_str(&common::golden::describe_capabilities(&c));
    out
}

#[test]
fn plan_goldens() {
    // The sets are printed relative to what this process holds; a process
    // that holds (almost) nothing cannot show what a plan grants.
    let held = caps::read(None, caps::CapSet::Permitted).unwrap();
    if held.len() < caps::all().len() / 2 {
        common::skip("plan goldens need root's capability set");
        return;
    }
    let cases = cases();
    assert!(cases.len() >= 8, "goldens missing: {cases:?}");
    let mut failures = Vec::new();
    for xml in &cases {
        let text = render(plan_of(xml));
        if let Err(e) = common::golden::check(&xml.with_extension("plan"), &text) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every `.plan` has its `.xml`: a golden whose input was removed is stale.
#[test]
fn every_plan_golden_has_its_xml() {
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "plan") {
            assert!(
                path.with_extension("xml").exists(),
                "{} has no .xml",
                path.display()
            );
        }
    }
}
