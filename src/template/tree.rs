//! Writing a template tree entry by entry, so that no entry can land outside
//! it.
//!
//! Every entry is created relative to a directory fd reached from the tree's
//! root one component at a time with `O_NOFOLLOW`: a symbolic link in an
//! entry's path (`a -> /etc` followed by `a/passwd`) is refused, not followed,
//! and `..` or absolute names never get this far ([`clean_entry_path`]).
//! Final components are created with `O_EXCL`/`mknodat`/`symlinkat`, which do
//! not follow a symlink already there either; an existing entry is unlinked
//! first. Metadata is applied through the new fd or with `AT_SYMLINK_NOFOLLOW`.
//!
//! Order of metadata matters: owner first (chown clears setuid/setgid and file
//! capabilities), then mode, then xattrs (`security.capability` among them),
//! then times. Directories get theirs last, deepest first, once nothing more
//! is written into them.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Seek as _, SeekFrom, Write as _};
use std::os::fd::{AsFd, AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{
    FchmodatFlags, Mode, SFlag, UtimensatFlags, fchmod, fchmodat, fstatat, futimens, mkdirat,
    mknodat, utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchown, fchownat, linkat, symlinkat, unlinkat};
use xattr::FileExt as _;

use super::error::{Result, TemplateError};

/// Owner, mode, times and extended attributes of one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    /// Permission bits including setuid, setgid and sticky (`0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Modification time: seconds and nanoseconds since the epoch.
    pub mtime: (i64, i64),
    /// Extended attributes in the order they are set.
    pub xattrs: Vec<(OsString, Vec<u8>)>,
}

/// What one entry is.
pub(crate) enum Node<'r> {
    Dir,
    File(&'r mut dyn Read),
    Symlink(OsString),
    /// A hard link to an earlier entry (a cleaned relative path).
    Hardlink(PathBuf),
    CharDevice(u64, u64),
    BlockDevice(u64, u64),
    Fifo,
}

/// Turns an archive entry name into a relative path of normal components.
/// `./` prefixes and `.` components are dropped; the empty result is the
/// tree's root. Absolute names and `..` are refused, never rewritten: an
/// archive that has them was made to escape, or by mistake.
pub(crate) fn clean_entry_path(raw: &[u8]) -> std::result::Result<PathBuf, &'static str> {
    // `/` alone names the root itself (umoci writes it in image layers),
    // which no entry can escape from.
    if !raw.is_empty() && raw.iter().all(|&b| b == b'/') {
        return Ok(PathBuf::new());
    }
    if raw.first() == Some(&b'/') {
        return Err("absolute names are not allowed");
    }
    if raw.contains(&0) {
        return Err("the name contains NUL");
    }
    let mut out = PathBuf::new();
    for c in Path::new(OsStr::from_bytes(raw)).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err("\"..\" components are not allowed"),
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute names are not allowed");
            }
        }
    }
    Ok(out)
}

/// Writes entries into one directory (a template being made).
pub(crate) struct TreeWriter {
    root: OwnedFd,
    /// The last parent directory reached, reused while entries stay in it.
    cache: Option<(PathBuf, OwnedFd)>,
    /// Directories whose metadata is applied in `finish`.
    dirs: Vec<(PathBuf, Attrs)>,
    size: u64,
}

fn display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn step_err(step: &str, rel: &Path, source: io::Error) -> TemplateError {
    TemplateError::WriteEntry {
        step: step.to_owned(),
        entry: display(rel),
        source,
    }
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from(e)
}

impl TreeWriter {
    /// Writes into the existing, empty directory `root`.
    pub(crate) fn new(root: &Path) -> Result<Self> {
        let fd = openat(
            nix::fcntl::AT_FDCWD,
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| TemplateError::ReadDir {
            path: root.to_path_buf(),
            source: io_err(e),
        })?;
        Ok(Self {
            root: fd,
            cache: None,
            dirs: Vec::new(),
            size: 0,
        })
    }

    /// Opens directory `rel` (relative to the root), walking one component at
    /// a time without following symlinks. With `create`, missing directories
    /// are made (root-owned, 0755, as tar does for parents it was not given).
    fn open_dir(&mut self, entry: &str, rel: &Path, create: bool) -> Result<OwnedFd> {
        if let Some((p, fd)) = &self.cache
            && p == rel
        {
            return fd.try_clone().map_err(|e| step_err("opening", rel, e));
        }
        let mut cur = self
            .root
            .try_clone()
            .map_err(|e| step_err("opening", Path::new("."), e))?;
        let mut prefix = PathBuf::new();
        for comp in rel.components() {
            prefix.push(comp);
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let next = match openat(&cur, comp.as_os_str(), flags, Mode::empty()) {
                Err(Errno::ENOENT) if create => {
                    match mkdirat(&cur, comp.as_os_str(), Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => return Err(step_err("creating directory", &prefix, io_err(e))),
                    }
                    openat(&cur, comp.as_os_str(), flags, Mode::empty())
                }
                other => other,
            };
            cur = match next {
                Ok(fd) => fd,
                Err(Errno::ELOOP | Errno::ENOTDIR) => {
                    let is_link = fstatat(&cur, comp.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
                        .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK);
                    return Err(if is_link {
                        TemplateError::EntryThroughSymlink {
                            entry: entry.to_owned(),
                            symlink: display(&prefix),
                        }
                    } else {
                        TemplateError::ParentNotDirectory {
                            entry: entry.to_owned(),
                            parent: display(&prefix),
                        }
                    });
                }
                Err(e) => return Err(step_err("opening directory", &prefix, io_err(e))),
            };
        }
        let dup = cur.try_clone().map_err(|e| step_err("opening", rel, e))?;
        self.cache = Some((rel.to_path_buf(), dup));
        Ok(cur)
    }

