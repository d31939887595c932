//! Runs the `domrun` binary: `Cli::new(state_root).run(["start", "web"])`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// The path of the `domrun` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_domrun");

/// How to invoke `domrun`: with which `--root`, in which directory, inside
/// which test network namespace.
#[derive(Debug, Clone, Default)]
pub struct Cli {
    root: Option<PathBuf>,
    netns: Option<String>,
    dir: Option<PathBuf>,
    envs: Vec<(OsString, OsString)>,
    /// The state root a `bare` run records into (`DOMRUN_ROOT`), removed
    /// with the last clone: a test never writes into `/var/lib/domrun`.
    _scratch: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl Cli {
    /// `domrun --root ROOT …`.
    pub fn new(root: impl AsRef<Path>) -> Self {
        Self {
            root: Some(root.as_ref().to_path_buf()),
            ..Self::default()
        }
    }

    /// `domrun …` without `--root` (validate, format, run); the state root
    /// comes from `DOMRUN_ROOT`, a private temporary directory.
    pub fn bare() -> Self {
        let scratch = tempfile::tempdir().expect("a scratch state root");
        let root = scratch.path().as_os_str().to_owned();
        Self {
            envs: vec![("DOMRUN_ROOT".into(), root)],
            _scratch: Some(std::sync::Arc::new(scratch)),
            ..Self::default()
        }
    }

    /// Runs inside `ip netns exec NAME`.
    pub fn in_netns(mut self, name: &str) -> Self {
        self.netns = Some(name.to_owned());
        self
    }

    /// Runs from `dir` (relative file names in messages).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((name.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The state root given with `--root`.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The command, for a test that spawns it with its own stdio. Stdin is
    /// null unless the caller sets it.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        if let Some(root) = &self.root {
            cmd.arg("--root").arg(root);
        }
        cmd.args(args).stdin(Stdio::null());
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `domrun ARGS…` to completion, capturing its output.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self
            .command(&args)
            .output()
            .unwrap_or_else(|e| panic!("spawning {BIN}: {e}"));
        Run {
            args: args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `domrun ARGS…`, asserts it succeeded, returns its stdout.
    #[track_caller]
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run(args).ok().stdout.clone()
    }
}

/// A finished `domrun` run.
#[derive(Debug)]
pub struct Run {
    /// The arguments after `--root ROOT`.
    pub args: Vec<String>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Asserts it exited 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert!(self.success(), "{}", self.describe("should succeed"));
        self
    }

    /// Asserts it exited with `code`.
    #[track_caller]
    pub fn fails_with(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "{}", self.describe("exit code"));
        self
    }

    /// Asserts it failed (any non-zero exit).
    #[track_caller]
    pub fn fails(&self) -> &Self {
        assert!(!self.success(), "{}", self.describe("should fail"));
        self
    }

    /// Asserts stderr contains `text`.
    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "{}",
            self.describe(&format!("stderr should contain {text:?}"))
        );
        self
    }

    /// Asserts stdout contains `text`.
    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "{}",
            self.describe(&format!("stdout should contain {text:?}"))
        );
        self
    }

    fn describe(&self, what: &str) -> String {
        format!(
            "domrun {:?}: {what}; {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.args, self.status, self.stdout, self.stderr
        )
    }
}
