//! End-to-end, with the launcher as its own process: signals sent to it
//! reach init; a setup failure is one line on stderr with exit status 125;
//! on a terminal init gets a pty of the same size and the terminal is
//! restored afterwards; READY=1 reaches `$NOTIFY_SOCKET`.
//!
//! `harness = false`: the launcher blocks the forwarded signals in its own
//! thread only, so it must run in a single-threaded process. This binary
//! re-execs itself as that process (`DOMRUN_TEST_LAUNCHER=1`).

mod common;

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use common::{Output, Rootfs};
use domrun::launch::run_foreground;
use domrun::plan::{ConsoleMode, MountSource, MountStep, Plan, RootSource};
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
    plan.console = ConsoleMode::Auto;
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

fn forwarded_signals_reach_init(rootfs: &Rootfs) {
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
        let ready = out.path().join(format!("ready-{name}"));
        common::wait_until("init to start", || ready.exists());
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

fn terminal_gets_a_pty_of_the_same_size_and_is_restored(rootfs: &Rootfs) {
    use nix::pty::{Winsize, openpty};
    use nix::sys::termios::{LocalFlags, tcgetattr};
    let out = Output::new();
    let size = Winsize {
        ws_row: 33,
        ws_col: 101,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size), None).expect("openpty");
    let before = tcgetattr(&pty.slave).expect("tcgetattr");
    assert!(
        before
            .local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO)
    );
    let stdio = |fd: &std::os::fd::OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
    let mut child = Command::new(std::env::current_exe().expect("current_exe"))
        .env(LAUNCHER_ENV, "1")
        .arg(rootfs.path())
        .arg(out.path())
        .arg(
            "stty size > /out/size; test -t 0 && echo yes > /out/tty; \
              stty -a | grep -o -- '-icanon' > /out/raw; sleep 0.3",
        )
        .stdin(stdio(&pty.slave))
        .stdout(stdio(&pty.slave))
        .stderr(stdio(&pty.slave))
        .spawn()
        .expect("spawn launcher");
    // Watch the terminal while init runs: the launcher puts it in raw mode.
    let mut saw_raw = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        let now = tcgetattr(&pty.slave).expect("tcgetattr");
        saw_raw |= !now.local_flags.contains(LocalFlags::ICANON);
        std::thread::sleep(Duration::from_millis(2));
    };
    assert_eq!(status.code(), Some(0));
    assert_eq!(out.read("size"), "33 101\n");
    assert_eq!(out.read("tty"), "yes\n");
    // The container's own pty is in canonical mode: raw is only ours.
    assert!(
        std::fs::read_to_string(out.path().join("raw"))
            .unwrap_or_default()
            .is_empty()
    );
    let after = tcgetattr(&pty.slave).expect("tcgetattr");
    assert_eq!(
        after.local_flags, before.local_flags,
        "terminal not restored"
    );
    assert_eq!(
        after.input_flags, before.input_flags,
        "terminal not restored"
    );
    assert!(saw_raw, "our terminal never went raw while init ran");
}

fn ready_is_sent_to_notify_socket(rootfs: &Rootfs) {
    let out = Output::new();
    let sockets = tempfile::tempdir().expect("tempdir");
    let path = sockets.path().join("notify");
    let receiver = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
    let child = Command::new(std::env::current_exe().expect("current_exe"))
        .env(LAUNCHER_ENV, "1")
        .env("NOTIFY_SOCKET", &path)
        .arg(rootfs.path())
        .arg(out.path())
        // "; true" keeps sh as PID 1 (a lone command would be exec'd).
        .arg("tr '\\0' '\\n' < /proc/1/environ > /out/env; true")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn launcher");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(0));
    let mut buf = [0u8; 256];
    receiver.set_nonblocking(true).expect("nonblocking");
    let n = receiver.recv(&mut buf).expect("READY=1 was sent");
    let message = String::from_utf8_lossy(&buf[..n]).into_owned();
    // No MAINPID: the launcher, which turns the service manager's SIGTERM
    // into init's poweroff signal, stays the service's main process.
    assert_eq!(message, "READY=1\n");
    // NOTIFY_SOCKET is the launcher's, not init's.
    assert_eq!(out.read("env"), "PATH=/bin\n");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::env::var_os(LAUNCHER_ENV).is_some() {
        return launcher(&args);
    }
    // `cargo test -- --list` and filters: this binary has two fixed checks.
    if args.iter().any(|a| a == "--list") {
        for name in [
            "forwarded_signals_reach_init",
            "setup_failure_is_one_line_and_125",
            "terminal_gets_a_pty_of_the_same_size_and_is_restored",
            "ready_is_sent_to_notify_socket",
        ] {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    if !common::require_root() {
        return ExitCode::SUCCESS;
    }
    let Some(rootfs) = Rootfs::busybox() else {
        return ExitCode::SUCCESS;
    };
    forwarded_signals_reach_init(&rootfs);
    println!("test forwarded_signals_reach_init ... ok");
    setup_failure_is_one_line_and_125();
    println!("test setup_failure_is_one_line_and_125 ... ok");
    terminal_gets_a_pty_of_the_same_size_and_is_restored(&rootfs);
    println!("test terminal_gets_a_pty_of_the_same_size_and_is_restored ... ok");
    ready_is_sent_to_notify_socket(&rootfs);
    println!("test ready_is_sent_to_notify_socket ... ok");
    ExitCode::SUCCESS
}
