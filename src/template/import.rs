//! Reading import sources into a [`TreeWriter`]: tarballs (format told by
//! magic bytes, never by the file name) and directory trees.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::error::{Result, TemplateError};
use super::meta::SourceKind;
use super::progress::Bar;
use super::tar_guard::ExtensionGuard;
use super::tree::{Attrs, Node, TreeWriter, clean_entry_path};
use crate::input;

/// Tells what `path` is: a directory, or a tarball by its first bytes.
pub fn detect_source(path: &Path) -> Result<SourceKind> {
    let open_err = |source| TemplateError::OpenSource {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(open_err)?;
    if meta.is_dir() {
        return Ok(SourceKind::Directory);
    }
    let mut head = [0u8; 512];
    let (mut f, _) = open_regular(path, input::Links::Follow)?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(open_err(e)),
        }
    }
    sniff(&head[..n]).map_err(|what| TemplateError::UnsupportedSource {
        path: path.to_path_buf(),
        what: what.to_owned(),
    })
}

/// Opens a regular file of a source without blocking, refusing FIFOs,
/// sockets and devices by type. Tarballs and template files have no size
/// cap (templates are gigabytes); the type check is what bounds them.
fn open_regular(path: &Path, links: input::Links) -> Result<(io::Take<File>, u64)> {
    let refused = |source| TemplateError::SourceRefused { source };
    let file = input::open(path, links).map_err(refused)?;
    input::check(file, path, u64::MAX).map_err(refused)
}

/// The format of a file from its first (up to 512) bytes.
pub(crate) fn sniff(head: &[u8]) -> std::result::Result<SourceKind, &'static str> {
    const MAGIC: [(&[u8], std::result::Result<SourceKind, &str>); 6] = [
        (&[0x1f, 0x8b], Ok(SourceKind::TarGz)),
        (&[0x28, 0xb5, 0x2f, 0xfd], Ok(SourceKind::TarZst)),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Ok(SourceKind::TarXz)),
        (
            b"BZh",
            Err("a bzip2 file (recompress it as .tar.gz, .tar.zst or .tar.xz)"),
        ),
        (
            &[0x04, 0x22, 0x4d, 0x18],
            Err("an lz4 file (recompress it as .tar.gz, .tar.zst or .tar.xz)"),
        ),
        (
            &[0x5d, 0x00, 0x00],
            Err("an lzma file (recompress it as .tar.xz)"),
        ),
    ];
    if head.is_empty() {
        return Err("an empty file");
    }
    if let Some((_, kind)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return *kind;
    }
    if head.len() == 512 && (head.get(257..262) == Some(b"ustar") || tar_checksum_ok(head)) {
        return Ok(SourceKind::Tar);
    }
    Err("not a tar archive nor a gzip, zstd or xz one")
}

/// Old (v7) tar headers have no magic, only a checksum: the sum of the
/// header's bytes with the checksum field read as spaces.
fn tar_checksum_ok(h: &[u8]) -> bool {
    let Some(field) = h.get(148..156) else {
        return false;
    };
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let Ok(want) = u32::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == want && want != 0
}

/// Feeds every byte read through a sha256 and a progress bar.
struct HashingReader<'b, R> {
    inner: R,
    hash: Sha256,
    bar: &'b Bar,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bar.inc(n as u64);
        Ok(n)
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unpacks the tarball at `path` into `w`; returns the sha256 of its bytes.
pub(crate) fn unpack_tar(
    path: &Path,
    kind: SourceKind,
    w: &mut TreeWriter,
    bar: &Bar,
) -> Result<String> {
    let read_err = |source| TemplateError::ReadArchive {
        path: path.to_path_buf(),
        source,
    };
    let (file, _) = open_regular(path, input::Links::Follow)?;
    let mut raw = HashingReader {
        inner: io::BufReader::with_capacity(256 * 1024, file),
        hash: Sha256::new(),
        bar,
    };
    {
        let stream: Box<dyn Read + '_> = match kind {
            SourceKind::Tar => Box::new(&mut raw),
            SourceKind::TarGz => Box::new(flate2::read::MultiGzDecoder::new(&mut raw)),
            SourceKind::TarZst => {
                Box::new(zstd::stream::read::Decoder::new(&mut raw).map_err(read_err)?)
            }
            SourceKind::TarXz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(&mut raw)),
            SourceKind::Directory | SourceKind::Recipe => {
                return Err(TemplateError::UnsupportedSource {
                    path: path.to_path_buf(),
                    what: format!("a {kind}, not a tarball"),
                });
            }
        };
        // Extension entries (long names, pax headers) are bounded before the
        // tar parser reads them whole.
        let mut archive = tar::Archive::new(ExtensionGuard::new(stream));
        for entry in archive.entries().map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            unpack_entry(entry, w).map_err(|e| match e {
                EntryError::Read(source) => read_err(source),
                EntryError::Template(t) => t,
            })?;
        }
    }
    // Hash what follows the end-of-archive blocks too: the digest is of the file.
    io::copy(&mut raw, &mut io::sink()).map_err(read_err)?;
    Ok(hex(&raw.hash.finalize()))
}

