//! End-to-end: signals sent to the launcher reach init, and a setup failure
//! is one line on stderr with exit status 125.
//!
//! `harness = false`: the launcher blocks the forwarded signals in its own
//! thread only, so it must run in a single-threaded process. This binary
//! re-execs itself as that process (`DOMRUN_TEST_LAUNCHER=1`).

mod common;

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use common::{Output, Rootfs, can_launch};
use domrun::launch::run_foreground;
use domrun::plan::{MountSource, MountStep, Plan, RootSource};
use nix::sys::signal::Signal;

const LAUNCHER_ENV: &str = "DOMRUN_TEST_LAUNCHER";

/// The re-exec'd side: ROOTFS OUTDIR SCRIPT, like a tiny `domrun run`.
fn launcher(args: &[String]) -> ExitCode {
    let [rootfs, out, script] = args else {
        eprintln!("usage: ROOTFS OUTDIR SCRIPT");
        return ExitCode::from(2);
    };
    let mut plan = Plan::new(
        RootSource::Directory(PathBuf::from(rootfs)),
        vec!["/bin/sh".into(), "-c".into(), script.into()],
    );
    plan.process.env = vec![("PATH".into(), "/bin".into())];
    plan.mounts.push(MountStep {
        source: MountSource::HostBind {
            path: PathBuf::from(out),
        },
        target: "/out".into(),
        readonly: false,
    });
    match run_foreground(&plan) {
        Ok(code) => ExitCode::from(code.0),
        Err(err) => {
            eprintln!("domrun: {err}");
            ExitCode::from(err.exit_code().0)
        }
    }
}

fn spawn_launcher(rootfs: &str, out: &std::path::Path, script: &str) -> std::process::Child {
    Command::new(std::env::current_exe().expect("current_exe"))
        .env(LAUNCHER_ENV, "1")
        .arg(rootfs)
        .arg(out)
        .arg(script)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn launcher")
}

fn wait_for(path: &std::path::Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn forwarded_signals_reach_init() {
    let rootfs = Rootfs::busybox();
    let out = Output::new();
    let root = rootfs.path().to_string_lossy().into_owned();
    for (signal, name) in [
        (Signal::SIGTERM, "TERM"),
        (Signal::SIGINT, "INT"),
        (Signal::SIGHUP, "HUP"),
        (Signal::SIGQUIT, "QUIT"),
        (Signal::SIGUSR1, "USR1"),
        (Signal::SIGUSR2, "USR2"),
    ] {
        // PID 1 only receives signals it handles: the trap is that handler.
        let script = format!(
            "trap 'echo {name} > /out/got-{name}; exit 7' {name}; touch /out/ready-{name}; \
             while :; do sleep 0.05; done"
        );
        let child = spawn_launcher(&root, out.path(), &script);
        assert!(
            wait_for(&out.path().join(format!("ready-{name}"))),
            "init did not start"
        );
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        nix::sys::signal::kill(pid, signal).expect("signal the launcher");
        let output = child.wait_with_output().expect("wait launcher");
        assert_eq!(output.status.code(), Some(7), "{name}: {output:?}");
        assert_eq!(out.read(&format!("got-{name}")), format!("{name}\n"));
    }
}

fn setup_failure_is_one_line_and_125() {
    let out = Output::new();
    let child = spawn_launcher("/nonexistent-rootfs", out.path(), "true");
    let output = child.wait_with_output().expect("wait launcher");
    assert_eq!(output.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "domrun: binding root directory /nonexistent-rootfs: No such file or directory\n"
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::env::var_os(LAUNCHER_ENV).is_some() {
        return launcher(&args);
    }
    // `cargo test -- --list` and filters: this binary has two fixed checks.
    if args.iter().any(|a| a == "--list") {
        println!("forwarded_signals_reach_init: test\nsetup_failure_is_one_line_and_125: test");
        return ExitCode::SUCCESS;
    }
    if !can_launch() {
        return ExitCode::SUCCESS;
    }
    forwarded_signals_reach_init();
    println!("test forwarded_signals_reach_init ... ok");
    setup_failure_is_one_line_and_125();
    println!("test setup_failure_is_one_line_and_125 ... ok");
    ExitCode::SUCCESS
}
