//! runtime-spec `mounts` → the plan's explicit [`MountTable`]: each option
//! word is a flag set or cleared, a propagation, a recursive attribute,
//! `bind`/`rbind`, `idmap`/`ridmap`, or filesystem data for the kernel.

use std::path::PathBuf;

use oci_spec::runtime::Mount;

use super::error::SpecError;
use super::spec::id_ranges;
use crate::plan::{
    FilesystemType, MountFlag, MountFlagChange, MountIdMap, MountTable, Propagation, SpecMount,
    SpecMountKind,
};

/// Option words that set or clear a flag: (word, flag, sets).
const FLAG_WORDS: &[(&str, MountFlag, bool)] = &[
    ("ro", MountFlag::ReadOnly, true),
    ("rw", MountFlag::ReadOnly, false),
    ("nosuid", MountFlag::NoSuid, true),
    ("suid", MountFlag::NoSuid, false),
    ("nodev", MountFlag::NoDev, true),
    ("dev", MountFlag::NoDev, false),
    ("noexec", MountFlag::NoExec, true),
    ("exec", MountFlag::NoExec, false),
    ("sync", MountFlag::Synchronous, true),
    ("async", MountFlag::Synchronous, false),
    ("dirsync", MountFlag::DirSync, true),
    ("remount", MountFlag::Remount, true),
    ("mand", MountFlag::Mandlock, true),
    ("nomand", MountFlag::Mandlock, false),
    ("noatime", MountFlag::NoAtime, true),
    ("atime", MountFlag::NoAtime, false),
    ("nodiratime", MountFlag::NoDirAtime, true),
    ("diratime", MountFlag::NoDirAtime, false),
    ("relatime", MountFlag::Relatime, true),
    ("norelatime", MountFlag::Relatime, false),
    ("strictatime", MountFlag::StrictAtime, true),
    ("nostrictatime", MountFlag::StrictAtime, false),
    ("lazytime", MountFlag::LazyTime, true),
    ("nolazytime", MountFlag::LazyTime, false),
    ("nosymfollow", MountFlag::NoSymfollow, true),
    ("symfollow", MountFlag::NoSymfollow, false),
];

/// The flag change an option word names (`ro`, `nosuid`, `rw`, …).
fn flag_change(word: &str) -> Option<MountFlagChange> {
    FLAG_WORDS
        .iter()
        .find(|(w, _, _)| *w == word)
        .map(|(_, flag, set)| MountFlagChange {
            flag: *flag,
            set: *set,
        })
}

/// Propagation words.
const PROPAGATION_WORDS: &[(&str, Propagation)] = &[
    ("private", Propagation::Private),
    ("shared", Propagation::Shared),
    ("slave", Propagation::Slave),
    ("unbindable", Propagation::Unbindable),
    ("rprivate", Propagation::RecursivePrivate),
    ("rshared", Propagation::RecursiveShared),
    ("rslave", Propagation::RecursiveSlave),
    ("runbindable", Propagation::RecursiveUnbindable),
];

/// Option words runc and crun know and domrun does not carry out.
const REFUSED_WORDS: &[&str] = &["tmpcopyup", "copy-symlink", "notmpcopyup"];

/// The mount table of `mounts`, in order.
pub fn mount_table(mounts: &[Mount]) -> Result<MountTable, SpecError> {
    mounts
        .iter()
        .enumerate()
        .map(|(i, m)| spec_mount(m, &format!("mounts[{i}]")))
        .collect::<Result<Vec<_>, _>>()
        .map(MountTable::Listed)
}

/// A propagation word (`linux.rootfsPropagation`, a mount option).
pub fn propagation(word: &str, field: &str) -> Result<Propagation, SpecError> {
    PROPAGATION_WORDS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, p)| *p)
        .ok_or_else(|| SpecError::invalid(field, format!("{word:?} is not a mount propagation")))
}

fn spec_mount(m: &Mount, field: &str) -> Result<SpecMount, SpecError> {
    if !m.destination().is_absolute() {
        return Err(SpecError::invalid(
            format!("{field}.destination"),
            "must be an absolute path",
        ));
    }
    let mut mount = SpecMount {
        destination: m.destination().clone(),
        kind: match m.typ().as_deref() {
            None | Some("bind") => SpecMountKind::Bind { recursive: false },
            Some(name) => SpecMountKind::Filesystem(FilesystemType::from_name(name)),
        },
        source: m.source().as_ref().map(PathBuf::from),
        flags: Vec::new(),
        propagation: None,
        recursive: Vec::new(),
        data: Vec::new(),
        idmap: None,
    };
    for (j, word) in m.options().iter().flatten().enumerate() {
        let field = format!("{field}.options[{j}]");
        if let Some(change) = flag_change(word) {
            mount.flags.push(change);
        } else if let Some(change) = word.strip_prefix('r').and_then(flag_change) {
            mount.recursive.push(change);
        } else if PROPAGATION_WORDS.iter().any(|(w, _)| w == word) {
            mount.propagation = Some(propagation(word, &field)?);
        } else if word == "bind" || word == "rbind" {
            mount.kind = SpecMountKind::Bind {
                recursive: word == "rbind",
            };
        } else if word == "idmap" || word == "ridmap" {
            mount.idmap = Some(MountIdMap {
                uid_map: Vec::new(),
                gid_map: Vec::new(),
                recursive: word == "ridmap",
            });
        } else if REFUSED_WORDS.contains(&word.as_str()) {
            return Err(SpecError::unsupported(field, super::spec::PHASE_2));
        } else {
            mount.data.push(word.clone());
        }
    }
    // No type is a bind too (runc's reading of a typeless mount).
    if matches!(mount.kind, SpecMountKind::Bind { .. }) && mount.source.is_none() {
        return Err(SpecError::invalid(
            format!("{field}.source"),
            "a bind mount needs a source",
        ));
    }
    let (uids, gids) = (m.uid_mappings(), m.gid_mappings());
    if uids.is_some() || gids.is_some() {
        let idmap = mount.idmap.get_or_insert(MountIdMap {
            uid_map: Vec::new(),
            gid_map: Vec::new(),
            recursive: false,
        });
        idmap.uid_map = id_ranges(uids.as_deref().unwrap_or_default());
        idmap.gid_map = id_ranges(gids.as_deref().unwrap_or_default());
        if idmap.uid_map.is_empty() || idmap.gid_map.is_empty() {
            return Err(SpecError::invalid(
                format!("{field}.uidMappings"),
                "an id-mapped mount needs both uidMappings and gidMappings",
            ));
        }
    }
    if mount.idmap.is_some() && !matches!(mount.kind, SpecMountKind::Bind { .. }) {
        return Err(SpecError::invalid(
            format!("{field}.options"),
            "idmap applies to bind mounts only",
        ));
    }
    Ok(mount)
}

/// Every option word the front end understands (for `features`): the
/// flags, their recursive `r` forms, propagation, bind and idmap words.
pub fn option_words() -> Vec<String> {
    let mut words: Vec<String> = FLAG_WORDS.iter().map(|(w, _, _)| (*w).to_owned()).collect();
    words.extend(FLAG_WORDS.iter().map(|(w, _, _)| format!("r{w}")));
    words.extend(PROPAGATION_WORDS.iter().map(|(w, _)| (*w).to_owned()));
    words.extend(["bind", "rbind", "idmap", "ridmap"].map(String::from));
    words
}
