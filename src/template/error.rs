//! The one error type of the template module: one variant per failed step,
//! each carrying the path, entry or name it failed on.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

/// Why a template operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template name that is not a plain name (see `template::validate_name`).
    #[error("invalid template name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// A domain name that cannot name a writable layer directory.
    #[error("invalid domain name {name:?} for a template layer: {reason}")]
    InvalidDomainName {
        /// The name as given.
        name: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// Creating a directory of the store (or of a template being written).
    #[error("creating directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Listing a directory.
    #[error("reading directory {path}: {source}")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Reading a file's or directory's metadata.
    #[error("reading metadata of {path}: {source}")]
    Stat {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The template already exists.
    #[error("template {name:?} already exists")]
    Exists {
        /// The template.
        name: String,
    },
    /// No template by that name.
    #[error("no template named {name:?}")]
    NotFound {
        /// The template.
        name: String,
    },
    /// `remove` while defined domains use the template.
    #[error("template {name:?} is used by {}: undefine them first", .users.join(", "))]
    InUse {
        /// The template.
        name: String,
        /// The domains that use it.
        users: Vec<String>,
    },
    /// Opening the import source.
    #[error("opening import source {path}: {source}")]
    OpenSource {
        /// The source path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The source (or a file of a source tree) was refused before reading:
    /// a FIFO, socket or device is never read, so never waited on.
    #[error("import source {source}")]
    SourceRefused {
        /// What failed, naming the file.
        source: crate::input::InputError,
    },
    /// The source is neither a directory nor a tarball domrun reads.
    #[error(
        "{path}: unsupported import source: {what} (expected a directory, or a .tar, .tar.gz, .tar.zst or .tar.xz file)"
    )]
    UnsupportedSource {
        /// The source path.
        path: PathBuf,
        /// What it was recognised as.
        what: String,
    },
    /// Reading the archive (decompression, tar framing).
    #[error("reading archive {path}: {source}")]
    ReadArchive {
        /// The archive.
        path: PathBuf,
        /// The error from the decompressor or the tar reader.
        source: io::Error,
    },
    /// An entry whose name would land outside the template (`..`, absolute).
    #[error("refusing archive entry {entry:?}: {reason}")]
    UnsafeEntry {
        /// The entry's name as stored in the archive.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry whose path goes through a symbolic link made earlier.
    #[error("refusing entry {entry:?}: its path goes through the symbolic link {symlink:?}")]
    EntryThroughSymlink {
        /// The entry's name.
        entry: String,
        /// The symlink in its path (relative to the template root).
        symlink: String,
    },
    /// An entry's parent exists but is not a directory.
    #[error("refusing entry {entry:?}: {parent:?} is not a directory")]
    ParentNotDirectory {
        /// The entry's name.
        entry: String,
        /// The offending path component (relative to the template root).
        parent: String,
    },
    /// An entry would replace a non-empty directory.
    #[error("refusing entry {entry:?}: it would replace a non-empty directory")]
    ReplacesDirectory {
        /// The entry's name.
        entry: String,
    },
    /// An archive entry type domrun does not unpack.
    #[error("archive entry {entry:?} has unsupported type {kind}")]
    UnsupportedEntry {
        /// The entry's name.
        entry: String,
        /// The type, as the tar header names it.
        kind: String,
    },
    /// An entry's header field could not be read (mode, owner, device numbers).
    #[error("archive entry {entry:?}: bad header field {field}: {reason}")]
    BadHeader {
        /// The entry's name.
        entry: String,
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A hard link whose target is not an earlier file of the template.
    #[error("hard link {entry:?} -> {target:?}: {reason}")]
    HardlinkTarget {
        /// The link entry.
        entry: String,
        /// Its target.
        target: String,
        /// Why it is refused.
        reason: String,
    },
    /// One step of writing an entry into the template failed.
    #[error("{step} {entry:?}: {source}")]
    WriteEntry {
        /// What was being done: "creating file", "chown", "chmod",
        /// "setting xattr user.x on", "mknod", "symlink", "link",
        /// "setting times of", "writing".
        step: String,
        /// The entry, relative to the template root.
        entry: String,
        /// The OS error.
        source: io::Error,
    },
    /// Reading a file of a directory source (or of a template being copied).
    #[error("reading {path}: {source}")]
    ReadSource {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Flushing the finished tree or metadata to disk.
    #[error("syncing {path}: {source}")]
    Sync {
        /// What was synced.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Moving a finished directory into place (or aside to delete it).
    #[error("renaming {from} to {to}: {source}")]
    Rename {
        /// Old path.
        from: PathBuf,
        /// New path.
        to: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Deleting a template, layer or staging directory.
    #[error("removing {path}: {source}")]
    Remove {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Writing a metadata file (`meta.json`, a layer's `template`).
    #[error("writing {path}: {source}")]
    WriteMeta {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Reading a metadata file (refused when it is not a small regular file).
    #[error("reading template metadata {source}")]
    ReadMeta {
        /// What failed, naming the file.
        source: crate::input::InputError,
    },
    /// A metadata file that does not parse.
    #[error("{path}: malformed template metadata: {reason}")]
    ParseMeta {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading a recipe file.
    #[error("reading recipe {path}: {source}")]
    ReadRecipe {
        /// The recipe.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Reading a recipe file's contents (refused when it is not a regular
    /// file of a bounded size).
    #[error("reading recipe {source}")]
    RecipeFile {
        /// What failed, naming the file.
        source: crate::input::InputError,
    },
    /// Starting the recipe's shell.
    #[error("running recipe {path}: {source}")]
    SpawnRecipe {
        /// The recipe.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The recipe said it cannot run on this host (exit status 77): a tool
    /// is missing or the archive it downloads from is unreachable.
    #[error("recipe {path} cannot run here: {message}")]
    RecipeUnavailable {
        /// The recipe.
        path: PathBuf,
        /// Its last line of output, which says why.
        message: String,
    },
    /// The recipe failed.
    #[error("recipe {path} failed ({status}); last output:\n{log_tail}")]
    RecipeFailed {
        /// The recipe.
        path: PathBuf,
        /// How it exited.
        status: ExitStatus,
        /// The last lines it printed.
        log_tail: String,
    },
    /// The recipe exited but left a filesystem mounted inside the tree.
    #[error("recipe {path} left {mount} mounted")]
    RecipeLeftMount {
        /// The recipe.
        path: PathBuf,
        /// The mount point.
        mount: PathBuf,
    },
    /// A domain's writable layer was provisioned from another template.
    #[error(
        "the writable layer of domain {domain:?} belongs to template {existing:?}, not {requested:?}: remove it first (undefine --remove-all-storage)"
    )]
    LayerTemplateMismatch {
        /// The domain.
        domain: String,
        /// The template its layer was made from.
        existing: String,
        /// The template asked for now.
        requested: String,
    },
    /// A domain's overlay layer exists, but overlayfs is not available.
    #[error("domain {domain:?} has an overlayfs layer at {path}, but this host has no overlayfs")]
    OverlayUnavailable {
        /// The domain.
        domain: String,
        /// Its layer directory.
        path: PathBuf,
    },
    /// A path that cannot be passed in overlayfs's mount options.
    #[error("{path}: cannot be used as an overlayfs layer: {reason}")]
    OverlayPath {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// Mounting the overlay.
    #[error("mounting overlayfs on {target}: {source}")]
    Mount {
        /// The mount point.
        target: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// `Result` with [`TemplateError`].
pub type Result<T> = std::result::Result<T, TemplateError>;
