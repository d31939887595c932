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
//! refused with the right error, at the point the limit is crossed (the
//! error's column counts how far the parser read), and a document built to
//! blow up per-element memory parses under a 1 GiB address-space limit. No
//! test here measures time: a loaded machine makes any bound flaky.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use domrun::domain::{Domain, ParseErrorKind};
use domrun::xml::{Limits, ReadError};
use std::path::{Path, PathBuf};
mod common;
use common::Cli;

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

fn validate(args: &[String]) -> common::Run {
    Cli::bare()
        .current_dir(invalid_dir())
        .run(std::iter::once("validate".to_owned()).chain(args.iter().cloned()))
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
        let got = &out.stderr;
        if out.status.code() != Some(1) || *got != want || !out.stdout.is_empty() {
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
    assert_eq!(out.stderr, want);
}

/// A document with many validation errors reports all of them, one line
/// each, in document order.
#[test]
fn validation_lists_every_error_of_a_document() {
    let out = validate(&["many-errors.xml".into()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = out.stderr.clone();
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

fn refused(doc: &[u8]) -> ParseErrorKind {
    *Domain::parse(doc)
        .expect_err("hostile document must be refused")
        .kind
}

#[test]
fn deep_nesting_is_refused_at_the_limit() {
    let mut doc = String::from("<domain type='lxc'><name>x</name>");
    doc.push_str(&"<a>".repeat(100_000));
    doc.push_str(&"</a>".repeat(100_000));
    doc.push_str("</domain>");
    let kind = refused(doc.as_bytes());
    // Refused at the 65th <a>: the parser read ~200 bytes of a 700 kB line.
    match kind {
        ParseErrorKind::Xml(ReadError::TooDeep { limit: 64, pos }) => {
            assert_eq!(pos.line, 1);
            assert!(pos.col < 300, "read on to column {}", pos.col);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn huge_document_is_refused_before_parsing() {
    let size = 70 << 20;
    let mut doc = b"<domain type='lxc'><name>x</name><description>".to_vec();
    doc.resize(size - 23, b'x');
    doc.extend_from_slice(b"</description></domain>");
    assert_eq!(doc.len(), size);
    let kind = refused(&doc);
    assert_eq!(
        kind,
        ParseErrorKind::Xml(ReadError::TooLarge {
            size,
            limit: Limits::default().max_bytes
        })
    );

    // Through the CLI too: exit 1, one line naming the file and the limit.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("huge.xml"), &doc).unwrap();
    let out = Cli::bare()
        .current_dir(tmp.path())
        .run(["validate", "huge.xml"]);
    out.fails_with(1);
    assert_eq!(
        out.stderr,
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
fn ten_thousand_attributes_are_refused_at_the_limit() {
    let doc = many_attrs(10_000);
    match refused(doc.as_bytes()) {
        ParseErrorKind::Xml(ReadError::TooManyAttrs {
            element,
            limit: 64,
            pos,
        }) => {
            assert_eq!(element, "foo");
            // Refused at <foo>, before reading its 10k attributes (~150 kB).
            let foo = doc.find("<foo").unwrap();
            assert!(
                (pos.col as usize) <= foo + 2000,
                "read on to column {}",
                pos.col
            );
        }
        other => panic!("{other}"),
    }
}

/// With the cap raised, 10k attributes still parse and survive a round
/// trip on the unknown element that carries them. (How fast is not asserted:
/// that is a property of the machine as much as of the parser.)
#[test]
fn ten_thousand_attributes_under_a_raised_limit_round_trip() {
    let limits = Limits {
        max_attrs: 20_000,
        ..Limits::default()
    };
    let doc = many_attrs(10_000);
    let d = Domain::parse_with_limits(doc.as_bytes(), &limits).unwrap();
    let out = d.format();
    assert!(out.contains(" a0='0'") && out.contains(" a9999='9999'"));
}

/// Deep nesting of long names with many leaves below: nothing the parser
/// keeps per element may grow with depth times name length (element paths
/// as strings would make this document cost gigabytes). Bounded by memory:
/// `domrun validate` parses it under a 1 GiB address-space limit
/// (`ulimit -v`), where an allocation failure aborts the process.
#[test]
fn long_names_deeply_nested_with_many_leaves_parse_in_bounded_memory() {
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
    let d = Domain::parse(doc.as_bytes()).unwrap();
    assert!(d.metadata.is_some());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("deep.xml");
    std::fs::write(&file, &doc).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" validate \"$1\"")
        .arg(common::cli::BIN)
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit 0 or 1 (the document has no <init>): it parsed; a signal or
    // "memory allocation failed" would mean it ran out of the 1 GiB.
    assert!(
        matches!(out.status.code(), Some(0 | 1)) && !stderr.contains("memory allocation"),
        "{}: {stderr}",
        out.status
    );
}
