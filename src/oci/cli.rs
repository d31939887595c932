//! The runc command surface: `domrun oci [GLOBALS] VERB …`, and the same
//! without `oci` when the binary is invoked as `runc` (a symlink named
//! `runc`, or `--runc-binary` pointing at one), which is how containerd,
//! podman and runtime-tools call it. Global flags come before the verb.
//!
//! Phase 1 of issue 12: `spec`, `features`, `state`, `list` and the state
//! machine are real; the verbs that need the launcher's create/start split
//! fail with [`OciError::NotYet`] rather than pretend.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::log::{LogFormat, Logger};
use super::spec::{CONFIG_FILE, SpecOptions};
use super::state::{Effect, LifecycleError, Verb, decide};
use super::store::{DEFAULT_ROOT, Store, StoreError};
use super::{SpecError, default_spec, features};

/// Options every verb takes (before the verb, as runc parses them).
#[derive(Debug, Clone, Args)]
pub struct Globals {
    /// State directory of OCI containers.
    #[arg(long, global = true, default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Append errors to this file (containerd reads `log.json`).
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// `text` or `json` lines in `--log`.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// `linux.cgroupsPath` is systemd's `slice:prefix:name`.
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode (`true`, `false`, `auto`); domrun runs as root only.
    #[arg(long, global = true, value_name = "VALUE")]
    pub rootless: Option<String>,
    /// Log debug lines too.
    #[arg(long, global = true)]
    pub debug: bool,
}

/// `domrun oci …`: everything after `oci`, parsed by [`RuncCli`] exactly
/// as when invoked as `runc` (domrun's own `--root`, which differs, does not
/// reach it: `domrun oci --root R` is the OCI state root).
#[derive(Debug, Args)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct OciArgs {
    /// runc's global flags, verb and arguments (`domrun oci --help`).
    #[arg(num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

/// The binary invoked as `runc`.
#[derive(Debug, Parser)]
#[command(name = "runc", version = version_text(), about = "domrun's runc-compatible OCI runtime")]
pub struct RuncCli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: OciCommand,
}

const fn version_text() -> &'static str {
    concat!(env!("CARGO_PKG_VERSION"), " (domrun)\nspec: ", "1.2.0")
}

/// `ps` / `list` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

/// Arguments of `create` (and `run`).
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The bundle directory (holds config.json).
    #[arg(long, short, default_value = ".")]
    pub bundle: PathBuf,
    /// Write init's host pid here.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Send the pty master over this unix socket (`process.terminal`).
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root.
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not make a new session keyring.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass fds 3..3+N to init.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

