//! The lifecycle under faults (issue 13, items 3–6): damaged state stays
//! with its domain, a kill at any point leaves nothing on the host, the
//! monitor keeps none of its caller's fds and no slow client delays it, ids
//! stay unique under concurrent starts, and a closed stdout ends a command
//! quietly. Every test uses its own `--root`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Cli, DomainXml, wait_until};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use common::LifecycleEnv as Env;

impl Env {
    /// Defines `name` running `script`; returns its file.
    fn define(&self, name: &str, script: &str) -> PathBuf {
        let xml = self.xml(name, script).write(self.tmp.path());
        self.cli.ok(["define", xml.to_str().unwrap()]);
        xml
    }

    /// `list --all` as (name, state) pairs, and its stderr.
    fn list(&self) -> (Vec<(String, String)>, String) {
        let run = self.cli.run(["list", "--all"]);
        run.ok();
        let rows = run
            .stdout
            .lines()
            .skip(2)
            .filter_map(|l| {
                let mut words = l.split_whitespace().skip(1);
                let name = words.next()?.to_owned();
                Some((name, words.collect::<Vec<_>>().join(" ")))
            })
            .collect();
        (rows, run.stderr.clone())
    }

    fn corrupt_live_state(&self, name: &str) {
        let path = self.state().join("run").join(name).join("state.json");
        assert!(path.exists(), "{name} has no live state");
        std::fs::write(path, b"{\"name\": \"half a reco").unwrap();
    }

    /// Nothing of `name` is left: no cgroup in any hierarchy, no process
    /// started with this state root, no mount or loop device under the test
    /// directory (polled: a killed container dies asynchronously).
    fn assert_nothing_left(&self, name: &str) {
        let group = format!("{name}.domrun");
        let root = self.state().to_string_lossy().into_owned();
        let leftovers = || {
            (
                common::cgroups_named(&group),
                common::processes_mentioning(&root),
                common::mounts_containing(&self.tmp.path().to_string_lossy()),
                common::loop_devices()
                    .into_iter()
                    .filter(|l| l.contains(&*self.tmp.path().to_string_lossy()))
                    .collect::<Vec<_>>(),
            )
        };
        let deadline = std::time::Instant::now() + common::PATIENCE;
        loop {
            let left = leftovers();
            if left.0.is_empty() && left.1.is_empty() && left.2.is_empty() && left.3.is_empty() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} left cgroups {:?}, processes {:?}, mounts {:?}, loop devices {:?}",
                left.0,
                left.1,
                left.2,
                left.3
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A failed assertion must not leave a domain running with its state root
/// deleted (nobody could sweep it then): destroy whatever still runs.
impl Drop for Env {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.state().join("run")) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let _ = self.cli.run(["destroy", &name]);
            let _ = self.cli.run(["list", "--all"]);
        }
    }
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

fn sigkill(pid: i32) {
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
}

/// Direct children of `parent` (from /proc).
fn children_of(parent: u32) -> Vec<i32> {
    let parent = parent.to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_owned))
                    .as_deref()
                    == Some(parent.as_str())
            })
        })
        .collect()
}

/// SIGKILLs `child` and every process it forked, then reaps it. Stopped
/// first, so it forks nothing between the look at its children and its
/// death.
fn kill_with_children(mut child: Child) {
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGSTOP);
    let children = children_of(child.id());
    for &pid in &children {
        sigkill(pid);
    }
    let _ = child.kill();
    let _ = child.wait();
    for pid in children {
        wait_until("a killed process to die", || !alive(pid));
    }
}

/// Clients of `socket` that each send one byte of a request every 2 s, for
/// ever (until dropped): today's monitor read each client to its newline
/// before it looked at anything else.
struct Tricklers {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Tricklers {
    fn start(socket: &Path, clients: usize) -> Tricklers {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..clients)
            .map(|_| {
                let mut stream = UnixStream::connect(socket).unwrap();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if stream.write_all(b" ").is_err() {
                            return;
                        }
                        for _ in 0..20 {
                            if stop.load(Ordering::Relaxed) {
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                })
            })
            .collect();
        // Let every first byte arrive before the test goes on.
        std::thread::sleep(Duration::from_millis(200));
        Tricklers { stop, threads }
    }
}