    /// Adds one entry at `rel` (from [`clean_entry_path`]); `entry` is its
    /// name as the source spells it, for errors.
    pub(crate) fn add(
        &mut self,
        entry: &str,
        rel: &Path,
        node: Node<'_>,
        attrs: &Attrs,
    ) -> Result<()> {
        let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
            // The root itself ("./" in most tarballs).
            return match node {
                Node::Dir => {
                    self.dirs.push((PathBuf::new(), attrs.clone()));
                    Ok(())
                }
                _ => Err(TemplateError::UnsafeEntry {
                    entry: entry.to_owned(),
                    reason: "the template root can only be a directory",
                }),
            };
        };
        let dir = self.open_dir(entry, parent, true)?;
        let existing = fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .ok()
            .map(|st| st.st_mode & libc::S_IFMT);

        if matches!(node, Node::Dir) && existing == Some(libc::S_IFDIR) {
            self.dirs.push((rel.to_path_buf(), attrs.clone()));
            return Ok(());
        }
        if let Some(kind) = existing {
            // Replace what is there (a later entry of the same name wins, as
            // with tar). unlinkat never follows a symlink.
            self.cache = None;
            let flag = if kind == libc::S_IFDIR {
                UnlinkatFlags::RemoveDir
            } else {
                UnlinkatFlags::NoRemoveDir
            };
            match unlinkat(&dir, name, flag) {
                Ok(()) => {}
                Err(Errno::ENOTEMPTY | Errno::EEXIST) => {
                    return Err(TemplateError::ReplacesDirectory {
                        entry: entry.to_owned(),
                    });
                }
                Err(e) => return Err(step_err("replacing", rel, io_err(e))),
            }
        }

