//! `domxml-to-native` / `domxml-from-native` for `xen-xl` against libvirt's
//! own test pairs (`tests/xlconfigdata/test-*.{cfg,xml}` in the corpus).
//!
//! libvirt runs some pairs one way only (`xlconfigtest.c`: DO_TEST_PARSE
//! is XML → cfg, DO_TEST_FORMAT is cfg → XML); the same split is used here.
//! * to-native (XML → cfg): both configs are read into key → value maps
//!   and compared (so layout and key order do not matter, values do).
//! * from-native (cfg → XML): our formatted domain must equal the corpus
//!   XML byte for byte.
//!
//! The pass counts are printed and must not drop below the floors recorded
//! in `docs/vm.md`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use domrun::domain::Domain;
use domrun::vm::xen::{self, Config};

/// Pairs libvirt converts cfg → XML only.
const FROM_NATIVE_ONLY: &[&str] = &[
    "disk-positional-parms-full",
    "disk-positional-parms-partial",
    "disk-qed",
    "paravirt-cmdline-extra-root",
    "paravirt-cmdline-bogus-extra-root",
    "paravirt-type",
    "fullvirt-type",
    "fullvirt-direct-kernel-boot-extra",
    "fullvirt-direct-kernel-boot-bogus-extra",
];
/// Pairs libvirt converts XML → cfg only.
const TO_NATIVE_ONLY: &[&str] = &[
    "fullvirt-vnuma-autocomplete",
    "fullvirt-vnuma-nodistances",
    "fullvirt-vnuma-partialdist",
];

/// Floors: raise them when more pairs pass.
const TO_NATIVE_FLOOR: usize = 39;
const FROM_NATIVE_FLOOR: usize = 45;

/// libvirt's test substitutes these for fullvirt-ovmf.
fn replace_vars(s: &str) -> String {
    s.replace("@@ovmf_path@@", "/usr/share/qemu/ovmf-x86_64-xen.bin")
}

fn to_native(xml: &Path) -> Result<String, String> {
    let text = replace_vars(&std::fs::read_to_string(xml).unwrap());
    let mut d = Domain::parse(text.as_bytes()).map_err(|e| e.to_string())?;
    d.apply_defaults().map_err(|e| e.to_string())?;
    let c = xen::to_native(&d).map_err(|e| e.to_string())?;
    c.format().map_err(|e| e.to_string())
}

fn from_native(cfg: &Path) -> Result<String, String> {
    let text = replace_vars(&std::fs::read_to_string(cfg).unwrap());
    let c = Config::parse(&text).map_err(|e| e.to_string())?;
    let d = xen::from_native(&c).map_err(|e| e.to_string())?;
    Ok(d.format_inactive())
}

fn key_values(text: &str) -> Vec<(String, String)> {
    let c = Config::parse(text).unwrap();
    let mut kv: Vec<(String, String)> = c
        .entries
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v:?}")))
        .collect();
    kv.sort();
    kv
}

fn diff_maps(want: &[(String, String)], got: &[(String, String)]) -> String {
    let mut out = String::new();
    for w in want {
        if !got.contains(w) {
            out.push_str(&format!("    - {} = {}\n", w.0, w.1));
        }
    }
    for g in got {
        if !want.contains(g) {
            out.push_str(&format!("    + {} = {}\n", g.0, g.1));
        }
    }
    out
}

#[test]
fn xlconfigdata_pairs() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let dir = corpus.join("tests/xlconfigdata");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix(".cfg")
                .and_then(|n| n.strip_prefix("test-"))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    let verbose = std::env::var_os("DOMRUN_CORPUS_VERBOSE").is_some();
    let (mut to_pass, mut to_total, mut from_pass, mut from_total) = (0, 0, 0, 0);
    let mut report = String::new();
    for name in &names {
        let xml = dir.join(format!("test-{name}.xml"));
        let cfg = dir.join(format!("test-{name}.cfg"));
        if !FROM_NATIVE_ONLY.contains(&name.as_str()) {
            to_total += 1;
            let want = key_values(&replace_vars(&std::fs::read_to_string(&cfg).unwrap()));
            match to_native(&xml) {
                Ok(got) => {
                    let got = key_values(&got);
                    if got == want {
                        to_pass += 1;
                    } else {
                        report.push_str(&format!("to-native   FAIL {name}\n"));
                        if verbose {
                            report.push_str(&diff_maps(&want, &got));
                        }
                    }
                }
                Err(e) => report.push_str(&format!("to-native   ERR  {name}: {e}\n")),
            }
        }
        if !TO_NATIVE_ONLY.contains(&name.as_str()) {
            from_total += 1;
            let want = replace_vars(&std::fs::read_to_string(&xml).unwrap());
            match from_native(&cfg) {
                Ok(got) if got == want => from_pass += 1,
                Ok(got) => {
                    report.push_str(&format!("from-native FAIL {name}\n"));
                    if verbose {
                        for l in diff_lines(&want, &got) {
                            report.push_str(&format!("    {l}\n"));
                        }
                    }
                }
                Err(e) => report.push_str(&format!("from-native ERR  {name}: {e}\n")),
            }
        }
    }
    eprintln!(
        "xlconfigdata ({} pairs): to-native {to_pass}/{to_total}, from-native {from_pass}/{from_total}\n{report}",
        names.len()
    );
    assert!(to_pass >= TO_NATIVE_FLOOR, "to-native regressed:\n{report}");
    assert!(
        from_pass >= FROM_NATIVE_FLOOR,
        "from-native regressed:\n{report}"
    );
}

/// Lines only in one side (a crude diff, enough to see what differs).
fn diff_lines(want: &str, got: &str) -> Vec<String> {
    let w: Vec<&str> = want.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let mut out = Vec::new();
    for l in &w {
        if !g.contains(l) {
            out.push(format!("- {l}"));
        }
    }
    for l in &g {
        if !w.contains(l) {
            out.push(format!("+ {l}"));
        }
    }
    out
}
