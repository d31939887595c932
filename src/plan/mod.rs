//! The `Plan`: everything a container start needs, owned, typed and resolved
//! before any clone.
//!
//! A `Plan` is produced by a front end (libvirt domain XML, OCI config.json)
//! and consumed by exactly one launcher (`crate::launch`). It holds no
//! stringly-typed policy: flags are enums, paths are `PathBuf`, ids are
//! numbers. Names that need resolving (user and group names) are resolved
//! before the plan is finished, with [`users::resolve_identity`].
//!
//! Invariants are checked by [`Plan::validate`]; the launcher calls it first,
//! so a front end cannot hand it a plan the child would trip over halfway.

pub mod defaults;
mod extended;
pub mod from_domain;
pub mod fstype;
mod mount;
pub mod network;
pub mod users;
mod validate;

use std::ffi::OsString;
use std::path::PathBuf;

pub use crate::domain::ImageFormat;
pub use caps::{Capability, CapsHashSet};
pub use extended::{
    BpfInstruction, CgroupDriver, CgroupExtras, ConsoleSize, DeviceAccess, DeviceNodeSpec,
    DeviceNodes, DeviceRule, DeviceType, FilesystemType, Hook, Hooks, HostNamespaces,
    HugepageLimit, IoDeviceLimit, IoLimit, MountFlag, MountFlagChange, MountIdMap, MountTable,
    PathMasking, Personality, Propagation, Rlimit, RlimitResource, SeccompFlag, SeccompProgram,
    SpecMount, SpecMountKind, Sysctl,
};
pub use from_domain::{DomainLookup, FromDomainError, Sources, TemplateProvider, plan_from_domain};
pub use fstype::FsType;
pub use mount::{mount_step, root_source};
pub use network::{NetDeviceKind, NetDevicePlan, NetPlanError};
pub use validate::PlanError;

/// Everything one container start needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Which namespaces to create and which to join.
    pub namespaces: Namespaces,
    /// The container's root filesystem.
    pub root: Root,
    /// User filesystems, mounted in this order after the root and before
    /// /proc, /sys and /dev. A later step may mount inside an earlier one.
    pub mounts: Vec<MountStep>,
    /// Hostname set inside the new UTS namespace; `None` keeps the inherited one.
    pub hostname: Option<OsString>,
    /// What is exec'd, with which environment, where and as whom.
    pub process: Process,
    /// Capability sets init starts with.
    pub capabilities: CapabilityPlan,
    /// Set `PR_SET_NO_NEW_PRIVS` before exec (setuid binaries and file
    /// capabilities then cannot raise privileges).
    pub no_new_privileges: bool,
    /// How init's stdio is connected.
    pub console: ConsoleMode,
    /// The cgroup init runs in; `None` leaves it in ours. Without limits to
    /// enforce, a host without usable cgroups just gets no group.
    pub cgroup: Option<CgroupPlan>,
    /// Network devices set up in the new network namespace between clone
    /// and release (`crate::net`); empty with no `<interface>`/net hostdev.
    /// Non-empty requires `namespaces.new_network`.
    pub network: Vec<NetDevicePlan>,
    /// NIS domain name set in the new UTS namespace; `None` keeps it.
    pub domainname: Option<OsString>,
    /// Resource limits set on init before exec; empty inherits ours.
    pub rlimits: Vec<Rlimit>,
    /// `/proc/self/oom_score_adj` of init; `None` inherits ours.
    pub oom_score_adj: Option<i32>,
    /// File mode creation mask of init; `None` inherits ours.
    pub umask: Option<u32>,
    /// Window size of init's pty; `None` copies the caller's terminal.
    pub console_size: Option<ConsoleSize>,
    /// Written under /proc/sys inside the container, in order.
    pub sysctls: Vec<Sysctl>,
    /// Which mounts exist besides the root (default: `mounts` then the
    /// launcher's kernel mounts).
    pub mount_table: MountTable,
    /// Paths hidden or read-only (default: libvirt's masked list).
    pub path_masking: PathMasking,
    /// Device nodes in /dev (default: the standard set).
    pub device_nodes: DeviceNodes,
    /// Propagation of the root mount; `None` is private (today's).
    pub rootfs_propagation: Option<Propagation>,
    /// A seccomp program loaded just before exec; `None` loads none.
    pub seccomp: Option<SeccompProgram>,
    /// Hooks run by the runtime; empty by default.
    pub hooks: Hooks,
    /// `personality(2)` of init; `None` keeps ours.
    pub personality: Option<Personality>,
}

