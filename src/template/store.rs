//! The template store under domrun's state root.
//!
//! ```text
//! <root>/templates/              0700: templates hold setuid files; only root walks in
//!   <name>/rootfs/               the unpacked tree, never written after import
//!   <name>/meta.json             TemplateInfo as JSON
//!   <name>/build.log             output of the recipe (built templates only)
//!   .empty/                      an empty lower layer for read-only overlays
//!   .tmp-<name>-<pid>/           an import or removal in progress
//! <root>/layers/                 0700
//!   <domain>/template            the template this layer belongs to
//!   <domain>/upper/, work/       overlayfs upper and work directories
//!   <domain>/rootfs/             a full copy instead, where there is no overlayfs
//!   .tmp-<domain>-<pid>/         a layer being made or removed
//! ```
//!
//! Every template and layer is made in a `.tmp-` directory beside its final
//! place and renamed there in one step (`RENAME_NOREPLACE`), after the
//! filesystem is synced; removal renames it back to a `.tmp-` name first. So a
//! crash leaves either the whole thing or a `.tmp-` directory, which the next
//! [`Store::open`] deletes once the process that made it is gone.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::input;
use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
use sha2::{Digest as _, Sha256};

use super::error::{Result, TemplateError};
use super::import::{copy_dir, detect_source, unpack_tar};
use super::meta::{SourceKind, TemplateInfo, write_atomic};
use super::name::{validate_domain_name, validate_name};
use super::progress::{Bar, Progress};
use super::provision::{OverlayRoot, Provisioned, UpperLayer, overlay_available};
use super::recipe::Recipe;
use super::tree::TreeWriter;

const TMP_PREFIX: &str = ".tmp-";
const EMPTY_DIR: &str = ".empty";
const LAYER_TEMPLATE_FILE: &str = "template";

/// A template store rooted at a state directory.
#[derive(Debug, Clone)]
pub struct Store {
    templates: PathBuf,
    layers: PathBuf,
    overlay: bool,
}

fn create_dir(path: &Path, mode: u32) -> Result<()> {
    match std::fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(source) => Err(TemplateError::CreateDir {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| TemplateError::Sync {
            path: path.to_path_buf(),
            source,
        })
}

/// Mount points at or below `path` (from this thread's mount table), deepest
/// first.
fn mounts_under(path: &Path) -> Vec<PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/thread-self/mountinfo") else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_octal(m)))
        .filter(|m| m.starts_with(path))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found
}

fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(d) = b
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
        {
            let v = d.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Deletes a directory tree, after detaching anything mounted inside it (a
/// recipe that died with /proc mounted in its tree must not make us delete
/// through a mount).
fn remove_tree(path: &Path) -> Result<()> {
    for m in mounts_under(path) {
        // Best effort: if it cannot be detached, remove_dir_all fails with EBUSY
        // on the mount point and the error names it.
        let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(TemplateError::Remove {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Renames `from` to `to` only if `to` does not exist. `Ok(false)` if it does.
fn rename_noreplace(from: &Path, to: &Path) -> Result<bool> {
    match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => Ok(true),
        Err(Errno::EEXIST | Errno::ENOTEMPTY) => Ok(false),
        Err(e) => Err(TemplateError::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source: e.into(),
        }),
    }
}

/// A `.tmp-` directory, deleted on drop unless committed.
struct Staging {
    dir: PathBuf,
    committed: bool,
}

impl Staging {
    /// Makes `<parent>/.tmp-<name>-<pid>`; `Ok(None)` if that exists (another
    /// thread of this process is at it).
    fn new(parent: &Path, name: &str) -> Result<Option<Self>> {
        let dir = parent.join(format!("{TMP_PREFIX}{name}-{}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => Ok(Some(Self {
                dir,
                committed: false,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
            Err(source) => Err(TemplateError::CreateDir { path: dir, source }),
        }
    }

    /// Moves it to `to`; `Ok(false)` (and it is deleted) if `to` exists.
    fn commit(mut self, to: &Path) -> Result<bool> {
        sync_dir(&self.dir)?;
        if !rename_noreplace(&self.dir, to)? {
            return Ok(false);
        }
        self.committed = true;
        if let Some(parent) = to.parent() {
            sync_dir(parent)?;
        }
        Ok(true)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_tree(&self.dir);
        }
    }
}

/// Bytes of regular-file data under `root` (each inode once, one filesystem).
fn tree_size(root: &Path) -> Result<u64> {
    let stat = |p: &Path| {
        std::fs::symlink_metadata(p).map_err(|source| TemplateError::Stat {
            path: p.to_path_buf(),
            source,
        })
    };
    let dev = stat(root)?.dev();
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| TemplateError::ReadDir {
            path: dir.clone(),
            source,
        })?;
        for e in entries {
            let e = e.map_err(|source| TemplateError::ReadDir {
                path: dir.clone(),
                source,
            })?;
            let path = e.path();
            let m = stat(&path)?;
            if m.is_dir() {
                if m.dev() == dev {
                    stack.push(path);
                }
            } else if m.is_file() && (m.nlink() == 1 || seen.insert((m.dev(), m.ino()))) {
                total += m.len();
            }
        }
    }
    Ok(total)
}

fn now() -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}

impl Store {
    /// Opens (creating if needed) the store under the state root `root`, and
    /// deletes `.tmp-` directories left by processes that are gone.
    /// Overlayfs support is probed once here ([`overlay_available`]).
    pub fn open(root: &Path) -> Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(root)
            .map_err(|source| TemplateError::CreateDir {
                path: root.to_path_buf(),
                source,
            })?;
        let store = Self {
            templates: root.join("templates"),
            layers: root.join("layers"),
            overlay: overlay_available(),
        };
        create_dir(&store.templates, 0o700)?;
        create_dir(&store.layers, 0o700)?;
        create_dir(&store.templates.join(EMPTY_DIR), 0o755)?;
        store.sweep(&store.templates)?;
        store.sweep(&store.layers)?;
        Ok(store)
    }

    /// Overrides the overlayfs probe: `false` makes [`Store::provision`] use
    /// its copy fallback (as on a kernel without overlayfs).
    #[must_use]
    pub fn with_overlay(mut self, available: bool) -> Self {
        self.overlay = available;
        self
    }

    /// Whether provisioning uses overlayfs.
    pub fn overlay(&self) -> bool {
        self.overlay
    }

    fn sweep(&self, dir: &Path) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|source| TemplateError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let me = std::process::id();
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)) else {
                continue;
            };
            let Some(pid) = rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if pid == me || Path::new("/proc").join(pid.to_string()).exists() {
                continue;
            }
            remove_tree(&e.path())?;
        }
        Ok(())
    }

    /// Device and inode of the store's directories, which a directory import
    /// must not descend into.
    fn own_dirs(&self) -> Vec<(u64, u64)> {
        [&self.templates, &self.layers]
            .iter()
            .filter_map(|d| std::fs::metadata(d).ok())
            .map(|m| (m.dev(), m.ino()))
            .collect()
    }

    /// `<root>/templates/<name>` after checking the name.
    pub fn template_dir(&self, name: &str) -> Result<PathBuf> {
        validate_name(name)?;
        Ok(self.templates.join(name))
    }

    /// The tree of an existing template (`<root>/templates/<name>/rootfs`).
    pub fn rootfs(&self, name: &str) -> Result<PathBuf> {
        let dir = self.template_dir(name)?;
        let rootfs = dir.join("rootfs");
        if !rootfs.is_dir() {
            return Err(TemplateError::NotFound {
                name: name.to_owned(),
            });
        }
        Ok(rootfs)
    }

    /// Every template, sorted by name.
    pub fn list(&self) -> Result<Vec<TemplateInfo>> {
        let entries =
            std::fs::read_dir(&self.templates).map_err(|source| TemplateError::ReadDir {
                path: self.templates.clone(),
                source,
            })?;
        let mut names = Vec::new();
        for e in entries {
            let e = e.map_err(|source| TemplateError::ReadDir {
                path: self.templates.clone(),
                source,
            })?;
            if let Some(n) = e.file_name().to_str()
                && validate_name(n).is_ok()
            {
                names.push(n.to_owned());
            }
        }
        names.sort();
        names.iter().map(|n| self.info(n)).collect()
    }

    /// One template's metadata.
    pub fn info(&self, name: &str) -> Result<TemplateInfo> {
        let path = self.template_dir(name)?.join("meta.json");
        let text = match input::read_text(&path, input::Links::Refuse, input::CONFIG_LIMIT) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                return Err(TemplateError::NotFound {
                    name: name.to_owned(),
                });
            }
            Err(source) => return Err(TemplateError::ReadMeta { source }),
        };
        TemplateInfo::from_json(&text, &path)
    }

    fn begin(&self, name: &str) -> Result<(PathBuf, Staging)> {
        let dest = self.template_dir(name)?;
        let exists = || TemplateError::Exists {
            name: name.to_owned(),
        };
        if dest.exists() {
            return Err(exists());
        }
        let staging = Staging::new(&self.templates, name)?.ok_or_else(exists)?;
        create_dir(&staging.dir.join("rootfs"), 0o755)?;
        Ok((dest, staging))
    }

    fn finish(&self, info: &TemplateInfo, dest: &Path, staging: Staging) -> Result<()> {
        write_atomic(&staging.dir.join("meta.json"), info.to_json().as_bytes())?;
        if staging.commit(dest)? {
            Ok(())
        } else {
            Err(TemplateError::Exists {
                name: info.name.clone(),
            })
        }
    }

    /// Imports `source` (a directory, or a `.tar`, `.tar.gz`, `.tar.zst` or
    /// `.tar.xz` file, told by its bytes) as template `name`. Ownership,
    /// permissions, xattrs, hard links, symlinks and device nodes are kept; an
    /// entry that would land outside the template fails the import, naming
    /// it. On any failure nothing is left behind.
    pub fn import(&self, name: &str, source: &Path, progress: Progress) -> Result<TemplateInfo> {
        let source = std::path::absolute(source).map_err(|e| TemplateError::OpenSource {
            path: source.to_path_buf(),
            source: e,
        })?;
        let kind = detect_source(&source)?;
        let (dest, staging) = self.begin(name)?;
        let rootfs = staging.dir.join("rootfs");
        let mut writer = TreeWriter::new(&rootfs)?;
        let label = format!("importing {name}");
        let sha256 = if kind == SourceKind::Directory {
            let bar = Bar::bytes(progress, None, &label);
            copy_dir(&source, &mut writer, &bar, &self.own_dirs())?
        } else {
            let total = std::fs::metadata(&source).map(|m| m.len()).ok();
            let bar = Bar::bytes(progress, total, &label);
            unpack_tar(&source, kind, &mut writer, &bar)?
        };
        let size_bytes = writer.finish()?;
        let info = TemplateInfo {
            name: name.to_owned(),
            source: source.to_string_lossy().into_owned(),
            kind,
            sha256,
            size_bytes,
            created: now(),
        };
        self.finish(&info, &dest, staging)?;
        Ok(info)
    }

    /// Builds template `name` by running the recipe at `recipe` (see
    /// [`Recipe`]). A recipe that exits 77 gives
    /// [`TemplateError::RecipeUnavailable`]; nothing is left behind on failure.
    pub fn build(&self, name: &str, recipe: &Path, progress: Progress) -> Result<TemplateInfo> {
        let recipe = Recipe::load(recipe)?;
        let bytes = input::read_file(&recipe.path, input::Links::Follow, input::CONFIG_LIMIT)
            .map_err(|source| TemplateError::RecipeFile { source })?;
        let (dest, staging) = self.begin(name)?;
        let rootfs = staging.dir.join("rootfs");
        recipe.run(&rootfs, name, &staging.dir.join("build.log"), progress)?;
        // A recipe must not leave mounts in its tree (debootstrap mounts /proc
        // while it runs): refuse rather than freeze them into a template.
        if let Some(m) = mounts_under(&rootfs).first() {
            return Err(TemplateError::RecipeLeftMount {
                path: recipe.path.clone(),
                mount: m.clone(),
            });
        }
        let size_bytes = tree_size(&rootfs)?;
        nix::unistd::syncfs(File::open(&rootfs).map_err(|source| TemplateError::Sync {
            path: rootfs.clone(),
            source,
        })?)
        .map_err(|e| TemplateError::Sync {
            path: rootfs.clone(),
            source: e.into(),
        })?;
        let info = TemplateInfo {
            name: name.to_owned(),
            source: recipe.path.to_string_lossy().into_owned(),
            kind: SourceKind::Recipe,
            sha256: Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            size_bytes,
            created: now(),
        };
        self.finish(&info, &dest, staging)?;
        Ok(info)
    }

    /// Deletes template `name`. `users` are the defined domains whose root
    /// comes from it (the caller knows the definitions): while there is any,
    /// the template stays and the error names them.
    pub fn remove(&self, name: &str, users: &[String]) -> Result<()> {
        let dir = self.template_dir(name)?;
        if !dir.exists() {
            return Err(TemplateError::NotFound {
                name: name.to_owned(),
            });
        }
        if !users.is_empty() {
            return Err(TemplateError::InUse {
                name: name.to_owned(),
                users: users.to_vec(),
            });
        }
        self.discard(&self.templates, name, &dir)
    }

    /// Moves `dir` aside to a `.tmp-` name, then deletes it: a crash half-way
    /// leaves something the next `open` sweeps, never a half template.
    fn discard(&self, parent: &Path, name: &str, dir: &Path) -> Result<()> {
        let aside = parent.join(format!(
            "{TMP_PREFIX}{name}.removing-{}",
            std::process::id()
        ));
        remove_tree(&aside)?;
        std::fs::rename(dir, &aside).map_err(|source| TemplateError::Rename {
            from: dir.to_path_buf(),
            to: aside.clone(),
            source,
        })?;
        sync_dir(parent)?;
        remove_tree(&aside)
    }

    /// `<root>/layers/<domain>` after checking the name.
    pub fn layer_dir(&self, domain: &str) -> Result<PathBuf> {
        validate_domain_name(domain)?;
        Ok(self.layers.join(domain))
    }

    /// The template a domain's writable layer was made from; `None` when the
    /// domain has no layer.
    pub fn layer_template(&self, domain: &str) -> Result<Option<String>> {
        let path = self.layer_dir(domain)?.join(LAYER_TEMPLATE_FILE);
        match input::read_text(&path, input::Links::Refuse, input::CONFIG_LIMIT) {
            Ok(t) => Ok(Some(t.trim_end().to_owned())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(source) => Err(TemplateError::ReadMeta { source }),
        }
    }

    /// Deletes a domain's writable layer (for `undefine
    /// --remove-all-storage`). `Ok(false)` when it had none. The domain must
    /// not be running.
    pub fn remove_layer(&self, domain: &str) -> Result<bool> {
        let dir = self.layer_dir(domain)?;
        if !dir.exists() {
            return Ok(false);
        }
        self.discard(&self.layers, domain, &dir)?;
        Ok(true)
    }

    /// What the engine mounts as the root of `domain`, whose root is template
    /// `name`. Constant time with overlayfs: the domain's layer
    /// (`<root>/layers/<domain>/{upper,work}`) is made empty on first use and
    /// kept after, so a restart sees the domain's earlier writes. `readonly`
    /// gives the template alone, with no writable layer. Without overlayfs
    /// the first start copies the template into the layer (with a progress
    /// bar on a terminal) and returns that directory.
    pub fn provision(&self, name: &str, domain: &str, readonly: bool) -> Result<Provisioned> {
        self.provision_with(name, domain, readonly, Progress::Auto)
    }

    /// [`Store::provision`] with a choice of progress display.
    pub fn provision_with(
        &self,
        name: &str,
        domain: &str,
        readonly: bool,
        progress: Progress,
    ) -> Result<Provisioned> {
        let rootfs = self.rootfs(name)?;
        let layer = self.layer_dir(domain)?;
        if readonly {
            return Ok(if self.overlay {
                Provisioned::Overlay(OverlayRoot {
                    lowers: vec![rootfs, self.templates.join(EMPTY_DIR)],
                    upper: None,
                })
            } else {
                Provisioned::Directory(rootfs)
            });
        }
        // Twice at most: if another process makes the layer between our look
        // and our rename, the second look finds it.
        for _ in 0..2 {
            match self.layer_template(domain)? {
                Some(t) if t != name => {
                    return Err(TemplateError::LayerTemplateMismatch {
                        domain: domain.to_owned(),
                        existing: t,
                        requested: name.to_owned(),
                    });
                }
                Some(_) => return self.existing_layer(domain, &layer, rootfs),
                None => {
                    if self.make_layer(name, domain, &layer, &rootfs, progress)? {
                        return self.existing_layer(domain, &layer, rootfs);
                    }
                }
            }
        }
        Err(TemplateError::CreateDir {
            path: layer,
            source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        })
    }

    fn existing_layer(&self, domain: &str, layer: &Path, rootfs: PathBuf) -> Result<Provisioned> {
        let copy = layer.join("rootfs");
        if copy.is_dir() {
            return Ok(Provisioned::Directory(copy));
        }
        if !self.overlay {
            return Err(TemplateError::OverlayUnavailable {
                domain: domain.to_owned(),
                path: layer.to_path_buf(),
            });
        }
        Ok(Provisioned::Overlay(OverlayRoot {
            lowers: vec![rootfs],
            upper: Some(UpperLayer {
                upper: layer.join("upper"),
                work: layer.join("work"),
            }),
        }))
    }

    /// Makes a domain's layer in a staging directory and renames it into
    /// place; `Ok(false)` if one appeared meanwhile.
    fn make_layer(
        &self,
        name: &str,
        domain: &str,
        layer: &Path,
        rootfs: &Path,
        progress: Progress,
    ) -> Result<bool> {
        let Some(staging) = Staging::new(&self.layers, domain)? else {
            return Ok(false);
        };
        if self.overlay {
            // The overlay's root directory is the upper one: give it the
            // template root's owner and mode.
            let upper = staging.dir.join("upper");
            let m = std::fs::metadata(rootfs).map_err(|source| TemplateError::Stat {
                path: rootfs.to_path_buf(),
                source,
            })?;
            create_dir(&upper, 0o755)?;
            std::os::unix::fs::chown(&upper, Some(m.uid()), Some(m.gid()))
                .and_then(|()| {
                    std::fs::set_permissions(
                        &upper,
                        std::fs::Permissions::from_mode(m.mode() & 0o7777),
                    )
                })
                .map_err(|source| TemplateError::CreateDir {
                    path: upper.clone(),
                    source,
                })?;
            create_dir(&staging.dir.join("work"), 0o700)?;
        } else {
            let copy = staging.dir.join("rootfs");
            create_dir(&copy, 0o755)?;
            let total = self.info(name).ok().map(|i| i.size_bytes);
            let bar = Bar::bytes(progress, total, &format!("copying {name} for {domain}"));
            let mut writer = TreeWriter::new(&copy)?;
            copy_dir(rootfs, &mut writer, &bar, &[])?;
            writer.finish()?;
        }
        write_atomic(
            &staging.dir.join(LAYER_TEMPLATE_FILE),
            format!("{name}\n").as_bytes(),
        )?;
        staging.commit(layer)
    }
}
