//! Bytes in vs peak memory and time of reading a document, for 1 k to 1 M
//! elements: the XML tree alone (`xml::read_document`), and the whole
//! `domrun validate` pipeline (parse, defaults, validate) over unknown
//! devices and over filesystems. The claim being measured: memory is a
//! small constant multiple of the input, time grows linearly.
//!
//! Each case runs in a child process (this binary re-executed with
//! `--case KIND N`), which builds its document, notes its peak RSS
//! (`VmHWM`), parses, and notes it again: the difference is what the parse
//! cost at its peak, whatever it freed afterwards. Run by
//! `benches/parse_memory.sh`; prints a Markdown table for
//! `docs/performance.md`. The element cap is raised so that 1 M fits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Instant;

use domrun::domain::Domain;
use domrun::xml::{Limits, read_document};

/// What a case parses.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `<a><foo/><foo/>…</a>`, tree only: the 6-byte element.
    Flat,
    /// The same, one element per indented line.
    Indented,
    /// `<a><x k='v'/>…</a>`, tree only: one attribute per element.
    Attrs,
    /// A domain whose `<devices>` holds N unknown `<foo/>`: parse, defaults
    /// and validate, as `domrun validate` does.
    Devices,
    /// A domain of N/3 filesystems (3 elements each), distinct targets:
    /// the uniqueness check over all of them.
    Filesystems,
}

const KINDS: &[(Kind, &str)] = &[
    (Kind::Flat, "flat"),
    (Kind::Indented, "indented"),
    (Kind::Attrs, "attrs"),
    (Kind::Devices, "devices"),
    (Kind::Filesystems, "filesystems"),
];

const DOMAIN_HEAD: &str = "<domain type='lxc'><name>bench</name><memory>1024</memory><os><type>exe</type><init>/bin/sh</init></os><devices><console type='pty'/>";
const DOMAIN_TAIL: &str = "</devices></domain>";

/// Builds the document in one exact-size allocation, so the peak before
/// parsing is the document and nothing else.
fn document(kind: Kind, n: usize) -> Vec<u8> {
    let fs = |i: usize| {
        format!(
            "<filesystem type='mount'><source dir='/srv/{i}'/><target dir='/mnt/{i}'/></filesystem>"
        )
    };
    let (head, tail, item): (&str, &str, Box<dyn Fn(usize) -> String>) = match kind {
        Kind::Flat => ("<a>", "</a>", Box::new(|_| "<foo/>".to_owned())),
        Kind::Indented => ("<a>\n", "</a>\n", Box::new(|_| "  <foo/>\n".to_owned())),
        Kind::Attrs => ("<a>", "</a>", Box::new(|_| "<x k='v'/>".to_owned())),
        Kind::Devices => (DOMAIN_HEAD, DOMAIN_TAIL, Box::new(|_| "<foo/>".to_owned())),
        Kind::Filesystems => (DOMAIN_HEAD, DOMAIN_TAIL, Box::new(fs)),
    };
    let count = match kind {
        Kind::Filesystems => n / 3,
        _ => n,
    };
    let len = head.len() + tail.len() + (0..count).map(|i| item(i).len()).sum::<usize>();
    let mut doc = Vec::with_capacity(len);
    doc.extend_from_slice(head.as_bytes());
    for i in 0..count {
        doc.extend_from_slice(item(i).as_bytes());
    }
    doc.extend_from_slice(tail.as_bytes());
    doc
}

/// This process's peak resident set, in bytes (`VmHWM` of /proc/self/status).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// The child: one case, printing `bytes peak_increase_bytes millis`.
fn run_case(kind: Kind, n: usize) {
    let limits = Limits {
        max_elements: usize::MAX,
        ..Limits::default()
    };
    let doc = document(kind, n);
    let before = peak_rss();
    let start = Instant::now();
    match kind {
        Kind::Flat | Kind::Indented | Kind::Attrs => {
            let tree = read_document(&doc, &limits).unwrap();
            std::hint::black_box(&tree);
        }
        Kind::Devices | Kind::Filesystems => {
            let mut d = Domain::parse_with_limits(&doc, &limits).unwrap();
            d.apply_defaults().unwrap();
            d.validate().unwrap();
            std::hint::black_box(&d);
        }
    }
    let took = start.elapsed();
    let after = peak_rss();
    println!(
        "{} {} {:.1}",
        doc.len(),
        after.saturating_sub(before),
        took.as_secs_f64() * 1000.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        let kind = KINDS.iter().find(|(_, k)| *k == args[i + 1]).unwrap().0;
        run_case(kind, args[i + 2].parse().unwrap());
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary too, without it, and must not spend a minute and 1 GiB here.
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("parse_memory: a benchmark; run it with benches/parse_memory.sh");
        return;
    }
    let sizes = [1_000usize, 10_000, 100_000, 1_000_000];
    println!(
        "| input | elements | bytes in | peak RSS increase | × input | time (ms) | ns/element |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let exe = std::env::current_exe().unwrap();
    for (_, name) in KINDS {
        for n in sizes {
            let out = Command::new(&exe)
                .args(["--case", name, &n.to_string()])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8(out.stdout).unwrap();
            let mut f = line.split_whitespace();
            let bytes: f64 = f.next().unwrap().parse().unwrap();
            let peak: f64 = f.next().unwrap().parse().unwrap();
            let ms: f64 = f.next().unwrap().parse().unwrap();
            println!(
                "| {name} | {n} | {:.0} KiB | {:.1} MiB | {:.1} | {ms:.1} | {:.0} |",
                bytes / 1024.0,
                peak / (1024.0 * 1024.0),
                peak / bytes,
                ms * 1e6 / n as f64
            );
        }
    }
}