/// Namespaces of the container.
///
/// Mount, PID, IPC, UTS and cgroup namespaces are always new (unless IPC or UTS
/// appear in `join`). The network namespace is new only when `new_network` is
/// set and it is not joined; otherwise the host's is shared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Namespaces {
    /// Create a new, empty network namespace (only loopback).
    pub new_network: bool,
    /// Create a user namespace with these id maps; `None` runs in the host's.
    pub user: Option<UserNamespace>,
    /// Existing namespaces to enter, e.g. `/proc/1234/ns/net` or `/run/netns/web`.
    pub join: Vec<NamespaceJoin>,
    /// Mount, PID, IPC, UTS or cgroup namespaces kept from the caller
    /// rather than created (a runtime-spec config that does not list them);
    /// empty for the XML front end.
    pub keep_host: HostNamespaces,
}

/// Kinds of namespace the plan can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamespaceKind {
    /// Mount table.
    Mount,
    /// Process ids.
    Pid,
    /// Hostname and NIS domain.
    Uts,
    /// System V IPC and POSIX message queues.
    Ipc,
    /// cgroup root view.
    Cgroup,
    /// Network stack.
    Network,
    /// User and group ids, capabilities.
    User,
}

impl NamespaceKind {
    /// The name used under `/proc/PID/ns/`.
    pub const fn proc_name(self) -> &'static str {
        match self {
            Self::Mount => "mnt",
            Self::Pid => "pid",
            Self::Uts => "uts",
            Self::Ipc => "ipc",
            Self::Cgroup => "cgroup",
            Self::Network => "net",
            Self::User => "user",
        }
    }

    /// Kinds that may be joined: the ones libvirt's `<lxc:namespace>`
    /// offers (sharenet, shareipc, shareuts). Joining mount/pid/user would
    /// need a second process and is not supported.
    pub const JOINABLE: [NamespaceKind; 3] = [Self::Network, Self::Ipc, Self::Uts];
}

/// An existing namespace to `setns` into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceJoin {
    /// Which namespace the file is.
    pub kind: NamespaceKind,
    /// A namespace file: `/proc/PID/ns/KIND` or a bind-mounted one such as
    /// `/run/netns/NAME`. Opened by the parent before clone.
    pub path: PathBuf,
}

/// A new user namespace and its id maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNamespace {
    /// Lines of `/proc/PID/uid_map`.
    pub uid_map: Vec<IdMapRange>,
    /// Lines of `/proc/PID/gid_map`.
    pub gid_map: Vec<IdMapRange>,
    /// Written to `/proc/PID/setgroups` before the gid map. `false` writes
    /// "deny", which forbids `setgroups` in the container (and so requires an
    /// empty supplementary group list).
    pub allow_setgroups: bool,
}

/// One line of an id map: `inside outside count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapRange {
    /// First id inside the container.
    pub inside: u32,
    /// First id on the host.
    pub outside: u32,
    /// Number of ids mapped.
    pub count: u32,
}

/// The container's root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// Where the root comes from.
    pub source: RootSource,
    /// Make the root mount read-only (done last, after every mount point
    /// below it exists). Mounts below it keep their own setting.
    pub readonly: bool,
}

/// Where the container's `/` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// A host directory that becomes `/` (bound onto itself, then `pivot_root`).
    Directory(PathBuf),
    /// No filesystem targets `/`: the container sees the host's tree through a
    /// private copy of the mount table, with its own /proc, /sys and /dev
    /// mounted over the host's (libvirt LXC's behaviour without a root).
    SharedHost,
    /// An overlayfs (a template and a per-domain writable layer), mounted
    /// by the child inside its own mount namespace, then used as a directory.
    Overlay(OverlayRoot),
}

/// An overlayfs root: read-only lower layers (topmost first) and, unless the
/// root is read-only, an upper layer with its work directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayRoot {
    pub lowers: Vec<PathBuf>,
    /// `(upperdir, workdir)`.
    pub upper: Option<(PathBuf, PathBuf)>,
    /// An empty host directory the overlay is mounted on (in the child's
    /// mount namespace only).
    pub mountpoint: PathBuf,
}

