//! Helpers shared by the integration tests (`mod common;` in a test file).
//!
//! * Skip checks: [`require_root`], [`require_tool`], [`corpus_dir`] and
//!   [`busybox_rootfs`] return `false`/`None` when the test cannot run here,
//!   after printing `skipped: <reason> [<test name>]` straight to stderr (not
//!   through the captured `eprintln!`, so skips show in CI logs). The test then
//!   returns early and counts as passed.
//! * Fixtures: [`busybox_rootfs`] runs `rootfs-fixtures/busybox-rootfs.sh`.
//! * Leak checks: [`loop_devices`], [`mounts_containing`] and
//!   [`assert_no_leaks_under`] let a test prove it released what it set up.
//!
//! See `docs/testing.md`.
#![allow(dead_code)]

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming the libvirt test-data corpus directory.
pub const CORPUS_ENV: &str = "DOMRUN_LIBVIRT_CORPUS";

/// Prints `skipped: REASON [TEST]` to the real stderr, bypassing test capture.
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    // Ignore write errors: a skip message is best effort.
    let _ = writeln!(std::io::stderr(), "skipped: {reason} [{test}]");
}

/// True when running as uid 0; otherwise prints `skipped: needs root`.
pub fn require_root() -> bool {
    if nix::unistd::Uid::effective().is_root() {
        true
    } else {
        skip("needs root");
        false
    }
}

/// Finds an executable `name` on `PATH` or in the sbin directories (which a
/// non-root `PATH` often lacks, yet hold `mkfs.*`, `losetup`, `ip`).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(extra)
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// True when the tool `name` is installed; otherwise prints
/// `skipped: needs tool NAME`.
pub fn require_tool(name: &str) -> bool {
    if find_tool(name).is_some() {
        true
    } else {
        skip(&format!("needs tool {name}"));
        false
    }
}

/// The libvirt test-data corpus: `$DOMRUN_LIBVIRT_CORPUS`, else
/// `<CARGO_MANIFEST_DIR>/../shared/libvirt-corpus`. `None` (with a skip
/// message) when that directory does not exist.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os(CORPUS_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/libvirt-corpus"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        skip(&format!(
            "libvirt corpus not found at {} (set {CORPUS_ENV})",
            dir.display()
        ));
        None
    }
}

/// Builds (or refreshes) a busybox root filesystem at `dir` with
/// `rootfs-fixtures/busybox-rootfs.sh` and returns its path. `None` (with a
/// skip message) when busybox-static is not installed.
///
/// # Panics
/// When the script fails for any other reason: that is a bug to see, not a
/// reason to skip.
pub fn busybox_rootfs(dir: &Path) -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("rootfs-fixtures/busybox-rootfs.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Some(dir.to_path_buf()),
        Some(77) => {
            skip(&format!("needs busybox-static ({})", stderr.trim()));
            None
        }
        _ => panic!(
            "{} {} failed: {}: {stderr}",
            script.display(),
            dir.display(),
            out.status
        ),
    }
}

/// Attached loop devices as `"/dev/loopN: BACKING_FILE"`, sorted, from
/// `/sys/block/loop*/loop/backing_file` (present only while attached).
pub fn loop_devices() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    let mut loops: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("loop") {
                return None;
            }
            let backing = std::fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            Some(format!("/dev/{name}: {}", backing.trim_end()))
        })
        .collect();
    loops.sort();
    loops
}

/// Mount points (from `/proc/self/mountinfo`, octal escapes decoded) whose
/// path contains `s`.
pub fn mounts_containing(s: &str) -> Vec<String> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|m| m.contains(s))
        .collect()
}

/// Decodes mountinfo's `\NNN` octal escapes (space, tab, newline, backslash).
pub fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let oct = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], oct) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Panics, listing them, if any mount point or loop backing file under `dir`
/// is still present. Call at the end of a test that mounted or attached
/// something inside its temp dir.
pub fn assert_no_leaks_under(dir: &Path) {
    let d = dir.to_string_lossy();
    let mounts = mounts_containing(&d);
    let loops: Vec<String> = loop_devices()
        .into_iter()
        .filter(|l| l.contains(&*d))
        .collect();
    assert!(
        mounts.is_empty() && loops.is_empty(),
        "leaked under {d}: mounts {mounts:?}, loop devices {loops:?}"
    );
}

mod launcher;
#[allow(unused_imports, reason = "each test binary uses a different subset")]
pub use launcher::*;