enum EntryError {
    Read(io::Error),
    Template(TemplateError),
}

impl From<TemplateError> for EntryError {
    fn from(e: TemplateError) -> Self {
        Self::Template(e)
    }
}

fn unpack_entry<R: Read>(
    mut entry: tar::Entry<'_, R>,
    w: &mut TreeWriter,
) -> std::result::Result<(), EntryError> {
    let kind = entry.header().entry_type();
    if kind.is_pax_global_extensions() {
        return Ok(());
    }
    let path_bytes = entry.path_bytes().into_owned();
    let link = entry.link_name_bytes().map(|l| l.into_owned());
    // PAX records override the header (large ids, precise times), carry
    // xattrs as SCHILY.xattr.NAME (the form GNU tar and bsdtar write), and
    // GNU tar's sparse-file records.
    let mut pax: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if let Some(exts) = entry.pax_extensions().map_err(EntryError::Read)? {
        for ext in exts {
            let ext = ext.map_err(EntryError::Read)?;
            pax.push((ext.key_bytes().to_vec(), ext.value_bytes().to_vec()));
        }
    }
    let pax_get = |key: &[u8]| {
        pax.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let sparse_name = pax_get(b"GNU.sparse.name");
    let raw_name = sparse_name.clone().unwrap_or(path_bytes);
    let name = String::from_utf8_lossy(&raw_name).into_owned();
    let bad_header = |field: &'static str, reason: String| TemplateError::BadHeader {
        entry: name.clone(),
        field,
        reason,
    };
    let rel = clean_entry_path(&raw_name).map_err(|reason| TemplateError::UnsafeEntry {
        entry: name.clone(),
        reason,
    })?;

    let h = entry.header();
    let mut attrs = Attrs {
        mode: h.mode().map_err(|e| bad_header("mode", e.to_string()))? & 0o7777,
        uid: num32(h.uid()).map_err(|e| bad_header("uid", e))?,
        gid: num32(h.gid()).map_err(|e| bad_header("gid", e))?,
        mtime: (
            i64::try_from(h.mtime().map_err(|e| bad_header("mtime", e.to_string()))?).unwrap_or(0),
            0,
        ),
        xattrs: Vec::new(),
    };
    let devices = (h.device_major(), h.device_minor());
    let mut sparse_version = None;
    for (key, value) in &pax {
        let text = || String::from_utf8_lossy(value).into_owned();
        match key.as_slice() {
            b"uid" => attrs.uid = text().parse().map_err(|_| bad_header("pax uid", text()))?,
            b"gid" => attrs.gid = text().parse().map_err(|_| bad_header("pax gid", text()))?,
            b"mtime" => {
                attrs.mtime =
                    parse_pax_time(&text()).ok_or_else(|| bad_header("pax mtime", text()))?;
            }
            b"GNU.sparse.major" => sparse_version = Some(text()),
            b"GNU.sparse.size"
            | b"GNU.sparse.map"
            | b"GNU.sparse.offset"
            | b"GNU.sparse.numblocks" => {
                sparse_version = Some("0".into());
            }
            _ => {
                if let Some(x) = key.strip_prefix(b"SCHILY.xattr.") {
                    attrs.xattrs.push((
                        OsString::from(std::ffi::OsStr::from_bytes(x)),
                        value.clone(),
                    ));
                }
            }
        }
    }
    let link_path = || -> std::result::Result<Vec<u8>, TemplateError> {
        link.clone()
            .ok_or_else(|| bad_header("linkname", "missing".into()))
    };
    let device = || -> std::result::Result<(u64, u64), TemplateError> {
        match &devices {
            (Ok(Some(ma)), Ok(Some(mi))) => Ok((u64::from(*ma), u64::from(*mi))),
            _ => Err(bad_header("device numbers", "missing or malformed".into())),
        }
    };
    use tar::EntryType as T;
    let node = match kind {
        T::Regular | T::Continuous if sparse_version.is_some() => {
            // GNU tar's PAX sparse format 1.0: the data starts with the map
            // of data blocks; the real size is a PAX record.
            let minor = pax_get(b"GNU.sparse.minor");
            if sparse_version.as_deref() != Some("1") || minor.as_deref() != Some(b"0") {
                return Err(TemplateError::UnsupportedEntry {
                    entry: name.clone(),
                    kind: "GNU sparse 0.x (re-create the archive without --sparse, or with --sparse-version=1.0)".into(),
                }
                .into());
            }
            let realsize = pax_get(b"GNU.sparse.realsize")
                .and_then(|v| String::from_utf8_lossy(&v).parse::<u64>().ok())
                .ok_or_else(|| bad_header("GNU.sparse.realsize", "missing or malformed".into()))?;
            let map = read_sparse_map(&mut entry)
                .map_err(|reason| bad_header("GNU sparse map", reason))?;
            let mut expanded = SparseReader::new(&mut entry, map, realsize);
            w.add(&name, &rel, Node::File(&mut expanded), &attrs)?;
            return Ok(());
        }
        T::Regular | T::Continuous | T::GNUSparse => Node::File(&mut entry),
        T::Directory => Node::Dir,
        T::Symlink => Node::Symlink(OsString::from(std::ffi::OsStr::from_bytes(&link_path()?))),
        T::Link => {
            let raw = link_path()?;
            let target =
                clean_entry_path(&raw).map_err(|reason| TemplateError::HardlinkTarget {
                    entry: name.clone(),
                    target: String::from_utf8_lossy(&raw).into_owned(),
                    reason: reason.to_owned(),
                })?;
            Node::Hardlink(target)
        }
        T::Char => {
            let (ma, mi) = device()?;
            Node::CharDevice(ma, mi)
        }
        T::Block => {
            let (ma, mi) = device()?;
            Node::BlockDevice(ma, mi)
        }
        T::Fifo => Node::Fifo,
        other => {
            return Err(TemplateError::UnsupportedEntry {
                entry: name.clone(),
                kind: format!("{other:?}"),
            }
            .into());
        }
    };
    w.add(&name, &rel, node, &attrs)?;
    Ok(())
}