/// The domain's cgroup: created and configured before clone, init placed
/// in it before it runs, removed when init is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPlan {
    /// Parent group (`<resource><partition>`, default `/machine`).
    pub partition: String,
    /// The group's own name.
    pub name: String,
    pub settings: crate::cgroup::CgroupSettings,
    /// Knobs beyond `settings` (runtime-spec resources); default for XML.
    pub extras: CgroupExtras,
}

/// One user filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountStep {
    /// What is mounted.
    pub source: MountSource,
    /// Absolute path inside the container. Resolved inside the container root:
    /// symlinks in it can never lead outside. Missing directories are created.
    pub target: PathBuf,
    /// Mount read-only.
    pub readonly: bool,
}

impl MountStep {
    /// A tmpfs at `target` (`size_bytes: None` is the kernel default).
    pub fn tmpfs(target: impl Into<PathBuf>, size_bytes: Option<u64>) -> Self {
        Self {
            source: MountSource::Tmpfs { size_bytes },
            target: target.into(),
            readonly: false,
        }
    }

    /// A raw image `file` on a loop device at `target`, filesystem probed
    /// unless given.
    pub fn image(
        file: impl Into<PathBuf>,
        fs: Option<FsType>,
        target: impl Into<PathBuf>,
        readonly: bool,
    ) -> Self {
        Self {
            source: MountSource::Image {
                file: file.into(),
                fs,
            },
            target: target.into(),
            readonly,
        }
    }
}

/// What a [`MountStep`] mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A host directory or file, bound recursively.
    HostBind {
        /// Absolute host path.
        path: PathBuf,
    },
    /// A path inside the container (resolved inside its root), bound recursively.
    ContainerBind {
        /// Absolute path inside the container.
        path: PathBuf,
    },
    /// A fresh tmpfs, always `nosuid,nodev`.
    Tmpfs {
        /// Size limit in bytes; `None` is the kernel default (half of RAM).
        size_bytes: Option<u64>,
    },
    /// A host block device.
    Block {
        /// Absolute path of the device node.
        device: PathBuf,
        /// Filesystem; `None` probes the superblock before clone.
        fs: Option<FsType>,
    },
    /// A raw image file, attached to a loop device (autoclear; read-only when
    /// the step is) before clone.
    Image {
        /// Absolute host path of the image.
        file: PathBuf,
        /// Filesystem; `None` probes the superblock before clone.
        fs: Option<FsType>,
    },
    /// An image in a format the kernel cannot attach (qcow2, …): exported
    /// as a raw file by qemu-storage-daemon over FUSE, then treated as
    /// [`MountSource::Image`]. The export lives as long as init.
    ExportedImage {
        /// Absolute host path of the image.
        file: PathBuf,
        /// Its format (never raw: that is [`MountSource::Image`]).
        format: ImageFormat,
    },
}

/// The process exec'd as the container's init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// `argv[0]` is the absolute path of init inside the container.
    pub argv: Vec<OsString>,
    /// Exactly this environment, in order (nothing is inherited).
    pub env: Vec<(OsString, OsString)>,
    /// Absolute working directory inside the container.
    pub cwd: PathBuf,
    /// Numeric ids init runs as.
    pub identity: Identity,
}

/// Numeric credentials (ids as seen inside the container).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups, set with `setgroups` (empty clears them).
    pub supplementary_groups: Vec<u32>,
}

/// The capability sets init starts with.
///
/// The kernel's exec rules apply: for uid 0, the effective and permitted sets
/// after exec are the bounding set (plus inheritable); for another uid only
/// the ambient set survives exec. `effective`, `permitted` and `inheritable`
/// are what the child sets just before exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityPlan {
    /// Capabilities that can ever be gained again; everything else is dropped
    /// from the bounding set.
    pub bounding: CapsHashSet,
    /// Effective set before exec.
    pub effective: CapsHashSet,
    /// Permitted set before exec.
    pub permitted: CapsHashSet,
    /// Inheritable set before exec.
    pub inheritable: CapsHashSet,
    /// Ambient set (must be a subset of permitted and inheritable).
    pub ambient: CapsHashSet,
}

