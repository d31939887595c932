//! Whole-plan checks, run by the launcher before it touches anything.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{Capability, MountSource, NamespaceKind, Plan, RootSource};

/// Longest hostname the kernel accepts (`__NEW_UTS_LEN`).
const HOSTNAME_MAX: usize = 64;

/// A plan the launcher refuses, with the offending value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// `argv` is empty: there is no init to exec.
    #[error("the init command line is empty")]
    EmptyArgv,
    /// `argv[0]` must be an absolute path inside the container.
    #[error("init path {0:?} is not absolute")]
    InitNotAbsolute(PathBuf),
    /// The working directory must be absolute.
    #[error("working directory {0:?} is not absolute")]
    CwdNotAbsolute(PathBuf),
    /// A string handed to the kernel contains a NUL byte.
    #[error("{what} contains a NUL byte: {value:?}")]
    InteriorNul {
        /// Which field (argv, env, hostname, path).
        what: &'static str,
        /// The offending value.
        value: PathBuf,
    },
    /// An environment variable name is empty or contains `=`.
    #[error("environment variable name {0:?} is empty or contains '='")]
    BadEnvName(PathBuf),
    /// The hostname is empty or longer than the kernel allows.
    #[error("hostname {0:?} is empty or longer than 64 bytes")]
    BadHostname(PathBuf),
    /// A host path (root directory, bind source, device, image) is relative.
    #[error("host path {0:?} is not absolute")]
    HostPathNotAbsolute(PathBuf),
    /// A mount target or container-side source is relative.
    #[error("container path {0:?} is not absolute")]
    ContainerPathNotAbsolute(PathBuf),
    /// A mount step targets `/`; the root is `Plan::root`.
    #[error("mount step {index} targets / (the root is set by the plan's root, not a mount step)")]
    MountOnRoot {
        /// Index in `Plan::mounts`.
        index: usize,
    },
    /// A tmpfs with a size limit of zero bytes.
    #[error("tmpfs on {0:?} has a size limit of 0 bytes")]
    ZeroTmpfs(PathBuf),
    /// A namespace kind that cannot be joined.
    #[error("joining a {} namespace is not supported (only net, ipc, uts)", .0.proc_name())]
    NotJoinable(NamespaceKind),
    /// The same namespace kind is joined twice.
    #[error("the {} namespace is joined twice", .0.proc_name())]
    JoinedTwice(NamespaceKind),
    /// A new network namespace was asked for and one is joined too.
    #[error("a network namespace cannot be both created and joined")]
    NetworkCreatedAndJoined,
    /// Network devices were planned without a new network namespace.
    #[error("network devices need a new network namespace (namespaces.new_network)")]
    DevicesWithoutNetworkNamespace,
    /// A user namespace with an empty uid or gid map.
    #[error("the user namespace has an empty {0} map")]
    EmptyIdMap(&'static str),
    /// Supplementary groups were asked for while setgroups is denied.
    #[error("supplementary groups {0:?} need setgroups, which the user namespace denies")]
    GroupsWithSetgroupsDenied(Vec<u32>),
    /// An ambient capability not in both permitted and inheritable.
    #[error("ambient capability {0} is not in both the permitted and inheritable sets")]
    AmbientNotAllowed(Capability),
    /// An effective capability not in permitted.
    #[error("effective capability {0} is not in the permitted set")]
    EffectiveNotPermitted(Capability),
}

pub(super) fn validate(plan: &Plan) -> Result<(), PlanError> {
    let argv0 = plan.process.argv.first().ok_or(PlanError::EmptyArgv)?;
    if !Path::new(argv0).is_absolute() {
        return Err(PlanError::InitNotAbsolute(argv0.into()));
    }
    for arg in &plan.process.argv {
        no_nul("argv", arg)?;
    }
    for (name, value) in &plan.process.env {
        no_nul("env", name)?;
        no_nul("env", value)?;
        if name.is_empty() || name.as_bytes().contains(&b'=') {
            return Err(PlanError::BadEnvName(name.into()));
        }
    }
    container_path(&plan.process.cwd)?;
    if !plan.process.cwd.is_absolute() {
        return Err(PlanError::CwdNotAbsolute(plan.process.cwd.clone()));
    }
    if let Some(name) = &plan.hostname {
        no_nul("hostname", name)?;
        if name.is_empty() || name.len() > HOSTNAME_MAX {
            return Err(PlanError::BadHostname(name.into()));
        }
    }
    match &plan.root.source {
        RootSource::Directory(dir) => host_path(dir)?,
        RootSource::Overlay(o) => {
            host_path(&o.mountpoint)?;
            for dir in o
                .lowers
                .iter()
                .chain(o.upper.iter().flat_map(|(u, w)| [u, w]))
            {
                host_path(dir)?;
            }
        }
        RootSource::SharedHost => {}
    }
    for (index, step) in plan.mounts.iter().enumerate() {
        container_path(&step.target)?;
        if step.target.components().count() == 1 {
            return Err(PlanError::MountOnRoot { index });
        }
        match &step.source {
            MountSource::HostBind { path } => host_path(path)?,
            MountSource::ContainerBind { path } => container_path(path)?,
            MountSource::Tmpfs { size_bytes } => {
                if *size_bytes == Some(0) {
                    return Err(PlanError::ZeroTmpfs(step.target.clone()));
                }
            }
            MountSource::Block { device, .. } => host_path(device)?,
            MountSource::Image { file, .. } => host_path(file)?,
            MountSource::ExportedImage { file, .. } => host_path(file)?,
        }
    }
    validate_namespaces(plan)?;
    validate_capabilities(plan)
}

