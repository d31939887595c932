//! Parent, before clone: turn the plan into the resources and C strings the
//! child needs, so the child only issues syscalls. Everything that can fail
//! for a reason outside the container (a missing image, an unknown
//! filesystem, a busy loop device) fails here, with nothing to undo but
//! dropping `Prepared`.

use std::ffi::{CString, OsStr};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;

use super::LaunchError;
use crate::plan::Capability;
use crate::plan::defaults::KERNEL_MOUNTS;
use crate::plan::fstype::probe_path;
use crate::plan::{FsType, MountSource, NamespaceKind, Plan};
use crate::storage::ImageExport;
use crate::sys::{self, CapabilityMasks, ExecArgs, LoopDevice, TargetKind};
use nix::unistd::{Gid, Uid};

/// A user mount with its source resolved on the host side.
#[derive(Debug)]
pub(super) struct PreparedMount {
    /// What the child mounts.
    pub source: ResolvedSource,
    /// Whether the target is a directory or a file.
    pub target_kind: TargetKind,
}

/// The source of a mount as the child uses it.
#[derive(Debug)]
pub(super) enum ResolvedSource {
    /// Recursive bind of a host path.
    HostBind(PathBuf),
    /// Recursive bind of a path inside the container (resolved in the child).
    ContainerBind(PathBuf),
    /// tmpfs with this option string.
    Tmpfs(CString),
    /// A block device (a host device or an attached loop device).
    Filesystem {
        /// The device node mounted.
        device: PathBuf,
        /// Its filesystem.
        fs: FsType,
    },
}

/// Everything resolved before clone.
#[derive(Debug)]
pub(super) struct Prepared {
    /// One per `Plan::mounts`, same order.
    pub mounts: Vec<PreparedMount>,
    /// Loop devices attached for image mounts; only held (their fds keep
    /// the devices attached until the child has mounted them).
    #[expect(dead_code, reason = "held open until init runs, never read")]
    pub loops: Vec<LoopDevice>,
    /// Open namespace files, one per `Plan::namespaces.join`, same order.
    pub joins: Vec<(CloneFlags, OwnedFd)>,
    /// Flags for clone3.
    pub clone_flags: CloneFlags,
    /// argv and envp for execve, pointer arrays included.
    pub exec: ExecArgs,
    /// Credentials and capabilities, in the form the child applies them.
    pub credentials: Credentials,
    /// Upper bound of read-only remounts the child queues (user mounts,
    /// kernel filesystems, read-only paths), so its queue never grows.
    pub readonly_capacity: usize,
    /// Exports of non-raw images; they must outlive init (taken by the
    /// parent into `Running`). Declared before `cgroup`, which would kill
    /// their daemons.
    pub exports: Vec<ImageExport>,
    /// The domain's cgroup (taken by the parent once init runs; removed on
    /// failure when `Prepared` is dropped).
    pub cgroup: Option<super::resources::CgroupGuard>,
    /// The container's view of the cgroup filesystems, made by the child.
    pub cgroup_view: super::resources::CgroupView,
    /// overlayfs options for an overlay root.
    pub root_overlay: Option<CString>,
}

/// Where export points of non-raw images are made.
fn export_dir() -> PathBuf {
    std::env::temp_dir().join("domrun-exports")
}

/// Step 15's inputs, computed before clone: the child must not allocate
/// (the HashSets of the plan would), so sets become sorted lists and masks.
#[derive(Debug)]
pub(super) struct Credentials {
    /// Capabilities to drop from the bounding set, lowest first.
    pub bounding_drops: Vec<Capability>,
    /// Effective, permitted, inheritable, applied in one capset.
    pub masks: CapabilityMasks,
    /// Ambient capabilities to raise, lowest first.
    pub ambient: Vec<Capability>,
    /// `None` when setgroups is denied in the user namespace.
    pub groups: Option<Vec<Gid>>,
    /// Primary group.
    pub gid: Gid,
    /// User.
    pub uid: Uid,
}