impl CapabilityPlan {
    /// libvirt LXC's default: every capability this process may grant,
    /// minus [`defaults::LIBVIRT_DROPPED_CAPABILITIES`], in the bounding,
    /// effective and permitted sets; inheritable and ambient empty.
    pub fn libvirt_default() -> Self {
        Self::all_except(defaults::LIBVIRT_DROPPED_CAPABILITIES)
    }

    /// Every capability this process may grant (its permitted set, which for
    /// root is everything its own bounding set allows) except `dropped`, in
    /// the bounding, effective and permitted sets.
    ///
    /// Starting from the launcher's own set rather than the kernel's list
    /// matters when the launcher itself runs confined (a container, a
    /// sandbox): a capability it lacks cannot be handed on, and capset would
    /// refuse the whole set.
    pub fn all_except(dropped: &[Capability]) -> Self {
        let mut kept = caps::runtime::thread_all_supported();
        for cap in dropped {
            kept.remove(cap);
        }
        let mut plan = Self {
            bounding: kept.clone(),
            effective: kept.clone(),
            permitted: kept,
            inheritable: CapsHashSet::new(),
            ambient: CapsHashSet::new(),
        };
        plan.limit_to_held();
        plan
    }

    /// Removes from every set what this process does not hold itself (its
    /// permitted set): nobody can grant what they lack, and capset would
    /// refuse the whole set (e.g. CAP_SYS_RESOURCE in some VMs).
    pub fn limit_to_held(&mut self) {
        let Ok(held) = caps::read(None, caps::CapSet::Permitted) else {
            return;
        };
        for set in [
            &mut self.bounding,
            &mut self.effective,
            &mut self.permitted,
            &mut self.inheritable,
            &mut self.ambient,
        ] {
            set.retain(|cap| held.contains(cap));
        }
    }

    /// Exactly `kept` in the bounding, effective and permitted sets.
    pub fn only(kept: &[Capability]) -> Self {
        let kept: CapsHashSet = kept.iter().copied().collect();
        Self {
            bounding: kept.clone(),
            effective: kept.clone(),
            permitted: kept,
            inheritable: CapsHashSet::new(),
            ambient: CapsHashSet::new(),
        }
    }
}

/// How init's stdin/stdout/stderr are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleMode {
    /// Init gets the launcher's fds 0-2 unchanged.
    Inherit,
    /// Init gets a new pty (session leader, controlling terminal, bound on
    /// /dev/console); the launcher relays it to its own stdio.
    Pty,
    /// `Pty` when the launcher's stdin is a terminal, else `Inherit`.
    Auto,
}

impl Plan {
    /// A minimal plan: run `argv` in `root` with libvirt's default capabilities,
    /// uid 0, cwd `/`, an empty environment, inherited stdio and no user mounts.
    /// Front ends start from this and fill in fields.
    pub fn new(root: RootSource, argv: Vec<OsString>) -> Self {
        Self {
            namespaces: Namespaces::default(),
            root: Root {
                source: root,
                readonly: false,
            },
            mounts: Vec::new(),
            hostname: None,
            process: Process {
                argv,
                env: Vec::new(),
                cwd: PathBuf::from("/"),
                identity: Identity::default(),
            },
            capabilities: CapabilityPlan::libvirt_default(),
            no_new_privileges: false,
            console: ConsoleMode::Inherit,
            cgroup: None,
            network: Vec::new(),
            domainname: None,
            rlimits: Vec::new(),
            oom_score_adj: None,
            umask: None,
            console_size: None,
            sysctls: Vec::new(),
            mount_table: MountTable::Libvirt,
            path_masking: PathMasking::Libvirt,
            device_nodes: DeviceNodes::Libvirt,
            rootfs_propagation: None,
            seccomp: None,
            hooks: Hooks::default(),
            personality: None,
        }
    }

    /// Checks the plan's invariants; see [`PlanError`].
    pub fn validate(&self) -> Result<(), PlanError> {
        validate::validate(self)
    }

    /// Whether `kind` is joined rather than created or shared.
    pub fn joins(&self, kind: NamespaceKind) -> bool {
        self.namespaces.join.iter().any(|j| j.kind == kind)
    }
}