/// Reads the map at the start of a PAX 1.0 sparse entry's data: decimal
/// numbers one per line (count, then offset and length of each data block),
/// padded with zeros to a 512-byte boundary.
fn read_sparse_map(r: &mut dyn Read) -> std::result::Result<Vec<(u64, u64)>, String> {
    let mut consumed = 0u64;
    let mut next_number = |r: &mut dyn Read| -> std::result::Result<u64, String> {
        let mut digits = String::new();
        loop {
            let mut b = [0u8; 1];
            r.read_exact(&mut b).map_err(|e| e.to_string())?;
            consumed += 1;
            match b[0] {
                b'\n' => break,
                c @ b'0'..=b'9' if digits.len() < 20 => digits.push(c as char),
                _ => return Err("not a decimal number".into()),
            }
        }
        digits.parse().map_err(|_| "empty number".to_string())
    };
    let count = next_number(r)?;
    if count > 1 << 20 {
        return Err(format!("{count} blocks"));
    }
    let mut map = Vec::new();
    for _ in 0..count {
        let off = next_number(r)?;
        let len = next_number(r)?;
        map.push((off, len));
    }
    let pad = (512 - consumed % 512) % 512;
    io::copy(&mut r.take(pad), &mut io::sink()).map_err(|e| e.to_string())?;
    Ok(map)
}

