//! User and group names resolved against the container's own /etc/passwd and
//! /etc/group, on the host, before clone.
//!
//! The files are opened with `openat2(RESOLVE_IN_ROOT)` on the container root,
//! so a rootfs whose /etc/passwd is a symlink to an absolute path reads the
//! container's file, never the host's.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::Identity;
use crate::sys;

/// A user or group given by number or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSpec {
    /// Already numeric; used as is (a passwd entry is optional).
    Id(u32),
    /// Looked up in the container's /etc/passwd or /etc/group.
    Name(OsString),
}

/// Why a user or group could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The container root could not be opened.
    #[error("opening container root {path}: {source}")]
    OpenRoot {
        /// The root directory.
        path: PathBuf,
        /// The error.
        source: nix::Error,
    },
    /// /etc/passwd or /etc/group could not be read.
    #[error("reading {file} in container root {root}: {source}")]
    ReadFile {
        /// The root directory.
        root: PathBuf,
        /// `/etc/passwd` or `/etc/group`.
        file: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// No passwd entry has this user name.
    #[error("user {name:?} not found in {root}/etc/passwd")]
    NoSuchUser {
        /// The root directory.
        root: PathBuf,
        /// The name looked up.
        name: OsString,
    },
    /// No group entry has this group name.
    #[error("group {name:?} not found in {root}/etc/group")]
    NoSuchGroup {
        /// The root directory.
        root: PathBuf,
        /// The name looked up.
        name: OsString,
    },
}

/// One parsed passwd line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PasswdEntry {
    name: OsString,
    uid: u32,
    gid: u32,
}

/// One parsed group line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupEntry {
    name: OsString,
    gid: u32,
    members: Vec<OsString>,
}

/// Resolves `user` (and optionally `group`) to numeric credentials using the
/// files under `root` (`/` for a container sharing the host root).
///
/// The primary gid is `group` if given, else the user's passwd gid, else 0.
/// Supplementary groups are the groups listing the user's name as a member.
pub fn resolve_identity(
    root: &Path,
    user: &IdSpec,
    group: Option<&IdSpec>,
) -> Result<Identity, UserError> {
    let passwd = read_in_root(root, "/etc/passwd")?;
    let groups = read_in_root(root, "/etc/group")?;
    let passwd = parse_passwd(&passwd);
    let groups = parse_group(&groups);
    let entry =
        match user {
            IdSpec::Id(uid) => passwd.iter().find(|e| e.uid == *uid),
            IdSpec::Name(name) => {
                Some(passwd.iter().find(|e| e.name == *name).ok_or_else(|| {
                    UserError::NoSuchUser {
                        root: root.to_path_buf(),
                        name: name.clone(),
                    }
                })?)
            }
        };
    let uid = match (user, entry) {
        (IdSpec::Id(uid), _) => *uid,
        (IdSpec::Name(_), Some(e)) => e.uid,
        (IdSpec::Name(_), None) => 0,
    };
    let gid = match group {
        Some(IdSpec::Id(gid)) => *gid,
        Some(IdSpec::Name(name)) => {
            groups
                .iter()
                .find(|g| g.name == *name)
                .ok_or_else(|| UserError::NoSuchGroup {
                    root: root.to_path_buf(),
                    name: name.clone(),
                })?
                .gid
        }
        None => entry.map_or(0, |e| e.gid),
    };
    let supplementary_groups = entry.map_or_else(Vec::new, |e| {
        let mut ids: Vec<u32> = groups
            .iter()
            .filter(|g| g.members.contains(&e.name) && g.gid != gid)
            .map(|g| g.gid)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    });
    Ok(Identity {
        uid,
        gid,
        supplementary_groups,
    })
}

