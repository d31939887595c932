//! Recipes: shell scripts that build a template's tree.
//!
//! A recipe is a `sh` script (run as `sh -eu RECIPE`) with a header comment:
//!
//! ```sh
//! # description: BusyBox from the host's busybox-static, a few hundred KiB
//! ```
//!
//! It runs with the working directory set to the recipe's directory and
//! `ROOTFS` (the empty directory to fill), `RECIPE_DIR` and `TEMPLATE_NAME`
//! in its environment. Exit status 0 means built; 77 means "cannot run on this
//! host" (a tool missing, the archive unreachable) with the reason as its last
//! line of output; anything else is a failure. See `docs/templates.md`.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::error::{Result, TemplateError};
use super::progress::{Bar, Progress};
use crate::input;

/// Exit status a recipe uses to say it cannot run here.
pub const RECIPE_UNAVAILABLE: i32 = 77;

/// A recipe file and what its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// The recipe file (absolute).
    pub path: PathBuf,
    /// The `# description:` line of its header, if any.
    pub description: Option<String>,
}

impl Recipe {
    /// Reads the header of the recipe at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let err = |source| TemplateError::ReadRecipe {
            path: path.to_path_buf(),
            source,
        };
        let path = std::path::absolute(path).map_err(err)?;
        // Only the header is read, through a bounded reader: a FIFO or a
        // device given as a recipe is refused, not waited on.
        let refused = |source| TemplateError::RecipeFile { source };
        let file = input::open(&path, input::Links::Follow).map_err(refused)?;
        let (reader, _) = input::check(file, &path, input::CONFIG_LIMIT).map_err(refused)?;
        let mut description = None;
        for line in BufReader::new(reader).lines() {
            let line = line.map_err(err)?;
            let Some(comment) = line.strip_prefix('#') else {
                if line.trim().is_empty() {
                    continue;
                }
                break;
            };
            if let Some(d) = comment.trim().strip_prefix("description:") {
                description = Some(d.trim().to_owned());
            }
        }
        Ok(Self { path, description })
    }

    /// The recipes (`*.recipe`) in `dir`, sorted by file name.
    pub fn list(dir: &Path) -> Result<Vec<Self>> {
        let entries = std::fs::read_dir(dir).map_err(|source| TemplateError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths = Vec::new();
        for e in entries {
            let e = e.map_err(|source| TemplateError::ReadDir {
                path: dir.to_path_buf(),
                source,
            })?;
            if e.path().extension().is_some_and(|x| x == "recipe") {
                paths.push(e.path());
            }
        }
        paths.sort();
        paths.iter().map(|p| Self::load(p)).collect()
    }

    /// Runs the recipe to fill `rootfs`; its output goes to `log`.
    pub(crate) fn run(
        &self,
        rootfs: &Path,
        name: &str,
        log: &Path,
        progress: Progress,
    ) -> Result<()> {
        let spawn_err = |source| TemplateError::SpawnRecipe {
            path: self.path.clone(),
            source,
        };
        let out = File::create(log).map_err(spawn_err)?;
        let err = out.try_clone().map_err(spawn_err)?;
        let dir = self.path.parent().unwrap_or(Path::new("/"));
        let mut child = Command::new("/bin/sh")
            .arg("-eu")
            .arg(&self.path)
            .current_dir(dir)
            .env("ROOTFS", rootfs)
            .env("RECIPE_DIR", dir)
            .env("TEMPLATE_NAME", name)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(spawn_err)?;
        let bar = Bar::spinner(progress, &format!("building {name}"));
        let status = loop {
            match child.try_wait().map_err(spawn_err)? {
                Some(s) => break s,
                None => {
                    if bar.is_visible() {
                        bar.set_message(last_lines(log, 1));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        };
        bar.finish();
        match status.code() {
            Some(0) => Ok(()),
            Some(RECIPE_UNAVAILABLE) => Err(TemplateError::RecipeUnavailable {
                path: self.path.clone(),
                message: last_lines(log, 1),
            }),
            _ => Err(TemplateError::RecipeFailed {
                path: self.path.clone(),
                status,
                log_tail: last_lines(log, 20),
            }),
        }
    }
}

/// The last `n` non-empty lines of the file (best effort: "" on error).
fn last_lines(path: &Path, n: usize) -> String {
    const TAIL: u64 = 16 * 1024;
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    if f.seek(SeekFrom::Start(len.saturating_sub(TAIL))).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    // The recipe is still writing: read no more than the tail asked for.
    if f.take(TAIL).read_to_end(&mut buf).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