        match node {
            Node::Dir => {
                mkdirat(&dir, name, Mode::from_bits_truncate(0o700))
                    .map_err(|e| step_err("creating directory", rel, io_err(e)))?;
                self.dirs.push((rel.to_path_buf(), attrs.clone()));
                Ok(())
            }
            Node::File(data) => {
                let fd = openat(
                    &dir,
                    name,
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| step_err("creating file", rel, io_err(e)))?;
                let mut file = File::from(fd);
                let len = write_sparse(&mut file, data).map_err(|e| step_err("writing", rel, e))?;
                self.size += len;
                self.apply_fd(rel, &file, attrs)
            }
            Node::Symlink(target) => {
                symlinkat(target.as_os_str(), &dir, name)
                    .map_err(|e| step_err("creating symlink", rel, io_err(e)))?;
                self.apply_at(rel, &dir, name, attrs, true)
            }
            Node::Hardlink(target) => self.hardlink(entry, rel, &dir, name, &target),
            Node::CharDevice(major, minor) => {
                self.mknod(rel, &dir, name, SFlag::S_IFCHR, (major, minor), attrs)
            }
            Node::BlockDevice(major, minor) => {
                self.mknod(rel, &dir, name, SFlag::S_IFBLK, (major, minor), attrs)
            }
            Node::Fifo => self.mknod(rel, &dir, name, SFlag::S_IFIFO, (0, 0), attrs),
        }
    }

    fn mknod(
        &mut self,
        rel: &Path,
        dir: &OwnedFd,
        name: &OsStr,
        kind: SFlag,
        (major, minor): (u64, u64),
        attrs: &Attrs,
    ) -> Result<()> {
        let dev = nix::sys::stat::makedev(major, minor);
        mknodat(dir, name, kind, Mode::from_bits_truncate(0o600), dev)
            .map_err(|e| step_err("mknod", rel, io_err(e)))?;
        self.apply_at(rel, dir, name, attrs, false)
    }

    fn hardlink(
        &mut self,
        entry: &str,
        rel: &Path,
        dir: &OwnedFd,
        name: &OsStr,
        target: &Path,
    ) -> Result<()> {
        let refuse = |reason: &str| TemplateError::HardlinkTarget {
            entry: entry.to_owned(),
            target: display(target),
            reason: reason.to_owned(),
        };
        let (Some(tparent), Some(tname)) = (target.parent(), target.file_name()) else {
            return Err(refuse("the target is the template root"));
        };
        if target == rel {
            return Err(refuse("a link to itself"));
        }
        let tdir = match self.open_dir(entry, tparent, false) {
            Ok(fd) => fd,
            Err(TemplateError::EntryThroughSymlink { symlink, .. }) => {
                return Err(refuse(&format!(
                    "its path goes through the symbolic link {symlink:?}"
                )));
            }
            Err(_) => return Err(refuse("no such entry earlier in the source")),
        };
        match fstatat(&tdir, tname, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Err(_) => return Err(refuse("no such entry earlier in the source")),
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
                return Err(refuse("the target is a directory"));
            }
            Ok(_) => {}
        }
        // Flags 0: a symlink target is linked itself, never followed.
        linkat(&tdir, tname, dir, name, AtFlags::empty())
            .map_err(|e| step_err("linking", rel, io_err(e)))
    }

    /// Owner, mode, xattrs and times of an open regular file or directory.
    fn apply_fd(&self, rel: &Path, file: &File, a: &Attrs) -> Result<()> {
        fchown(file, Some(Uid::from_raw(a.uid)), Some(Gid::from_raw(a.gid)))
            .map_err(|e| step_err("chown", rel, io_err(e)))?;
        fchmod(file, Mode::from_bits_truncate(a.mode & 0o7777))
            .map_err(|e| step_err("chmod", rel, io_err(e)))?;
        for (k, v) in &a.xattrs {
            file.set_xattr(k, v).map_err(|e| {
                step_err(&format!("setting xattr {} on", k.to_string_lossy()), rel, e)
            })?;
        }
        let (s, ns) = a.mtime;
        futimens(file, &TimeSpec::new(s, ns), &TimeSpec::new(s, ns))
            .map_err(|e| step_err("setting times of", rel, io_err(e)))
    }

    /// The same for a symlink or special file, by name in `dir`.
    fn apply_at(
        &self,
        rel: &Path,
        dir: &OwnedFd,
        name: &OsStr,
        a: &Attrs,
        symlink: bool,
    ) -> Result<()> {
        fchownat(
            dir,
            name,
            Some(Uid::from_raw(a.uid)),
            Some(Gid::from_raw(a.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| step_err("chown", rel, io_err(e)))?;
        if !symlink {
            // Not a symlink (we just made it with mknodat), so following is moot.
            fchmodat(
                dir,
                name,
                Mode::from_bits_truncate(a.mode & 0o7777),
                FchmodatFlags::FollowSymlink,
            )
            .map_err(|e| step_err("chmod", rel, io_err(e)))?;
        }
        if !a.xattrs.is_empty() {
            // lsetxattr through the directory fd's /proc path: never follows
            // the final component.
            let path =
                PathBuf::from(format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd())).join(name);
            for (k, v) in &a.xattrs {
                xattr::set(&path, k, v).map_err(|e| {
                    step_err(&format!("setting xattr {} on", k.to_string_lossy()), rel, e)
                })?;
            }
        }
        let (s, ns) = a.mtime;
        utimensat(
            dir,
            name,
            &TimeSpec::new(s, ns),
            &TimeSpec::new(s, ns),
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| step_err("setting times of", rel, io_err(e)))
    }

    /// Applies directory metadata (deepest first), flushes the filesystem,
    /// and returns the bytes of file data written.
    pub(crate) fn finish(mut self) -> Result<u64> {
        let mut dirs = std::mem::take(&mut self.dirs);
        // Stable: among equal depths a later duplicate still wins.
        dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
        self.cache = None;
        for (rel, attrs) in &dirs {
            let name = display(rel);
            let fd = self.open_dir(&name, rel, false)?;
            self.apply_fd(rel, &File::from(fd), attrs)?;
        }
        nix::unistd::syncfs(&self.root).map_err(|e| TemplateError::Sync {
            path: PathBuf::from("."),
            source: io_err(e),
        })?;
        Ok(self.size)
    }
}

/// Copies `data` into `file`, leaving holes where whole blocks are zero (as
/// `cp --sparse=always` does), and returns the length written.
fn write_sparse(file: &mut File, data: &mut dyn Read) -> io::Result<u64> {
    const BLOCK: usize = 64 * 1024;
    let mut buf = vec![0u8; BLOCK];
    let mut len: u64 = 0;
    loop {
        let mut n = 0;
        while n < BLOCK {
            match data.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if chunk.iter().all(|&b| b == 0) {
            file.seek(SeekFrom::Current(i64::try_from(n).unwrap_or(i64::MAX)))?;
        } else {
            file.write_all(chunk)?;
        }
        len += n as u64;
        if n < BLOCK {
            break;
        }
    }
    file.set_len(len)?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_are_cleaned_or_refused() {
        assert_eq!(clean_entry_path(b"./a/b/").unwrap(), PathBuf::from("a/b"));
        assert_eq!(clean_entry_path(b"a/./b").unwrap(), PathBuf::from("a/b"));
        assert_eq!(clean_entry_path(b"./").unwrap(), PathBuf::new());
        assert_eq!(clean_entry_path(b".").unwrap(), PathBuf::new());
        for bad in [
            &b"../evil"[..],
            b"/abs",
            b"a/../../x",
            b"a/..",
            b"//x",
            b"..",
            b"a\0b",
        ] {
            assert!(
                clean_entry_path(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