fn sorted(caps: impl IntoIterator<Item = Capability>) -> Vec<Capability> {
    let mut caps: Vec<_> = caps.into_iter().collect();
    caps.sort_by_key(|c| c.index());
    caps
}

fn mask(caps: &crate::plan::CapsHashSet) -> u64 {
    caps.iter().fold(0, |mask, cap| mask | cap.bitmask())
}

/// Sorted lists, masks and ids for the child's credential step.
pub(super) fn credentials(plan: &Plan) -> Credentials {
    let wanted = &plan.capabilities;
    let supported = caps::runtime::thread_all_supported();
    let identity = &plan.process.identity;
    let setgroups_allowed = plan
        .namespaces
        .user
        .as_ref()
        .is_none_or(|u| u.allow_setgroups);
    Credentials {
        bounding_drops: sorted(
            supported
                .into_iter()
                .filter(|c| !wanted.bounding.contains(c)),
        ),
        masks: CapabilityMasks {
            effective: mask(&wanted.effective),
            permitted: mask(&wanted.permitted),
            inheritable: mask(&wanted.inheritable),
        },
        ambient: sorted(wanted.ambient.iter().copied()),
        groups: setgroups_allowed.then(|| {
            identity
                .supplementary_groups
                .iter()
                .map(|g| Gid::from_raw(*g))
                .collect()
        }),
        gid: Gid::from_raw(identity.gid),
        uid: Uid::from_raw(identity.uid),
    }
}

fn c_string(bytes: &OsStr) -> CString {
    // Plan::validate has rejected NUL bytes, so this cannot truncate; the
    // fallback keeps this total instead of panicking.
    CString::new(bytes.as_bytes()).unwrap_or_default()
}

fn clone_flag(kind: NamespaceKind) -> CloneFlags {
    match kind {
        NamespaceKind::Mount => CloneFlags::CLONE_NEWNS,
        NamespaceKind::Pid => CloneFlags::CLONE_NEWPID,
        NamespaceKind::Uts => CloneFlags::CLONE_NEWUTS,
        NamespaceKind::Ipc => CloneFlags::CLONE_NEWIPC,
        NamespaceKind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        NamespaceKind::Network => CloneFlags::CLONE_NEWNET,
        NamespaceKind::User => CloneFlags::CLONE_NEWUSER,
    }
}

/// Namespaces created by clone: mount, pid and cgroup always; uts and ipc
/// unless joined; net and user when asked for.
pub(super) fn clone_flags(plan: &Plan) -> CloneFlags {
    let mut flags =
        CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWCGROUP;
    for kind in [NamespaceKind::Uts, NamespaceKind::Ipc] {
        if !plan.joins(kind) {
            flags |= clone_flag(kind);
        }
    }
    if plan.namespaces.new_network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    if plan.namespaces.user.is_some() {
        flags |= CloneFlags::CLONE_NEWUSER;
    }
    flags
}

fn tmpfs_options(size_bytes: Option<u64>) -> CString {
    let text = match size_bytes {
        Some(size) => format!("mode=1777,size={size}"),
        None => "mode=1777".to_owned(),
    };
    CString::new(text).unwrap_or_default()
}

fn filesystem_of(path: &Path, given: Option<FsType>) -> Result<FsType, LaunchError> {
    match given {
        Some(fs) => Ok(fs),
        None => probe_path(path).map_err(LaunchError::ProbeFilesystem),
    }
}

/// Attaches `backing` to a loop device (autoclear) and returns the mount of
/// it; errors name `image`, the file the user gave.
fn loop_mount(
    backing: &Path,
    image: &Path,
    fs: FsType,
    readonly: bool,
    loops: &mut Vec<LoopDevice>,
) -> Result<PreparedMount, LaunchError> {
    let device = sys::attach_loop(backing, readonly).map_err(|source| LaunchError::AttachLoop {
        image: image.to_owned(),
        source,
    })?;
    let path = device.path.clone();
    loops.push(device);
    Ok(PreparedMount {
        source: ResolvedSource::Filesystem { device: path, fs },
        target_kind: TargetKind::Directory,
    })
}

