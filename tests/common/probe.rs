//! The probe binary (`tests/probe/probe.rs`): built once per test binary as
//! a static executable, copied into a rootfs, run inside the container; its
//! JSON is parsed into a [`serde_json::Value`].
//!
//! Built with the `rustc` that builds the tests (`$RUSTC`, else `rustc`):
//! `rustc -O -C target-feature=+crt-static` on the host's gnu target, which
//! links glibc's static libraries (package `libc6-dev`). Cached under
//! `target/tmp/probe/` and rebuilt when its source changes. When it cannot
//! be built, the tests that need it skip (`skipped: cannot build the static
//! probe …`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where the probe lands inside a rootfs ([`install`]).
pub const IN_CONTAINER: &str = "/probe";

fn build() -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe/probe.rs");
    let text = std::fs::read(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    // Keyed by the source's content: a changed probe is rebuilt, concurrent
    // test binaries building the same one write the same file.
    let key = text.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("probe");
    let bin = dir.join(format!("probe-{key:016x}"));
    if bin.is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let partial = dir.join(format!("probe-{key:016x}.{}.tmp", std::process::id()));
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args([
            "--edition",
            "2021",
            "-O",
            "-C",
            "target-feature=+crt-static",
        ])
        .arg(&source)
        .arg("-o")
        .arg(&partial)
        .output()
        .map_err(|e| format!("running {}: {e}", rustc.to_string_lossy()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("rustc failed");
        return Err(format!("{first} (needs libc6-dev for static glibc)"));
    }
    std::fs::rename(&partial, &bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    Ok(bin)
}

/// The probe executable; `None` (skipped, with rustc's reason) when it
/// cannot be built here.
pub fn binary() -> Option<&'static Path> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build) {
        Ok(p) => Some(p),
        Err(why) => {
            super::skip(&format!("cannot build the static probe: {why}"));
            None
        }
    }
}

/// Copies the probe to `ROOTFS/probe` (see [`IN_CONTAINER`]); `None` when
/// it cannot be built (skipped).
pub fn install(rootfs: &Path) -> Option<()> {
    let bin = binary()?;
    let dest = rootfs.join(IN_CONTAINER.trim_start_matches('/'));
    std::fs::copy(bin, &dest).unwrap_or_else(|e| panic!("copying the probe: {e}"));
    super::chmod(&dest, 0o755);
    Some(())
}

/// Parses the probe's JSON from a container's stdout (the last line that
/// starts with `{`, so a script may print before running it).
#[track_caller]
pub fn parse(stdout: &str) -> serde_json::Value {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no probe output in:\n{stdout}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("probe output {e}:\n{line}"))
}

/// The mount whose target is `target` (the last one: what is visible).
pub fn mount<'a>(seen: &'a serde_json::Value, target: &str) -> Option<&'a serde_json::Value> {
    seen["mounts"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["target"] == target)
}

/// A capability set (`bnd`, `eff`, …) as a number.
#[track_caller]
pub fn caps(seen: &serde_json::Value, set: &str) -> u64 {
    let hex = seen["caps"][set]
        .as_str()
        .unwrap_or_else(|| panic!("no caps.{set}: {seen}"));
    u64::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("caps.{set} {hex}: {e}"))
}