/// Expands the data blocks of a sparse entry into the file's full content.
struct SparseReader<'r> {
    inner: &'r mut dyn Read,
    /// Remaining blocks, in order.
    map: std::vec::IntoIter<(u64, u64)>,
    /// Zeros still to produce before the current block's data, then its bytes.
    zeros: u64,
    data: u64,
    pos: u64,
    realsize: u64,
}

impl<'r> SparseReader<'r> {
    fn new(inner: &'r mut dyn Read, map: Vec<(u64, u64)>, realsize: u64) -> Self {
        Self {
            inner,
            map: map.into_iter(),
            zeros: 0,
            data: 0,
            pos: 0,
            realsize,
        }
    }
}

impl Read for SparseReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.zeros > 0 {
                let n = usize::try_from(self.zeros)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                buf[..n].fill(0);
                self.zeros -= n as u64;
                self.pos += n as u64;
                return Ok(n);
            }
            if self.data > 0 {
                let n = usize::try_from(self.data)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let got = self.inner.read(&mut buf[..n])?;
                if got == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "sparse data ends early",
                    ));
                }
                self.data -= got as u64;
                self.pos += got as u64;
                return Ok(got);
            }
            match self.map.next() {
                Some((off, len)) => {
                    if off < self.pos || off.saturating_add(len) > self.realsize {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "bad sparse block",
                        ));
                    }
                    self.zeros = off - self.pos;
                    self.data = len;
                }
                None if self.pos < self.realsize => self.zeros = self.realsize - self.pos,
                None => return Ok(0),
            }
        }
    }
}

fn num32(v: io::Result<u64>) -> std::result::Result<u32, String> {
    let v = v.map_err(|e| e.to_string())?;
    u32::try_from(v).map_err(|_| format!("{v} is out of range"))
}

/// PAX times: `SECONDS[.FRACTION]`.
fn parse_pax_time(s: &str) -> Option<(i64, i64)> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    while digits.len() < 9 {
        digits.push('0');
    }
    Some((secs, digits.parse().ok()?))
}

/// Attributes of a source entry, xattrs included (never following symlinks).
fn attrs_of(path: &Path, m: &Metadata) -> Result<Attrs> {
    let mut xattrs = Vec::new();
    let names = xattr::list(path).map_err(|source| TemplateError::ReadSource {
        path: path.to_path_buf(),
        source,
    })?;
    for n in names {
        if let Some(v) = xattr::get(path, &n).map_err(|source| TemplateError::ReadSource {
            path: path.to_path_buf(),
            source,
        })? {
            xattrs.push((n, v));
        }
    }
    Ok(Attrs {
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: (m.mtime(), m.mtime_nsec()),
        xattrs,
    })
}

