//! Resource control: one cgroup per running domain, on cgroup v2, v1 and
//! hybrid hosts. See `docs/cgroups.md`.
//!
//! Three layers, each testable on its own:
//! 1. [`Layout::from_mountinfo`]: which hierarchies exist and where they are
//!    mounted (pure; parsed from `/proc/self/mountinfo` text).
//! 2. [`CgroupSettings::from_domain`]: the domain's resource elements as typed
//!    values (pure), and [`CgroupSettings::writes`]: the exact control files and
//!    values for a v1 or v2 hierarchy (pure, device numbers looked up through a
//!    caller-supplied function).
//! 3. [`Cgroup`]: the handle that creates, fills, reads and removes the
//!    group. Every path it touches comes from the [`Layout`], so tests build
//!    fake trees in temp dirs.
//!
//! No raw syscalls here: signals and `stat` go through `nix`.

mod error;
mod fsops;
mod handle;
mod layout;
mod settings;

pub use error::CgroupError;
pub use handle::{
    Cgroup, CgroupStats, DEFAULT_PARTITION, DELEGATION_FILES, MemoryEvents, Owner, PAYLOAD_GROUP,
    SUPERVISOR_GROUP,
};
pub use layout::{ContainerMount, Controller, Layout};
pub use settings::{
    CgroupSettings, CpuSettings, CpusetSettings, FileWrite, Hierarchy, IoDevice, IoSettings,
    MemLimit, MemorySettings, SettingGroup, pids_write, shares_to_weight,
};
