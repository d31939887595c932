//! Live state of a running domain: who its monitor and init are, its id,
//! what it owns. Written by the monitor; read by every other command, which
//! can tell a live monitor from a stale record after a crash.

use super::{Root, StateError, io, read_optional, write_atomic};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A process, identified robustly: pid plus its start time (clock ticks since
/// boot, field 22 of /proc/PID/stat), so a reused pid is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    pub pid: i32,
    pub start_time: u64,
}

impl ProcessRef {
    /// The process `pid` as it is now, if it exists.
    pub fn of(pid: i32) -> Option<ProcessRef> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may contain spaces and parentheses: fields start
        // after the last ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let start_time = rest.split(' ').nth(19)?.parse().ok()?;
        Some(ProcessRef { pid, start_time })
    }

    /// True while this very process exists (and is not a zombie).
    pub fn is_alive(&self) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return false;
        };
        let Some(close) = stat.rfind(')') else {
            return false;
        };
        let rest = &stat[close + 2..];
        let mut fields = rest.split(' ');
        let state = fields.next().unwrap_or("");
        let start: Option<u64> = fields.nth(18).and_then(|s| s.parse().ok());
        state != "Z" && start == Some(self.start_time)
    }
}

/// `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveState {
    pub name: String,
    pub uuid: String,
    /// The runtime id shown by `list` (`<domain id=…>`).
    pub id: u32,
    pub monitor: ProcessRef,
    /// The container's init (or the VM's process), once started.
    pub init: Option<ProcessRef>,
    /// Seconds since the epoch.
    pub started_at: u64,
    /// False for a domain started from a file with `create` and never defined.
    pub persistent: bool,
    /// Host paths of what the monitor holds (loop devices, mounts, pty), for
    /// sweeping after a crash.
    #[serde(default)]
    pub owned: Vec<PathBuf>,
    /// True for a domain run in the foreground (`domrun run`): `monitor` is
    /// that process, and there is no control socket.
    #[serde(default)]
    pub foreground: bool,
}

impl Root {
    pub fn write_live(&self, s: &LiveState) -> Result<(), StateError> {
        let json = serde_json::to_vec_pretty(s).map_err(|e| StateError::Corrupt {
            path: self.live_state(&s.name),
            message: e.to_string(),
        })?;
        Ok(write_atomic(&self.live_state(&s.name), &json, 0o600)?)
    }

    pub fn read_live(&self, name: &str) -> Result<Option<LiveState>, StateError> {
        let path = self.live_state(name);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                path,
                message: e.to_string(),
            })
    }

    /// Removes a domain's live directory and everything in it.
    pub fn remove_live(&self, name: &str) -> Result<(), StateError> {
        let dir = self.live_dir(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&dir)(e)),
        }
    }

    /// Records the live state of a domain starting now, with a fresh id:
    /// `wanted` if no running domain has it (OpenVZ VEIDs), else the lowest
    /// free positive integer. The id is chosen and the state written under
    /// the ids lock ([`Root::ids_lock`]): the written state is what holds
    /// the id against the next allocation. Returns the id.
    pub fn record_starting(
        &self,
        mut state: LiveState,
        wanted: Option<u32>,
    ) -> Result<u32, StateError> {
        let _ids = self.ids_lock()?;
        state.id = self.allocate_id(wanted)?;
        self.write_live(&state)?;
        Ok(state.id)
    }

    /// The id [`Root::record_starting`] gives; only meaningful under the ids
    /// lock. A damaged live state holds no id (its id cannot be read).
    fn allocate_id(&self, wanted: Option<u32>) -> Result<u32, StateError> {
        let mut used = Vec::new();
        for name in self.live_names()? {
            if let Ok(Some(s)) = self.read_live(&name)
                && s.monitor.is_alive()
            {
                used.push(s.id);
            }
        }
        if let Some(w) = wanted.filter(|w| *w > 0 && !used.contains(w)) {
            return Ok(w);
        }
        Ok((1..).find(|i| !used.contains(i)).unwrap_or(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str, id: u32, monitor: ProcessRef) -> LiveState {
        LiveState {
            name: name.into(),
            uuid: String::new(),
            id,
            monitor,
            init: None,
            started_at: 0,
            persistent: true,
            owned: Vec::new(),
            foreground: false,
        }
    }

    #[test]
    fn ids_skip_live_domains_and_honour_free_requests() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path());
        let me = ProcessRef::of(std::process::id() as i32).unwrap();
        assert!(me.is_alive());
        root.write_live(&state("a", 1, me)).unwrap();
        root.write_live(&state("b", 3, me)).unwrap();
        // A stale record (dead monitor) does not hold its id.
        let dead = ProcessRef {
            pid: me.pid,
            start_time: me.start_time + 1,
        };
        assert!(!dead.is_alive());
        root.write_live(&state("c", 2, dead)).unwrap();
        assert_eq!(root.allocate_id(None).unwrap(), 2);
        assert_eq!(root.allocate_id(Some(3)).unwrap(), 2);
        assert_eq!(root.allocate_id(Some(101)).unwrap(), 101);
        assert_eq!(root.read_live("a").unwrap().unwrap().id, 1);
        root.remove_live("a").unwrap();
        assert_eq!(root.read_live("a").unwrap(), None);
    }

    #[test]
    fn concurrent_records_get_distinct_ids() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path());
        let me = ProcessRef::of(std::process::id() as i32).unwrap();
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let root = root.clone();
                std::thread::spawn(move || {
                    root.record_starting(state(&format!("d{i}"), 0, me), None)
                        .unwrap()
                })
            })
            .collect();
        let mut ids: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        ids.sort();
        assert_eq!(ids, (1..=16).collect::<Vec<_>>());
    }
}
