//! The cgroupfs operations a [`super::Cgroup`] is made of: group paths
//! (escaped as libvirt escapes them), directory creation and removal, and
//! reading and writing control files. Every path comes from the caller.

use super::handle::{POLL, RMDIR_DEADLINE, V2_CONTROLLERS};
use super::{CgroupError, Controller};
use nix::sys::stat::{SFlag, major, minor, stat};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

/// `PARTITION/NAME` as a relative path, each component escaped with
/// [`escape_component`], refusing anything that could leave the mount.
pub(super) fn relative_path(partition: &str, name: &str) -> Result<PathBuf, CgroupError> {
    let bad_part = |reason| CgroupError::InvalidPartition {
        partition: partition.to_owned(),
        reason,
    };
    let Some(rest) = partition.strip_prefix('/') else {
        return Err(bad_part("must start with '/'"));
    };
    let mut rel = PathBuf::new();
    for comp in rest.split('/').filter(|c| !c.is_empty()) {
        if comp == "." || comp == ".." {
            return Err(bad_part("may not contain '.' or '..'"));
        }
        rel.push(escape_component(comp).map_err(bad_part)?);
    }
    if rel.as_os_str().is_empty() {
        return Err(bad_part("must name a group below the root, like /machine"));
    }
    let leaf = escape_component(name).map_err(|reason| CgroupError::InvalidName {
        name: name.to_owned(),
        reason,
    })?;
    rel.push(leaf);
    debug_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
    Ok(rel)
}

/// One directory name, escaped as libvirt does (`virCgroupPartitionEscape`):
/// a name starting with `_` or `.`, or shaped like a control file
/// (`cgroup.*`, `memory.*`, `io.*`, …), gets a leading `_`, so a domain
/// called `cpu.example.org` lives in `_cpu.example.org` and `..` in `_..`.
/// Empty names and names with `/` or NUL are refused.
pub(crate) fn escape_component(c: &str) -> Result<String, &'static str> {
    if c.is_empty() {
        return Err("is empty");
    }
    if c.contains('/') || c.contains('\0') {
        return Err("may not contain '/' or NUL");
    }
    let reserved = |prefix: &str| {
        [
            "cgroup",
            "io",
            "notify_on_release",
            "release_agent",
            "tasks",
        ]
        .contains(&prefix)
            || Controller::from_name(prefix).is_some()
    };
    let control_like = c.split_once('.').is_some_and(|(p, _)| reserved(p))
        || c == "tasks"
        || c == "notify_on_release"
        || c == "release_agent";
    if c.starts_with('_') || c.starts_with('.') || control_like {
        Ok(format!("_{c}"))
    } else {
        Ok(c.to_owned())
    }
}

/// The pids in `cgroup.procs` of each existing directory and every group
/// below it (sorted, no duplicates); a directory that is gone counts as
/// empty. `cgroup.procs` lists a group's own members only, and the domain's
/// processes live in its sub-groups (the payload, and whatever the container
/// made in its delegated subtree).
pub(super) fn procs_of<'a>(
    dirs: impl IntoIterator<Item = &'a Path>,
) -> Result<Vec<Pid>, CgroupError> {
    let mut set = BTreeSet::new();
    for dir in dirs {
        procs_below(dir, &mut set)?;
    }
    Ok(set.into_iter().map(Pid::from_raw).collect())
}

/// The sub-groups of `dir`; `None` when `dir` is gone (or was never made).
fn subgroups(dir: &Path) -> std::io::Result<Option<Vec<PathBuf>>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let dirs = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    Ok(Some(dirs))
}

fn procs_below(dir: &Path, set: &mut BTreeSet<i32>) -> Result<(), CgroupError> {
    let read_error = |source| CgroupError::ReadFile {
        path: dir.to_owned(),
        source,
    };
    // Gone: empty. A group removed while we walk is too.
    let Some(children) = subgroups(dir).map_err(read_error)? else {
        return Ok(());
    };
    for child in children {
        procs_below(&child, set)?;
    }
    let path = dir.join("cgroup.procs");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound && !dir.exists() => return Ok(()),
        // ENODEV: the group was removed between the walk and the read (its
        // monitor tearing it down at the same time): empty as well.
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(()),
        Err(source) => return Err(CgroupError::ReadFile { path, source }),
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let pid: i32 = line.parse().map_err(|_| CgroupError::ParseFile {
            path: path.clone(),
            content: line.to_owned(),
            expected: "one pid per line",
        })?;
        set.insert(pid);
    }
    Ok(())
}