/// The runc verbs.
#[derive(Debug, Subcommand)]
pub enum OciCommand {
    /// Set up a container from a bundle; init waits for `start`.
    Create(CreateArgs),
    /// Let a created container's init run the user process.
    Start { id: String },
    /// Print the state JSON.
    State { id: String },
    /// Send a signal (name or number, default TERM) to init.
    Kill {
        /// Signal every process of the container.
        #[arg(long, short)]
        all: bool,
        id: String,
        #[arg(default_value = "TERM")]
        signal: String,
    },
    /// Remove a stopped container (`--force`: kill it first).
    Delete {
        #[arg(long, short)]
        force: bool,
        id: String,
    },
    /// create + start (+ wait unless `--detach`).
    Run {
        #[command(flatten)]
        create: CreateArgs,
        #[arg(long, short)]
        detach: bool,
    },
    /// Run another process in a container.
    Exec {
        /// A runtime-spec `process` JSON file.
        #[arg(long, short)]
        process: Option<PathBuf>,
        #[arg(long, short)]
        tty: bool,
        #[arg(long, short)]
        detach: bool,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        #[arg(long)]
        console_socket: Option<PathBuf>,
        #[arg(long)]
        cwd: Option<PathBuf>,
        #[arg(long, short)]
        env: Vec<String>,
        /// `UID[:GID]`.
        #[arg(long, short)]
        user: Option<String>,
        #[arg(long, short)]
        cap: Vec<String>,
        id: String,
        /// The command (without `--process`).
        #[arg(trailing_var_arg = true)]
        args: Vec<OsString>,
    },
    /// The container's processes.
    Ps {
        #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        id: String,
        /// Options for ps(1).
        #[arg(trailing_var_arg = true)]
        ps_args: Vec<OsString>,
    },
    /// Every container under `--root`.
    List {
        #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Ids only.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Freeze every process of the container.
    Pause { id: String },
    /// Thaw it.
    Resume { id: String },
    /// Change resource limits from a `linux.resources` JSON file (`-`: stdin).
    Update {
        #[arg(long, short)]
        resources: Option<PathBuf>,
        id: String,
    },
    /// Stream events (OOM, stats).
    Events {
        #[arg(long)]
        stats: bool,
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    /// What this runtime supports, as runtime-spec features JSON.
    Features,
    /// Write a default config.json into the bundle.
    /// (runc's `spec --rootless` is the global `--rootless`, refused.)
    Spec {
        #[arg(long, short, default_value = ".")]
        bundle: PathBuf,
    },
}

/// Why an OCI verb failed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A verb that needs phase 2 (the launcher's create/start split).
    #[error("{verb}: not yet supported by domrun's OCI front end (issue 12 phase 2)")]
    NotYet { verb: &'static str },
    #[error("--rootless {value}: domrun's OCI runtime runs as root only")]
    Rootless { value: String },
    #[error("{path} already exists")]
    SpecExists { path: PathBuf },
    #[error(transparent)]
    Signal(#[from] super::signal::BadSignal),
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The OCI front end's share of `main`, before domrun's own parser runs:
/// invoked as `runc`, or as `domrun oci …` (parsed here so that domrun's
/// global `--root`, which names its libvirt state, never takes the OCI
/// `--root`). `None`: not an OCI invocation.
pub fn dispatch() -> Option<ExitCode> {
    let mut argv = std::env::args_os();
    let argv0 = argv.next()?;
    if Path::new(&argv0).file_name().is_some_and(|n| n == "runc") {
        return Some(run_cli(RuncCli::parse()));
    }
    let rest: Vec<OsString> = argv.collect();
    if rest.first().is_some_and(|a| a == "oci") {
        return Some(main(OciArgs {
            args: rest[1..].to_vec(),
        }));
    }
    None
}

/// `domrun oci ARGS…`.
pub fn main(args: OciArgs) -> ExitCode {
    let argv = std::iter::once(OsString::from("domrun oci")).chain(args.args);
    run_cli(RuncCli::parse_from(argv))
}

/// Runs one verb; errors go to stderr and `--log`, exit status 1.
fn run_cli(cli: RuncCli) -> ExitCode {
    let logger = Logger::new(
        cli.globals.log.clone(),
        cli.globals.log_format,
        cli.globals.debug,
    );
    match run(&cli.globals, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            logger.error(&e);
            ExitCode::FAILURE
        }
    }
}

fn run(g: &Globals, command: OciCommand) -> Result<(), OciError> {
    if let Some(value) = g
        .rootless
        .as_deref()
        .filter(|v| *v != "false" && *v != "auto")
    {
        return Err(OciError::Rootless {
            value: value.to_owned(),
        });
    }
    let store = Store::new(&g.root);
    match command {
        OciCommand::Spec { bundle } => write_spec(&bundle),
        OciCommand::Features => print_json(&features::features()),
        OciCommand::State { id } => {
            let record = store.read(&id)?;
            let status = record.as_ref().map(|r| r.observed().status);
            decide(&id, status, Verb::State)?;
            match record {
                Some(r) => print_json(&r.observed()),
                None => Err(LifecycleError::NotFound { id }.into()),
            }
        }
        OciCommand::List { format, quiet } => list(&store, format, quiet),
        OciCommand::Create(c) => create(&store, g, &c),
        OciCommand::Run { create: c, .. } => create(&store, g, &c),
        OciCommand::Start { id } => transition(&store, &id, Verb::Start),
        OciCommand::Kill { all, id, signal } => {
            super::signal::parse(&signal)?;
            transition(&store, &id, Verb::Kill { all })
        }
        OciCommand::Delete { force, id } => transition(&store, &id, Verb::Delete { force }),
        OciCommand::Pause { id } => transition(&store, &id, Verb::Pause),
        OciCommand::Resume { id } => transition(&store, &id, Verb::Resume),
        OciCommand::Exec { id, .. } => transition(&store, &id, Verb::Exec),
        OciCommand::Ps { .. } => Err(OciError::NotYet { verb: "ps" }),
        OciCommand::Update { .. } => Err(OciError::NotYet { verb: "update" }),
        OciCommand::Events { .. } => Err(OciError::NotYet { verb: "events" }),
    }
}

/// Checks the verb against the state machine under the container's lock;
/// an allowed verb that needs the launcher is `NotYet`.
fn transition(store: &Store, id: &str, verb: Verb) -> Result<(), OciError> {
    let _lock = store.lock(id)?;
    let status = store.read(id)?.map(|r| r.observed().status);
    match decide(id, status, verb)? {
        Effect::Nothing | Effect::Report => Ok(()),
        Effect::Remove => {
            store.remove(id)?;
            Ok(())
        }
        Effect::Create => Err(OciError::NotYet { verb: "create" }),
        Effect::Release => Err(OciError::NotYet { verb: "start" }),
        Effect::Signal { .. } => Err(OciError::NotYet { verb: "kill" }),
        Effect::KillAndRemove => Err(OciError::NotYet {
            verb: "delete --force",
        }),
        Effect::Freeze => Err(OciError::NotYet { verb: "pause" }),
        Effect::Thaw => Err(OciError::NotYet { verb: "resume" }),
        Effect::Exec => Err(OciError::NotYet { verb: "exec" }),
    }
}

/// `create`: the bundle is planned (so a bad config fails with its field
/// now), then the launcher's part is phase 2.
fn create(store: &Store, g: &Globals, c: &CreateArgs) -> Result<(), OciError> {
    let _lock = store.lock(&c.id)?;
    let status = store.read(&c.id)?.map(|r| r.observed().status);
    decide(&c.id, status, Verb::Create)?;
    super::spec::load_bundle(
        &c.bundle,
        &SpecOptions {
            id: c.id.clone(),
            systemd_cgroup: g.systemd_cgroup,
        },
    )?;
    Err(OciError::NotYet { verb: "create" })
}

fn list(store: &Store, format: ListFormat, quiet: bool) -> Result<(), OciError> {
    let mut states = Vec::new();
    for id in store.ids()? {
        if let Some(r) = store.read(&id)? {
            states.push(r.observed());
        }
    }
    if quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(());
    }
    match format {
        ListFormat::Json => print_json(&states),
        ListFormat::Table => {
            let mut out = String::from("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
            for s in &states {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\n",
                    s.id,
                    s.pid.unwrap_or(0),
                    s.status.as_str(),
                    s.bundle.display(),
                    s.created,
                    s.owner
                ));
            }
            print!("{out}");
            Ok(())
        }
    }
}

fn write_spec(bundle: &Path) -> Result<(), OciError> {
    let path = bundle.join(CONFIG_FILE);
    if path.exists() {
        return Err(OciError::SpecExists { path });
    }
    let mut text =
        serde_json::to_string_pretty(&default_spec::default_spec_json()).unwrap_or_default();
    text.push('\n');
    std::fs::write(&path, text).map_err(|source| OciError::Write { path, source })
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), OciError> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|source| OciError::Write {
            path: PathBuf::from("/dev/stdout"),
            source,
        })
}
