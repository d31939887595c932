//! Which LXC keys are mapped, noted or refused: the whole list, as data.
//! A noted key is reported on stderr with the reason; a refused one is an
//! error, because its loss would leave the container less confined than
//! its config asks and domain XML cannot express it.

use super::text::{Entry, note};
use super::{ImportError, Note};
/// What happens to a key that is not converted.
#[derive(Debug, Clone, Copy)]
enum Handling {
    /// Read by the converter.
    Mapped,
    /// Not imported; the note says why (no loss of confinement).
    Note(&'static str),
    /// Refused: see [`ImportError::Refused`].
    Refuse(&'static str),
}

use Handling::{Mapped, Note as Noted, Refuse};

const DOMRUN_DEV: &str = "domrun makes the container's /dev and its devpts itself";
const DOMRUN_MOUNTS: &str = "domrun mounts /proc, /sys and /dev itself (docs/launch.md)";
const SIGNALS: &str = "domrun's shutdown and reboot send init the signals docs/monitor.md lists";
const NO_HOOKS: &str = "domrun runs no hooks";
const MORE_ISOLATED: &str = "domrun gives the container every namespace of its own";

/// Keys by exact name, or by prefix when the pattern ends with `.`.
const KEYS: &[(&str, Handling)] = &[
    ("lxc.rootfs", Mapped),
    ("lxc.rootfs.path", Mapped),
    ("lxc.rootfs.options", Mapped),
    (
        "lxc.rootfs.mount",
        Noted("the host-side mount point is domrun's own"),
    ),
    (
        "lxc.rootfs.backend",
        Noted("the backend is told by lxc.rootfs.path"),
    ),
    ("lxc.uts.name", Mapped),
    ("lxc.utsname", Mapped),
    ("lxc.arch", Mapped),
    ("lxc.mount.entry", Mapped),
    ("lxc.mount", Mapped),
    ("lxc.mount.fstab", Mapped),
    ("lxc.mount.auto", Noted(DOMRUN_MOUNTS)),
    ("lxc.autodev", Noted(DOMRUN_DEV)),
    ("lxc.autodev.tmpfs.size", Noted(DOMRUN_DEV)),
    ("lxc.pts", Noted(DOMRUN_DEV)),
    ("lxc.pty.max", Noted(DOMRUN_DEV)),
    ("lxc.tty", Mapped),
    ("lxc.tty.max", Mapped),
    ("lxc.tty.dir", Noted(DOMRUN_DEV)),
    ("lxc.devttydir", Noted(DOMRUN_DEV)),
    ("lxc.idmap", Mapped),
    ("lxc.id_map", Mapped),
    ("lxc.cap.drop", Mapped),
    ("lxc.cap.keep", Mapped),
    ("lxc.init.cmd", Mapped),
    ("lxc.init_cmd", Mapped),
    ("lxc.init.cwd", Mapped),
    ("lxc.init.uid", Mapped),
    ("lxc.init.gid", Mapped),
    ("lxc.init_uid", Mapped),
    ("lxc.init_gid", Mapped),
    ("lxc.environment", Mapped),
    ("lxc.start.auto", Mapped),
    (
        "lxc.start.delay",
        Noted("`domrun start --autostart` starts domains at once"),
    ),
    (
        "lxc.start.order",
        Noted("`domrun start --autostart` starts domains in name order"),
    ),
    ("lxc.group", Noted("domrun has no autostart groups")),
    ("lxc.monitor.unshare", Noted("domrun's monitor is its own")),
    (
        "lxc.console",
        Noted("domrun always gives the container a pty console"),
    ),
    (
        "lxc.console.path",
        Noted("domrun always gives the container a pty console"),
    ),
    (
        "lxc.console.logfile",
        Noted("the monitor keeps the console's backlog"),
    ),
    (
        "lxc.console.rotate",
        Noted("the monitor keeps the console's backlog"),
    ),
    (
        "lxc.console.buffer.size",
        Noted("the monitor keeps a 64 KiB backlog"),
    ),
    (
        "lxc.console.size",
        Noted("the monitor keeps a 64 KiB backlog"),
    ),
    ("lxc.signal.halt", Noted(SIGNALS)),
    ("lxc.signal.reboot", Noted(SIGNALS)),
    ("lxc.signal.stop", Noted(SIGNALS)),
    ("lxc.haltsignal", Noted(SIGNALS)),
    ("lxc.rebootsignal", Noted(SIGNALS)),
    ("lxc.stopsignal", Noted(SIGNALS)),
    ("lxc.log.", Noted("domrun's monitor keeps its own log")),
    ("lxc.loglevel", Noted("domrun's monitor keeps its own log")),
    ("lxc.logfile", Noted("domrun's monitor keeps its own log")),
    (
        "lxc.include",
        Noted(
            "not followed: the distribution's common settings it names give way to domrun's own defaults",
        ),
    ),
    ("lxc.hook.", Noted(NO_HOOKS)),
    ("lxc.hook", Noted(NO_HOOKS)),
    (
        "lxc.ephemeral",
        Noted("a template layer is kept; `undefine --remove-all-storage` drops it"),
    ),
    ("lxc.namespace.keep", Noted(MORE_ISOLATED)),
    ("lxc.namespace.clone", Noted(MORE_ISOLATED)),
    ("lxc.namespace.share.", Noted(MORE_ISOLATED)),
    (
        "lxc.sysctl.",
        Noted("domrun sets no sysctls in the container"),
    ),
    (
        "lxc.proc.",
        Noted("domrun writes nothing under the container's /proc"),
    ),
    (
        "lxc.apparmor.allow_nesting",
        Noted("domrun loads no AppArmor profile"),
    ),
    (
        "lxc.apparmor.allow_incomplete",
        Noted("domrun loads no AppArmor profile"),
    ),
    (
        "lxc.apparmor.raw",
        Refuse("domrun loads no AppArmor profile"),
    ),
    (
        "lxc.selinux.context",
        Refuse("domrun sets no SELinux context"),
    ),
    (
        "lxc.selinux.context.keyring",
        Refuse("domrun sets no SELinux context"),
    ),
    ("lxc.se_context", Refuse("domrun sets no SELinux context")),
    (
        "lxc.seccomp.profile",
        Refuse("domain XML has no seccomp filter"),
    ),
    ("lxc.seccomp", Refuse("domain XML has no seccomp filter")),
    (
        "lxc.seccomp.notify.",
        Refuse("domain XML has no seccomp filter"),
    ),
    (
        "lxc.prlimit.",
        Refuse("domain XML has no resource limits for init"),
    ),
    (
        "lxc.limit.",
        Refuse("domain XML has no resource limits for init"),
    ),
    (
        "lxc.keyring.session",
        Noted("domrun gives init no session keyring of its own"),
    ),
    (
        "lxc.cgroup.dir",
        Noted("domrun names the domain's cgroup (docs/cgroups.md)"),
    ),
    (
        "lxc.cgroup.relative",
        Noted("domrun names the domain's cgroup (docs/cgroups.md)"),
    ),
    (
        "lxc.cgroup.devices.",
        Noted("domrun's fixed device set applies (docs/launch.md); hostdevs add devices"),
    ),
    (
        "lxc.cgroup2.devices.",
        Noted("domrun's fixed device set applies (docs/launch.md); hostdevs add devices"),
    ),
];

/// AppArmor profiles that are LXC's own baseline: domrun's confinement
/// stands in for them. Any other profile is refused.
const BASELINE_APPARMOR: &[&str] = &[
    "unconfined",
    "generated",
    "lxc-container-default",
    "lxc-container-default-cgns",
    "lxc-container-default-with-nesting",
    "lxc-container-default-with-mounting",
];

/// Cgroup keys the converter maps (v1 under `lxc.cgroup.`, v2 under
/// `lxc.cgroup2.`); every other cgroup key is refused: it is a limit.
const CGROUP_KEYS: &[&str] = &[
    "lxc.cgroup.memory.limit_in_bytes",
    "lxc.cgroup.memory.soft_limit_in_bytes",
    "lxc.cgroup.memory.memsw.limit_in_bytes",
    "lxc.cgroup.cpu.shares",
    "lxc.cgroup.cpu.cfs_quota_us",
    "lxc.cgroup.cpu.cfs_period_us",
    "lxc.cgroup.cpuset.cpus",
    "lxc.cgroup.cpuset.mems",
    "lxc.cgroup.blkio.weight",
    "lxc.cgroup.blkio.device_weight",
    "lxc.cgroup.blkio.throttle.read_bps_device",
    "lxc.cgroup.blkio.throttle.write_bps_device",
    "lxc.cgroup.blkio.throttle.read_iops_device",
    "lxc.cgroup.blkio.throttle.write_iops_device",
    "lxc.cgroup2.memory.max",
    "lxc.cgroup2.memory.high",
    "lxc.cgroup2.memory.swap.max",
    "lxc.cgroup2.cpu.max",
    "lxc.cgroup2.cpu.weight",
    "lxc.cgroup2.cpuset.cpus",
    "lxc.cgroup2.cpuset.mems",
    "lxc.cgroup2.io.weight",
];

fn handling(key: &str) -> Option<Handling> {
    if key.starts_with("lxc.net.") || key.starts_with("lxc.network.") {
        return Some(Mapped);
    }
    if key.starts_with("lxc.cgroup.") || key.starts_with("lxc.cgroup2.") {
        if CGROUP_KEYS.contains(&key) {
            return Some(Mapped);
        }
        if let Some(h) = table_lookup(key) {
            return Some(h);
        }
        return Some(Refuse("a cgroup limit domain XML has no element for"));
    }
    if matches!(key, "lxc.apparmor.profile" | "lxc.aa_profile") {
        return Some(Mapped);
    }
    table_lookup(key)
}

fn table_lookup(key: &str) -> Option<Handling> {
    KEYS.iter()
        .find(|(pat, _)| *pat == key || (pat.ends_with('.') && key.starts_with(pat)))
        .map(|(_, h)| *h)
}

/// Notes unknown and unimported keys; refuses the first key whose loss
/// would weaken the container's confinement.
pub fn check_keys(entries: &[Entry], notes: &mut Vec<Note>) -> Result<(), ImportError> {
    for e in entries {
        let refuse = |reason| ImportError::Refused {
            line: e.line,
            key: e.key.clone(),
            value: e.value.clone(),
            reason,
        };
        match handling(&e.key) {
            None => note(notes, e, "unknown key, not imported"),
            Some(Mapped) => {}
            Some(Noted(why)) => note(notes, e, format!("not imported: {why}")),
            Some(Refuse(why)) => return Err(refuse(why)),
        }
        match e.key.as_str() {
            "lxc.apparmor.profile" | "lxc.aa_profile" => {
                if !BASELINE_APPARMOR.contains(&e.value.as_str()) {
                    return Err(refuse("a custom AppArmor profile, and domrun loads none"));
                }
                note(
                    notes,
                    e,
                    "not imported: LXC's baseline profile; domrun confines with namespaces, capabilities and masked paths",
                );
            }
            "lxc.no_new_privs" if e.value != "0" => {
                return Err(refuse("domain XML cannot set no_new_privs for init"));
            }
            _ => {}
        }
    }
    Ok(())
}