/// Resolves sources, probes filesystems, attaches loop devices and opens
/// namespace files.
pub(super) fn prepare(plan: &Plan) -> Result<Prepared, LaunchError> {
    // Declared in the order that makes an early return release them
    // safely (locals drop in reverse): loop devices detach first, then the
    // exports stop cleanly, and the cgroup, which would SIGKILL the export
    // daemons in it, goes last. The cgroup is made first so helpers the
    // domain owns (image exports) are placed in it.
    let owner = super::resources::container_root_owner(plan.namespaces.user.as_ref());
    let (cgroup, cgroup_view) = super::resources::prepare_cgroup(plan.cgroup.as_ref(), owner)?;
    let mut exports = Vec::new();
    let mut mounts = Vec::with_capacity(plan.mounts.len());
    let mut loops = Vec::new();
    for step in &plan.mounts {
        let prepared = match &step.source {
            MountSource::HostBind { path } => {
                let meta = std::fs::metadata(path).map_err(|source| LaunchError::BindSource {
                    path: path.clone(),
                    source,
                })?;
                PreparedMount {
                    source: ResolvedSource::HostBind(path.clone()),
                    target_kind: if meta.is_dir() {
                        TargetKind::Directory
                    } else {
                        TargetKind::File
                    },
                }
            }
            MountSource::ContainerBind { path } => PreparedMount {
                source: ResolvedSource::ContainerBind(path.clone()),
                // Refined in the child once the source is opened.
                target_kind: TargetKind::Directory,
            },
            MountSource::Tmpfs { size_bytes } => PreparedMount {
                source: ResolvedSource::Tmpfs(tmpfs_options(*size_bytes)),
                target_kind: TargetKind::Directory,
            },
            MountSource::Block { device, fs } => PreparedMount {
                source: ResolvedSource::Filesystem {
                    device: device.clone(),
                    fs: filesystem_of(device, *fs)?,
                },
                target_kind: TargetKind::Directory,
            },
            MountSource::ExportedImage { file, format } => {
                let export =
                    ImageExport::start(file, format.as_str(), step.readonly, &export_dir())
                        .map_err(LaunchError::Export)?;
                let raw = export.path().to_owned();
                if let (Some(cg), Some(pid)) = (&cgroup, export.pid()) {
                    cg.add_helper(nix::unistd::Pid::from_raw(pid as i32))?;
                }
                exports.push(export);
                let fs = filesystem_of(&raw, None)?;
                loop_mount(&raw, file, fs, step.readonly, &mut loops)?
            }
            MountSource::Image { file, fs } => {
                let fs = filesystem_of(file, *fs)?;
                loop_mount(file, file, fs, step.readonly, &mut loops)?
            }
        };
        mounts.push(prepared);
    }
    let mut joins = Vec::with_capacity(plan.namespaces.join.len());
    for join in &plan.namespaces.join {
        let fd = nix::fcntl::open(
            &join.path,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|source| LaunchError::OpenNamespace {
            path: join.path.clone(),
            source,
        })?;
        joins.push((clone_flag(join.kind), fd));
    }
    let argv: Vec<CString> = plan.process.argv.iter().map(|a| c_string(a)).collect();
    let envp = plan
        .process
        .env
        .iter()
        .map(|(name, value)| {
            let mut pair = name.clone();
            pair.push("=");
            pair.push(value);
            c_string(&pair)
        })
        .collect::<Vec<CString>>();
    let root_overlay = match &plan.root.source {
        crate::plan::RootSource::Overlay(o) => Some(super::resources::overlay_options(o)?),
        _ => None,
    };
    let mut clone_flags = clone_flags(plan);
    if cgroup.is_some() {
        // The child unshares its cgroup namespace after the parent has
        // placed it, so the namespace's root is the domain's own group.
        clone_flags.remove(CloneFlags::CLONE_NEWCGROUP);
    }
    Ok(Prepared {
        // At most one entry per user, kernel and cgroup mount.
        readonly_capacity: plan.mounts.len() + KERNEL_MOUNTS.len() + cgroup_view.mounts.len(),
        mounts,
        loops,
        joins,
        clone_flags,
        exec: ExecArgs::new(argv, envp),
        credentials: credentials(plan),
        cgroup,
        cgroup_view,
        root_overlay,
        exports,
    })
}

