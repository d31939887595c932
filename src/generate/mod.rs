//! Files generated for other tools from domrun's own state: systemd units
//! for defined domains and the systemd generator that writes them at boot
//! (`systemd.rs`), and the foreground run's cgroup placement under such a
//! unit (`inherit.rs`). See `docs/cli.md` ("Running under systemd").

mod inherit;
mod systemd;

pub use inherit::{CgroupMode, InheritError, delegated_cgroup, inherited_partition};
pub use systemd::{
    DOMRUN_STOP_TIMEOUT_SECS, GENERATOR_PATH, GenerateError, GeneratorReport, Unit, run_generator,
    unit_for, unit_name, unit_text,
};
