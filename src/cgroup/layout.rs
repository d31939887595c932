//! Which cgroup hierarchies the host has, read from mountinfo text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::CgroupError;

/// A cgroup v1 controller (one `cgroup` mount may carry several).
///
/// The named hierarchy `name=systemd` has no controller and is not listed
/// here: [`Layout`] keeps it apart as a tracking hierarchy (no settings,
/// only placement and the delegated subtree a system container writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    Cpu,
    Cpuacct,
    Cpuset,
    Memory,
    Devices,
    Freezer,
    Blkio,
    Pids,
    NetCls,
    NetPrio,
    PerfEvent,
    Hugetlb,
    Rdma,
    Misc,
}

impl Controller {
    /// Every controller with its v1 mount option name.
    pub const ALL: [(Controller, &'static str); 14] = [
        (Controller::Cpu, "cpu"),
        (Controller::Cpuacct, "cpuacct"),
        (Controller::Cpuset, "cpuset"),
        (Controller::Memory, "memory"),
        (Controller::Devices, "devices"),
        (Controller::Freezer, "freezer"),
        (Controller::Blkio, "blkio"),
        (Controller::Pids, "pids"),
        (Controller::NetCls, "net_cls"),
        (Controller::NetPrio, "net_prio"),
        (Controller::PerfEvent, "perf_event"),
        (Controller::Hugetlb, "hugetlb"),
        (Controller::Rdma, "rdma"),
        (Controller::Misc, "misc"),
    ];

    /// The v1 name (`cpu`, `net_cls`, …).
    pub fn name(self) -> &'static str {
        Controller::ALL
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("?", |(_, n)| n)
    }

    /// The controller for a v1 mount option, if it names one.
    pub fn from_name(name: &str) -> Option<Controller> {
        Controller::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| *c)
    }

    /// The name of the same controller in cgroup v2 (`blkio` is `io`; `cpuacct`
    /// is folded into `cpu`); `None` where v2 has no counterpart.
    pub fn v2_name(self) -> Option<&'static str> {
        match self {
            Controller::Cpu | Controller::Cpuacct => Some("cpu"),
            Controller::Cpuset => Some("cpuset"),
            Controller::Memory => Some("memory"),
            Controller::Blkio => Some("io"),
            Controller::Pids => Some("pids"),
            Controller::Hugetlb => Some("hugetlb"),
            Controller::Rdma => Some("rdma"),
            Controller::Misc => Some("misc"),
            Controller::Devices
            | Controller::Freezer
            | Controller::NetCls
            | Controller::NetPrio
            | Controller::PerfEvent => None,
        }
    }
}

impl std::fmt::Display for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the host's cgroup hierarchies are mounted.
///
/// Two kinds of hierarchy: *resource* hierarchies take the domain's settings
/// (the v1 controllers; the one cgroup2 tree on v2), *tracking* hierarchies
/// only group processes (`name=systemd` on v1 and hybrid, the controller-less
/// `unified` cgroup2 mount on hybrid). A system container's init is placed
/// in both kinds, and writes below its own group in the tracking ones (see
/// `docs/system-containers.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Pure cgroup v2: one hierarchy, every controller in it.
    V2 { root: PathBuf },
    /// Pure cgroup v1: one mount per controller group, and the
    /// `name=systemd` tracking hierarchy when the host has one.
    V1 {
        controllers: BTreeMap<Controller, PathBuf>,
        systemd: Option<PathBuf>,
    },
    /// v1 controllers plus a cgroup2 mount (usually `/sys/fs/cgroup/unified`)
    /// that carries no controller the v1 mounts hold, and usually
    /// `name=systemd`. Resources are set through v1; the cgroup2 group is used
    /// for placement, `cgroup.kill`, `cgroup.freeze`, CPU time (`cpu.stat`)
    /// and `CLONE_INTO_CGROUP`.
    Hybrid {
        controllers: BTreeMap<Controller, PathBuf>,
        unified: PathBuf,
        systemd: Option<PathBuf>,
    },
}

/// The option naming systemd's v1 tracking hierarchy.
pub(super) const SYSTEMD_HIERARCHY: &str = "name=systemd";

