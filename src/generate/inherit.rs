//! `domrun run --cgroup=inherit`: under a systemd unit with `Delegate=yes`,
//! the domain's group is made below the unit's own cgroup instead of below
//! its `<resource><partition>`, so the unit owns the container's processes.
//!
//! What it means per hierarchy: the unit's cgroup path (from
//! `/proc/self/cgroup`) becomes the partition in *every* hierarchy, so the
//! limit group is `<unit>/NAME.domrun` everywhere. In the delegated ones
//! (cgroup2, `name=systemd`) that is inside the unit; in the v1 controllers
//! of a hybrid host (which systemd does not delegate) it is the same path,
//! which systemd realises for the controllers it manages, and domrun makes
//! any missing level itself (cpuset: copied from the parent), so the limits
//! are set where they are on any other start.

use std::path::{Path, PathBuf};

use crate::cgroup::Layout;

/// Where `domrun run` puts the domain's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CgroupMode {
    /// `<partition>/NAME.domrun` (the default, as `start`).
    #[default]
    Partition,
    /// Below domrun's own cgroup; an error when that is the root.
    Inherit,
    /// Inherit when domrun's own cgroup is delegated to it (systemd marks a
    /// `Delegate=yes` unit's group with the `trusted.delegate` or
    /// `user.delegate` xattr), else the partition.
    Auto,
}

/// Why the own cgroup cannot be inherited.
#[derive(Debug, thiserror::Error)]
pub enum InheritError {
    #[error("reading {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "--cgroup=inherit: domrun runs in the root cgroup ('{own}'), not in a delegated one; run it from a unit with Delegate=yes (see `domrun generate systemd`) or drop the option"
    )]
    NotDelegated { own: String },
    #[error("--cgroup=inherit: moving domrun into {}: {source}", .path.display())]
    Leave {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The leaf domrun moves itself into on a pure cgroup v2 host, so the
/// unit's own group holds no process and can delegate controllers to the
/// domain's group (cgroup v2 allows no process in a group that does).
const SUPERVISOR_LEAF: &str = "supervisor";

/// The process's own cgroup path from `/proc/self/cgroup` text: the
/// cgroup2 line (`0::PATH`), else `name=systemd`'s; `None` for the root.
pub fn delegated_cgroup(proc_self_cgroup: &str) -> Option<String> {
    let path_of = |hierarchy: &str| {
        proc_self_cgroup.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, h, p) = (f.next()?, f.next()?, f.next()?);
            (h == hierarchy).then(|| p.to_owned())
        })
    };
    path_of("")
        .or_else(|| path_of("name=systemd"))
        .filter(|p| !p.trim_end_matches('/').is_empty())
}

/// The partition `run` uses under `mode`: `None` for the domain's own.
/// With [`CgroupMode::Inherit`] (or a detected delegation) on a pure v2
/// host, domrun first moves itself into the unit's `supervisor` leaf.
pub fn inherited_partition(
    mode: CgroupMode,
    layout: Option<&Layout>,
) -> Result<Option<String>, InheritError> {
    if mode == CgroupMode::Partition {
        return Ok(None);
    }
    let proc = Path::new("/proc/self/cgroup");
    let text = std::fs::read_to_string(proc).map_err(|source| InheritError::Read {
        path: proc.to_owned(),
        source,
    })?;
    let Some(own) = delegated_cgroup(&text) else {
        return match mode {
            CgroupMode::Auto => Ok(None),
            _ => Err(InheritError::NotDelegated { own: "/".into() }),
        };
    };
    let own_dir = layout
        .and_then(|l| l.v2_root().or(l.systemd_hierarchy()))
        .map(|root| root.join(own.trim_start_matches('/')));
    if mode == CgroupMode::Auto && !own_dir.as_deref().is_some_and(marked_delegated) {
        return Ok(None);
    }
    if let (Some(Layout::V2 { .. }), Some(dir)) = (layout, &own_dir) {
        leave_unit_root(dir)?;
    }
    Ok(Some(own))
}

/// Whether systemd marked `dir` as delegated.
fn marked_delegated(dir: &Path) -> bool {
    ["trusted.delegate", "user.delegate"]
        .iter()
        .any(|name| matches!(xattr::get(dir, name), Ok(Some(v)) if v == b"1"))
}

/// Moves this process into `dir/supervisor` (systemd's rule for delegated
/// units: processes live in leaves the service makes itself).
fn leave_unit_root(dir: &Path) -> Result<(), InheritError> {
    let leaf = dir.join(SUPERVISOR_LEAF);
    let leave = |source| InheritError::Leave {
        path: leaf.clone(),
        source,
    };
    match std::fs::create_dir(&leaf) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(leave(e)),
    }
    // "0" is the writing process itself.
    std::fs::write(leaf.join("cgroup.procs"), "0").map_err(leave)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cgroup_prefers_cgroup2_then_name_systemd_and_not_the_root() {
        let hybrid = "12:memory:/system.slice/domrun-web.service\n\
                      1:name=systemd:/system.slice/domrun-web.service\n\
                      0::/system.slice/domrun-web.service\n";
        assert_eq!(
            delegated_cgroup(hybrid).as_deref(),
            Some("/system.slice/domrun-web.service")
        );
        let v1 = "3:cpu,cpuacct:/\n1:name=systemd:/system.slice/x.service\n";
        assert_eq!(
            delegated_cgroup(v1).as_deref(),
            Some("/system.slice/x.service")
        );
        assert_eq!(delegated_cgroup("0::/\n"), None);
        assert_eq!(delegated_cgroup("5:memory:/a\n"), None);
    }

    #[test]
    fn partition_mode_never_reads_anything() {
        assert_eq!(
            inherited_partition(CgroupMode::Partition, None).unwrap(),
            None
        );
    }
}
