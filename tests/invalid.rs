//! Invalid domain documents and the exact errors `domrun validate` prints.
//!
//! Each `tests/invalid/NAME.xml` has a `NAME.err` holding the exact stderr of
//! `domrun validate NAME.xml` (run from `tests/invalid`, so the file name is
//! printed as given). Error quality is part of the contract: file, line:col,
//! element path, the offending value and what is accepted. To add a case,
//! write `NAME.xml`, run `domrun validate NAME.xml 2> NAME.err` from that
//! directory, and read the message as a user would.
//!
//! Also: hostile inputs (deep nesting, huge documents, many attributes) are
//! refused quickly with the right error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use domrun::domain::{Domain, ParseErrorKind};
use domrun::xml::{Limits, ReadError};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn invalid_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid")
}

/// The case names (`NAME` of `NAME.xml`), sorted.
fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(invalid_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".xml").map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn validate(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domrun"))
        .current_dir(invalid_dir())
        .arg("validate")
        .args(args)
        .output()
        .unwrap()
}

fn expected_stderr(name: &str) -> String {
    let path = invalid_dir().join(format!("{name}.err"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_case_has_an_expected_error_and_vice_versa() {
    let names = cases();
    // A lost file should fail loudly, not silently shrink the suite.
    assert!(names.len() >= 33, "only {} cases: {names:?}", names.len());
    for entry in std::fs::read_dir(invalid_dir()).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".err") {
            assert!(names.iter().any(|n| n == name), "{file} has no {name}.xml");
        }
    }
}

#[test]
fn each_invalid_document_fails_with_its_exact_message() {
    let mut failures = Vec::new();
    for name in cases() {
        let want = expected_stderr(&name);
        let out = validate(&[format!("{name}.xml")]);
        let got = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(1) || got != want || !out.stdout.is_empty() {
            failures.push(format!(
                "{name}.xml: exit {:?}\n  got:  {got:?}\n  want: {want:?}",
                out.status.code()
            ));
        }
        // Every message is located: it starts with the file name, and (but
        // for a whole-document limit) with a line and column.
        for line in want.lines() {
            let rest = line
                .strip_prefix(&format!("{name}.xml:"))
                .unwrap_or_else(|| panic!("{name}.err: no file name in {line:?}"));
            let (l, rest) = rest.split_once(':').unwrap();
            let (c, _) = rest.split_once(':').unwrap();
            assert!(
                l.parse::<u32>().is_ok_and(|l| l > 0) && c.parse::<u32>().is_ok_and(|c| c > 0),
                "{name}.err: no line:col in {line:?}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn all_files_in_one_invocation_report_every_error_in_order() {
    let names = cases();
    let args: Vec<String> = names.iter().map(|n| format!("{n}.xml")).collect();
    let out = validate(&args);
    assert_eq!(out.status.code(), Some(1));
    let want: String = names.iter().map(|n| expected_stderr(n)).collect();
    assert_eq!(String::from_utf8_lossy(&out.stderr), want);
}

/// A document with many validation errors reports all of them, one line
/// each, in document order.
#[test]
fn validation_lists_every_error_of_a_document() {
    let out = validate(&["many-errors.xml".into()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    let paths = [
        "/domain/os/init:",
        "/domain/os/initenv[1]:",
        "/domain/os/initgroup:",
        "/domain/idmap/gid:",
        "/domain/idmap/uid[1]:",
        "/domain/devices:",
        "/domain/devices/filesystem[1]/source:",
        "/domain/devices/filesystem[2]/target:",
    ];
    assert_eq!(lines.len(), paths.len(), "{stderr}");
    let mut last = (0, 0);
    for (line, path) in lines.iter().zip(paths) {
        let mut parts = line.splitn(4, ':');
        assert_eq!(parts.next(), Some("many-errors.xml"), "{line}");
        let l: u32 = parts.next().unwrap().parse().unwrap();
        let c: u32 = parts.next().unwrap().parse().unwrap();
        assert!((l, c) > last, "not in document order: {stderr}");
        last = (l, c);
        assert!(
            parts.next().unwrap().starts_with(&format!(" {path}")),
            "{line} should be about {path}"
        );
    }
    // The same through the library: one ValidateError per problem.
    let bytes = std::fs::read(invalid_dir().join("many-errors.xml")).unwrap();
    let mut d = Domain::parse(&bytes).unwrap();
    d.apply_defaults().unwrap();
    assert_eq!(d.validate().unwrap_err().errors.len(), paths.len());
}

fn parse_timed(doc: &[u8]) -> (ParseErrorKind, Duration) {
    let start = Instant::now();
    let err = Domain::parse(doc).expect_err("hostile document must be refused");
    (*err.kind, start.elapsed())
}

const QUICK: Duration = Duration::from_secs(2);

#[test]
fn deep_nesting_is_refused_quickly() {
    let mut doc = String::from("<domain type='lxc'><name>x</name>");
    doc.push_str(&"<a>".repeat(100_000));
    doc.push_str(&"</a>".repeat(100_000));
    doc.push_str("</domain>");
    let (kind, took) = parse_timed(doc.as_bytes());
    assert!(
        matches!(
            kind,
            ParseErrorKind::Xml(ReadError::TooDeep { limit: 64, .. })
        ),
        "{kind}"
    );
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn huge_document_is_refused_before_parsing() {
    let size = 70 << 20;
    let mut doc = b"<domain type='lxc'><name>x</name><description>".to_vec();
    doc.resize(size - 23, b'x');
    doc.extend_from_slice(b"</description></domain>");
    assert_eq!(doc.len(), size);
    let (kind, took) = parse_timed(&doc);
    assert_eq!(
        kind,
        ParseErrorKind::Xml(ReadError::TooLarge {
            size,
            limit: Limits::default().max_bytes
        })
    );
    assert!(took < QUICK, "took {took:?}");

    // Through the CLI too: exit 1, one line naming the file and the limit.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("huge.xml"), &doc).unwrap();
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_domrun"))
        .current_dir(tmp.path())
        .args(["validate", "huge.xml"])
        .output()
        .unwrap();
    assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("huge.xml:document is {size} bytes, more than the limit of 67108864 bytes\n")
    );
}

fn many_attrs(n: usize) -> String {
    let attrs: String = (0..n).map(|i| format!(" a{i}='{i}'")).collect();
    format!(
        "<domain type='lxc'><name>x</name><os><type>exe</type><init>/sbin/init</init></os><devices><foo{attrs}/></devices></domain>"
    )
}

#[test]
fn ten_thousand_attributes_are_refused_quickly() {
    let (kind, took) = parse_timed(many_attrs(10_000).as_bytes());
    match kind {
        ParseErrorKind::Xml(ReadError::TooManyAttrs {
            element, limit: 64, ..
        }) => assert_eq!(element, "foo"),
        other => panic!("{other}"),
    }
    assert!(took < QUICK, "took {took:?}");
}

/// With the cap raised, 10k attributes still parse in reasonable time and
/// survive a round trip on the unknown element that carries them.
#[test]
fn ten_thousand_attributes_under_a_raised_limit_round_trip() {
    let limits = Limits {
        max_attrs: 20_000,
        ..Limits::default()
    };
    let doc = many_attrs(10_000);
    let start = Instant::now();
    let d = Domain::parse_with_limits(doc.as_bytes(), &limits).unwrap();
    assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
    let out = d.format();
    assert!(out.contains(" a0='0'") && out.contains(" a9999='9999'"));
}

/// Deep nesting of long names with many leaves below: nothing the parser
/// keeps per element may grow with depth times name length (element paths
/// as strings would make this document cost gigabytes).
#[test]
fn long_names_deeply_nested_with_many_leaves_parse_quickly() {
    let name = "n".repeat(100_000);
    let depth = 60;
    let mut doc = String::from("<domain type='lxc'><name>x</name><metadata>");
    for _ in 0..depth {
        doc.push_str(&format!("<{name}>"));
    }
    doc.push_str(&"<x/>".repeat(10_000));
    for _ in 0..depth {
        doc.push_str(&format!("</{name}>"));
    }
    doc.push_str("</metadata><os><type>exe</type></os></domain>");
    let start = Instant::now();
    let d = Domain::parse(doc.as_bytes()).unwrap();
    assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
    assert!(d.metadata.is_some());
}