impl Drop for Tricklers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Kill points swept over the first ~half second of an operation (a start
/// on a loaded machine takes about that): early ones land in argument
/// parsing and locking, later ones in the monitor's set-up, the clone, and
/// the child's steps.
const KILL_DELAYS_MS: &[u64] = &[0, 1, 3, 6, 10, 15, 22, 30, 45, 65, 90, 130, 200, 300, 450];

// --- 3. Damage is isolated -------------------------------------------------

#[test]
fn a_corrupt_state_json_damages_one_domain_which_its_monitor_still_destroys() {
    let Some(env) = Env::new() else { return };
    env.define("rl-broken", "sleep 300");
    env.define("rl-healthy", "sleep 300");
    env.cli.ok(["start", "rl-broken"]);
    env.cli.ok(["start", "rl-healthy"]);
    let init = env.live_pid("rl-broken", "init").unwrap();
    env.corrupt_live_state("rl-broken");

    let (rows, stderr) = env.list();
    assert!(
        rows.contains(&("rl-broken".into(), "damaged".into())),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("rl-healthy".into(), "running".into())),
        "{rows:?}"
    );
    assert!(stderr.contains("domain 'rl-broken' is damaged"), "{stderr}");
    assert!(stderr.contains("state.json"), "{stderr}");
    env.cli
        .run(["dominfo", "rl-broken"])
        .ok()
        .stdout_has("State:          damaged")
        .stdout_has("Damage:");

    // Destroyed through its monitor's control socket.
    env.cli.ok(["destroy", "rl-broken"]);
    assert!(!alive(init));
    assert_eq!(env.state_of("rl-broken"), "shut off");
    assert_eq!(env.state_of("rl-healthy"), "running");
    env.cli.ok(["destroy", "rl-healthy"]);
    env.assert_nothing_left("rl-broken");
    env.assert_nothing_left("rl-healthy");
}

#[test]
fn a_damaged_domain_whose_monitor_cannot_be_reached_is_destroyed_by_its_cgroup() {
    let Some(env) = Env::new() else { return };
    env.define("rl-lost", "sleep 300");
    env.cli.ok(["start", "rl-lost"]);
    let init = env.live_pid("rl-lost", "init").unwrap();
    env.corrupt_live_state("rl-lost");
    // Nobody can talk to the monitor any more.
    std::fs::remove_file(env.state().join("run/rl-lost/control.sock")).unwrap();
    env.cli.ok(["destroy", "rl-lost"]);
    assert!(!alive(init));
    assert_eq!(env.state_of("rl-lost"), "shut off");
    env.assert_nothing_left("rl-lost");
}

/// Defines `name` (a root that is never started) under `dir/state`, then
/// replaces the stored definition with `damaged` text, if given.
fn define_in(cli: &Cli, dir: &Path, name: &str, damaged: Option<&str>) {
    let xml = DomainXml::lxc(name).rootfs(dir).shell("true").write(dir);
    cli.ok(["define", xml.to_str().unwrap()]);
    if let Some(text) = damaged {
        std::fs::write(dir.join(format!("state/domains/{name}.xml")), text).unwrap();
    }
}

#[test]
fn a_corrupt_definition_damages_one_domain_of_the_listing() {
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(tmp.path().join("state"));
    define_in(&cli, tmp.path(), "good", None);
    define_in(&cli, tmp.path(), "bad", Some("<domain type='lxc'>"));
    let run = cli.run(["list", "--all"]);
    run.ok()
        .stdout_has("bad    damaged")
        .stdout_has("good   shut off")
        .stderr_has("domain 'bad' is damaged: stored definition of 'bad' is damaged");
}

#[test]
fn a_template_a_damaged_definition_may_use_is_not_removed() {
    if !common::require_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(tmp.path().join("state"));
    let source = tmp.path().join("tree");
    std::fs::create_dir_all(source.join("etc")).unwrap();
    cli.ok(["template", "import", "rl-base", source.to_str().unwrap()]);
    define_in(
        &cli,
        tmp.path(),
        "rl-user",
        Some("<domain type='lxc'><devices><filesystem><source name='rl-base'/>"),
    );
    cli.run(["template", "remove", "rl-base"])
        .fails()
        .stderr_has("is used by rl-user");
    cli.ok(["template", "info", "rl-base"]);
}

#[test]
fn destroy_ends_a_domain_run_in_the_foreground_by_its_cgroup() {
    let Some(env) = Env::new() else { return };
    let xml = DomainXml::lxc("rl-fg")
        .rootfs(&env.rootfs)
        .shell("sleep 300")
        .write(env.tmp.path());
    let mut run = env
        .cli
        .command(["run", xml.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the run to be listed", || {
        env.state_of("rl-fg") == "running" && env.live_pid("rl-fg", "monitor").is_some()
    });
    // One domain, one instance.
    env.cli
        .run(["run", xml.to_str().unwrap()])
        .fails_with(125)
        .stderr_has("already running");
    env.cli
        .run(["shutdown", "rl-fg"])
        .fails()
        .stderr_has("runs in the foreground");
    wait_until("init to be in the cgroup", || {
        !common::cgroups_named("rl-fg.domrun").is_empty()
    });
    env.cli.ok(["destroy", "rl-fg"]);
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(137), "{status:?}");
    assert_eq!(env.state_of("rl-fg"), "");
    env.assert_nothing_left("rl-fg");
}

