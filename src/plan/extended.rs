//! Plan fields a runtime-spec front end needs and libvirt's XML does not
//! express: resource limits of init, sysctls, an explicit mount table,
//! masked paths and device nodes, seccomp, hooks, personality, cgroup
//! knobs beyond [`crate::cgroup::CgroupSettings`].
//!
//! Every field has a default that is exactly what the launcher does today
//! for a domain (the `Libvirt` variants, empty lists, `None`), so the XML
//! front end never sets them and its plans are unchanged. The OCI front end
//! (`crate::oci::spec`) fills them; the launcher honours them in phase 2 of
//! issue 12 (see `docs/oci.md` for which are honoured already).

use std::path::PathBuf;
use std::time::Duration;

use super::{IdMapRange, NamespaceKind};

/// A `setrlimit` resource, one per `RLIMIT_*` constant (names as the
/// runtime-spec spells them, `RLIMIT_NOFILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RlimitResource {
    As,
    Core,
    Cpu,
    Data,
    Fsize,
    Locks,
    Memlock,
    Msgqueue,
    Nice,
    Nofile,
    Nproc,
    Rss,
    Rtprio,
    Rttime,
    Sigpending,
    Stack,
}

/// One resource limit set on init before exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: RlimitResource,
    /// Soft limit (`u64::MAX` is `RLIM_INFINITY`).
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// A console window size (`TIOCSWINSZ` on the container's pty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleSize {
    pub rows: u16,
    pub columns: u16,
}

/// One sysctl written under `/proc/sys` inside the container's namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    /// Dotted kernel name (`net.ipv4.ip_forward`); the launcher writes
    /// `/proc/sys/net/ipv4/ip_forward`. Checked to stay under /proc/sys.
    pub key: String,
    /// The value, written as is (the kernel parses it).
    pub value: String,
}

/// Which mounts the container gets besides its root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MountTable {
    /// Today's behaviour: the plan's `mounts` (user filesystems) then the
    /// launcher's kernel mounts (`defaults::KERNEL_MOUNTS`: /proc, /sys,
    /// /dev, /dev/pts, /dev/shm, …).
    #[default]
    Libvirt,
    /// Exactly these, in order, instead of both (`config.json` `mounts`,
    /// which list proc, sysfs, devpts, … themselves).
    Listed(Vec<SpecMount>),
}

/// One mount of an explicit [`MountTable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecMount {
    /// Absolute path inside the container (resolved inside its root).
    pub destination: PathBuf,
    /// What is mounted.
    pub kind: SpecMountKind,
    /// Source: a host path for binds, the device or a label for filesystems
    /// (`proc`, `tmpfs`, `/dev/sdb1`); `None` when the spec gives none.
    pub source: Option<PathBuf>,
    /// Flags set (`ro`, `nosuid`, …) and cleared (`rw`, `suid`, …).
    pub flags: Vec<MountFlagChange>,
    /// Propagation of the new mount (`rprivate`, `shared`, …).
    pub propagation: Option<Propagation>,
    /// Attributes applied recursively with `mount_setattr` (`rro`, `rnosuid`).
    pub recursive: Vec<MountFlagChange>,
    /// Filesystem-specific data (`mode=755`, `size=65536k`, `newinstance`),
    /// passed to the kernel joined with commas.
    pub data: Vec<String>,
    /// An id-mapped mount (`idmap`, or mount-level uid/gid mappings).
    pub idmap: Option<MountIdMap>,
}

/// What a [`SpecMount`] mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecMountKind {
    /// A bind of `source`; `recursive` for `rbind`.
    Bind { recursive: bool },
    /// A new filesystem of this type.
    Filesystem(FilesystemType),
}

/// The filesystem types of runtime-spec bundles, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesystemType {
    Proc,
    Sysfs,
    Tmpfs,
    Devpts,
    Mqueue,
    Cgroup,
    Cgroup2,
    /// Any other type the kernel knows (`overlay`, `ext4`, `fuse.x`, …).
    Other(String),
}