/// The source of `plan.mounts[index]` as a human reads it, with the loop
/// device when there is one: `/dev/loop3 (from /srv/app.img)`.
pub(super) fn describe_source(plan: &Plan, prepared: Option<&Prepared>, index: usize) -> String {
    let resolved = prepared
        .and_then(|p| p.mounts.get(index))
        .map(|m| &m.source);
    match (plan.mounts.get(index).map(|m| &m.source), resolved) {
        (
            Some(MountSource::Image { file, .. }),
            Some(ResolvedSource::Filesystem { device, fs }),
        ) => {
            format!(
                "{} ({}, from {})",
                device.display(),
                fs.name(),
                file.display()
            )
        }
        (Some(MountSource::Block { device, .. }), Some(ResolvedSource::Filesystem { fs, .. })) => {
            format!("{} ({})", device.display(), fs.name())
        }
        (Some(MountSource::HostBind { path }), _) => format!("host {}", path.display()),
        (Some(MountSource::ContainerBind { path }), _) => format!("container {}", path.display()),
        (
            Some(MountSource::Tmpfs {
                size_bytes: Some(size),
            }),
            _,
        ) => format!("tmpfs ({size} bytes)"),
        (Some(MountSource::Tmpfs { size_bytes: None }), _) => "tmpfs".to_owned(),
        (Some(MountSource::Image { file, .. }), _) => format!("image {}", file.display()),
        (
            Some(MountSource::ExportedImage { file, format }),
            Some(ResolvedSource::Filesystem { device, fs }),
        ) => {
            format!(
                "{} ({}, {format} image {} exported by qemu-storage-daemon)",
                device.display(),
                fs.name(),
                file.display()
            )
        }
        (Some(MountSource::ExportedImage { file, format }), _) => {
            format!("{format} image {}", file.display())
        }
        (Some(MountSource::Block { device, .. }), _) => device.display().to_string(),
        (None, _) => format!("mount #{index}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{NamespaceJoin, RootSource, UserNamespace};

    #[test]
    fn clone_flags_follow_the_namespace_plan() {
        let mut plan = Plan::new(RootSource::SharedHost, vec!["/init".into()]);
        let always =
            CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWCGROUP;
        assert_eq!(
            clone_flags(&plan),
            always | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC
        );
        plan.namespaces.join.push(NamespaceJoin {
            kind: NamespaceKind::Uts,
            path: "/proc/1/ns/uts".into(),
        });
        plan.namespaces.new_network = true;
        plan.namespaces.user = Some(UserNamespace {
            uid_map: vec![],
            gid_map: vec![],
            allow_setgroups: false,
        });
        assert_eq!(
            clone_flags(&plan),
            always
                | CloneFlags::CLONE_NEWIPC
                | CloneFlags::CLONE_NEWNET
                | CloneFlags::CLONE_NEWUSER
        );
    }

    #[test]
    fn tmpfs_size_is_in_bytes() {
        assert_eq!(
            tmpfs_options(Some(1_048_576)).to_str(),
            Ok("mode=1777,size=1048576")
        );
        assert_eq!(tmpfs_options(None).to_str(), Ok("mode=1777"));
    }
}
