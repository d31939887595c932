//! `list` and `dominfo`: what a user sees of domains, printed as virsh does.

use super::{LifecycleError, live_state, stored_domain, stored_uuid};
use crate::state::Root;

/// A domain's state, as virsh names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainState {
    Running,
    ShutOff,
    /// Found with a dead monitor (and swept) by this command.
    Crashed,
    /// Its live state or definition cannot be read (see [`Damage`]); the
    /// other domains are listed all the same.
    Damaged,
}

impl DomainState {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainState::Running => "running",
            DomainState::ShutOff => "shut off",
            DomainState::Crashed => "crashed",
            DomainState::Damaged => "damaged",
        }
    }
}

/// One row of `domrun list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub id: Option<u32>,
    pub name: String,
    pub state: DomainState,
    pub uuid: Option<String>,
    pub autostart: bool,
    pub persistent: bool,
}

/// A domain whose state `list` or `dominfo` could not read, and why.
#[derive(Debug)]
pub struct Damage {
    pub name: String,
    pub error: LifecycleError,
}

/// What `list` found: the rows, and why the damaged ones are damaged.
#[derive(Debug, Default)]
pub struct Listing {
    pub rows: Vec<ListEntry>,
    pub damaged: Vec<Damage>,
}

/// Which domains `list` shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter {
    /// Inactive ones too.
    pub all: bool,
    /// Only those marked for autostart.
    pub autostart: bool,
    /// Read uuids (costs a file read per domain).
    pub uuids: bool,
}

/// Running domains first by id, then the rest by name. One domain whose
/// live state (or, with `all`, definition) cannot be read is a
/// [`DomainState::Damaged`] row with its [`Damage`]; it never fails the
/// listing. Parses XML only for `all` (each inactive definition, to tell a
/// damaged one).
pub fn list(root: &Root, filter: ListFilter) -> Result<Listing, LifecycleError> {
    let defined = root.defined_names()?;
    let mut rows = Vec::new();
    let mut damaged = Vec::new();
    let mut live_names = root.live_names()?;
    let damaged_row = |name: &str, persistent| ListEntry {
        id: None,
        name: name.to_owned(),
        state: DomainState::Damaged,
        uuid: None,
        autostart: root.is_autostart(name),
        persistent,
    };
    for name in &live_names {
        let found = root
            .read_live(name)
            .map_err(LifecycleError::from)
            .and_then(|record| Ok((record, live_state(root, name)?)));
        let (record, live) = match found {
            Ok(found) => found,
            Err(error) => {
                rows.push(damaged_row(name, defined.contains(name)));
                damaged.push(Damage {
                    name: name.clone(),
                    error,
                });
                continue;
            }
        };
        let stale = record.filter(|s| !s.monitor.is_alive());
        let entry = match live {
            Some(s) => ListEntry {
                id: Some(s.id),
                name: name.clone(),
                state: DomainState::Running,
                uuid: Some(s.uuid).filter(|_| filter.uuids),
                autostart: root.is_autostart(name),
                persistent: s.persistent,
            },
            None if stale.is_some() && defined.contains(name) => ListEntry {
                id: None,
                name: name.clone(),
                state: DomainState::Crashed,
                uuid: None,
                autostart: root.is_autostart(name),
                persistent: true,
            },
            None => continue,
        };
        rows.push(entry);
    }
    rows.sort_by_key(|r| (r.state != DomainState::Running, r.id));
    live_names.retain(|n| rows.iter().any(|r| &r.name == n));
    for name in defined {
        if live_names.contains(&name) {
            continue;
        }
        if filter.all
            && let Err(error) = stored_domain(root, &name)
        {
            rows.push(damaged_row(&name, true));
            damaged.push(Damage { name, error });
            continue;
        }
        rows.push(ListEntry {
            id: None,
            uuid: None,
            state: DomainState::ShutOff,
            autostart: root.is_autostart(&name),
            persistent: true,
            name,
        });
    }
    rows.retain(|r| filter.all || r.state == DomainState::Running);
    if filter.autostart {
        rows.retain(|r| r.autostart);
    }
    if filter.uuids {
        for r in &mut rows {
            if r.uuid.is_none() {
                r.uuid = stored_uuid(root, &r.name);
            }
        }
    }
    damaged.retain(|d| rows.iter().any(|r| r.name == d.name));
    Ok(Listing { rows, damaged })
}

