//! libvirt's own test data against domrun's parser and formatter.
//!
//! * `lxcxml2xml_*`: the 13 `lxcxml2xmldata` cases (plus the one
//!   `lxcxml2xmloutdata` file formatted to itself) must format byte-exact to
//!   libvirt's expected output, through the library and through `domrun format`.
//! * `config_corpora_*`: every XML in `xlconfigdata`, `xmconfigdata` and
//!   `lxcconf2xmldata` parses, takes defaults, and formats to a fixed point.
//! * `formatted_corpus_matches_libvirt_schema`: every formatted output
//!   validates against libvirt's `domain.rng` with `xmllint`.
//!
//! The corpus lives outside the repository (see `tests/common::corpus_dir`);
//! without it every test here prints a skip line and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Cli;

use domrun::domain::Domain;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directories whose every `*.xml` must parse and reach a fixed point.
const CONFIG_DIRS: &[&str] = &["xlconfigdata", "xmconfigdata", "lxcconf2xmldata"];

/// `*.xml` files directly in `dir`, sorted.
fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    v
}

/// (input, expected output) for every lxcxml2xml case: the outdata file when
/// there is one, else the input itself; and each outdata file as its own input.
fn lxcxml2xml_cases(corpus: &Path) -> Vec<(PathBuf, PathBuf)> {
    let data = corpus.join("tests/lxcxml2xmldata");
    let out = corpus.join("tests/lxcxml2xmloutdata");
    let mut cases = Vec::new();
    for input in xml_files(&data) {
        let expected = out.join(input.file_name().unwrap());
        if expected.is_file() {
            cases.push((input, expected.clone()));
        } else {
            cases.push((input.clone(), input));
        }
    }
    for o in xml_files(&out) {
        cases.push((o.clone(), o));
    }
    cases
}

/// parse → defaults → format, as `domrun format` does.
fn format_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let mut d =
        Domain::parse(&bytes).unwrap_or_else(|e| panic!("{}", e.in_file(path.to_path_buf())));
    d.apply_defaults().unwrap();
    d.format()
}

#[test]
fn lxcxml2xml_round_trips_byte_exact_through_library() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let cases = lxcxml2xml_cases(&corpus);
    assert_eq!(
        cases.len(),
        14,
        "expected 13 lxcxml2xmldata files + 1 lxcxml2xmloutdata file: {cases:#?}"
    );
    let mut failures = Vec::new();
    for (input, expected) in &cases {
        let want = std::fs::read_to_string(expected).unwrap();
        let got = format_file(input);
        if got != want {
            failures.push(format!(
                "{} (expected {}):\n--- got ---\n{got}--- want ---\n{want}",
                input.display(),
                expected.display()
            ));
        }
        // Every one of them is valid, too.
        let d = Domain::load(input).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.format(), want, "{}", input.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("lxcxml2xml: {} cases byte-exact (library)", cases.len());
}

#[test]
fn lxcxml2xml_round_trips_byte_exact_through_cli() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let cases = lxcxml2xml_cases(&corpus);
    assert_eq!(cases.len(), 14, "{cases:#?}");
    for (input, expected) in &cases {
        let out = Cli::bare().run([Path::new("format"), input]);
        out.ok();
        assert!(out.stderr.is_empty(), "{}", out.stderr);
        let want = std::fs::read_to_string(expected).unwrap();
        assert!(
            out.stdout == want,
            "domrun format {} differs from {}:\n--- got ---\n{}--- want ---\n{want}",
            input.display(),
            expected.display(),
            out.stdout,
        );
    }
    // And `validate` accepts every one of them, in one invocation.
    let inputs: Vec<&PathBuf> = cases.iter().map(|(i, _)| i).collect();
    let out = Cli::bare()
        .run(std::iter::once(Path::new("validate")).chain(inputs.iter().map(|p| p.as_path())));
    assert!(
        out.success() && out.stderr.is_empty(),
        "domrun validate: {}\n{}",
        out.status,
        out.stderr
    );
    println!("lxcxml2xml: {} cases byte-exact (CLI)", cases.len());
}

#[test]
fn config_corpora_parse_and_format_to_a_fixed_point() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let mut total = 0;
    let mut failures = Vec::new();
    for dir in CONFIG_DIRS {
        let files = xml_files(&corpus.join("tests").join(dir));
        assert!(!files.is_empty(), "no XML in {dir}");
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            let mut d = match Domain::parse(&bytes) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(e.in_file(f.clone()).to_string());
                    continue;
                }
            };
            d.apply_defaults().unwrap();
            let once = d.format();
            let mut again = Domain::parse(once.as_bytes()).unwrap_or_else(|e| {
                panic!("{}: formatted output does not parse: {e}", f.display())
            });
            again.apply_defaults().unwrap();
            let twice = again.format();
            if once != twice {
                failures.push(format!(
                    "{}: format is not a fixed point:\n--- once ---\n{once}--- twice ---\n{twice}",
                    f.display()
                ));
            }
            total += 1;
        }
        println!("{dir}: {} files", files.len());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 48 + 38 + 13 in the corpus this was written against; a shrinking corpus
    // is worth noticing.
    assert!(total >= 99, "only {total} config-corpus files");
    println!("config corpora: {total} files parse and format to a fixed point");
}

#[test]
fn formatted_corpus_matches_libvirt_schema() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    if !common::require_tool("xmllint") {
        return;
    }
    let schemas = corpus.join("src/conf/schemas");
    assert!(schemas.join("domain.rng").is_file());
    let tmp = tempfile::tempdir().unwrap();
    let mut inputs: Vec<PathBuf> = lxcxml2xml_cases(&corpus)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    for dir in CONFIG_DIRS {
        inputs.extend(xml_files(&corpus.join("tests").join(dir)));
    }
    let mut outputs = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let dir = input
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let name = input.file_name().unwrap().to_string_lossy();
        let out = tmp.path().join(format!("{i:03}-{dir}-{name}"));
        std::fs::write(&out, format_file(input)).unwrap();
        outputs.push(out);
    }
    // One xmllint for every file: it prints "FILE validates" or
    // "FILE fails to validate" per file and exits non-zero if any failed.
    let out = Command::new(common::find_tool("xmllint").unwrap())
        .current_dir(&schemas)
        .args(["--noout", "--relaxng", "domain.rng"])
        .args(&outputs)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let validated = stderr.lines().filter(|l| l.ends_with(" validates")).count();
    assert!(
        out.status.success() && validated == outputs.len(),
        "xmllint: {} ({validated} of {} validate)\n{stderr}",
        out.status,
        outputs.len()
    );
    println!("schema: {validated} formatted corpus files validate against domain.rng");
}
