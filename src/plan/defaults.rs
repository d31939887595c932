//! Vocabulary as data: the kernel filesystems, masked paths, device nodes and
//! capabilities every container gets. The launcher walks these tables in
//! order; nothing here is decided inside the child.

use caps::Capability;

/// Mount flags as raw bits so the tables can be `const`.
pub type MountFlagBits = libc::c_ulong;

const NOSUID: MountFlagBits = libc::MS_NOSUID;
const NODEV: MountFlagBits = libc::MS_NODEV;
const NOEXEC: MountFlagBits = libc::MS_NOEXEC;
const RDONLY: MountFlagBits = libc::MS_RDONLY;

/// A kernel (pseudo-)filesystem mounted inside the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelMount {
    /// Absolute path inside the container.
    pub target: &'static str,
    /// Filesystem type passed to mount(2) (also used as the source name).
    pub fstype: &'static str,
    /// Mount flags.
    pub flags: MountFlagBits,
    /// Filesystem options.
    pub data: Option<&'static str>,
}

/// /proc, /sys and /dev, in mount order (parents before children).
///
/// /sys is mounted read-only at once: nothing below it is created. /dev is a
/// small tmpfs filled from [`DEVICES`] and [`DEV_SYMLINKS`]; it is `noexec`-free
/// because nothing executes from it but some init systems check for `dev`.
pub const KERNEL_MOUNTS: &[KernelMount] = &[
    KernelMount {
        target: "/proc",
        fstype: "proc",
        flags: NOSUID | NOEXEC | NODEV,
        data: None,
    },
    KernelMount {
        target: "/sys",
        fstype: "sysfs",
        flags: NOSUID | NOEXEC | NODEV | RDONLY,
        data: None,
    },
    KernelMount {
        target: "/dev",
        fstype: "tmpfs",
        flags: NOSUID,
        data: Some("mode=755,size=65536k"),
    },
    KernelMount {
        target: "/dev/pts",
        fstype: "devpts",
        flags: NOSUID | NOEXEC,
        // newinstance: the container's ptys are its own, not the host's.
        data: Some("newinstance,ptmxmode=0666,mode=0620"),
    },
    KernelMount {
        target: "/dev/shm",
        fstype: "tmpfs",
        flags: NOSUID | NODEV,
        data: Some("mode=1777,size=65536k"),
    },
    KernelMount {
        target: "/dev/mqueue",
        fstype: "mqueue",
        flags: NOSUID | NODEV | NOEXEC,
        data: None,
    },
];

/// Paths under /proc bound read-only onto themselves (the kernel's knobs;
/// a container root must not retune the host kernel).
pub const READONLY_PATHS: &[&str] = &["/proc/sys"];

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
        all.extend(READONLY_PATHS);
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
}
