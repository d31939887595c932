//! User and group names resolved against the container's own /etc/passwd and
//! /etc/group, on the host, before clone.
//!
//! The files are opened with `openat2(RESOLVE_IN_ROOT)` on the container root,
//! so a rootfs whose /etc/passwd is a symlink to an absolute path reads the
//! container's file, never the host's; and since the container controls
//! them, they are bounded like any hostile input (see [`crate::input`]).

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::Identity;
use crate::{input, sys};

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
    /// The file is not a regular file of a bounded size (a FIFO, a device,
    /// a sparse giant the container planted): refused, never read.
    #[error("container account file refused: {source}")]
    Refused {
        /// What was refused, naming the file.
        source: input::InputError,
    },
    /// A line longer than [`ACCOUNT_LINE_LIMIT`].
    #[error("{root}{file}: line {line} is longer than {limit} bytes")]
    LineTooLong {
        /// The root directory.
        root: PathBuf,
        /// `/etc/passwd` or `/etc/group`.
        file: &'static str,
        /// The 1-based line number.
        line: usize,
        /// The limit.
        limit: usize,
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

/// Largest /etc/passwd or /etc/group read: real ones are kilobytes, and
/// the container controls these files (a sparse terabyte costs nothing to
/// plant).
pub const ACCOUNT_FILE_LIMIT: u64 = 16 << 20;

/// Longest line read from either file (a group line lists its members, so
/// it can be long; not without end).
pub const ACCOUNT_LINE_LIMIT: usize = 1 << 20;

/// One passwd entry: `name:x:uid:gid:...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PasswdEntry<'l> {
    name: &'l [u8],
    uid: u32,
    gid: u32,
}

/// Resolves `user` (and optionally `group`) to numeric credentials using the
/// files under `root` (`/` for a container sharing the host root).
///
/// The primary gid is `group` if given, else the user's passwd gid, else 0.
/// Supplementary groups are the groups listing the user's name as a member.
///
/// The files are read as streams of bounded lines, and /etc/passwd only up
/// to the user's entry: nothing is held but the entry looked for.
pub fn resolve_identity(
    root: &Path,
    user: &IdSpec,
    group: Option<&IdSpec>,
) -> Result<Identity, UserError> {
    let root_dir = sys::open_dir(root).map_err(|source| UserError::OpenRoot {
        path: root.to_path_buf(),
        source,
    })?;
    // The matching passwd entry, owned: (name, uid, gid).
    let mut entry: Option<(Vec<u8>, u32, u32)> = None;
    let found = |e: &PasswdEntry<'_>| match user {
        IdSpec::Id(uid) => e.uid == *uid,
        IdSpec::Name(name) => e.name == name.as_bytes(),
    };
    each_line(
        root,
        &root_dir,
        "/etc/passwd",
        |line| match parse_passwd_line(line).filter(found) {
            Some(e) => {
                entry = Some((e.name.to_vec(), e.uid, e.gid));
                Flow::Stop
            }
            None => Flow::Continue,
        },
    )?;
    let uid = match (user, &entry) {
        (IdSpec::Id(uid), _) => *uid,
        (IdSpec::Name(_), Some((_, uid, _))) => *uid,
        (IdSpec::Name(name), None) => {
            return Err(UserError::NoSuchUser {
                root: root.to_path_buf(),
                name: name.clone(),
            });
        }
    };
    let group_name = match group {
        Some(IdSpec::Name(name)) => Some(name.as_bytes()),
        _ => None,
    };
    // One pass over /etc/group: the named group's gid (first match) and the
    // gids of the groups that list the user.
    let mut named_gid = None;
    let mut member_of = Vec::new();
    if group_name.is_some() || entry.is_some() {
        let user_name = entry.as_ref().map(|(n, _, _)| n.as_slice());
        each_line(root, &root_dir, "/etc/group", |line| {
            if let Some(g) = parse_group_line(line) {
                if named_gid.is_none() && group_name == Some(g.name) {
                    named_gid = Some(g.gid);
                }
                if user_name.is_some_and(|u| g.has_member(u)) {
                    member_of.push(g.gid);
                }
            }
            Flow::Continue
        })?;
    }
    let gid = match group {
        Some(IdSpec::Id(gid)) => *gid,
        Some(IdSpec::Name(name)) => named_gid.ok_or_else(|| UserError::NoSuchGroup {
            root: root.to_path_buf(),
            name: name.clone(),
        })?,
        None => entry.as_ref().map_or(0, |(_, _, gid)| *gid),
    };
    member_of.retain(|g| *g != gid);
    member_of.sort_unstable();
    member_of.dedup();
    Ok(Identity {
        uid,
        gid,
        supplementary_groups: member_of,
    })
}

/// Whether [`each_line`] reads on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Calls `each` on every line (without its newline) of `file` (absolute,
/// inside the container) until it says stop, with every symlink resolved
/// inside `root`. A missing file has no lines: images without /etc/passwd
/// are common and numeric ids work without one.
///
/// The container owns the file: it is opened without blocking (a FIFO
/// planted there must not hang the host), refused unless a regular file of
/// at most [`ACCOUNT_FILE_LIMIT`] bytes, and read one line of at most
/// [`ACCOUNT_LINE_LIMIT`] bytes at a time.
fn each_line(
    root: &Path,
    root_dir: &impl AsFd,
    file: &'static str,
    mut each: impl FnMut(&[u8]) -> Flow,
) -> Result<(), UserError> {
    let read_err = |source| UserError::ReadFile {
        root: root.to_path_buf(),
        file,
        source,
    };
    let fd = match sys::open_in_root(root_dir, Path::new(file)) {
        Ok(fd) => fd,
        Err(nix::Error::ENOENT) => return Ok(()),
        Err(e) => return Err(read_err(e.into())),
    };
    let shown = root.join(file.trim_start_matches('/'));
    let (reader, _) = input::check(fd, &shown, ACCOUNT_FILE_LIMIT)
        .map_err(|source| UserError::Refused { source })?;
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let n = (&mut reader)
            .take(ACCOUNT_LINE_LIMIT as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(read_err)?;
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > ACCOUNT_LINE_LIMIT {
            return Err(UserError::LineTooLong {
                root: root.to_path_buf(),
                file,
                line: number,
                limit: ACCOUNT_LINE_LIMIT,
            });
        }
        if each(&line) == Flow::Stop {
            return Ok(());
        }
    }
    Ok(())
}

