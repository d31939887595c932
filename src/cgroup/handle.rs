//! The domain's cgroup: create, fill, place, read, kill, remove.
//!
//! Every path comes from the [`Layout`]: `<mount>/<partition>/<name>` in each
//! hierarchy. On v1 and hybrid hosts that is one directory per distinct v1
//! mount (co-mounted controllers share one), one under `name=systemd` and,
//! on hybrid, one under the cgroup2 mount; on v2 it is one directory.
//!
//! That group is the *limit group*: every setting is written there. The
//! container's init runs one level down, in [`PAYLOAD_GROUP`], which is the
//! root of its cgroup namespace and the subtree it may manage itself; the
//! domain's helper processes run in [`SUPERVISOR_GROUP`] beside it (see
//! [`Cgroup::delegate`] and `docs/system-containers.md`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::fsops::{
    block_device, chown, enable_controllers, init_cpuset, keyed, mkdir, place, procs_of,
    read_to_string, read_u64, relative_path, remove_tree, write_file,
};
use super::settings::{CgroupSettings, FileWrite, Hierarchy};
use super::{CgroupError, Controller, Layout};

/// libvirt's default `resource/partition`.
pub const DEFAULT_PARTITION: &str = "/machine";

/// How long [`Cgroup::kill_all`] keeps trying before giving up.
const KILL_DEADLINE: Duration = Duration::from_secs(5);
/// How long [`Cgroup::remove`] retries an `rmdir` that says EBUSY (the
/// kernel finishes tearing down exiting tasks asynchronously).
pub(super) const RMDIR_DEADLINE: Duration = Duration::from_secs(2);
pub(super) const POLL: Duration = Duration::from_millis(5);

/// The v2 controllers enabled down the partition on a pure v2 host, when
/// the parent offers them.
pub(super) const V2_CONTROLLERS: [&str; 5] = ["cpuset", "cpu", "io", "memory", "pids"];

/// The sub-group of the limit group that the container's init is placed in
/// and that becomes the root of its cgroup namespace (nspawn's name). The
/// limits stay on the parent, out of the container's reach.
pub const PAYLOAD_GROUP: &str = "payload";

/// The sub-group for the domain's helper processes (an image export
/// daemon): beside the payload, so they count against the domain's limits,
/// stay invisible to the container, and leave the limit group free of
/// processes (cgroup v2 allows none in a group that delegates controllers).
pub const SUPERVISOR_GROUP: &str = "supervisor";

/// The files of a delegated group that are handed to the container's root
/// with a user namespace (nspawn `chown_cgroup_path`, a superset of the
/// kernel's `/sys/kernel/cgroup/delegate`); those this kernel lacks are
/// skipped.
pub const DELEGATION_FILES: [&str; 11] = [
    "cgroup.clone_children",
    "cgroup.controllers",
    "cgroup.events",
    "cgroup.procs",
    "cgroup.stat",
    "cgroup.subtree_control",
    "cgroup.threads",
    "memory.oom.group",
    "memory.reclaim",
    "notify_on_release",
    "tasks",
];

/// The host uid and gid that the container's root is (with a user namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

/// Usage counters for `dominfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupStats {
    /// CPU time used by every process that ran in the group.
    pub cpu_time_ns: u64,
    /// Memory charged to the group now (v2 `memory.current`, v1
    /// `memory.usage_in_bytes`, page cache included).
    pub memory_bytes: u64,
}

/// Memory-limit events, so a monitor can say why init died.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryEvents {
    /// Times usage hit the limit (v2 `max`, v1 `memory.failcnt`).
    pub limit_hits: u64,
    /// Processes the OOM killer killed in the group (v2 `oom_kill`, v1
    /// `oom_kill` in `memory.oom_control`, kernels ≥ 4.13).
    pub oom_kills: u64,
}

/// One v1 hierarchy's directory for the group.
#[derive(Debug, Clone)]
struct V1Dir {
    controllers: Vec<Controller>,
    mount: PathBuf,
    dir: PathBuf,
}

/// A domain's cgroup in every hierarchy of the host.
#[derive(Debug, Clone)]
pub struct Cgroup {
    layout: Layout,
    /// `machine/NAME`: the group relative to each mount.
    relative: PathBuf,
    v1: Vec<V1Dir>,
    /// The group under `name=systemd` (v1 and hybrid hosts that have it).
    systemd: Option<PathBuf>,
    /// The group on v2, or under the unified mount on hybrid.
    v2: Option<PathBuf>,
}

