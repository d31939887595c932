//! Container-image layers applied onto a tree, as the OCI image spec's
//! changeset rules say: entries are added with the tarball import's rules
//! (every hostile entry refused, see docs/templates.md), a `.wh.NAME` entry
//! deletes `NAME` of the layers below, a `.wh..wh..opq` entry empties its
//! directory of what the layers below put there, and an entry replaces a
//! lower directory of its name.
//!
//! The public entry point the image importer (`src/import/oci.rs`) uses;
//! the unpacking itself is the template import's own ([`super::import`]).

use super::error::{Result, TemplateError};
use super::import::{detect_source, unpack_tar};
use super::meta::SourceKind;
use super::progress::{Bar, Progress};
use super::tree::{TreeWriter, clean_entry_path};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The whiteout prefix and the opaque-directory marker.
const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// What a layer removes from the tree below it, and its marker entries.
#[derive(Debug, Default)]
struct Changes {
    /// Paths a whiteout deletes.
    deleted: Vec<PathBuf>,
    /// Directories an opaque marker empties.
    emptied: Vec<PathBuf>,
    /// Non-directory entries (a lower directory of the name goes).
    files: Vec<PathBuf>,
    /// The marker entries themselves, removed once the layer is written.
    markers: Vec<PathBuf>,
}

fn stream<'a>(path: &Path, kind: SourceKind, file: &'a mut File) -> Result<Box<dyn Read + 'a>> {
    let read_err = |source| TemplateError::ReadArchive {
        path: path.to_path_buf(),
        source,
    };
    let raw = io::BufReader::new(file);
    Ok(match kind {
        SourceKind::Tar => Box::new(raw),
        SourceKind::TarGz => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        SourceKind::TarZst => Box::new(zstd::stream::read::Decoder::new(raw).map_err(read_err)?),
        SourceKind::TarXz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(raw)),
        SourceKind::Directory | SourceKind::Recipe => {
            return Err(TemplateError::UnsupportedSource {
                path: path.to_path_buf(),
                what: format!("a {kind}, not a layer tarball"),
            });
        }
    })
}

/// Reads the layer's entry names (a first pass: its deletions must happen
/// before any of its own entries is written).
fn scan(path: &Path, kind: SourceKind) -> Result<Changes> {
    let read_err = |source| TemplateError::ReadArchive {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(|source| TemplateError::OpenSource {
        path: path.to_path_buf(),
        source,
    })?;
    let mut archive = tar::Archive::new(stream(path, kind, &mut file)?);
    let mut c = Changes::default();
    for entry in archive.entries().map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let raw = entry.path_bytes().into_owned();
        let rel = clean_entry_path(&raw).map_err(|reason| TemplateError::UnsafeEntry {
            entry: String::from_utf8_lossy(&raw).into_owned(),
            reason,
        })?;
        let name = rel.file_name().map(|n| n.to_string_lossy().into_owned());
        let parent = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        match name.as_deref() {
            Some(OPAQUE) => {
                c.emptied.push(parent);
                c.markers.push(rel);
            }
            Some(n) if n.starts_with(WHITEOUT) => {
                c.deleted.push(parent.join(&n[WHITEOUT.len()..]));
                c.markers.push(rel);
            }
            _ if !entry.header().entry_type().is_dir() => c.files.push(rel),
            _ => {}
        }
    }
    Ok(c)
}

/// `root/rel` when every component up to its parent is a real directory
/// (never a symlink: a deletion must not reach outside the tree), and the
/// final one exists; `None` when there is nothing there to delete.
fn inside(root: &Path, rel: &Path) -> Option<(PathBuf, std::fs::Metadata)> {
    let mut cur = root.to_path_buf();
    let mut comps = rel.components().peekable();
    while let Some(c) = comps.next() {
        cur.push(c);
        let meta = std::fs::symlink_metadata(&cur).ok()?;
        if comps.peek().is_none() {
            return Some((cur, meta));
        }
        if !meta.is_dir() {
            return None;
        }
    }
    None
}

fn remove(root: &Path, rel: &Path) -> Result<()> {
    let Some((path, meta)) = inside(root, rel) else {
        return Ok(());
    };
    let done = if meta.is_dir() {
        std::fs::remove_dir_all(&path)
    } else {
        std::fs::remove_file(&path)
    };
    done.map_err(|source| TemplateError::WriteEntry {
        step: "removing (whiteout)".to_owned(),
        entry: rel.to_string_lossy().into_owned(),
        source,
    })
}

/// Empties directory `rel` of `root` (an opaque marker), keeping it.
fn empty(root: &Path, rel: &Path) -> Result<()> {
    let dir = if rel.as_os_str().is_empty() {
        root.to_path_buf()
    } else {
        match inside(root, rel) {
            Some((p, m)) if m.is_dir() => p,
            _ => return Ok(()),
        }
    };
    let read = std::fs::read_dir(&dir).map_err(|source| TemplateError::ReadDir {
        path: dir.clone(),
        source,
    })?;
    for child in read {
        let child = child.map_err(|source| TemplateError::ReadDir {
            path: dir.clone(),
            source,
        })?;
        remove(root, &rel.join(child.file_name()))?;
    }
    Ok(())
}

/// Applies the layer tarball `blob` (plain, gzip, zstd or xz, told by its
/// bytes) onto the tree at `rootfs`: its whiteouts and opaque markers
/// first, then its entries. Returns the bytes of file data it wrote.
pub fn apply_layer(rootfs: &Path, blob: &Path, progress: Progress) -> Result<u64> {
    let kind = detect_source(blob)?;
    let changes = scan(blob, kind)?;
    for dir in &changes.emptied {
        empty(rootfs, dir)?;
    }
    for path in &changes.deleted {
        remove(rootfs, path)?;
    }
    for path in &changes.files {
        if inside(rootfs, path).is_some_and(|(_, m)| m.is_dir()) {
            remove(rootfs, path)?;
        }
    }
    let bar = Bar::bytes(
        progress,
        std::fs::metadata(blob).ok().map(|m| m.len()),
        "layer",
    );
    let mut writer = TreeWriter::new(rootfs)?;
    unpack_tar(blob, kind, &mut writer, &bar)?;
    let size = writer.finish()?;
    bar.finish();
    for marker in &changes.markers {
        remove(rootfs, marker)?;
    }
    Ok(size)
}