/// What one cgroup mount is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MountKind {
    /// `cgroup2`.
    V2,
    /// `cgroup` with these controllers.
    Controllers(Vec<Controller>),
    /// `cgroup` with `name=systemd` and no controller.
    Systemd,
    /// Any other `cgroup` mount (another named hierarchy).
    Other,
}

/// One cgroup mount from mountinfo.
struct Mount {
    root_is_slash: bool,
    mount_point: PathBuf,
    kind: MountKind,
}

impl Layout {
    /// The mountinfo of this process.
    pub const PROC_MOUNTINFO: &'static str = "/proc/self/mountinfo";

    /// Reads `/proc/self/mountinfo` and detects the layout.
    pub fn detect() -> Result<Layout, CgroupError> {
        Layout::from_mountinfo_file(Path::new(Layout::PROC_MOUNTINFO))
    }

    /// Reads a mountinfo file and detects the layout.
    pub fn from_mountinfo_file(path: &Path) -> Result<Layout, CgroupError> {
        let text = std::fs::read_to_string(path).map_err(|source| CgroupError::ReadMountinfo {
            path: path.to_owned(),
            source,
        })?;
        Layout::from_mountinfo(&text)
    }

    /// Detects the layout from mountinfo text (pure).
    ///
    /// - only `cgroup2` → [`Layout::V2`];
    /// - only v1 `cgroup` mounts with controllers → [`Layout::V1`];
    /// - both → [`Layout::Hybrid`].
    ///
    /// When a hierarchy is mounted more than once (bind mounts, a
    /// container's view), a mount of the hierarchy's root (`/` in field 4)
    /// wins over a mount of a subtree, then the earlier line wins.
    pub fn from_mountinfo(text: &str) -> Result<Layout, CgroupError> {
        let mut mounts: Vec<Mount> = text.lines().filter_map(parse_line).collect();
        // Stable: roots first, then mountinfo order.
        mounts.sort_by_key(|m| !m.root_is_slash);
        let mut controllers = BTreeMap::new();
        let mut unified = None;
        let mut systemd = None;
        for m in mounts {
            match m.kind {
                MountKind::V2 => {
                    unified.get_or_insert(m.mount_point);
                }
                MountKind::Systemd => {
                    systemd.get_or_insert(m.mount_point);
                }
                MountKind::Controllers(list) => {
                    for c in list {
                        controllers
                            .entry(c)
                            .or_insert_with(|| m.mount_point.clone());
                    }
                }
                MountKind::Other => {}
            }
        }
        match (controllers.is_empty(), unified) {
            // A name=systemd left beside a pure cgroup2 tree tracks nothing
            // domrun uses (systemd itself ignores it in unified mode).
            (true, Some(root)) => Ok(Layout::V2 { root }),
            (false, None) => Ok(Layout::V1 {
                controllers,
                systemd,
            }),
            (false, Some(unified)) => Ok(Layout::Hybrid {
                controllers,
                unified,
                systemd,
            }),
            (true, None) => Err(CgroupError::NoCgroupMounts),
        }
    }

    /// `v2`, `v1` or `hybrid`.
    pub fn kind(&self) -> &'static str {
        match self {
            Layout::V2 { .. } => "v2",
            Layout::V1 { .. } => "v1",
            Layout::Hybrid { .. } => "hybrid",
        }
    }

    /// The cgroup2 mount: the whole tree on v2, the unified mount on hybrid.
    pub fn v2_root(&self) -> Option<&Path> {
        match self {
            Layout::V2 { root } => Some(root),
            Layout::V1 { .. } => None,
            Layout::Hybrid { unified, .. } => Some(unified),
        }
    }

    /// The v1 controller mounts (empty on v2).
    pub fn v1_controllers(&self) -> Option<&BTreeMap<Controller, PathBuf>> {
        match self {
            Layout::V2 { .. } => None,
            Layout::V1 { controllers, .. } | Layout::Hybrid { controllers, .. } => {
                Some(controllers)
            }
        }
    }

    /// The `name=systemd` mount, on v1 and hybrid hosts that have one.
    pub fn systemd_hierarchy(&self) -> Option<&Path> {
        match self {
            Layout::V2 { .. } => None,
            Layout::V1 { systemd, .. } | Layout::Hybrid { systemd, .. } => systemd.as_deref(),
        }
    }

    /// The hierarchies a system container writes below its own group: the
    /// cgroup2 tree (the whole tree on v2, `unified` on hybrid) and
    /// `name=systemd`. Never a v1 controller: v1 delegation is not safe
    /// (a writable v1 knob is a host-wide resource knob).
    pub fn writable_hierarchies(&self) -> Vec<&Path> {
        self.systemd_hierarchy()
            .into_iter()
            .chain(self.v2_root())
            .collect()
    }
}