impl Cgroup {
    /// Creates (or adopts, when it exists and is empty) the group
    /// `PARTITION/NAME` in every hierarchy: each v1 mount, and the cgroup2
    /// mount on v2 and hybrid hosts.
    ///
    /// Missing partition levels are created. On v1 each new cpuset level gets
    /// `cpuset.cpus`/`cpuset.mems` copied from its parent (a v1 cpuset starts
    /// empty, and an empty cpuset accepts no process). On a pure v2 host the
    /// controllers the parent offers among cpuset, cpu, io, memory and pids
    /// are enabled in `cgroup.subtree_control` of the mount root and each
    /// partition level. The partition itself is shared and never removed.
    ///
    /// An existing group with processes in it is [`CgroupError::GroupBusy`]:
    /// call [`Cgroup::sweep_stale`] first if it belongs to a dead monitor.
    /// On error, leaf directories made by this call are removed again.
    pub fn create(layout: &Layout, partition: &str, name: &str) -> Result<Cgroup, CgroupError> {
        let cg = Cgroup::locate(layout, partition, name)?;
        let mut made: Vec<PathBuf> = Vec::new();
        let result = cg.create_all(&mut made);
        if result.is_err() {
            for dir in made.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
        }
        result.map(|()| cg)
    }

    /// The existing group `PARTITION/NAME`, if any hierarchy has it (for
    /// `dominfo` or `destroy` from another process, or a sweep).
    pub fn open(
        layout: &Layout,
        partition: &str,
        name: &str,
    ) -> Result<Option<Cgroup>, CgroupError> {
        let cg = Cgroup::locate(layout, partition, name)?;
        let exists = cg.dirs().any(Path::is_dir);
        Ok(exists.then_some(cg))
    }

    /// Kills and removes a group left behind by a crashed monitor. Returns
    /// whether there was one.
    pub fn sweep_stale(layout: &Layout, partition: &str, name: &str) -> Result<bool, CgroupError> {
        match Cgroup::open(layout, partition, name)? {
            Some(cg) => cg.remove().map(|()| true),
            None => Ok(false),
        }
    }

    /// Computes every directory without touching the filesystem.
    fn locate(layout: &Layout, partition: &str, name: &str) -> Result<Cgroup, CgroupError> {
        let relative = relative_path(partition, name)?;
        let mut v1: Vec<V1Dir> = Vec::new();
        for (c, mount) in layout.v1_controllers().into_iter().flatten() {
            match v1.iter_mut().find(|d| &d.mount == mount) {
                Some(d) => d.controllers.push(*c),
                None => v1.push(V1Dir {
                    controllers: vec![*c],
                    mount: mount.clone(),
                    dir: mount.join(&relative),
                }),
            }
        }
        let v2 = layout.v2_root().map(|r| r.join(&relative));
        let systemd = layout.systemd_hierarchy().map(|r| r.join(&relative));
        Ok(Cgroup {
            layout: layout.clone(),
            relative,
            v1,
            systemd,
            v2,
        })
    }

    fn create_all(&self, made: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
        for d in &self.v1 {
            let cpuset = d.controllers.contains(&Controller::Cpuset);
            let mut parent = d.mount.clone();
            for comp in self.relative.components() {
                let dir = parent.join(comp);
                let is_leaf = dir == d.dir;
                if mkdir(&dir)? && is_leaf {
                    made.push(dir.clone());
                }
                if cpuset {
                    init_cpuset(&parent, &dir)?;
                }
                parent = dir;
            }
        }
        if let (Some(leaf), Some(root)) = (&self.systemd, self.layout.systemd_hierarchy()) {
            let mut dir = root.to_path_buf();
            for comp in self.relative.components() {
                dir = dir.join(comp);
                if mkdir(&dir)? && &dir == leaf {
                    made.push(dir.clone());
                }
            }
        }
        if let Some(leaf) = &self.v2 {
            let root = self
                .layout
                .v2_root()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let enable = matches!(self.layout, Layout::V2 { .. });
            let mut dir = root;
            for comp in self.relative.components() {
                if enable {
                    enable_controllers(&dir)?;
                }
                dir = dir.join(comp);
                let is_leaf = &dir == leaf;
                if mkdir(&dir)? && is_leaf {
                    made.push(dir.clone());
                }
            }
        }
        // An adopted group must be empty.
        let pids = self.procs()?;
        if !pids.is_empty() {
            return Err(CgroupError::GroupBusy {
                path: self.main_dir(),
                pids: pids.iter().map(|p| p.as_raw()).collect(),
            });
        }
        Ok(())
    }

