//! Parent, before clone: the domain's cgroup and an overlay root, turned into
//! what the child mounts. The cgroup is created, configured and delegated
//! here, and removed again when the launch fails or init is gone
//! ([`CgroupGuard`]).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::unistd::Pid;

use super::LaunchError;
use crate::cgroup::{Cgroup, CgroupError, Layout, Owner};
use crate::plan::{CgroupPlan, IdMapRange, OverlayRoot, UserNamespace};

/// The domain's cgroup, removed (every process killed, every directory
/// deleted) when dropped.
#[derive(Debug)]
pub struct CgroupGuard(Option<Cgroup>);

impl CgroupGuard {
    /// Puts the container's init in the payload group of every hierarchy.
    pub fn add_init(&self, pid: Pid) -> Result<(), LaunchError> {
        match &self.0 {
            Some(cg) => cg.add_payload_pid(pid).map_err(LaunchError::Cgroup),
            None => Ok(()),
        }
    }

    /// Puts one of the domain's helper processes in the supervisor group.
    pub fn add_helper(&self, pid: Pid) -> Result<(), LaunchError> {
        match &self.0 {
            Some(cg) => cg.add_helper_pid(pid).map_err(LaunchError::Cgroup),
            None => Ok(()),
        }
    }

    /// The group, for stats and OOM reports.
    pub fn cgroup(&self) -> Option<&Cgroup> {
        self.0.as_ref()
    }

    /// Kills what is left in the group and removes it.
    pub fn remove(&mut self) -> Result<(), CgroupError> {
        match self.0.take() {
            Some(cg) => cg.remove(),
            None => Ok(()),
        }
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

/// One filesystem of the container's `/sys/fs/cgroup`, as the child mounts it.
#[derive(Debug)]
pub(super) struct CgroupMount {
    /// Absolute path inside the container.
    pub target: PathBuf,
    pub fstype: CString,
    pub data: CString,
    /// Stays writable (a tracking hierarchy); otherwise read-only in step 12.
    pub writable: bool,
}

/// The container's `/sys/fs/cgroup`: its mounts in order, then the
/// symlinks in its tmpfs (`(name, points to)`, relative to the tmpfs).
#[derive(Debug, Default)]
pub(super) struct CgroupView {
    pub mounts: Vec<CgroupMount>,
    pub symlinks: Vec<(CString, CString)>,
}

/// Where the view's symlinks are made, inside the container.
pub(super) const CGROUP_VIEW: &str = "/sys/fs/cgroup";

/// The host uid and gid of the container's root: the outside ids its uid
/// and gid 0 map to. `None` without a user namespace or when 0 is unmapped.
pub(super) fn container_root_owner(user: Option<&UserNamespace>) -> Option<Owner> {
    let outside_of_root = |map: &[IdMapRange]| {
        map.iter()
            .find(|r| r.inside == 0 && r.count > 0)
            .map(|r| r.outside)
    };
    let user = user?;
    Some(Owner {
        uid: outside_of_root(&user.uid_map)?,
        gid: outside_of_root(&user.gid_map)?,
    })
}

/// Creates and configures the plan's cgroup, and delegates its payload
/// group (handed to `owner`, the container's root, with a user namespace).
/// On a host without usable cgroups, a plan with no limits gets no group;
/// one with limits fails.
pub(super) fn prepare_cgroup(
    plan: Option<&CgroupPlan>,
    owner: Option<Owner>,
) -> Result<(Option<CgroupGuard>, CgroupView), LaunchError> {
    let Some(plan) = plan else {
        return Ok((None, CgroupView::default()));
    };
    let layout = match Layout::detect() {
        Ok(layout) => layout,
        Err(_) if plan.settings.is_empty() => return Ok((None, CgroupView::default())),
        Err(e) => return Err(LaunchError::Cgroup(e)),
    };
    // A crashed monitor may have left the group behind; a group with
    // processes in it is a domain of that name still running (started by
    // `domrun start`, or another `run`), never something to sweep.
    if let Some(existing) =
        Cgroup::open(&layout, &plan.partition, &plan.name).map_err(LaunchError::Cgroup)?
        && !existing.procs().map_err(LaunchError::Cgroup)?.is_empty()
    {
        return Err(LaunchError::AlreadyRunning {
            cgroup: format!("{}/{}", plan.partition, plan.name),
        });
    }
    Cgroup::sweep_stale(&layout, &plan.partition, &plan.name).map_err(LaunchError::Cgroup)?;
    let cgroup =
        Cgroup::create(&layout, &plan.partition, &plan.name).map_err(LaunchError::Cgroup)?;
    let guard = CgroupGuard(Some(cgroup));
    if let Some(cg) = guard.cgroup() {
        cg.apply(&plan.settings).map_err(LaunchError::Cgroup)?;
        cg.delegate(owner).map_err(LaunchError::Cgroup)?;
    }
    let c_string = |s: &str| CString::new(s).unwrap_or_default();
    let mounts = layout
        .container_mounts()
        .into_iter()
        .map(|m| CgroupMount {
            target: Path::new(CGROUP_VIEW).join(&m.target),
            fstype: c_string(m.fstype),
            data: c_string(&m.data),
            writable: m.writable,
        })
        .collect();
    let symlinks = layout
        .container_symlinks()
        .iter()
        .map(|(name, to)| (c_string(name), c_string(to)))
        .collect();
    Ok((Some(guard), CgroupView { mounts, symlinks }))
}

/// overlayfs mount options for `o`. Paths with the option separators (`,`
/// `:` `\`) are refused rather than escaped: the store never makes them.
pub(super) fn overlay_options(o: &OverlayRoot) -> Result<CString, LaunchError> {
    let bad = |p: &Path| {
        p.as_os_str()
            .as_bytes()
            .iter()
            .any(|b| matches!(b, b',' | b':' | b'\\'))
    };
    for p in o
        .lowers
        .iter()
        .chain(o.upper.iter().flat_map(|(u, w)| [u, w]))
    {
        if bad(p) {
            return Err(LaunchError::OverlayPath(p.clone()));
        }
    }
    let lowers: Vec<String> = o.lowers.iter().map(|p| p.display().to_string()).collect();
    let mut text = format!("lowerdir={}", lowers.join(":"));
    if let Some((upper, work)) = &o.upper {
        text.push_str(&format!(
            ",upperdir={},workdir={}",
            upper.display(),
            work.display()
        ));
    }
    CString::new(text).map_err(|_| LaunchError::OverlayPath(o.mountpoint.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(inside: u32, outside: u32, count: u32) -> IdMapRange {
        IdMapRange {
            inside,
            outside,
            count,
        }
    }

    #[test]
    fn the_container_root_is_the_outside_id_of_inside_zero() {
        assert_eq!(container_root_owner(None), None);
        let user = UserNamespace {
            uid_map: vec![range(1, 5000, 10), range(0, 100_000, 1)],
            gid_map: vec![range(0, 200_000, 65_536)],
            allow_setgroups: true,
        };
        assert_eq!(
            container_root_owner(Some(&user)),
            Some(Owner {
                uid: 100_000,
                gid: 200_000
            })
        );
        // Root unmapped: nothing to hand the payload to.
        let unmapped = UserNamespace {
            uid_map: vec![range(1, 5000, 10)],
            ..user
        };
        assert_eq!(container_root_owner(Some(&unmapped)), None);
    }
}
