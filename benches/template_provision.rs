//! Provisioning time of a template root: `Store::provision` (a new domain's
//! empty layer) + `mount_overlay` + `umount`, for a 1 MiB and a 1 GiB
//! template. The claim being measured: the time does not depend on the
//! template's size (target under 20 ms). Run by `benches/template_provision.sh`
//! as root; prints a Markdown table for `docs/performance.md`.
//!
//! Arguments: `[ITERATIONS]` (default 200). `DOMRUN_BENCH_DIR` picks the
//! scratch directory (default: the system temp dir); it needs ~2.2 GiB free.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use domrun::template::{Progress, Provisioned, Store, mount_overlay, overlay_available};
use nix::mount::{MntFlags, MsFlags};

/// `files` files of `each` bytes of non-zero data (zeros would become holes).
fn make_tree(dir: &Path, files: usize, each: usize) {
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::write(dir.join("etc/hostname"), "bench\n").unwrap();
    let chunk: Vec<u8> = (0..each).map(|i| (i % 251) as u8 + 1).collect();
    for i in 0..files {
        let sub = dir.join(format!("data/{:02x}", i % 64));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i}")), &chunk).unwrap();
    }
}

struct Stats {
    mean: f64,
    median: f64,
    p95: f64,
    min: f64,
    max: f64,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = v.len();
    Stats {
        mean: v.iter().map(|d| ms(*d)).sum::<f64>() / n as f64,
        median: ms(v[n / 2]),
        p95: ms(v[(n * 95 / 100).min(n - 1)]),
        min: ms(v[0]),
        max: ms(v[n - 1]),
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary too, without it, and must not spend a minute and 2 GiB here.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("template_provision: a benchmark; run it with benches/template_provision.sh");
        return;
    }
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("template_provision: needs root (mounts overlayfs)");
        std::process::exit(77);
    }
    if !overlay_available() {
        eprintln!("template_provision: no overlayfs on this kernel");
        std::process::exit(77);
    }
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let base = std::env::var_os("DOMRUN_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let tmp = tempfile::tempdir_in(base).unwrap();
    let t = tmp.path();

    // This process only: mounts vanish with it whatever happens.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .unwrap();

    let store = Store::open(&t.join("state")).unwrap();
    let sizes = [
        ("1 MiB", "small", 16usize, 64 * 1024usize),
        ("1 GiB", "large", 4096, 256 * 1024),
    ];
    for (_, name, files, each) in sizes {
        let src = t.join(format!("src-{name}"));
        let start = Instant::now();
        make_tree(&src, files, each);
        let info = store.import(name, &src, Progress::Quiet).unwrap();
        std::fs::remove_dir_all(&src).unwrap();
        eprintln!(
            "template {name}: {} files, {} bytes, imported in {:.1} s",
            files,
            info.size_bytes,
            start.elapsed().as_secs_f64()
        );
    }

    let mnt = t.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mut rows = Vec::new();
    for (label, name, _, _) in sizes {
        let mut total = Vec::with_capacity(iterations);
        let mut provision_only = Vec::with_capacity(iterations);
        // Warm-up: the first mount of a lower directory reads its inode.
        for i in 0..10 + iterations {
            let domain = format!("{name}-{i}");
            let start = Instant::now();
            let Provisioned::Overlay(o) = store.provision(name, &domain, false).unwrap() else {
                panic!("no overlay");
            };
            let provisioned = start.elapsed();
            mount_overlay(&mnt, &o).unwrap();
            nix::mount::umount2(&mnt, MntFlags::empty()).unwrap();
            let done = start.elapsed();
            if i >= 10 {
                provision_only.push(provisioned);
                total.push(done);
            }
        }
        for i in 0..10 + iterations {
            store.remove_layer(&format!("{name}-{i}")).unwrap();
        }
        rows.push((label, stats(total), stats(provision_only)));
    }

    let mut out = std::io::stdout().lock();
    writeln!(out, "| template | provision + mount + umount: mean | median | p95 | min | max | provision alone: mean |").unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|").unwrap();
    for (label, s, p) in rows {
        writeln!(
            out,
            "| {label} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            s.mean, s.median, s.p95, s.min, s.max, p.mean
        )
        .unwrap();
    }
    writeln!(
        out,
        "\n{iterations} new domains per size, each with a fresh layer."
    )
    .unwrap();
}