/// Copies the tree at `src` into `w`, staying on `src`'s filesystem (a mount
/// point inside it becomes an empty directory, like `cp -x`). Sockets are
/// skipped, and so are the directories in `skip` (given as device and inode:
/// the store's own, so importing `/` does not copy the import into itself).
/// Returns the sha256 of a canonical listing of the tree.
pub(crate) fn copy_dir(
    src: &Path,
    w: &mut TreeWriter,
    bar: &Bar,
    skip: &[(u64, u64)],
) -> Result<String> {
    let stat_err = |path: &Path, source| TemplateError::Stat {
        path: path.to_path_buf(),
        source,
    };
    let root_meta = std::fs::symlink_metadata(src).map_err(|e| stat_err(src, e))?;
    let dev = root_meta.dev();
    let mut hash = Sha256::new();
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    // Depth-first, children sorted by name: the listing (and so the digest)
    // does not depend on directory order.
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let path = if rel.as_os_str().is_empty() {
            src.to_path_buf()
        } else {
            src.join(&rel)
        };
        let m = std::fs::symlink_metadata(&path).map_err(|e| stat_err(&path, e))?;
        let attrs = attrs_of(&path, &m)?;
        let ft = m.file_type();
        let name = rel.to_string_lossy().into_owned();
        hash.update(rel.as_os_str().as_bytes());
        hash.update(format!("\0{:o}\0{}\0{}\0", m.mode(), m.uid(), m.gid()).as_bytes());
        for (k, v) in &attrs.xattrs {
            hash.update(k.as_bytes());
            hash.update(b"=");
            hash.update(v);
            hash.update(b"\0");
        }
        if ft.is_dir() {
            hash.update(b"\n");
            w.add(&name, &rel, Node::Dir, &attrs)?;
            if m.dev() != dev || skip.contains(&(m.dev(), m.ino())) {
                continue;
            }
            let mut children: Vec<OsString> = std::fs::read_dir(&path)
                .and_then(|it| it.map(|e| e.map(|e| e.file_name())).collect())
                .map_err(|source| TemplateError::ReadDir {
                    path: path.clone(),
                    source,
                })?;
            children.sort();
            stack.extend(children.into_iter().rev().map(|c| rel.join(c)));
        } else if ft.is_file() {
            if m.nlink() > 1 {
                if let Some(first) = links.get(&(m.dev(), m.ino())) {
                    hash.update(b"link\0");
                    hash.update(first.as_os_str().as_bytes());
                    hash.update(b"\n");
                    w.add(&name, &rel, Node::Hardlink(first.clone()), &attrs)?;
                    continue;
                }
                links.insert((m.dev(), m.ino()), rel.clone());
            }
            hash.update(format!("file\0{}\n", m.len()).as_bytes());
            // Checked again on the open file: it may have been replaced by
            // a FIFO since the walk's lstat, and its open must not block.
            let (file, _) = open_regular(&path, input::Links::Refuse)?;
            let mut reader = HashingReader {
                inner: file,
                hash: std::mem::take(&mut hash),
                bar,
            };
            let added = w.add(&name, &rel, Node::File(&mut reader), &attrs);
            hash = reader.hash;
            added?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(|source| TemplateError::ReadSource {
                path: path.clone(),
                source,
            })?;
            hash.update(b"symlink\0");
            hash.update(target.as_os_str().as_bytes());
            hash.update(b"\n");
            w.add(&name, &rel, Node::Symlink(target.into_os_string()), &attrs)?;
        } else if ft.is_char_device() || ft.is_block_device() {
            let (ma, mi) = (
                nix::sys::stat::major(m.rdev()),
                nix::sys::stat::minor(m.rdev()),
            );
            hash.update(format!("dev\0{}\0{ma}:{mi}\n", ft.is_char_device()).as_bytes());
            let node = if ft.is_char_device() {
                Node::CharDevice(ma, mi)
            } else {
                Node::BlockDevice(ma, mi)
            };
            w.add(&name, &rel, node, &attrs)?;
        } else if ft.is_fifo() {
            hash.update(b"fifo\n");
            w.add(&name, &rel, Node::Fifo, &attrs)?;
        }
        // Sockets: skipped (nothing listens on a copied socket).
    }
    Ok(hex(&hash.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_magic() {
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), Ok(SourceKind::Tar));
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Ok(SourceKind::TarGz));
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Ok(SourceKind::TarZst));
        assert_eq!(sniff(b"\xfd7zXZ\0rest"), Ok(SourceKind::TarXz));
        assert!(sniff(b"BZh91AY").unwrap_err().contains("bzip2"));
        assert!(sniff(b"").is_err());
        assert!(sniff(&[b'x'; 512]).is_err());
    }

    #[test]
    fn v7_tar_is_told_by_its_checksum() {
        let mut h = vec![0u8; 512];
        h[..5].copy_from_slice(b"hello");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum::<u32>() + 8 * 32;
        let field = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(field.as_bytes());
        assert_eq!(sniff(&h), Ok(SourceKind::Tar));
    }

    #[test]
    fn pax_times() {
        assert_eq!(parse_pax_time("12"), Some((12, 0)));
        assert_eq!(parse_pax_time("12.5"), Some((12, 500_000_000)));
        assert_eq!(parse_pax_time("12.123456789123"), Some((12, 123_456_789)));
        assert_eq!(parse_pax_time("x"), None);
    }
}