fn validate_namespaces(plan: &Plan) -> Result<(), PlanError> {
    let mut seen = Vec::new();
    for join in &plan.namespaces.join {
        if !NamespaceKind::JOINABLE.contains(&join.kind) {
            return Err(PlanError::NotJoinable(join.kind));
        }
        if seen.contains(&join.kind) {
            return Err(PlanError::JoinedTwice(join.kind));
        }
        seen.push(join.kind);
        host_path(&join.path)?;
    }
    if plan.namespaces.new_network && seen.contains(&NamespaceKind::Network) {
        return Err(PlanError::NetworkCreatedAndJoined);
    }
    if !plan.network.is_empty() && !plan.namespaces.new_network {
        return Err(PlanError::DevicesWithoutNetworkNamespace);
    }
    if let Some(user) = &plan.namespaces.user {
        if user.uid_map.is_empty() {
            return Err(PlanError::EmptyIdMap("uid"));
        }
        if user.gid_map.is_empty() {
            return Err(PlanError::EmptyIdMap("gid"));
        }
        let groups = &plan.process.identity.supplementary_groups;
        if !user.allow_setgroups && !groups.is_empty() {
            return Err(PlanError::GroupsWithSetgroupsDenied(groups.clone()));
        }
    }
    Ok(())
}

fn validate_capabilities(plan: &Plan) -> Result<(), PlanError> {
    let caps = &plan.capabilities;
    // Sorted so the error names the same capability every time.
    let mut ambient: Vec<_> = caps.ambient.iter().copied().collect();
    ambient.sort_by_key(|c| c.index());
    for cap in ambient {
        if !caps.permitted.contains(&cap) || !caps.inheritable.contains(&cap) {
            return Err(PlanError::AmbientNotAllowed(cap));
        }
    }
    let mut effective: Vec<_> = caps.effective.iter().copied().collect();
    effective.sort_by_key(|c| c.index());
    for cap in effective {
        if !caps.permitted.contains(&cap) {
            return Err(PlanError::EffectiveNotPermitted(cap));
        }
    }
    Ok(())
}

fn no_nul(what: &'static str, value: &OsStr) -> Result<(), PlanError> {
    if value.as_bytes().contains(&0) {
        return Err(PlanError::InteriorNul {
            what,
            value: value.into(),
        });
    }
    Ok(())
}

fn host_path(path: &Path) -> Result<(), PlanError> {
    no_nul("path", path.as_os_str())?;
    if !path.is_absolute() {
        return Err(PlanError::HostPathNotAbsolute(path.to_path_buf()));
    }
    Ok(())
}

fn container_path(path: &Path) -> Result<(), PlanError> {
    no_nul("path", path.as_os_str())?;
    if !path.is_absolute() {
        return Err(PlanError::ContainerPathNotAbsolute(path.to_path_buf()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{MountStep, NamespaceJoin};

    fn plan() -> Plan {
        Plan::new(RootSource::SharedHost, vec!["/bin/sh".into()])
    }

    #[test]
    fn minimal_plan_is_valid() {
        assert_eq!(plan().validate(), Ok(()));
    }

    #[test]
    fn rejects_relative_init_and_empty_argv() {
        let mut p = plan();
        p.process.argv = vec!["sh".into()];
        assert_eq!(p.validate(), Err(PlanError::InitNotAbsolute("sh".into())));
        p.process.argv.clear();
        assert_eq!(p.validate(), Err(PlanError::EmptyArgv));
    }

    #[test]
    fn rejects_mount_on_root_and_relative_target() {
        let mut p = plan();
        p.mounts.push(MountStep {
            source: MountSource::Tmpfs { size_bytes: None },
            target: "/".into(),
            readonly: false,
        });
        assert_eq!(p.validate(), Err(PlanError::MountOnRoot { index: 0 }));
        p.mounts[0].target = "tmp".into();
        assert_eq!(
            p.validate(),
            Err(PlanError::ContainerPathNotAbsolute("tmp".into()))
        );
    }

    #[test]
    fn rejects_bad_joins() {
        let mut p = plan();
        p.namespaces.join.push(NamespaceJoin {
            kind: NamespaceKind::Pid,
            path: "/proc/1/ns/pid".into(),
        });
        assert_eq!(
            p.validate(),
            Err(PlanError::NotJoinable(NamespaceKind::Pid))
        );
        p.namespaces.join[0].kind = NamespaceKind::Network;
        p.namespaces.new_network = true;
        assert_eq!(p.validate(), Err(PlanError::NetworkCreatedAndJoined));
    }

    #[test]
    fn rejects_bad_env_name() {
        let mut p = plan();
        p.process.env.push(("A=B".into(), "c".into()));
        assert_eq!(p.validate(), Err(PlanError::BadEnvName("A=B".into())));
    }

    #[test]
    fn rejects_ambient_outside_inheritable() {
        let mut p = plan();
        p.capabilities.ambient.insert(Capability::CAP_CHOWN);
        assert_eq!(
            p.validate(),
            Err(PlanError::AmbientNotAllowed(Capability::CAP_CHOWN))
        );
    }
}
