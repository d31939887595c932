//! Golden files: `DOMRUN_BLESS=1` rewrites them, otherwise the output must
//! equal the file. Used by the Plan, qemu argv and xl.cfg goldens.

use std::path::Path;

/// Whether this run rewrites goldens (`DOMRUN_BLESS` set).
pub fn blessing() -> bool {
    std::env::var_os("DOMRUN_BLESS").is_some()
}

/// Compares `got` with the golden file `golden` (or, when blessing, writes
/// it). `Err` describes the difference, for a test that collects them all.
pub fn check(golden: &Path, got: &str) -> Result<(), String> {
    if blessing() {
        std::fs::write(golden, got).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        return Ok(());
    }
    let want = std::fs::read_to_string(golden).unwrap_or_default();
    if want == got {
        Ok(())
    } else {
        Err(format!(
            "{} differs (DOMRUN_BLESS=1 rewrites it):\n--- want ---\n{want}--- got ---\n{got}",
            golden.display()
        ))
    }
}