    /// Writes the settings. Every target file is checked first, so a
    /// setting the host cannot apply fails before anything is written:
    /// resources go to v2 on a v2 host and to v1 on v1 and hybrid hosts.
    pub fn apply(&self, settings: &CgroupSettings) -> Result<(), CgroupError> {
        let h = self.resource_hierarchy();
        self.apply_writes(&settings.writes(h, block_device)?)
    }

    /// Writes what [`CgroupSettings::writes`] (or
    /// [`super::settings::pids_write`]) gave, every target checked first:
    /// the entry point of live tuning on a running domain's group.
    pub fn apply_writes(&self, writes: &[FileWrite]) -> Result<(), CgroupError> {
        let mut planned = Vec::with_capacity(writes.len());
        for w in writes {
            planned.push(self.target(w)?);
        }
        for (w, path) in writes.iter().zip(planned) {
            write_file(&path, &w.value).map_err(|source| CgroupError::Write {
                setting: w.setting.clone(),
                path,
                value: w.value.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Sets the allowed CPUs of a group that has sub-groups (a running
    /// domain's; `cpus` in the kernel's list form). On v1 a group's
    /// `cpuset.cpus` must stay within its parent's, and the groups below the
    /// limit group hold the old list: every level is first widened to old ∪
    /// new (top-down), then narrowed to new (bottom-up). On v2 the limit
    /// group's file alone is written (the kernel narrows the effective sets
    /// below it).
    pub fn set_cpus(&self, cpus: &str) -> Result<(), CgroupError> {
        let Some(top) = self.v1_dir(Controller::Cpuset) else {
            let settings = CgroupSettings {
                cpuset: super::CpusetSettings {
                    cpus: Some(cpus.to_owned()),
                    mems: None,
                },
                ..CgroupSettings::default()
            };
            return self.apply(&settings);
        };
        let mut levels = vec![top.to_path_buf()];
        let mut i = 0;
        while let Some(dir) = levels.get(i).cloned() {
            let children = std::fs::read_dir(&dir).map_err(|source| CgroupError::ReadFile {
                path: dir.clone(),
                source,
            })?;
            levels.extend(
                children
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
            i += 1;
        }
        let write = |dir: &Path, value: &str| {
            let path = dir.join("cpuset.cpus");
            write_file(&path, value).map_err(|source| CgroupError::Write {
                setting: "vcpu/@cpuset".into(),
                path,
                value: value.to_owned(),
                source,
            })
        };
        let old = read_to_string(&top.join("cpuset.cpus"))?;
        let union = format!("{},{cpus}", old.trim());
        let union = crate::domain::CpuSet::parse(union.trim_start_matches(','))
            .map(|c| c.kernel_list())
            .unwrap_or_else(|_| cpus.to_owned());
        for dir in &levels {
            write(dir, &union)?;
        }
        for dir in levels.iter().rev() {
            write(dir, cpus)?;
        }
        Ok(())
    }

    /// Which format the resource files speak on this host.
    pub fn resource_hierarchy(&self) -> Hierarchy {
        match self.layout {
            Layout::V2 { .. } => Hierarchy::V2,
            Layout::V1 { .. } | Layout::Hybrid { .. } => Hierarchy::V1,
        }
    }

    /// The file one write goes to, or why the host cannot take it.
    fn target(&self, w: &FileWrite) -> Result<PathBuf, CgroupError> {
        let (dir, controller) = match self.resource_hierarchy() {
            Hierarchy::V2 => {
                let name = w.controller.v2_name().unwrap_or("?");
                let dir = self.v2.clone().unwrap_or_default();
                let list = dir.join("cgroup.controllers");
                let offered = read_to_string(&list)?;
                if !offered.split_whitespace().any(|c| c == name) {
                    return Err(CgroupError::MissingController {
                        setting: w.setting.clone(),
                        controller: name,
                        layout: self.layout.kind(),
                        where_: format!(" in {}", list.display()),
                    });
                }
                (dir, name)
            }
            Hierarchy::V1 => match self.v1_dir(w.controller) {
                Some(dir) => (dir.to_path_buf(), w.controller.name()),
                None => {
                    return Err(CgroupError::MissingController {
                        setting: w.setting.clone(),
                        controller: w.controller.name(),
                        layout: self.layout.kind(),
                        where_: String::new(),
                    });
                }
            },
        };
        w.files
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists())
            .ok_or_else(|| CgroupError::MissingFile {
                setting: w.setting.clone(),
                controller,
                dir: dir.clone(),
                files: w.files.join(" or "),
            })
    }

    /// Puts a process in the limit group itself, in every hierarchy;
    /// children forked later inherit the group. Before [`Cgroup::delegate`]
    /// only: on v2 a group that delegates controllers holds no process (the
    /// launcher uses [`Cgroup::add_payload_pid`] and
    /// [`Cgroup::add_helper_pid`]).
    pub fn add_pid(&self, pid: Pid) -> Result<(), CgroupError> {
        place(self.dirs(), pid)
    }

    /// Makes the payload group (`L/payload`) in every hierarchy, tracking
    /// ones included, for the container's init to run in; on a pure v2 host
    /// first enables the controllers `L` offers in its
    /// `cgroup.subtree_control`, so the payload's own subtree can use them.
    /// With `owner` (a user namespace), the payload's directory and its
    /// [`DELEGATION_FILES`] in the writable hierarchies
    /// ([`Layout::writable_hierarchies`]) are given to the container's root;
    /// the v1 controllers and everything above the payload stay the host's.
    pub fn delegate(&self, owner: Option<Owner>) -> Result<(), CgroupError> {
        if let (Layout::V2 { .. }, Some(dir)) = (&self.layout, &self.v2) {
            enable_controllers(dir)?;
        }
        self.make_subgroup(PAYLOAD_GROUP)?;
        if let Some(owner) = owner {
            for path in self.delegation_targets() {
                chown(&path, owner)?;
            }
        }
        Ok(())
    }

    /// The payload group's directory in every hierarchy (pure).
    pub fn payload_dirs(&self) -> Vec<PathBuf> {
        self.dirs().map(|d| d.join(PAYLOAD_GROUP)).collect()
    }

    /// The payload group's directories in the writable hierarchies, each
    /// followed by its delegation files that exist: what [`Cgroup::delegate`]
    /// chowns.
    pub fn delegation_targets(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in self.systemd.iter().chain(&self.v2) {
            let payload = dir.join(PAYLOAD_GROUP);
            let files = DELEGATION_FILES.iter().map(|f| payload.join(f));
            let files: Vec<PathBuf> = files.filter(|p| p.exists()).collect();
            out.push(payload);
            out.extend(files);
        }
        out
    }

    /// Puts the container's init in the payload group in every hierarchy
    /// (after [`Cgroup::delegate`], before init unshares its cgroup
    /// namespace, whose root then is the payload group).
    pub fn add_payload_pid(&self, pid: Pid) -> Result<(), CgroupError> {
        place(self.payload_dirs().iter().map(PathBuf::as_path), pid)
    }

    /// Puts one of the domain's helper processes in the supervisor group
    /// (made on first use) in every hierarchy.
    pub fn add_helper_pid(&self, pid: Pid) -> Result<(), CgroupError> {
        self.make_subgroup(SUPERVISOR_GROUP)?;
        let dirs: Vec<PathBuf> = self.dirs().map(|d| d.join(SUPERVISOR_GROUP)).collect();
        place(dirs.iter().map(PathBuf::as_path), pid)
    }

    /// Makes `name` below the group in every hierarchy (an existing one is
    /// fine), its v1 cpuset initialised from the group's.
    fn make_subgroup(&self, name: &str) -> Result<(), CgroupError> {
        for d in &self.v1 {
            let child = d.dir.join(name);
            mkdir(&child)?;
            if d.controllers.contains(&Controller::Cpuset) {
                init_cpuset(&d.dir, &child)?;
            }
        }
        for dir in self.systemd.iter().chain(&self.v2) {
            mkdir(&dir.join(name))?;
        }
        Ok(())
    }

    /// Every process in the group or a group below it, in any hierarchy
    /// (sorted, no duplicates).
    pub fn procs(&self) -> Result<Vec<Pid>, CgroupError> {
        procs_of(self.dirs())
    }

    /// The processes in the cgroup2 group only.
    fn v2_procs(&self) -> Result<Vec<Pid>, CgroupError> {
        procs_of(self.v2.as_deref())
    }

    /// CPU time and memory use.
    ///
    /// CPU: v1 `cpuacct.usage` (ns) where the cpuacct controller is mounted,
    /// else `cpu.stat` `usage_usec` of the cgroup2 group (present on hybrid
    /// hosts even without controllers). Memory: v2 `memory.current` or v1
    /// `memory.usage_in_bytes`.
    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        let cpu_time_ns = if let Some(dir) = self.v1_dir(Controller::Cpuacct) {
            read_u64(&dir.join("cpuacct.usage"))?
        } else if let Some(dir) = &self.v2 {
            let path = dir.join("cpu.stat");
            keyed(&path, "usage_usec")?.saturating_mul(1000)
        } else {
            return Err(self.missing("dominfo cpu time", "cpuacct"));
        };
        let memory_bytes = match self.resource_hierarchy() {
            Hierarchy::V2 => {
                let dir = self.v2.clone().unwrap_or_default();
                self.need_file(&dir, "memory.current", "dominfo memory", "memory")?;
                read_u64(&dir.join("memory.current"))?
            }
            Hierarchy::V1 => match self.v1_dir(Controller::Memory) {
                Some(dir) => read_u64(&dir.join("memory.usage_in_bytes"))?,
                None => return Err(self.missing("dominfo memory", "memory")),
            },
        };
        Ok(CgroupStats {
            cpu_time_ns,
            memory_bytes,
        })
    }

    /// Memory-limit events since the group was made.
    pub fn memory_events(&self) -> Result<MemoryEvents, CgroupError> {
        match self.resource_hierarchy() {
            Hierarchy::V2 => {
                let dir = self.v2.clone().unwrap_or_default();
                self.need_file(&dir, "memory.events", "memory events", "memory")?;
                let path = dir.join("memory.events");
                Ok(MemoryEvents {
                    limit_hits: keyed(&path, "max")?,
                    oom_kills: keyed(&path, "oom_kill")?,
                })
            }
            Hierarchy::V1 => {
                let Some(dir) = self.v1_dir(Controller::Memory) else {
                    return Err(self.missing("memory events", "memory"));
                };
                let control = dir.join("memory.oom_control");
                // Kernels before 4.13 have no oom_kill line.
                let oom_kills = match keyed(&control, "oom_kill") {
                    Ok(n) => n,
                    Err(CgroupError::ParseFile { .. }) => 0,
                    Err(e) => return Err(e),
                };
                Ok(MemoryEvents {
                    limit_hits: read_u64(&dir.join("memory.failcnt"))?,
                    oom_kills,
                })
            }
        }
    }

    /// Whether the OOM killer has killed a process of the group.
    pub fn oom_killed(&self) -> Result<bool, CgroupError> {
        Ok(self.memory_events()?.oom_kills > 0)
    }

    /// Kills every process in the group and waits until none is left.
    ///
    /// With `cgroup.kill` (cgroup2 group, Linux ≥ 5.14; hybrid hosts too):
    /// one write kills the whole group atomically, forks included. Without
    /// it: freeze (v2 `cgroup.freeze` or v1 `freezer.state`), SIGKILL every
    /// pid in `cgroup.procs`, thaw, repeated until the group is empty. It
    /// refuses to run when the calling process is itself in the group.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        let me = Pid::this();
        let deadline = Instant::now() + KILL_DEADLINE;
        let kill_file = self
            .v2
            .as_ref()
            .map(|d| d.join("cgroup.kill"))
            .filter(|p| p.exists());
        loop {
            let pids = self.procs()?;
            if pids.is_empty() {
                return Ok(());
            }
            if pids.contains(&me) {
                return Err(CgroupError::KillSelf {
                    path: self.main_dir(),
                    pid: me,
                });
            }
            if Instant::now() > deadline {
                return Err(CgroupError::KillTimeout {
                    path: self.main_dir(),
                    pids: pids.iter().map(|p| p.as_raw()).collect(),
                });
            }
            // cgroup.kill reaches only what is in the cgroup2 group; anything
            // placed in v1 groups alone goes the freezer way.
            match &kill_file {
                Some(path) if !self.v2_procs()?.is_empty() => {
                    write_file(path, "1").map_err(|source| CgroupError::Kill {
                        path: path.clone(),
                        source,
                    })?;
                }
                _ => self.freeze_and_kill(&pids)?,
            }
            // Give the kernel a moment to reap the group before looking again.
            let settle = Instant::now() + Duration::from_millis(100);
            while Instant::now() < settle && !self.procs()?.is_empty() {
                std::thread::sleep(POLL);
            }
        }
    }

    /// Freezes the group (when a freezer exists), SIGKILLs `pids`, thaws.
    fn freeze_and_kill(&self, pids: &[Pid]) -> Result<(), CgroupError> {
        let freezer = self.freezer();
        if let Some((path, frozen, _)) = &freezer {
            write_file(path, frozen).map_err(|source| CgroupError::Freeze {
                path: path.clone(),
                value: frozen,
                source,
            })?;
            self.wait_frozen();
        }
        let mut result = Ok(());
        // Every pid read while frozen: nothing can fork in between. Read
        // again now that the group is frozen, in case one forked before.
        let pids = match self.procs() {
            Ok(p) if freezer.is_some() => p,
            _ => pids.to_vec(),
        };
        for pid in pids {
            match kill(pid, Signal::SIGKILL) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(source) => {
                    result = Err(CgroupError::Signal { pid, source });
                    break;
                }
            }
        }
        // Thaw even after a failed kill: a v1 frozen task cannot die.
        if let Some((path, _, thawed)) = freezer {
            write_file(&path, thawed).map_err(|source| CgroupError::Freeze {
                path: path.clone(),
                value: thawed,
                source,
            })?;
        }
        result
    }

    /// The freezer file with its frozen and thawed values.
    fn freezer(&self) -> Option<(PathBuf, &'static str, &'static str)> {
        if let Some(p) = self
            .v2
            .as_ref()
            .map(|d| d.join("cgroup.freeze"))
            .filter(|p| p.exists())
        {
            return Some((p, "1", "0"));
        }
        self.v1_dir(Controller::Freezer)
            .map(|d| d.join("freezer.state"))
            .filter(|p| p.exists())
            .map(|p| (p, "FROZEN", "THAWED"))
    }

    /// Waits (bounded) until the freezer reports the group frozen.
    fn wait_frozen(&self) {
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            let frozen = if let Some(d) = self
                .v2
                .as_ref()
                .filter(|d| d.join("cgroup.freeze").exists())
            {
                keyed(&d.join("cgroup.events"), "frozen").is_ok_and(|v| v == 1)
            } else if let Some(d) = self.v1_dir(Controller::Freezer) {
                read_to_string(&d.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
            } else {
                true
            };
            if frozen {
                return;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Kills everything in the group, then removes its directory (and any
    /// sub-groups made inside it) in every hierarchy. Already-missing
    /// directories are fine, so it can be called again after a failure. The
    /// partition is left in place.
    pub fn remove(&self) -> Result<(), CgroupError> {
        self.kill_all()?;
        for dir in self.dirs() {
            remove_tree(dir)?;
        }
        Ok(())
    }

    /// The layout the group lives in.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// `PARTITION/NAME` without the leading `/` (the path inside each mount,
    /// and what `/proc/PID/cgroup` shows with a `/` in front).
    pub fn relative(&self) -> &Path {
        &self.relative
    }

    /// The group's directory in the cgroup2 hierarchy, if the host has one.
    pub fn v2_path(&self) -> Option<&Path> {
        self.v2.as_deref()
    }

    /// The group's directory in the v1 hierarchy of `controller`.
    pub fn v1_dir(&self, controller: Controller) -> Option<&Path> {
        self.v1
            .iter()
            .find(|d| d.controllers.contains(&controller))
            .map(|d| d.dir.as_path())
    }

    /// Every directory of the group: each v1 hierarchy, `name=systemd`,
    /// then cgroup2.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.v1
            .iter()
            .map(|d| d.dir.as_path())
            .chain(self.systemd.as_deref())
            .chain(self.v2.as_deref())
    }

    /// The group's directory in the `name=systemd` hierarchy.
    pub fn systemd_dir(&self) -> Option<&Path> {
        self.systemd.as_deref()
    }

    /// The directory named in messages: cgroup2's, else the first v1 one.
    fn main_dir(&self) -> PathBuf {
        self.v2
            .clone()
            .or_else(|| self.v1.first().map(|d| d.dir.clone()))
            .unwrap_or_default()
    }

    fn missing(&self, setting: &str, controller: &'static str) -> CgroupError {
        CgroupError::MissingController {
            setting: setting.to_owned(),
            controller,
            layout: self.layout.kind(),
            where_: String::new(),
        }
    }

    fn need_file(
        &self,
        dir: &Path,
        file: &'static str,
        setting: &str,
        controller: &'static str,
    ) -> Result<(), CgroupError> {
        if dir.join(file).exists() {
            Ok(())
        } else {
            Err(CgroupError::MissingFile {
                setting: setting.to_owned(),
                controller,
                dir: dir.to_owned(),
                files: file.to_owned(),
            })
        }
    }
}