/// One filesystem to mount at `/sys/fs/cgroup` inside the container, after
/// it has entered its cgroup namespace (so each shows the domain's payload
/// group as its root). Mount them in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerMount {
    /// Relative to `/sys/fs/cgroup` (empty for `/sys/fs/cgroup` itself).
    pub target: PathBuf,
    /// `cgroup2`, `cgroup` or `tmpfs`.
    pub fstype: &'static str,
    /// The mount data: the v1 controllers (`cpu,cpuacct`), `none,name=systemd`,
    /// or tmpfs options.
    pub data: String,
    /// Left writable: a tracking hierarchy the container's own init manages
    /// below its root. Everything else is made read-only once the view is
    /// complete (the tmpfs after the mounts and symlinks in it).
    pub writable: bool,
}

/// Where systemd looks for its hierarchies in a v1 or hybrid view.
const SYSTEMD_DIR: &str = "systemd";
const UNIFIED_DIR: &str = "unified";

impl Layout {
    /// What the container's `/sys/fs/cgroup` is made of (systemd's container
    /// interface; v25x nspawn's `mount_legacy_cgns_supported`):
    /// - v2: one `cgroup2`, writable;
    /// - v1 and hybrid: a `tmpfs` (read-only once filled), then one `cgroup`
    ///   per host v1 mount under the same directory name with the same
    ///   controllers (read-only), `name=systemd` at `systemd` (writable) when
    ///   the host has it, and on hybrid `cgroup2` at `unified` (writable).
    pub fn container_mounts(&self) -> Vec<ContainerMount> {
        let mount = |target: &str, fstype, data: &str, writable| ContainerMount {
            target: PathBuf::from(target),
            fstype,
            data: data.to_owned(),
            writable,
        };
        let Some(controllers) = self.v1_controllers() else {
            return vec![mount("", "cgroup2", "", true)];
        };
        let mut out = vec![mount("", "tmpfs", "mode=755", false)];
        for (dir, names) in comounts(controllers) {
            out.push(mount(&dir, "cgroup", &names.join(","), false));
        }
        if self.systemd_hierarchy().is_some() {
            let data = format!("none,{SYSTEMD_HIERARCHY}");
            out.push(mount(SYSTEMD_DIR, "cgroup", &data, true));
        }
        if self.v2_root().is_some() {
            out.push(mount(UNIFIED_DIR, "cgroup2", "", true));
        }
        out
    }

    /// Symlinks in the container's `/sys/fs/cgroup` tmpfs, `(name, points
    /// to)`: one per member of a co-mounted hierarchy (`cpu -> cpu,cpuacct`,
    /// `cpuacct -> cpu,cpuacct`), as a host's own tmpfs has them. Empty on v2.
    pub fn container_symlinks(&self) -> Vec<(String, String)> {
        let Some(controllers) = self.v1_controllers() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (dir, names) in comounts(controllers) {
            for name in names {
                if name != dir {
                    out.push((name.to_owned(), dir.clone()));
                }
            }
        }
        out
    }
}

/// The distinct v1 mounts, each with its directory name (the host's mount
/// point's last component) and controllers, in directory order.
fn comounts(controllers: &BTreeMap<Controller, PathBuf>) -> BTreeMap<String, Vec<&'static str>> {
    let mut by_mount: BTreeMap<&Path, Vec<&'static str>> = BTreeMap::new();
    for (c, mount) in controllers {
        by_mount.entry(mount).or_default().push(c.name());
    }
    by_mount
        .into_iter()
        .map(|(mount, names)| {
            let dir = mount
                .file_name()
                .map_or_else(|| names.join(","), |n| n.to_string_lossy().into_owned());
            (dir, names)
        })
        .collect()
}

