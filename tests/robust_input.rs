//! Hostile and oversized input (issue 13): every file is bounded before it
//! is read, devices and FIFOs are refused at once, the parser's memory is a
//! small multiple of the document, every check over the document is
//! near-linear, and the import and state-file fuzz properties hold over
//! their seed corpora.
//!
//! No wall-clock asserts: a refused read that hung would hit the deadline
//! of [`run_domrun`] (and fail the test), and the large documents below
//! take seconds with near-linear checks but hours with quadratic ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/check_import.rs"]
mod check_import;
#[path = "../fuzz/check_state.rs"]
mod check_state;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use domrun::domain::{Domain, ParseErrorKind};
use domrun::xml::{Element, Limits, Node, ReadError, read_document};

/// Runs `domrun ARGS`, killing it (and failing) if it is not done within
/// a deadline far beyond what a refused read takes: a read that blocks on
/// a FIFO or streams /dev/zero would never finish.
fn run_domrun(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_domrun"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("domrun {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn validate_refuses_a_character_device_at_once() {
    let out = run_domrun(&["validate", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "/dev/zero: is a character device, not a regular file (only regular files are read)\n"
    );
}

#[test]
fn validate_refuses_a_fifo_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("domain.xml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let out = run_domrun(&["validate", fifo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a FIFO, not a regular file"),
        "{}",
        stderr(&out)
    );
    let out = run_domrun(&["format", dir.path().to_str().unwrap()]);
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
}

#[test]
fn a_sparse_giant_domain_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("giant.xml");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let out = run_domrun(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .ends_with("document is 1073741824 bytes, more than the limit of 67108864 bytes\n"),
        "{}",
        stderr(&out)
    );
}

/// The tree's per-element cost is what bounds the parser's memory (the
/// benchmark in benches/parse_memory.rs measures it): a shared name, two
/// exact-size slices and a position.
#[test]
fn tree_nodes_stay_small() {
    assert!(
        size_of::<Element>() <= 56,
        "Element is {} bytes",
        size_of::<Element>()
    );
    assert!(
        size_of::<Node>() <= 56,
        "Node is {} bytes",
        size_of::<Node>()
    );
}

#[test]
fn the_element_count_is_capped() {
    let limit = Limits::default().max_elements;
    let doc = format!("<a>{}</a>", "<b/>".repeat(limit));
    match read_document(doc.as_bytes(), &Limits::default()) {
        Err(ReadError::TooManyElements { limit: l, .. }) => assert_eq!(l, limit),
        other => panic!("{other:?}"),
    }
    let doc = format!("<a>{}</a>", "<b/>".repeat(limit - 1));
    assert!(read_document(doc.as_bytes(), &Limits::default()).is_ok());
}

fn domain_with_devices(devices: &str) -> String {
    format!(
        "<domain type='lxc'><name>big</name><memory>1024</memory><os><type>exe</type><init>/bin/sh</init></os><devices><console type='pty'/>{devices}</devices></domain>"
    )
}

/// 60 000 filesystems, the last reusing the first one's target: one error,
/// naming the first. A pairwise comparison of targets would be 1.8 billion
/// path comparisons.
#[test]
fn target_uniqueness_is_checked_in_near_linear_time() {
    let n = 60_000;
    let mut devices = String::new();
    for i in 0..n {
        let _ = write!(
            devices,
            "<filesystem type='mount'><source dir='/srv/{i}'/><target dir='/mnt/{i}'/></filesystem>"
        );
    }
    devices.push_str(
        "<filesystem type='mount'><source dir='/srv/x'/><target dir='/mnt/./0/'/></filesystem>",
    );
    let mut d = Domain::parse(domain_with_devices(&devices).as_bytes()).unwrap();
    d.apply_defaults().unwrap();
    let errors = d.validate().unwrap_err().errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(
        e.path,
        format!("/domain/devices/filesystem[{}]/target", n + 1)
    );
    assert!(
        e.message
            .contains("already used by /domain/devices/filesystem[1]"),
        "{}",
        e.message
    );
}

/// 150 000 devices of distinct unknown names: sibling numbering, positions
/// and the round trip are per-name hash lookups, not a search of the names
/// seen so far (11 billion comparisons).
#[test]
fn many_distinct_element_names_are_near_linear() {
    let n = 150_000;
    let mut devices = String::new();
    for i in 0..n {
        let _ = write!(devices, "<d{i}/>");
    }
    let mut d = Domain::parse(domain_with_devices(&devices).as_bytes()).unwrap();
    d.apply_defaults().unwrap();
    d.validate().unwrap();
    let text = d.format();
    assert!(text.contains("<d0/>") && text.contains(&format!("<d{}/>", n - 1)));
}

/// 100 000 `<initarg>` with an unknown attribute each: the formatter asks
/// for each one's extra attributes, which must be a lookup, not a scan.
#[test]
fn extra_attributes_of_many_children_format_in_near_linear_time() {
    let n = 100_000;
    let mut args = String::new();
    for i in 0..n {
        let _ = write!(args, "<initarg k='{i}'>a{i}</initarg>");
    }
    let doc = format!(
        "<domain type='lxc'><name>big</name><memory>1024</memory><os><type>exe</type><init>/bin/sh</init>{args}</os><devices><console type='pty'/></devices></domain>"
    );
    let mut d = Domain::parse(doc.as_bytes()).unwrap();
    d.apply_defaults().unwrap();
    let text = d.format();
    assert!(text.contains(&format!("<initarg k='{}'>a{}</initarg>", n - 1, n - 1)));
}

#[test]
fn an_element_cap_error_says_where() {
    let doc = domain_with_devices(&"<x/>".repeat(Limits::default().max_elements));
    let err = Domain::parse(doc.as_bytes()).unwrap_err();
    assert!(
        matches!(
            &*err.kind,
            ParseErrorKind::Xml(ReadError::TooManyElements { .. })
        ),
        "{err}"
    );
}

fn replay(dir: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check(&bytes));
        assert!(result.is_ok(), "{} fails the fuzz property", path.display());
        n += 1;
    }
    n
}

#[test]
fn import_tar_seed_corpus_passes() {
    assert!(replay("fuzz/corpus/import_tar", check_import::check) >= 10);
}

#[test]
fn state_files_seed_corpus_passes() {
    assert!(replay("fuzz/corpus/state_files", check_state::check) >= 10);
}

/// A GNU long-name entry of 64 MiB, in a tarball of a few hundred
/// KiB: refused before the tar parser would read it whole into memory.
#[test]
fn a_giant_long_name_entry_is_refused_before_it_is_read() {
    use domrun::template::{Progress, Store};
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("bomb.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&source).unwrap(),
        flate2::Compression::fast(),
    );
    let size = 64u64 << 20;
    let mut h = tar::Header::new_gnu();
    h.set_path("././@LongLink").unwrap();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(size);
    h.set_cksum();
    gz.write_all(h.as_bytes()).unwrap();
    let zeros = vec![b'n'; 1 << 20];
    for _ in 0..size >> 20 {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let err = store
        .import("bomb", &source, Progress::Quiet)
        .expect_err("a giant long name must be refused");
    let chain = {
        let mut s = err.to_string();
        let mut src = std::error::Error::source(&err);
        while let Some(e) = src {
            s.push_str(&format!(": {e}"));
            src = e.source();
        }
        s
    };
    assert!(
        chain.contains("GNU long name entry of 67108864 bytes"),
        "{chain}"
    );
    assert!(store.list().unwrap().is_empty());
}