impl FilesystemType {
    /// The named types, both directions in one table.
    pub const NAMES: &[(FilesystemType, &'static str)] = &[
        (Self::Proc, "proc"),
        (Self::Sysfs, "sysfs"),
        (Self::Tmpfs, "tmpfs"),
        (Self::Devpts, "devpts"),
        (Self::Mqueue, "mqueue"),
        (Self::Cgroup, "cgroup"),
        (Self::Cgroup2, "cgroup2"),
    ];

    /// The type for the name `mount(2)` takes.
    pub fn from_name(name: &str) -> FilesystemType {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map_or_else(|| Self::Other(name.to_owned()), |(t, _)| t.clone())
    }
}

/// A per-mount flag (`MS_*` or `MOUNT_ATTR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MountFlag {
    ReadOnly,
    NoSuid,
    NoDev,
    NoExec,
    Synchronous,
    DirSync,
    Remount,
    Mandlock,
    NoAtime,
    NoDirAtime,
    Relatime,
    StrictAtime,
    LazyTime,
    NoSymfollow,
}

/// A flag set or cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountFlagChange {
    pub flag: MountFlag,
    /// `true` sets it (`ro`), `false` clears it (`rw`).
    pub set: bool,
}

/// Mount propagation (`mount --make-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Private,
    Shared,
    Slave,
    Unbindable,
    /// The same, applied to every mount below too (`r…`).
    RecursivePrivate,
    RecursiveShared,
    RecursiveSlave,
    RecursiveUnbindable,
}

/// The id maps of an id-mapped mount (`mount_setattr(MOUNT_ATTR_IDMAP)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountIdMap {
    /// Maps given with the mount; empty uses the container's user namespace.
    pub uid_map: Vec<IdMapRange>,
    pub gid_map: Vec<IdMapRange>,
    /// `ridmap`: applied to the whole bound tree.
    pub recursive: bool,
}

/// Paths hidden or made read-only inside the container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PathMasking {
    /// Today's behaviour: `defaults::MASKED_PATHS`.
    #[default]
    Libvirt,
    /// Exactly these (`linux.maskedPaths`, `linux.readonlyPaths`).
    Listed {
        /// Covered by /dev/null (files) or an empty read-only tmpfs (dirs).
        masked: Vec<PathBuf>,
        /// Bound onto themselves read-only.
        readonly: Vec<PathBuf>,
    },
}

/// Device nodes created in the container's /dev.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeviceNodes {
    /// Today's behaviour: `defaults::DEVICES` and the /dev symlinks.
    #[default]
    Libvirt,
    /// The standard set plus these (`linux.devices`), as runtime-spec
    /// requires of every runtime.
    StandardPlus(Vec<DeviceNodeSpec>),
}

/// A device type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    Char,
    Block,
    Fifo,
}

/// One device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNodeSpec {
    /// Absolute path inside the container.
    pub path: PathBuf,
    pub kind: DeviceType,
    pub major: u64,
    pub minor: u64,
    /// Permission bits; `None` is 0666 as runc uses.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// A compiled seccomp program: the parent compiles, the child only loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompProgram {
    /// Filters in load order; the kernel runs every one and the most
    /// restrictive result wins (see `crate::oci::seccomp`).
    pub filters: Vec<Vec<BpfInstruction>>,
    /// `seccomp(2)` flags.
    pub flags: Vec<SeccompFlag>,
}

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInstruction {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// A `SECCOMP_FILTER_FLAG_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeccompFlag {
    Log,
    SpecAllow,
    WaitKillableRecv,
}

/// Hooks run by the runtime around the container's life.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hooks {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub create_container: Vec<Hook>,
    pub start_container: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