/// Writes `pid` to `cgroup.procs` of each directory.
pub(super) fn place<'a>(
    dirs: impl IntoIterator<Item = &'a Path>,
    pid: Pid,
) -> Result<(), CgroupError> {
    for dir in dirs {
        let path = dir.join("cgroup.procs");
        write_file(&path, &pid.to_string()).map_err(|source| CgroupError::AddPid {
            pid,
            path,
            source,
        })?;
    }
    Ok(())
}

/// Gives `path` to `owner` (a delegated group's directory or file).
pub(super) fn chown(path: &Path, owner: super::handle::Owner) -> Result<(), CgroupError> {
    std::os::unix::fs::chown(path, Some(owner.uid), Some(owner.gid)).map_err(|source| {
        CgroupError::Chown {
            path: path.to_owned(),
            uid: owner.uid,
            gid: owner.gid,
            source,
        }
    })
}

/// `mkdir`; an existing directory is fine. Returns whether it was made.
pub(super) fn mkdir(dir: &Path) -> Result<bool, CgroupError> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
        Err(source) => Err(CgroupError::CreateDir {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Copies `cpuset.cpus` and `cpuset.mems` from `parent` into `dir` where
/// `dir`'s are empty (v1 only).
pub(super) fn init_cpuset(parent: &Path, dir: &Path) -> Result<(), CgroupError> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let path = dir.join(file);
        if !read_to_string(&path)?.trim().is_empty() {
            continue;
        }
        let value = read_to_string(&parent.join(file))?.trim().to_owned();
        write_file(&path, &value).map_err(|source| CgroupError::InitCpuset {
            path: path.clone(),
            value,
            source,
        })?;
    }
    Ok(())
}

/// Enables in `dir/cgroup.subtree_control` the wanted controllers that
/// `dir/cgroup.controllers` offers and that are not on yet (v2 only).
pub(super) fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let offered = read_to_string(&dir.join("cgroup.controllers"))?;
    let control = dir.join("cgroup.subtree_control");
    let enabled = read_to_string(&control)?;
    let missing: Vec<String> = V2_CONTROLLERS
        .iter()
        .filter(|c| offered.split_whitespace().any(|o| o == **c))
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let value = missing.join(" ");
    write_file(&control, &value).map_err(|source| CgroupError::EnableControllers {
        path: control,
        value,
        source,
    })
}

/// Removes `dir` and any sub-groups in it, deepest first. Control files are
/// not removable (and need not be): `rmdir` of a cgroup takes them along.
pub(super) fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    let remove_error = |source| CgroupError::Remove {
        path: dir.to_owned(),
        source,
    };
    let Some(children) = subgroups(dir).map_err(remove_error)? else {
        return Ok(());
    };
    for child in children {
        remove_tree(&child)?;
    }
    let deadline = Instant::now() + RMDIR_DEADLINE;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(POLL);
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_owned(),
                    source,
                });
            }
        }
    }
}

/// `(major, minor)` of a block device, for `blkiotune/device`.
pub(super) fn block_device(path: &Path) -> Result<(u64, u64), CgroupError> {
    let setting = || format!("blkiotune/device[{}]", path.display());
    let st = stat(path).map_err(|source| CgroupError::StatDevice {
        setting: setting(),
        path: path.to_owned(),
        source,
    })?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFBLK {
        return Err(CgroupError::NotBlockDevice {
            setting: setting(),
            path: path.to_owned(),
        });
    }
    Ok((major(st.st_rdev), minor(st.st_rdev)))
}

/// One `write(2)` of the whole value, as cgroupfs wants; never creates.
pub(super) fn write_file(path: &Path, value: &str) -> std::io::Result<()> {
    let mut f: File = OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(value.as_bytes())
}

pub(super) fn read_to_string(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::ReadFile {
        path: path.to_owned(),
        source,
    })
}

pub(super) fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    let text = read_to_string(path)?;
    text.trim().parse().map_err(|_| CgroupError::ParseFile {
        path: path.to_owned(),
        content: text.trim().to_owned(),
        expected: "an unsigned integer",
    })
}

/// The value of `key` in a flat-keyed file (`key value` per line).
pub(super) fn keyed(path: &Path, key: &str) -> Result<u64, CgroupError> {
    let text = read_to_string(path)?;
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| CgroupError::ParseFile {
            path: path.to_owned(),
            content: text.trim().to_owned(),
            expected: "a 'KEY VALUE' line for the key",
        })
}