/// Parses one mountinfo line; `None` unless it is a cgroup mount.
///
/// `ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER_OPTIONS`
fn parse_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let root = l.nth(3)?;
    let mount_point = unescape(l.next()?);
    let mut r = right.split(' ');
    let fstype = r.next()?;
    let _source = r.next()?;
    let super_opts = r.next().unwrap_or("");
    let kind = match fstype {
        "cgroup2" => MountKind::V2,
        "cgroup" => {
            let controllers: Vec<Controller> = super_opts
                .split(',')
                .filter_map(Controller::from_name)
                .collect();
            if !controllers.is_empty() {
                MountKind::Controllers(controllers)
            } else if super_opts.split(',').any(|o| o == SYSTEMD_HIERARCHY) {
                MountKind::Systemd
            } else {
                MountKind::Other
            }
        }
        _ => return None,
    };
    Some(Mount {
        root_is_slash: root == "/",
        mount_point: PathBuf::from(mount_point),
        kind,
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space, `\134` for `\`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const V2: &str = "\
24 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
28 24 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    /// An older distribution: `cpu,cpuacct` and `net_cls,net_prio`
    /// co-mounted, a systemd named hierarchy, no cgroup2.
    const V1: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,net_cls,net_prio
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
32 25 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpuset
33 25 0:30 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,freezer
";

    #[test]
    fn hybrid_host_like_ours() {
        let l = Layout::from_mountinfo(HYBRID).unwrap();
        let Layout::Hybrid {
            controllers,
            unified,
            systemd,
        } = &l
        else {
            panic!("{l:?}")
        };
        assert_eq!(unified, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(
            systemd.as_deref(),
            Some(Path::new("/sys/fs/cgroup/systemd"))
        );
        assert_eq!(
            l.writable_hierarchies(),
            [
                Path::new("/sys/fs/cgroup/systemd"),
                Path::new("/sys/fs/cgroup/unified")
            ]
        );
        assert_eq!(controllers.len(), 8);
        assert_eq!(
            controllers[&Controller::Memory],
            Path::new("/sys/fs/cgroup/memory")
        );
        assert_eq!(
            controllers[&Controller::Cpuacct],
            Path::new("/sys/fs/cgroup/cpuacct")
        );
        assert_eq!(l.kind(), "hybrid");
        assert_eq!(l.v2_root(), Some(Path::new("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn pure_v2() {
        assert_eq!(
            Layout::from_mountinfo(V2).unwrap(),
            Layout::V2 {
                root: "/sys/fs/cgroup".into()
            }
        );
    }

    #[test]
    fn pure_v1_with_comounts_and_named_hierarchy() {
        let l = Layout::from_mountinfo(V1).unwrap();
        let Layout::V1 {
            controllers,
            systemd,
        } = &l
        else {
            panic!("{l:?}")
        };
        assert_eq!(
            systemd.as_deref(),
            Some(Path::new("/sys/fs/cgroup/systemd"))
        );
        assert_eq!(
            l.writable_hierarchies(),
            [Path::new("/sys/fs/cgroup/systemd")]
        );
        let cpu = Path::new("/sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(controllers[&Controller::Cpu], cpu);
        assert_eq!(controllers[&Controller::Cpuacct], cpu);
        assert_eq!(
            controllers[&Controller::NetPrio],
            Path::new("/sys/fs/cgroup/net_cls,net_prio")
        );
        assert!(!controllers.contains_key(&Controller::Blkio));
        assert_eq!(controllers.len(), 7);
        assert_eq!(l.v2_root(), None);
    }

    #[test]
    fn subtree_mounts_lose_to_root_mounts_and_escapes_are_undone() {
        let text = "\
50 1 0:40 /machine/x /var/lib/c/sys/fs/cgroup rw - cgroup2 cgroup2 rw
51 1 0:40 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw
52 1 0:40 / /other rw - cgroup2 cgroup2 rw
";
        assert_eq!(
            Layout::from_mountinfo(text).unwrap(),
            Layout::V2 {
                root: "/sys/fs/my cgroup".into()
            }
        );
    }

    #[test]
    fn no_cgroup_mounts_is_an_error() {
        let e = Layout::from_mountinfo("22 1 0:21 / /sys rw - sysfs sysfs rw\n").unwrap_err();
        assert!(matches!(e, CgroupError::NoCgroupMounts), "{e}");
    }

    #[test]
    fn named_only_v1_with_cgroup2_is_v2() {
        let text = "\
26 25 0:23 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
27 25 0:24 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
";
        assert_eq!(
            Layout::from_mountinfo(text).unwrap(),
            Layout::V2 {
                root: "/sys/fs/cgroup/unified".into()
            }
        );
    }

    /// v2: one writable cgroup2. v1 and hybrid: tmpfs and the controllers
    /// read-only, the tracking hierarchies writable, at the paths systemd
    /// expects.
    #[test]
    fn container_mounts_follow_the_container_interface() {
        let m = |t: &str, f, d: &str, w| ContainerMount {
            target: t.into(),
            fstype: f,
            data: d.into(),
            writable: w,
        };
        let v2 = Layout::from_mountinfo(V2).unwrap();
        assert_eq!(v2.container_mounts(), vec![m("", "cgroup2", "", true)]);
        assert!(v2.container_symlinks().is_empty());
        assert_eq!(v2.writable_hierarchies(), [Path::new("/sys/fs/cgroup")]);
        let v1 = Layout::from_mountinfo(V1).unwrap();
        assert_eq!(
            v1.container_mounts(),
            vec![
                m("", "tmpfs", "mode=755", false),
                m("cpu,cpuacct", "cgroup", "cpu,cpuacct", false),
                m("cpuset", "cgroup", "cpuset", false),
                m("freezer", "cgroup", "freezer", false),
                m("memory", "cgroup", "memory", false),
                m("net_cls,net_prio", "cgroup", "net_cls,net_prio", false),
                m("systemd", "cgroup", "none,name=systemd", true),
            ]
        );
        let link = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            v1.container_symlinks(),
            vec![
                link("cpu", "cpu,cpuacct"),
                link("cpuacct", "cpu,cpuacct"),
                link("net_cls", "net_cls,net_prio"),
                link("net_prio", "net_cls,net_prio"),
            ]
        );
        let hybrid = Layout::from_mountinfo(HYBRID).unwrap();
        let h = hybrid.container_mounts();
        assert_eq!(h.len(), 11);
        assert_eq!(h[1], m("blkio", "cgroup", "blkio", false));
        assert_eq!(h[9], m("systemd", "cgroup", "none,name=systemd", true));
        assert_eq!(h[10], m("unified", "cgroup2", "", true));
        assert!(h[..9].iter().all(|m| !m.writable));
        // One mount per controller here: nothing to link.
        assert!(hybrid.container_symlinks().is_empty());
    }

    /// A host without name=systemd gets no systemd mount in the view (a
    /// fake one would mislead systemd, sd#6477).
    #[test]
    fn no_systemd_hierarchy_no_systemd_mount() {
        let text = "\
32 31 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 31 0:30 / /sys/fs/cgroup/other rw - cgroup cgroup rw,name=other
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
";
        let l = Layout::from_mountinfo(text).unwrap();
        assert_eq!(l.systemd_hierarchy(), None);
        assert_eq!(
            l.writable_hierarchies(),
            [Path::new("/sys/fs/cgroup/unified")]
        );
        let targets: Vec<_> = l.container_mounts().into_iter().map(|m| m.target).collect();
        assert_eq!(targets, [PathBuf::new(), "memory".into(), "unified".into()]);
    }

    #[test]
    fn controller_names_round_trip() {
        for (c, n) in Controller::ALL {
            assert_eq!(Controller::from_name(n), Some(c));
            assert_eq!(c.name(), n);
        }
    }
}