/// Reads `file` (absolute, inside the container) with every symlink resolved
/// inside `root`. A missing file reads as empty: images without /etc/passwd
/// are common and numeric ids work without one.
fn read_in_root(root: &Path, file: &'static str) -> Result<Vec<u8>, UserError> {
    let root_dir = sys::open_dir(root).map_err(|source| UserError::OpenRoot {
        path: root.to_path_buf(),
        source,
    })?;
    let fd = match sys::open_in_root(&root_dir, Path::new(file)) {
        Ok(fd) => fd,
        Err(nix::Error::ENOENT) => return Ok(Vec::new()),
        Err(e) => {
            return Err(UserError::ReadFile {
                root: root.to_path_buf(),
                file,
                source: e.into(),
            });
        }
    };
    let mut bytes = Vec::new();
    File::from(fd)
        .read_to_end(&mut bytes)
        .map_err(|source| UserError::ReadFile {
            root: root.to_path_buf(),
            file,
            source,
        })?;
    Ok(bytes)
}

fn fields(line: &[u8]) -> Vec<&[u8]> {
    line.split(|b| *b == b':').collect()
}

fn number(field: &[u8]) -> Option<u32> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Parses passwd lines `name:x:uid:gid:...`; malformed lines are skipped, as
/// libc's getpwent does.
fn parse_passwd(text: &[u8]) -> Vec<PasswdEntry> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            let f = fields(line);
            Some(PasswdEntry {
                name: OsStr::from_bytes(f.first()?).to_os_string(),
                uid: number(f.get(2)?)?,
                gid: number(f.get(3)?)?,
            })
        })
        .collect()
}

/// Parses group lines `name:x:gid:member,member`.
fn parse_group(text: &[u8]) -> Vec<GroupEntry> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            let f = fields(line);
            let members = f
                .get(3)
                .map(|m| {
                    m.split(|b| *b == b',')
                        .filter(|m| !m.is_empty())
                        .map(|m| OsStr::from_bytes(m).to_os_string())
                        .collect()
                })
                .unwrap_or_default();
            Some(GroupEntry {
                name: OsStr::from_bytes(f.first()?).to_os_string(),
                gid: number(f.get(2)?)?,
                members,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs(passwd: &str, group: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("etc")).expect("mkdir etc");
        std::fs::write(dir.path().join("etc/passwd"), passwd).expect("passwd");
        std::fs::write(dir.path().join("etc/group"), group).expect("group");
        dir
    }

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nbroken\n";
    const GROUP: &str = "root:x:0:\napp:x:1000:\nwheel:x:10:app,root\naudio:x:29:app\n";

    #[test]
    fn resolves_names_and_supplementary_groups() {
        let dir = rootfs(PASSWD, GROUP);
        let id = resolve_identity(dir.path(), &IdSpec::Name("app".into()), None).expect("app");
        assert_eq!(
            id,
            Identity {
                uid: 1000,
                gid: 1000,
                supplementary_groups: vec![10, 29]
            }
        );
        let id = resolve_identity(
            dir.path(),
            &IdSpec::Id(0),
            Some(&IdSpec::Name("audio".into())),
        )
        .expect("root");
        assert_eq!((id.uid, id.gid, id.supplementary_groups), (0, 29, vec![10]));
    }

    #[test]
    fn unknown_name_is_an_error_but_unknown_id_is_not() {
        let dir = rootfs(PASSWD, GROUP);
        assert!(matches!(
            resolve_identity(dir.path(), &IdSpec::Name("nobody".into()), None),
            Err(UserError::NoSuchUser { .. })
        ));
        let id = resolve_identity(dir.path(), &IdSpec::Id(4242), None).expect("numeric");
        assert_eq!((id.uid, id.gid), (4242, 0));
    }

    #[test]
    fn absolute_symlink_stays_inside_the_root() {
        // /etc/passwd -> /etc/real-passwd must read the container's file.
        let dir = rootfs("", GROUP);
        std::fs::remove_file(dir.path().join("etc/passwd")).expect("rm");
        std::fs::write(dir.path().join("etc/real-passwd"), "svc:x:7:7::/:/bin/sh\n").expect("w");
        std::os::unix::fs::symlink("/etc/real-passwd", dir.path().join("etc/passwd"))
            .expect("symlink");
        let id = resolve_identity(dir.path(), &IdSpec::Name("svc".into()), None).expect("svc");
        assert_eq!((id.uid, id.gid), (7, 7));
    }
}