fn number(field: &[u8]) -> Option<u32> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Parses a passwd line `name:x:uid:gid:...`; a malformed line is `None`
/// (skipped, as libc's getpwent does).
fn parse_passwd_line(line: &[u8]) -> Option<PasswdEntry<'_>> {
    let mut f = line.split(|b| *b == b':');
    let name = f.next()?;
    let _password = f.next()?;
    Some(PasswdEntry {
        name,
        uid: number(f.next()?)?,
        gid: number(f.next()?)?,
    })
}

/// One group line `name:x:gid:member,member`, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GroupEntry<'l> {
    name: &'l [u8],
    gid: u32,
    members: &'l [u8],
}

impl GroupEntry<'_> {
    fn has_member(&self, user: &[u8]) -> bool {
        self.members
            .split(|b| *b == b',')
            .any(|m| !m.is_empty() && m == user)
    }
}

/// Parses a group line; a malformed line is `None`.
fn parse_group_line(line: &[u8]) -> Option<GroupEntry<'_>> {
    let mut f = line.split(|b| *b == b':');
    let name = f.next()?;
    let _password = f.next()?;
    let gid = number(f.next()?)?;
    Some(GroupEntry {
        name,
        gid,
        members: f.next().unwrap_or_default(),
    })
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

    #[test]
    fn a_fifo_planted_as_passwd_is_refused_at_once() {
        let dir = rootfs("", GROUP);
        let passwd = dir.path().join("etc/passwd");
        std::fs::remove_file(&passwd).expect("rm");
        nix::unistd::mkfifo(&passwd, nix::sys::stat::Mode::from_bits_truncate(0o644))
            .expect("mkfifo");
        // No writer: a blocking open or read would hang this test.
        let err = resolve_identity(dir.path(), &IdSpec::Name("app".into()), None).unwrap_err();
        assert!(
            matches!(
                &err,
                UserError::Refused {
                    source: input::InputError::NotRegular {
                        kind: input::FileKind::Fifo,
                        ..
                    }
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_huge_sparse_passwd_is_refused_without_reading_it() {
        let dir = rootfs("", GROUP);
        let f = std::fs::File::create(dir.path().join("etc/passwd")).expect("create");
        f.set_len(1 << 30).expect("sparse 1 GiB");
        let err = resolve_identity(dir.path(), &IdSpec::Name("app".into()), None).unwrap_err();
        assert!(
            matches!(
                &err,
                UserError::Refused {
                    source: input::InputError::TooLarge { size, .. }
                } if *size == 1 << 30
            ),
            "{err}"
        );
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        // Under the size limit but one endless line: refused at the line
        // limit, not buffered whole.
        let long = "x".repeat(ACCOUNT_LINE_LIMIT + 10);
        let dir = rootfs(&format!("{long}\napp:x:1000:1000::/:/bin/sh\n"), GROUP);
        let err = resolve_identity(dir.path(), &IdSpec::Name("app".into()), None).unwrap_err();
        assert!(
            matches!(err, UserError::LineTooLong { line: 1, .. }),
            "{err}"
        );
        // A long line after the entry is never read.
        let dir = rootfs(&format!("app:x:1000:1000::/:/bin/sh\n{long}\n"), GROUP);
        let id = resolve_identity(dir.path(), &IdSpec::Name("app".into()), None).expect("app");
        assert_eq!(id.uid, 1000);
    }

    #[test]
    fn a_symlink_pointing_outside_the_root_reads_inside_it() {
        // /etc/passwd -> ../../../../etc/passwd: `..` stops at the root, so
        // this is the container's /etc/passwd again (a loop, refused), never
        // the host's file.
        let dir = rootfs("", GROUP);
        let passwd = dir.path().join("etc/passwd");
        std::fs::remove_file(&passwd).expect("rm");
        std::os::unix::fs::symlink("../../../../../../etc/shadow-of-host", &passwd)
            .expect("symlink");
        let host = Path::new("/etc/shadow-of-host");
        assert!(!host.exists(), "test needs a host path that does not exist");
        // Resolved inside the root: missing there, so no entries.
        let err = resolve_identity(dir.path(), &IdSpec::Name("root".into()), None).unwrap_err();
        assert!(matches!(err, UserError::NoSuchUser { .. }), "{err}");
        // And a link to a host file that exists reads the root's namesake.
        std::fs::remove_file(&passwd).expect("rm");
        std::os::unix::fs::symlink("/../../etc/hostname", &passwd).expect("symlink");
        std::fs::write(dir.path().join("etc/hostname"), "only:x:5:5::/:/bin/sh\n").expect("w");
        let id = resolve_identity(dir.path(), &IdSpec::Name("only".into()), None).expect("only");
        assert_eq!((id.uid, id.gid), (5, 5));
    }
}
