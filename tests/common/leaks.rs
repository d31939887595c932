//! Leak checks: what a test mounted, attached or spawned must be gone at its end.

use std::time::{Duration, Instant};

use std::path::Path;

/// Attached loop devices as `"/dev/loopN: BACKING_FILE"`, sorted, from
/// `/sys/block/loop*/loop/backing_file` (present only while attached).
pub fn loop_devices() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    let mut loops: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("loop") {
                return None;
            }
            let backing = std::fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            Some(format!("/dev/{name}: {}", backing.trim_end()))
        })
        .collect();
    loops.sort();
    loops
}

/// Mount points (from `/proc/self/mountinfo`, octal escapes decoded) whose
/// path contains `s`.
pub fn mounts_containing(s: &str) -> Vec<String> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|m| m.contains(s))
        .collect()
}

/// Decodes mountinfo's `\NNN` octal escapes (space, tab, newline, backslash).
pub fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let oct = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], oct) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Panics, listing them, if any mount point or loop backing file under `dir`
/// is still present. Call at the end of a test that mounted or attached
/// something inside its temp dir.
pub fn assert_no_leaks_under(dir: &Path) {
    let d = dir.to_string_lossy();
    let mounts = mounts_containing(&d);
    let loops: Vec<String> = loop_devices()
        .into_iter()
        .filter(|l| l.contains(&*d))
        .collect();
    assert!(
        mounts.is_empty() && loops.is_empty(),
        "leaked under {d}: mounts {mounts:?}, loop devices {loops:?}"
    );
}

/// Panics unless the template store at `state_root` holds only `.empty` in
/// `templates/`: no template, no staging directory left by a failed build.
pub fn assert_store_empty(state_root: &Path) {
    let names: Vec<String> = std::fs::read_dir(state_root.join("templates"))
        .expect("templates/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [".empty"], "left behind in the store");
}

/// Host state a launch must leave as it found it: the whole mount table,
/// the attached loop devices, this process's children.
#[derive(Debug, PartialEq, Eq)]
pub struct HostState {
    mounts: Vec<String>,
    loops: Vec<String>,
    children: Vec<i32>,
}

fn mount_table() -> Vec<String> {
    // Mount ids and the tempdirs created by the test itself do not change
    // between snapshots; compare the whole lines.
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Processes whose parent is this test process.
fn our_children() -> Vec<i32> {
    let me = std::process::id().to_string();
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the parenthesised comm: state ppid ...
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if after.split_whitespace().nth(1) == Some(me.as_str()) {
            kids.push(pid);
        }
    }
    kids
}

impl HostState {
    /// Snapshot now.
    pub fn capture() -> Self {
        Self {
            mounts: mount_table(),
            loops: loop_devices(),
            children: our_children(),
        }
    }

    /// Asserts the host is back to this snapshot. Loop autoclear and mount
    /// namespace teardown finish asynchronously: poll, with a generous
    /// deadline ([`super::PATIENCE`]).
    pub fn assert_restored(&self) {
        let deadline = Instant::now() + super::PATIENCE;
        loop {
            let now = Self::capture();
            if now == *self {
                return;
            }
            if Instant::now() > deadline {
                assert_eq!(now.mounts, self.mounts, "host mount table changed");
                assert_eq!(now.loops, self.loops, "loop devices left attached");
                assert_eq!(now.children, self.children, "processes left behind");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Directories named `dir_name` (a domain's `NAME.domrun`) in any cgroup
/// hierarchy mounted on this host (every `cgroup`/`cgroup2` mount in
/// `/proc/self/mountinfo`), searched a few levels deep.
pub fn cgroups_named(dir_name: &str) -> Vec<std::path::PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut roots: Vec<std::path::PathBuf> = info
        .lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let fstype = post.split(' ').next()?;
            let mount_point = pre.split(' ').nth(4)?;
            matches!(fstype, "cgroup" | "cgroup2").then(|| unescape_mountinfo(mount_point).into())
        })
        .collect();
    roots.sort();
    roots.dedup();
    let mut found = Vec::new();
    for root in roots {
        find_dirs(&root, dir_name, 6, &mut found);
    }
    found
}

fn find_dirs(dir: &Path, name: &str, depth: u32, found: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        if entry.file_name() == name {
            found.push(path);
        } else if depth > 0 {
            find_dirs(&path, name, depth - 1, found);
        }
    }
}

/// Processes (other than this one) whose command line contains `s`.
pub fn processes_mentioning(s: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(s))
        })
        .collect()
}