impl Hooks {
    /// Whether no hook is set.
    pub fn is_empty(&self) -> bool {
        [
            &self.prestart,
            &self.create_runtime,
            &self.create_container,
            &self.start_container,
            &self.poststart,
            &self.poststop,
        ]
        .iter()
        .all(|h| h.is_empty())
    }
}

/// One hook: the state JSON on its stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Absolute host path of the program.
    pub path: PathBuf,
    /// Its argv (`args[0]` included, as the spec has it).
    pub args: Vec<String>,
    /// Exactly this environment (`KEY=VALUE`).
    pub env: Vec<String>,
    /// Killed after this long.
    pub timeout: Option<Duration>,
}

/// The execution domain of init (`personality(2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// `PER_LINUX`.
    Linux,
    /// `PER_LINUX32` (32-bit `uname -m`).
    Linux32,
}

/// cgroup knobs of a runtime-spec `linux.resources` beyond
/// [`crate::cgroup::CgroupSettings`] (which the launcher already applies).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupExtras {
    /// Who owns the group: cgroupfs directly (today) or systemd (a scope
    /// unit, `--systemd-cgroup`).
    pub driver: CgroupDriver,
    /// `pids.max`; `None` leaves it, `Some(None)` writes `max`.
    pub pids_max: Option<Option<u64>>,
    /// `cgroupsPath` was relative: the group is below the caller's own
    /// cgroup rather than below the hierarchy's root.
    pub relative: bool,
    /// `memory.swappiness` (v1 only).
    pub memory_swappiness: Option<u64>,
    /// `memory.oom_control` (v1) — disable the OOM killer.
    pub disable_oom_killer: bool,
    /// `cpu.idle` (v2).
    pub cpu_idle: Option<i64>,
    /// `cpu.max.burst` (µs).
    pub cpu_burst_us: Option<u64>,
    /// `cpu.rt_runtime_us`, `cpu.rt_period_us` (v1).
    pub cpu_realtime: Option<(Option<i64>, Option<u64>)>,
    /// Per-device block I/O by device number (the spec names devices by
    /// `major:minor`, not by path as `IoSettings` does).
    pub io_devices: Vec<IoDeviceLimit>,
    /// `hugetlb.<size>.limit_in_bytes` / `.max`.
    pub hugepages: Vec<HugepageLimit>,
    /// `net_cls.classid`.
    pub net_class_id: Option<u32>,
    /// `net_prio.ifpriomap`: (interface, priority).
    pub net_priorities: Vec<(String, u32)>,
    /// Raw v2 files (`linux.resources.unified`): name → value, sorted.
    pub unified: Vec<(String, String)>,
    /// The device cgroup, in order (v1 `devices.allow`/`deny`, v2 eBPF).
    pub device_rules: Vec<DeviceRule>,
}

/// How the cgroup is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CgroupDriver {
    #[default]
    Cgroupfs,
    /// A transient systemd scope; the plan's partition is the slice path.
    Systemd,
}

/// A per-device block I/O setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoDeviceLimit {
    pub major: u64,
    pub minor: u64,
    pub limit: IoLimit,
}

/// What is limited on one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoLimit {
    Weight(u16),
    LeafWeight(u16),
    ReadBps(u64),
    WriteBps(u64),
    ReadIops(u64),
    WriteIops(u64),
}

/// One hugetlb limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HugepageLimit {
    /// Page size as the cgroup files spell it (`2MB`, `1GB`).
    pub page_size: String,
    pub limit_bytes: u64,
}

/// One device cgroup rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// `None` is every type (`a`).
    pub kind: Option<DeviceType>,
    /// `None` is every number (`*`).
    pub major: Option<u64>,
    pub minor: Option<u64>,
    pub access: DeviceAccess,
}

/// `rwm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceAccess {
    pub read: bool,
    pub write: bool,
    pub mknod: bool,
}

/// Namespaces a spec leaves out: init keeps the caller's (the XML front
/// end always creates mount, PID, IPC, UTS and cgroup namespaces).
pub type HostNamespaces = Vec<NamespaceKind>;
