//! Vocabulary as data: the kernel filesystems, masked paths, device nodes and
//! capabilities every container gets. The launcher walks these tables in
//! order; nothing here is decided inside the child.

use caps::Capability;

/// Mount flags as raw bits so the tables can be `const`.
pub type MountFlagBits = libc::c_ulong;

const NOSUID: MountFlagBits = libc::MS_NOSUID;
const NODEV: MountFlagBits = libc::MS_NODEV;
const NOEXEC: MountFlagBits = libc::MS_NOEXEC;
/// Read-only: at once for a fresh filesystem; for a bind (which cannot be
/// made read-only by the bind itself), once every mount is in place.
pub const RDONLY: MountFlagBits = libc::MS_RDONLY;

/// What a kernel mount puts at its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSource {
    /// A fresh filesystem of this type (also used as the source name).
    Filesystem(&'static str),
    /// The target bound onto itself, recursively, so it is a mount of its
    /// own that can get its own flags (read-only /proc/sys).
    Itself,
}

/// When a kernel mount is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountWhen {
    /// In every container.
    Always,
    /// Only in a container with a network stack of its own (a new network
    /// namespace or a joined one), which may tune that stack.
    OwnNetwork,
}

impl MountWhen {
    /// Whether the mount applies to a container that has (`own_network`) or
    /// shares the host's network stack.
    pub fn applies(self, own_network: bool) -> bool {
        match self {
            Self::Always => true,
            Self::OwnNetwork => own_network,
        }
    }
}

/// What replaces a fresh filesystem the kernel refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountFallback {
    /// Nothing: the refusal fails the start.
    None,
    /// On EPERM or EBUSY: a recursive bind of the host's filesystem at the
    /// same path, with the row's read-only flag applied to it and everything
    /// below it.
    BindHost,
    /// On EINVAL (an option the container cannot have): the same filesystem
    /// with these options instead.
    WithData(&'static str),
}

/// A kernel (pseudo-)filesystem mounted inside the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelMount {
    /// Absolute path inside the container.
    pub target: &'static str,
    /// A fresh filesystem or a bind of the target onto itself.
    pub source: KernelSource,
    /// Mount flags (a bind uses only [`RDONLY`]).
    pub flags: MountFlagBits,
    /// Filesystem options.
    pub data: Option<&'static str>,
    /// Which containers get it.
    pub when: MountWhen,
    /// What to mount instead when the kernel refuses a fresh filesystem.
    pub fallback: MountFallback,
}

impl KernelMount {
    /// A fresh filesystem in every container, failing if refused.
    const fn filesystem(
        target: &'static str,
        fstype: &'static str,
        flags: MountFlagBits,
        data: Option<&'static str>,
    ) -> Self {
        Self {
            target,
            source: KernelSource::Filesystem(fstype),
            flags,
            data,
            when: MountWhen::Always,
            fallback: MountFallback::None,
        }
    }

    /// `target` bound onto itself, for the containers `when` selects.
    const fn itself(target: &'static str, flags: MountFlagBits, when: MountWhen) -> Self {
        Self {
            target,
            source: KernelSource::Itself,
            flags,
            data: None,
            when,
            fallback: MountFallback::None,
        }
    }
}

/// /proc, /sys, /dev and the /proc/sys binds, in mount order (parents
/// before children).
///
/// /sys is mounted read-only at once: nothing below it is created. A fresh
/// sysfs can only be mounted by the owner of the network namespace (EPERM in
/// a user namespace sharing the host's network), and the kernel refuses to
/// stack the host's sysfs on itself (EBUSY with a shared host root); either
/// way the host's /sys is bound instead, read-only. /dev is a small tmpfs
/// filled from [`DEVICES`] and [`DEV_SYMLINKS`]; it is `noexec`-free because
/// nothing executes from it but some init systems check for `dev`.
///
/// /proc/sys is bound onto itself and made read-only, not recursively (the
/// kernel's knobs: a container root must not retune the host kernel), after
/// the /dev rows as it always was; /proc/sys/net, bound below it, stays
/// writable for a container that has a network stack of its own.
pub const KERNEL_MOUNTS: &[KernelMount] = &[
    KernelMount::filesystem("/proc", "proc", NOSUID | NOEXEC | NODEV, None),
    KernelMount {
        fallback: MountFallback::BindHost,
        ..KernelMount::filesystem("/sys", "sysfs", NOSUID | NOEXEC | NODEV | RDONLY, None)
    },
    KernelMount::filesystem("/dev", "tmpfs", NOSUID, Some("mode=755,size=65536k")),
    // newinstance: the container's ptys are its own, not the host's. gid=5:
    // new ptys belong to the tty group, as systemd's container interface
    // expects (nspawn `setup_pts`); a user namespace that does not map gid 5
    // refuses it (EINVAL), and gets the ptys in the creator's group.
    KernelMount {
        fallback: MountFallback::WithData(DEVPTS_WITHOUT_GID),
        ..KernelMount::filesystem(
            "/dev/pts",
            "devpts",
            NOSUID | NOEXEC,
            Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
        )
    },
    KernelMount::filesystem(
        "/dev/shm",
        "tmpfs",
        NOSUID | NODEV,
        Some("mode=1777,size=65536k"),
    ),
    KernelMount::filesystem("/dev/mqueue", "mqueue", NOSUID | NODEV | NOEXEC, None),
    KernelMount::itself("/proc/sys", RDONLY, MountWhen::Always),
    KernelMount::itself("/proc/sys/net", 0, MountWhen::OwnNetwork),
];