/// Prints rows as `virsh list` does.
pub fn format_list(rows: &[ListEntry]) -> String {
    let name_w = rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(4);
    let mut out = format!(" {:<4} {:<name_w$}   State\n", "Id", "Name");
    out.push_str(&"-".repeat(name_w + 17));
    out.push('\n');
    for r in rows {
        let id = r.id.map_or("-".to_string(), |i| i.to_string());
        out.push_str(&format!(
            " {:<4} {:<name_w$}   {}\n",
            id,
            r.name,
            r.state.as_str()
        ));
    }
    out
}

/// What `domrun dominfo` shows.
#[derive(Debug)]
pub struct DomainInfo {
    pub id: Option<u32>,
    pub name: String,
    pub uuid: String,
    pub os_type: String,
    pub state: DomainState,
    pub vcpus: u32,
    pub max_memory_kib: Option<u64>,
    pub used_memory_kib: Option<u64>,
    pub cpu_time_ns: Option<u64>,
    pub persistent: bool,
    pub autostart: bool,
    /// Why the live state cannot be read (the state is then `damaged`).
    pub damage: Option<LifecycleError>,
}

/// A domain whose live state is damaged is shown from its definition (or
/// fails as not defined), with the damage.
pub fn dominfo(root: &Root, name: &str) -> Result<DomainInfo, LifecycleError> {
    let (live, damage) = match live_state(root, name) {
        Ok(live) => (live, None),
        Err(error) => (None, Some(error)),
    };
    let defined = root.read_definition(name)?.is_some();
    let d = match (&live, defined) {
        (_, true) => stored_domain(root, name)?,
        (Some(_), false) => {
            let bytes = crate::state::read_optional(&root.live_xml(name))?
                .ok_or_else(|| LifecycleError::NotDefined(name.to_owned()))?;
            crate::domain::Domain::parse(&bytes).map_err(|error| {
                LifecycleError::StoredDefinition {
                    name: name.to_owned(),
                    error,
                }
            })?
        }
        (None, false) => {
            return Err(damage.unwrap_or_else(|| LifecycleError::NotDefined(name.to_owned())));
        }
    };
    // CPU time and memory come from the running domain's cgroup.
    let stats = live.as_ref().and_then(|_| {
        let partition = d.resource.as_ref().and_then(|r| r.partition.as_deref());
        let (partition, group) = crate::plan::CgroupPlan::place(name, partition);
        let group =
            crate::cgroup::Cgroup::open(super::host_layout()?, &partition, &group).ok()??;
        group.stats().ok()
    });
    Ok(DomainInfo {
        id: live.as_ref().map(|l| l.id),
        name: d.name.clone(),
        uuid: d.uuid.map(|u| u.to_string()).unwrap_or_default(),
        os_type: d.os.kind.to_string(),
        state: match (&live, &damage) {
            (_, Some(_)) => DomainState::Damaged,
            (Some(_), None) => DomainState::Running,
            (None, None) => DomainState::ShutOff,
        },
        vcpus: d.vcpu.as_ref().map_or(1, |v| v.count),
        max_memory_kib: d.memory,
        used_memory_kib: stats.as_ref().map(|s| s.memory_bytes / 1024),
        cpu_time_ns: stats.as_ref().map(|s| s.cpu_time_ns),
        persistent: defined,
        autostart: root.is_autostart(name),
        damage,
    })
}

impl std::fmt::Display for DomainInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let kib = |v: Option<u64>| v.map_or("unlimited".to_string(), |k| format!("{k} KiB"));
        writeln!(
            f,
            "{:<15} {}",
            "Id:",
            self.id.map_or("-".into(), |i| i.to_string())
        )?;
        writeln!(f, "{:<15} {}", "Name:", self.name)?;
        writeln!(f, "{:<15} {}", "UUID:", self.uuid)?;
        writeln!(f, "{:<15} {}", "OS Type:", self.os_type)?;
        writeln!(f, "{:<15} {}", "State:", self.state.as_str())?;
        if let Some(damage) = &self.damage {
            writeln!(f, "{:<15} {damage}", "Damage:")?;
        }
        writeln!(f, "{:<15} {}", "CPU(s):", self.vcpus)?;
        if let Some(ns) = self.cpu_time_ns {
            writeln!(f, "{:<15} {:.1}s", "CPU time:", ns as f64 / 1e9)?;
        }
        writeln!(f, "{:<15} {}", "Max memory:", kib(self.max_memory_kib))?;
        if let Some(used) = self.used_memory_kib {
            writeln!(f, "{:<15} {used} KiB", "Used memory:")?;
        }
        writeln!(f, "{:<15} {}", "Persistent:", yes_no(self.persistent))?;
        writeln!(
            f,
            "{:<15} {}",
            "Autostart:",
            if self.autostart { "enable" } else { "disable" }
        )
    }
}
