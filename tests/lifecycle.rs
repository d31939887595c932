//! The daemonless lifecycle end to end, as root: define, start, list,
//! console, shutdown, reboot policy, destroy, undefine, autostart,
//! concurrent starts and a monitor killed with SIGKILL. Every test uses its
//! own `--root` and checks that no process, mount or cgroup is left.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{DomainXml, wait_until};

use common::LifecycleEnv as Env;

impl Env {
    fn ok(&self, args: &[&str]) -> String {
        self.cli.ok(args)
    }

    /// Writes [`Env::xml`] with the top-level elements `extra`.
    fn domain(&self, name: &str, extra: &str, script: &str) -> PathBuf {
        self.xml(name, script).element(extra).write(self.tmp.path())
    }

    fn live_state(&self, name: &str) -> Option<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.state().join("run").join(name).join("state.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn pid_of(&self, name: &str, which: &str) -> i32 {
        self.live_pid(name, which).unwrap()
    }
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

fn no_cgroup_left(name: &str) {
    let out = Command::new("find")
        .args([
            "/sys/fs/cgroup",
            "-maxdepth",
            "4",
            "-name",
            &format!("{name}.domrun"),
        ])
        .output()
        .unwrap();
    assert!(
        out.stdout.is_empty(),
        "cgroup left: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A loop that answers console input: `got LINE`.
const ECHO_INIT: &str = "trap 'echo bye; exit 0' TERM; echo booted; \
                         while :; do read -t 1 line && echo \"got $line\"; done";

#[test]
fn define_start_console_shutdown_start_destroy_undefine() {
    let Some(env) = Env::new() else { return };
    let xml = env.domain("cycle", "", ECHO_INIT);
    env.ok(&["define", xml.to_str().unwrap()]);
    assert_eq!(env.state_of("cycle"), "shut off");
    assert!(env.ok(&["start", "cycle"]).contains("started (id 1)"));
    assert_eq!(env.state_of("cycle"), "running");
    let live = env.ok(&["dumpxml", "cycle"]);
    assert!(live.starts_with("<domain type='lxc' id='1'>"), "{live}");
    assert!(
        !env.ok(&["dumpxml", "--inactive", "cycle"])
            .contains("id='1'")
    );
    let info = env.ok(&["dominfo", "cycle"]);
    assert!(
        info.contains("State:          running") && info.contains("Persistent:     yes"),
        "{info}"
    );

    // The console, through a real pty, as a person would use it.
    let (reply, detached) = console_session(&env, "cycle", b"hello\r");
    assert!(reply.contains("booted"), "backlog not replayed: {reply:?}");
    assert!(reply.contains("got hello"), "{reply:?}");
    assert!(detached, "Ctrl-] did not detach");

    let init = env.pid_of("cycle", "init");
    env.ok(&["shutdown", "cycle", "--timeout", "10"]);
    assert_eq!(env.state_of("cycle"), "shut off");
    assert!(!alive(init));
    no_cgroup_left("cycle");

    env.ok(&["start", "cycle"]);
    let init = env.pid_of("cycle", "init");
    env.ok(&["destroy", "cycle"]);
    assert!(!alive(init));
    assert_eq!(env.state_of("cycle"), "shut off");
    env.ok(&["undefine", "cycle"]);
    assert_eq!(env.state_of("cycle"), "");
    no_cgroup_left("cycle");
}

/// Attaches `domrun console NAME` to a new pty, types `input`, reads what
/// comes back, then sends Ctrl-] and reports whether the client exited.
fn console_session(env: &Env, name: &str, input: &[u8]) -> (String, bool) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut child = Reaped(
        env.cli
            .command(["console", name])
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave)
            .spawn()
            .unwrap(),
    );
    let mut master = std::fs::File::from(pty.master);
    let mut seen = Vec::new();
    let read_for = |master: &mut std::fs::File, seen: &mut Vec<u8>, want: &str| {
        let deadline = std::time::Instant::now() + common::PATIENCE;
        while std::time::Instant::now() < deadline && !String::from_utf8_lossy(seen).contains(want)
        {
            let ready = {
                let mut fds = [nix::poll::PollFd::new(
                    std::os::fd::AsFd::as_fd(&*master),
                    nix::poll::PollFlags::POLLIN,
                )];
                nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)).unwrap_or(0) > 0
            };
            if ready {
                let mut buf = [0u8; 4096];
                match master.read(&mut buf) {
                    Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
        }
    };
    read_for(&mut master, &mut seen, "booted");
    master.write_all(input).unwrap();
    read_for(&mut master, &mut seen, "got hello");
    master.write_all(&[0x1d]).unwrap();
    let deadline = std::time::Instant::now() + common::PATIENCE;
    let mut detached = false;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.0.try_wait() {
            detached = status.success();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(child);
    (String::from_utf8_lossy(&seen).into_owned(), detached)
}

/// A child process killed (if still running) and reaped when dropped, so
/// a failing assertion never leaves a console client behind.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

#[test]
fn a_reboot_inside_restarts_the_domain_when_the_policy_says_restart() {
    let Some(env) = Env::new() else { return };
    // reboot(2) in a pid namespace kills init with SIGHUP: on_reboot applies.
    let marker = env.tmp.path().join("rootfs/boots");
    let xml = env.domain(
        "rebooter",
        "<on_reboot>restart</on_reboot>",
        "echo x >> /boots; if [ $(wc -l < /boots) -lt 3 ]; then reboot -f; fi; sleep 30",
    );
    env.ok(&["define", xml.to_str().unwrap()]);
    env.ok(&["start", "rebooter"]);
    wait_until("three boots", || {
        std::fs::read_to_string(&marker).is_ok_and(|s| s.lines().count() == 3)
    });
    assert_eq!(env.state_of("rebooter"), "running");
    env.ok(&["destroy", "rebooter"]);
    assert_eq!(env.state_of("rebooter"), "shut off");
    no_cgroup_left("rebooter");
}

#[test]
fn a_poweroff_inside_with_destroy_policy_stops_the_domain() {
    let Some(env) = Env::new() else { return };
    let xml = env.domain(
        "poweroff",
        "<on_reboot>destroy</on_reboot>",
        "sleep 0.2; reboot -f",
    );
    env.ok(&["define", xml.to_str().unwrap()]);
    env.ok(&["start", "poweroff"]);
    wait_until("the domain to stop", || {
        env.state_of("poweroff") == "shut off"
    });
    no_cgroup_left("poweroff");
}

#[test]
fn concurrent_starts_start_the_domain_once() {
    let Some(env) = Env::new() else { return };
    let xml = env.domain("racer", "", "sleep 30");
    env.ok(&["define", xml.to_str().unwrap()]);
    let spawn = || {
        env.cli
            .command(["start", "racer"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let successes = [&a, &b].iter().filter(|o| o.status.success()).count();
    assert_eq!(successes, 1, "{a:?} {b:?}");
    let loser = if a.status.success() { &b } else { &a };
    assert!(String::from_utf8_lossy(&loser.stderr).contains("already running"));
    env.ok(&["destroy", "racer"]);
    no_cgroup_left("racer");
}

#[test]
fn a_killed_monitor_takes_its_container_and_is_swept() {
    let Some(env) = Env::new() else { return };
    let xml = env.domain("victim", "", "sleep 30");
    env.ok(&["define", xml.to_str().unwrap()]);
    env.ok(&["start", "victim"]);
    let (monitor, init) = (
        env.pid_of("victim", "monitor"),
        env.pid_of("victim", "init"),
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    wait_until("init to die with its monitor", || !alive(init));
    // The definition survives; the stale record is reported and swept.
    assert_eq!(env.state_of("victim"), "crashed");
    assert!(env.live_state("victim").is_none());
    // What the monitor owned is released by that sweep, not at the next start.
    no_cgroup_left("victim");
    assert_eq!(env.state_of("victim"), "shut off");
    env.ok(&["start", "victim"]);
    env.ok(&["destroy", "victim"]);
    no_cgroup_left("victim");
}

#[test]
fn autostart_marks_start_with_start_autostart() {
    let Some(env) = Env::new() else { return };
    for name in ["auto1", "auto2", "manual"] {
        let xml = env.domain(name, "", "sleep 30");
        env.ok(&["define", xml.to_str().unwrap()]);
    }
    env.ok(&["autostart", "auto1"]);
    env.ok(&["autostart", "auto2"]);
    assert_eq!(
        env.ok(&["list", "--all", "--autostart", "--name"]),
        "auto1\nauto2\n"
    );
    assert!(
        env.ok(&["dominfo", "auto1"])
            .contains("Autostart:      enable")
    );
    let out = env.ok(&["start", "--autostart"]);
    assert!(
        out.contains("auto1") && out.contains("auto2") && !out.contains("manual"),
        "{out}"
    );
    assert_eq!(env.state_of("manual"), "shut off");
    env.ok(&["autostart", "--disable", "auto2"]);
    assert_eq!(
        env.ok(&["list", "--all", "--autostart", "--name"]),
        "auto1\n"
    );
    for name in ["auto1", "auto2"] {
        env.ok(&["destroy", name]);
        no_cgroup_left(name);
    }
}

#[test]
fn create_runs_a_transient_domain_and_an_explicit_id_is_honoured() {
    let Some(env) = Env::new() else { return };
    let xml = env.domain("transient", "", "sleep 30");
    let xml = env
        .xml("transient", "sleep 30")
        .attr("id", "101")
        .write_to(&xml);
    assert!(
        env.ok(&["create", xml.to_str().unwrap()])
            .contains("(id 101)")
    );
    let info = env.ok(&["dominfo", "transient"]);
    assert!(
        info.contains("Persistent:     no") && info.contains("Id:             101"),
        "{info}"
    );
    env.ok(&["destroy", "transient"]);
    assert_eq!(env.state_of("transient"), "");
    assert!(
        Path::new(&env.state())
            .join("run")
            .read_dir()
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_template_root_keeps_its_writes_across_restarts_until_storage_is_removed() {
    let Some(env) = Env::new() else { return };
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/busybox.recipe");
    env.ok(&["template", "build", "bb", recipe.to_str().unwrap()]);
    let xml = DomainXml::lxc("tpl")
        .shell("cat /note 2>/dev/null; echo kept > /note; sleep 30")
        .device("<filesystem type='template'><source name='bb'/><target dir='/'/></filesystem>")
        .write(env.tmp.path());
    env.ok(&["define", xml.to_str().unwrap()]);
    env.ok(&["start", "tpl"]);
    let layer_note = env.state().join("layers/tpl/upper/note");
    wait_until("the first write", || layer_note.exists());
    let info = env.ok(&["dominfo", "tpl"]);
    assert!(info.contains("CPU time:"), "{info}");
    env.ok(&["destroy", "tpl"]);
    // The template itself never sees the domain's write.
    assert!(!env.state().join("templates/bb/rootfs/note").exists());
    env.cli.run(["template", "remove", "bb"]).stderr_has("tpl");
    env.ok(&["undefine", "--remove-all-storage", "tpl"]);
    assert!(!env.state().join("layers/tpl").exists());
    env.ok(&["template", "remove", "bb"]);
    assert!(common::mounts_containing(&env.state().to_string_lossy()).is_empty());
    no_cgroup_left("tpl");
}

/// CPU ticks (user + system) a process has used.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn a_console_client_that_never_reads_does_not_stall_the_monitor() {
    let Some(env) = Env::new() else { return };
    let xml = env.domain(
        "chatty",
        "",
        "while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done",
    );
    env.ok(&["define", xml.to_str().unwrap()]);
    env.ok(&["start", "chatty"]);
    // A client that asks for the console and then never reads a byte.
    let mut stalled =
        std::os::unix::net::UnixStream::connect(env.state().join("run/chatty/control.sock"))
            .unwrap();
    stalled.write_all(b"{\"op\":\"console\"}\n").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    // A stalled monitor would never answer: destroy must finish while the
    // client still holds the console (polled, with a generous deadline,
    // so a hang fails instead of blocking the suite).
    let mut destroy = env
        .cli
        .command(["destroy", "chatty"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = None;
    wait_until("destroy with a stalled console client", || {
        status = destroy.try_wait().unwrap();
        status.is_some()
    });
    assert!(status.unwrap().success(), "destroy failed");
    drop(stalled);
    no_cgroup_left("chatty");
}

#[test]
fn a_console_nobody_holds_open_does_not_make_the_monitor_spin() {
    let Some(env) = Env::new() else { return };
    let xml = env.domain("quiet", "", "exec sleep 30 </dev/null >/dev/null 2>&1");
    env.ok(&["define", xml.to_str().unwrap()]);
    env.ok(&["start", "quiet"]);
    let monitor = env.pid_of("quiet", "monitor");
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(monitor);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(monitor) - before;
    // A spinning monitor uses ~200 ticks in 2 s; an idle one a handful.
    assert!(used < 20, "the monitor used {used} ticks in 2 s");
    env.ok(&["destroy", "quiet"]);
}

#[test]
fn run_refuses_a_domain_that_start_is_running() {
    let Some(env) = Env::new() else { return };
    let xml = env.domain("once", "", "sleep 30");
    env.ok(&["define", xml.to_str().unwrap()]);
    env.ok(&["start", "once"]);
    let init = env.pid_of("once", "init");
    env.cli
        .run(["run", xml.to_str().unwrap()])
        .fails_with(125)
        .stderr_has("already running");
    assert!(alive(init), "the started domain was harmed");
    env.ok(&["destroy", "once"]);
}

#[test]
fn a_domain_joins_another_running_domains_namespaces_by_name() {
    let Some(env) = Env::new() else { return };
    let owner = env.domain("owner", "", "sleep 30");
    env.ok(&["define", owner.to_str().unwrap()]);
    env.ok(&["start", "owner"]);
    let owner_init = env.pid_of("owner", "init");
    let ns = |pid: i32, kind: &str| std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap();
    let guest = env
        .xml("guest", "hostname; readlink /proc/self/ns/ipc")
        .attr("xmlns:lxc", "http://libvirt.org/schemas/domain/lxc/1.0")
        .tail(
            "<lxc:namespace><lxc:shareuts type='name' value='owner'/>\
             <lxc:shareipc type='name' value='owner'/></lxc:namespace>",
        )
        .write(env.tmp.path());
    let out = env.cli.run(["run", guest.to_str().unwrap()]);
    let s = &out.ok().stdout;
    let mut lines = s.lines();
    // The owner's hostname, untouched, and the owner's IPC namespace.
    assert_eq!(lines.next(), Some("owner"));
    assert_eq!(
        lines.next().map(std::path::PathBuf::from),
        Some(ns(owner_init, "ipc"))
    );
    env.ok(&["destroy", "owner"]);
    // Sharing with a domain that is not running says so.
    env.cli
        .run(["run", guest.to_str().unwrap()])
        .fails_with(125)
        .stderr_has("domain 'owner' is not running");
}