/// The devpts options when gid 5 is not mapped in the container.
const DEVPTS_WITHOUT_GID: &str = "newinstance,ptmxmode=0666,mode=0620";

/// Paths hidden from the container: files get /dev/null bound over them,
/// directories an empty read-only tmpfs. Missing ones (the list spans kernel
/// versions) are skipped.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/kcore",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/sysrq-trigger",
    "/proc/latency_stats",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/acpi",
    "/proc/scsi",
    "/sys/firmware",
];

/// A character device node created in the container's /dev.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceNode {
    /// File name under /dev.
    pub name: &'static str,
    /// Absolute path, in the container and (for binds) on the host.
    pub path: &'static str,
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Permission bits.
    pub mode: u32,
}

/// The standard character devices. Without a user namespace they are made
/// with mknod; inside one (where mknod is refused) the host's node of the
/// same name is bound instead.
pub const DEVICES: &[DeviceNode] = &[
    DeviceNode {
        name: "null",
        path: "/dev/null",
        major: 1,
        minor: 3,
        mode: 0o666,
    },
    DeviceNode {
        name: "zero",
        path: "/dev/zero",
        major: 1,
        minor: 5,
        mode: 0o666,
    },
    DeviceNode {
        name: "full",
        path: "/dev/full",
        major: 1,
        minor: 7,
        mode: 0o666,
    },
    DeviceNode {
        name: "random",
        path: "/dev/random",
        major: 1,
        minor: 8,
        mode: 0o666,
    },
    DeviceNode {
        name: "urandom",
        path: "/dev/urandom",
        major: 1,
        minor: 9,
        mode: 0o666,
    },
    DeviceNode {
        name: "tty",
        path: "/dev/tty",
        major: 5,
        minor: 0,
        mode: 0o666,
    },
];

/// Symlinks in the container's /dev: `(name, points to)`.
pub const DEV_SYMLINKS: &[(&str, &str)] = &[
    ("ptmx", "pts/ptmx"),
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// /dev/console: the container's pty slave is bound here when it has one.
pub const CONSOLE_PATH: &str = "/dev/console";

/// Capabilities libvirt's LXC driver drops by default
/// (`lxcContainerDropCapabilities`, policy "default"): they act on host-wide
/// state that namespaces do not isolate.
///
/// CAP_SYS_BOOT is *kept*: libvirt keeps it whenever the kernel confines
/// reboot(2) in a PID namespace to signalling that namespace's init (every
/// kernel since 3.4), which is how a container's `reboot` is noticed.
pub const LIBVIRT_DROPPED_CAPABILITIES: &[Capability] = &[
    Capability::CAP_SYS_MODULE,    // no kernel module loading
    Capability::CAP_SYS_TIME,      // no changing the host clock
    Capability::CAP_MKNOD,         // no creating device nodes
    Capability::CAP_AUDIT_CONTROL, // no changing audit rules
    Capability::CAP_MAC_ADMIN,     // no changing LSM policy
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_mounts_have_parents_first() {
        for (i, m) in KERNEL_MOUNTS.iter().enumerate() {
            assert!(m.target.starts_with('/'));
            for later in &KERNEL_MOUNTS[i + 1..] {
                assert!(
                    !m.target.starts_with(&format!("{}/", later.target)),
                    "{} is mounted before its parent {}",
                    m.target,
                    later.target
                );
            }
        }
    }

    #[test]
    fn device_paths_match_names() {
        for device in DEVICES {
            assert_eq!(device.path, format!("/dev/{}", device.name));
        }
    }

    #[test]
    fn tables_are_absolute_and_unique() {
        let mut all: Vec<&str> = MASKED_PATHS.to_vec();
        all.extend(KERNEL_MOUNTS.iter().map(|m| m.target));
        all.sort_unstable();
        let before = all.len();
        all.dedup();
        assert_eq!(before, all.len());
        assert!(all.iter().all(|p| p.starts_with('/')));
        let mut devs: Vec<_> = DEVICES.iter().map(|d| d.name).collect();
        devs.extend(DEV_SYMLINKS.iter().map(|s| s.0));
        devs.sort_unstable();
        let before = devs.len();
        devs.dedup();
        assert_eq!(before, devs.len());
    }

    /// A bind takes no options and only the read-only flag; a fallback is
    /// for a fresh filesystem the kernel may refuse.
    #[test]
    fn binds_take_only_the_readonly_flag() {
        for m in KERNEL_MOUNTS {
            if m.source == KernelSource::Itself {
                assert_eq!(m.flags & !RDONLY, 0, "{}", m.target);
                assert_eq!((m.data, m.fallback), (None, MountFallback::None));
            }
        }
    }

    #[test]
    fn net_sysctls_are_writable_only_with_an_own_network() {
        let net = KERNEL_MOUNTS
            .iter()
            .find(|m| m.target == "/proc/sys/net")
            .expect("a /proc/sys/net row");
        assert_eq!((net.flags & RDONLY, net.when), (0, MountWhen::OwnNetwork));
        assert!(net.when.applies(true) && !net.when.applies(false));
    }
}
