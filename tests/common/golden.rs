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

/// The five capability sets of a plan, one line each, relative to what this
/// process holds (which differs between machines: a VM may lack
/// CAP_SYS_RESOURCE): `only [..]`, or `all held except [..]`, sorted. The
/// Plan and OCI goldens print them after the Plan.
pub fn describe_capabilities(c: &domrun::plan::CapabilityPlan) -> String {
    let held = caps::read(None, caps::CapSet::Permitted).expect("reading our capabilities");
    let names = |it: &mut dyn Iterator<Item = &domrun::plan::Capability>| {
        let mut v: Vec<String> = it.map(|c| c.to_string().to_lowercase()).collect();
        v.sort();
        v.join(" ")
    };
    let describe = |set: &domrun::plan::CapsHashSet| {
        if set.len() * 2 > held.len() {
            format!(
                "all held except [{}]",
                names(&mut held.iter().filter(|c| !set.contains(c)))
            )
        } else {
            format!("only [{}]", names(&mut set.iter()))
        }
    };
    let mut out = String::new();
    for (set, which) in [
        (&c.bounding, "bounding"),
        (&c.effective, "effective"),
        (&c.permitted, "permitted"),
        (&c.inheritable, "inheritable"),
        (&c.ambient, "ambient"),
    ] {
        out.push_str(&format!("capabilities.{which}: {}\n", describe(set)));
    }
    out
}
