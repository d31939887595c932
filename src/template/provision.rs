//! What a domain's template root is, and mounting it.
//!
//! Provisioning itself (making the per-domain layer) is `Store::provision`;
//! this file holds the types it returns and the overlayfs mount the engine
//! does inside the container's mount namespace.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use super::error::{Result, TemplateError};

/// A domain's root filesystem, as the engine must mount it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioned {
    /// Mount an overlayfs ([`mount_overlay`]).
    Overlay(OverlayRoot),
    /// Use this directory as the root (bind it; read-only when the domain's
    /// root is). Returned where overlayfs is unavailable: the domain's own
    /// copy of the template, or for a read-only root the template itself.
    Directory(PathBuf),
}

/// An overlayfs root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayRoot {
    /// Lower (read-only) layers, topmost first. The template's tree is first.
    /// A read-only root has a second, empty one: overlayfs needs two lower
    /// layers when there is no upper.
    pub lowers: Vec<PathBuf>,
    /// The writable layer; `None` for a read-only root, which then cannot be
    /// remounted writable from inside the container (an overlay without an
    /// upper layer is read-only for good).
    pub upper: Option<UpperLayer>,
}

/// The writable half of an overlay: one per domain, kept across restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpperLayer {
    /// Holds the domain's changes (`<root>/layers/<domain>/upper`).
    pub upper: PathBuf,
    /// overlayfs's scratch directory, on the same filesystem
    /// (`<root>/layers/<domain>/work`).
    pub work: PathBuf,
}

impl OverlayRoot {
    /// The mount data string: `lowerdir=A:B,upperdir=U,workdir=W`, each path
    /// escaped for overlayfs (`\`, `,` and `:` get a backslash).
    pub fn mount_options(&self) -> Result<String> {
        let mut lowers = Vec::with_capacity(self.lowers.len());
        for l in &self.lowers {
            lowers.push(escape(l)?);
        }
        let mut data = format!("lowerdir={}", lowers.join(":"));
        if let Some(u) = &self.upper {
            data.push_str(&format!(
                ",upperdir={},workdir={}",
                escape(&u.upper)?,
                escape(&u.work)?
            ));
        }
        Ok(data)
    }
}

fn escape(p: &Path) -> Result<String> {
    let bad = |reason| TemplateError::OverlayPath {
        path: p.to_path_buf(),
        reason,
    };
    let s = p.to_str().ok_or_else(|| bad("the path is not UTF-8"))?;
    if !p.is_absolute() {
        return Err(bad("the path is not absolute"));
    }
    if s.contains('\n') {
        return Err(bad("the path contains a newline"));
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | ':') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// Mounts `o` on `target` (which must exist). Runs in the caller's mount
/// namespace: the engine calls it inside the container's, where the mount
/// vanishes with the namespace. A read-only root is also mounted `MS_RDONLY`.
/// Needs `CAP_SYS_ADMIN`.
pub fn mount_overlay(target: &Path, o: &OverlayRoot) -> Result<()> {
    let data = o.mount_options()?;
    let mut flags = MsFlags::empty();
    if o.upper.is_none() {
        flags |= MsFlags::MS_RDONLY;
    }
    nix::mount::mount(
        Some(OsStr::from_bytes(b"overlay")),
        target,
        Some(OsStr::from_bytes(b"overlay")),
        flags,
        Some(data.as_str()),
    )
    .map_err(|e| TemplateError::Mount {
        target: target.to_path_buf(),
        source: std::io::Error::from(e),
    })
}

/// Whether this kernel has overlayfs: listed in `/proc/filesystems`, or
/// built as a module that the first mount will load.
pub fn overlay_available() -> bool {
    if std::fs::read_to_string("/proc/filesystems").is_ok_and(|t| {
        t.lines()
            .any(|l| l.split_whitespace().last() == Some("overlay"))
    }) {
        return true;
    }
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    let dir = Path::new("/lib/modules")
        .join(release.trim())
        .join("kernel/fs/overlayfs");
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_escape_separators() {
        let o = OverlayRoot {
            lowers: vec!["/s/t,1:x".into(), "/s/empty".into()],
            upper: Some(UpperLayer {
                upper: "/s/l/a\\b/upper".into(),
                work: "/s/l/w".into(),
            }),
        };
        assert_eq!(
            o.mount_options().unwrap(),
            "lowerdir=/s/t\\,1\\:x:/s/empty,upperdir=/s/l/a\\\\b/upper,workdir=/s/l/w"
        );
    }

    #[test]
    fn relative_or_newline_paths_are_refused() {
        for p in ["rel/x", "/a\nb"] {
            let o = OverlayRoot {
                lowers: vec![p.into()],
                upper: None,
            };
            assert!(o.mount_options().is_err(), "{p:?}");
        }
    }
}