#[test]
fn undefine_checks_the_live_state_before_it_deletes_the_definition() {
    let Some(env) = Env::new() else { return };
    env.define("rl-keep", "sleep 300");
    env.cli.ok(["start", "rl-keep"]);
    env.corrupt_live_state("rl-keep");
    env.cli
        .run(["undefine", "rl-keep"])
        .fails_with(1)
        .stderr_has("nothing was removed");
    assert!(env.state().join("domains/rl-keep.xml").exists());
    env.cli.ok(["destroy", "rl-keep"]);
    env.cli.ok(["undefine", "rl-keep"]);
    assert!(!env.state().join("domains/rl-keep.xml").exists());
    env.assert_nothing_left("rl-keep");
}

// --- 4. Nothing is left behind whatever is killed when ---------------------

#[test]
fn killing_start_and_its_monitor_at_any_point_leaves_nothing() {
    let Some(env) = Env::new() else { return };
    env.define("rl-ks", "sleep 300");
    for &ms in KILL_DELAYS_MS {
        let start = env
            .cli
            .command(["start", "rl-ks"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        kill_with_children(start);
        // The next command that touches the domain sweeps what is left; one
        // whose start completed before the kill is running: stop it.
        if env.state_of("rl-ks") == "running" {
            env.cli.ok(["destroy", "rl-ks"]);
        }
        let state = env.state_of("rl-ks");
        assert_ne!(state, "damaged", "after {ms} ms");
        env.assert_nothing_left("rl-ks");
    }
}

#[test]
fn killing_run_at_any_point_leaves_nothing() {
    let Some(env) = Env::new() else { return };
    let xml = DomainXml::lxc("rl-kr")
        .rootfs(&env.rootfs)
        .shell("sleep 300")
        .write(env.tmp.path());
    for &ms in KILL_DELAYS_MS {
        let run = env
            .cli
            .command(["run", xml.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        kill_with_children(run);
        // `list` sweeps the dead run's record and its cgroup.
        let state = env.state_of("rl-kr");
        assert!(state.is_empty(), "after {ms} ms: kr is {state:?}");
        env.assert_nothing_left("rl-kr");
    }
}

/// Starts `name` once per kill point, runs `domrun ARGS` on it and SIGKILLs
/// the monitor (and the command) that long after; the domain must then be
/// reported crashed (or, had it stopped already, shut off), and swept.
fn kill_the_monitor_during(env: &Env, name: &str, args: &[&str]) {
    for &ms in KILL_DELAYS_MS.iter().step_by(2) {
        env.cli.ok(["start", name]);
        let monitor = env.live_pid(name, "monitor").unwrap();
        let command = env
            .cli
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        sigkill(monitor);
        kill_with_children(command);
        wait_until("the monitor to die", || !alive(monitor));
        let state = env.state_of(name);
        assert!(
            state == "crashed" || state == "shut off",
            "{args:?} killed after {ms} ms: {name} is {state:?}"
        );
        env.assert_nothing_left(name);
    }
}

#[test]
fn killing_the_monitor_during_shutdown_leaves_nothing() {
    let Some(env) = Env::new() else { return };
    // Init takes a while to stop, so the kill lands while the monitor waits.
    env.define(
        "rl-kd",
        "trap 'sleep 1; exit 0' TERM; while :; do sleep 1; done",
    );
    kill_the_monitor_during(&env, "rl-kd", &["shutdown", "rl-kd", "--timeout", "20"]);
}

#[test]
fn killing_the_monitor_during_attach_device_leaves_nothing() {
    let Some(env) = Env::new() else { return };
    env.define("rl-ka", "sleep 300");
    let shared = env.tmp.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let device = common::domain_xml::write_file(
        env.tmp.path(),
        "fs.xml",
        &format!(
            "<filesystem type='mount'><source dir='{}'/><target dir='/mnt/shared'/></filesystem>",
            shared.display()
        ),
    );
    kill_the_monitor_during(
        &env,
        "rl-ka",
        &["attach-device", "rl-ka", device.to_str().unwrap()],
    );
}

// --- 5. The monitor ----------------------------------------------------------

#[test]
fn the_monitor_keeps_none_of_its_callers_fds() {
    let Some(env) = Env::new() else { return };
    if !common::require_tools(&["flock", "sh"]) {
        return;
    }
    env.define("rl-fds", "sleep 300");
    let lockfile = env.tmp.path().join("caller.lock");
    // fd 9 is the write end of `| cat`: cat ends only once every copy is
    // closed. fd 8 holds the caller's flock.
    let script = format!(
        "exec 8>{lock}; flock 8; {bin} --root {root} start rl-fds 9>&1 | cat; exec 8>&-; \
         flock -n {lock} true && echo lock-free",
        lock = lockfile.display(),
        bin = common::cli::BIN,
        root = env.state().display(),
    );
    let mut sh = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut done = None;
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while done.is_none() && std::time::Instant::now() < deadline {
        done = sh.try_wait().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    if done.is_none() {
        let _ = sh.kill();
    }
    let out = sh.wait_with_output().unwrap();
    let _ = env.cli.run(["destroy", "rl-fds"]);
    assert!(done.is_some(), "`start 9>&1 | cat` never returned");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("started"),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("lock-free"),
        "the caller's flock stayed held"
    );
    env.assert_nothing_left("rl-fds");
}

#[test]
fn a_control_client_trickling_bytes_does_not_delay_destroy() {
    let Some(env) = Env::new() else { return };
    env.define("rl-slow", "sleep 300");
    env.cli.ok(["start", "rl-slow"]);
    let socket = env.state().join("run/rl-slow/control.sock");
    let init = env.live_pid("rl-slow", "init").unwrap();
    let tricklers = Tricklers::start(&socket, 3);
    // Today's monitor is still reading the first trickler when destroy's
    // own request timeout (30 s) runs out.
    let destroy = env.cli.run(["destroy", "rl-slow"]);
    drop(tricklers);
    destroy.ok();
    assert!(!alive(init));
    env.assert_nothing_left("rl-slow");
}

#[test]
fn a_domain_stopping_by_itself_is_reaped_while_a_client_trickles() {
    let Some(env) = Env::new() else { return };
    env.define("rl-reap", "sleep 3; exit 0");
    env.cli.ok(["start", "rl-reap"]);
    let monitor = env.live_pid("rl-reap", "monitor").unwrap();
    let socket = env.state().join("run/rl-reap/control.sock");
    let tricklers = Tricklers::start(&socket, 2);
    wait_until("the monitor to reap its domain and exit", || {
        !alive(monitor)
    });
    drop(tricklers);
    assert_eq!(env.state_of("rl-reap"), "shut off");
    env.assert_nothing_left("rl-reap");
}

#[test]
fn concurrent_starts_of_different_domains_get_unique_ids() {
    let Some(env) = Env::new() else { return };
    const DOMAINS: usize = 50;
    let names: Vec<String> = (0..DOMAINS).map(|i| format!("rl-many{i}")).collect();
    for name in &names {
        env.define(name, "sleep 300");
    }
    let starts: Vec<Child> = names
        .iter()
        .map(|n| {
            env.cli
                .command(["start", n])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = starts
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut ids: Vec<u32> = Vec::new();
    for (name, out) in names.iter().zip(&outputs) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = stdout
            .rsplit_once("(id ")
            .and_then(|(_, rest)| rest.trim_end().strip_suffix(')'))
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no id in {stdout:?}"));
        ids.push(id);
    }
    for name in &names {
        env.cli.ok(["destroy", name]);
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), DOMAINS, "duplicate ids: {ids:?}");
    for name in &names {
        env.assert_nothing_left(name);
    }
}

// --- 6. CLI ------------------------------------------------------------------

/// Runs `cli ARGS` with stdout on a pipe whose reader is already gone.
fn with_closed_stdout(cli: &Cli, args: &[&str]) -> std::process::Output {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    cli.command(args)
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let xml = DomainXml::lxc("piped")
        .rootfs(tmp.path())
        .shell("true")
        .write(tmp.path());
    let cli = Cli::new(tmp.path().join("state"));
    cli.ok(["define", xml.to_str().unwrap()]);
    for args in [
        vec!["format", xml.to_str().unwrap()],
        vec!["list", "--all"],
        vec!["dumpxml", "piped"],
        vec!["dominfo", "piped"],
    ] {
        let out = with_closed_stdout(&cli, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        // 128 + SIGPIPE, what a shell reports for a C tool SIGPIPE killed.
        assert_eq!(out.status.code(), Some(141), "{args:?}: {:?}", out.status);
    }
}

/// The same through a real pipeline, as the issue measured it.
#[test]
fn format_into_head_does_not_panic() {
    if !common::require_tool("sh") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Big enough that the output outlives `head`'s read.
    let text = "x".repeat(1 << 20);
    let xml = DomainXml::lxc("big")
        .rootfs(tmp.path())
        .shell("true")
        .element(&format!("<description>{text}</description>"));
    let file = xml.write(tmp.path());
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "{} format {} | head -c 10 >/dev/null",
                common::cli::BIN,
                file.display()
            ),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}
