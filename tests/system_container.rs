//! System containers (docs/system-containers.md): a stock Debian 12 tree
//! with systemd as init boots under `domrun run` to `multi-user.target`
//! with no failed unit, in the host's user namespace and with an `<idmap>`,
//! with and without a terminal; SIGTERM to `domrun run` powers it off
//! (exit 0) and leaves nothing behind (cgroups, payload and name=systemd
//! dirs included). systemd, sysvinit and busybox init trees boot under the
//! monitor (`domrun start`), accept `domrun exec`, restart on `domrun
//! reboot` and power off on `domrun shutdown`.
//!
//! The tree is built at test time from `templates/debian-systemd.recipe`
//! (debootstrap) into a template store under the cargo target dir, keyed
//! by a hash of the recipes, and reused by later runs; each test boots a
//! copy. Without debootstrap or the Debian archive the tests skip with the
//! recipe's reason.
//!
//! Readiness comes from the relayed console: a unit installed in the copy
//! waits for `systemctl is-system-running --wait`, writes the state, the
//! failed units and init's `/proc/1/cgroup` to a file in the tree, then
//! prints an end marker to /dev/console.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domrun::cgroup::{Cgroup, DEFAULT_PARTITION, Layout, PAYLOAD_GROUP};
use domrun::template::{Progress, Store, TemplateError};
use sha2::{Digest as _, Sha256};

/// A bootable template the tests build (cached) and boot.
struct Template {
    name: &'static str,
    /// The recipes it is built from (the first runs the others); the cache
    /// is keyed by their text.
    recipes: &'static [&'static str],
}

const DEBIAN_SYSTEMD: Template = Template {
    name: "debian-systemd",
    recipes: &["debian-systemd.recipe", "debian.recipe"],
};
const DEBIAN_SYSVINIT: Template = Template {
    name: "debian-sysvinit",
    recipes: &["debian-sysvinit.recipe", "debian.recipe"],
};
const BUSYBOX_INIT: Template = Template {
    name: "busybox-init",
    recipes: &["busybox-init.recipe", "busybox.recipe"],
};
/// Printed by the report unit when it is done.
const REPORT_END: &str = "DOMRUN-REPORT-END";
/// Generous: two cores shared with parallel builds; never a timing assert.
const BOOT_DEADLINE: Duration = Duration::from_secs(300);
const POWEROFF_DEADLINE: Duration = Duration::from_secs(120);
/// The first host id of the `<idmap>` range.
const ID_SHIFT: u32 = 200_000;

/// Where the report unit writes its report, inside the container (on the
/// tree, so the host reads it from the copy).
const REPORT_FILE: &str = "var/tmp/domrun-report";

/// A unit that reports the boot once it is over (`Type=simple`, so the
/// boot does not wait for it and `--wait` cannot wait for itself). The
/// report goes to a file and only the end marker to the console, retried:
/// console-getty's agetty hangs the console up (vhangup) as it starts,
/// which can fail a write in flight.
const REPORT_UNIT: &str = "[Unit]
Description=Report the boot to the domrun test

[Service]
Type=simple
ExecStart=/bin/sh -c '{ echo \"DOMRUN-STATE=$(systemctl is-system-running --wait)\"; \
systemctl --failed --no-legend --plain | sed \"s/^/DOMRUN-FAILED /\"; \
sed \"s/^/DOMRUN-CGROUP /\" /proc/1/cgroup; } >/var/tmp/domrun-report.new; \
mv /var/tmp/domrun-report.new /var/tmp/domrun-report; \
until echo DOMRUN-REPORT-END >/dev/console; do sleep 1; done'
StandardOutput=null

[Install]
WantedBy=multi-user.target
";

/// Units a container cannot be expected to run with a user namespace:
/// their `ConditionCapability=CAP_SYS_RAWIO` passes (the container's root
/// holds it in its own namespace), but debugfs and tracefs cannot be
/// mounted in a user namespace (nspawn and LXC drop CAP_SYS_RAWIO, which
/// skips them; domrun keeps libvirt's capability set).
const UNMOUNTABLE_IN_A_USERNS: [&str; 2] = ["sys-kernel-debug.mount", "sys-kernel-tracing.mount"];

fn recipes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

/// The built Debian systemd tree (cached), or `None` after printing why it
/// cannot be built.
fn debian_systemd_tree() -> Option<PathBuf> {
    built_tree(&DEBIAN_SYSTEMD)
}

/// The built tree of `template` (cached), or `None` after printing why it
/// cannot be built.
fn built_tree(template: &Template) -> Option<PathBuf> {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_build = BUILD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut hash = Sha256::new();
    for recipe in template.recipes {
        hash.update(std::fs::read(recipes_dir().join(recipe)).unwrap());
    }
    let key: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("system-container")
        .join(key);
    let store = Store::open(&root).unwrap();
    let name = template.name;
    if let Ok(rootfs) = store.rootfs(name) {
        return Some(rootfs);
    }
    let recipe = recipes_dir().join(template.recipes[0]);
    match store.build(name, &recipe, Progress::Quiet) {
        Ok(_) => Some(store.rootfs(name).unwrap()),
        Err(TemplateError::RecipeUnavailable { message, .. }) => {
            common::skip(&format!("{name} recipe: {message}"));
            None
        }
        Err(e) => panic!("building {name}: {e}"),
    }
}

/// Adds `shift` to the owner and group of everything under `dir` (each
/// hard-linked inode once), keeping set-id bits (chown clears them): the
/// tree of a container whose ids map to `shift..`.
fn shift_ownership(dir: &Path, shift: u32, seen: &mut HashSet<(u64, u64)>) {
    let meta = std::fs::symlink_metadata(dir).unwrap();
    if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
        return;
    }
    std::os::unix::fs::lchown(dir, Some(meta.uid() + shift), Some(meta.gid() + shift)).unwrap();
    if !meta.file_type().is_symlink() && meta.mode() & 0o6000 != 0 {
        let mode = std::fs::Permissions::from_mode(meta.mode() & 0o7777);
        std::fs::set_permissions(dir, mode).unwrap();
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            shift_ownership(&entry.unwrap().path(), shift, seen);
        }
    }
}

/// The console text without colour and cursor sequences (`ESC [ … letter`).
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Up to and including the final letter of the sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How a test boots the tree.
#[derive(Clone, Copy)]
struct Boot {
    /// Part of the domain name.
    label: &'static str,
    /// Map the container's ids to `ID_SHIFT..` (`<idmap>`).
    idmap: bool,
    /// domrun's stdio is a terminal (interactive console), else pipes.
    terminal: bool,
}

/// A booted domain under `domrun run`, killed and swept if a test fails.
struct Booted {
    name: String,
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    /// The copy of the tree (removed on drop).
    dir: tempfile::TempDir,
    /// The terminal's master side, when domrun has one (kept open).
    _terminal: Option<std::os::fd::OwnedFd>,
}

impl Booted {
    /// Copies the tree, installs the report unit and starts domrun.
    fn start(tree: &Path, how: Boot) -> Booted {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let root = dir.path().join("root");
        let cp = Command::new("cp")
            .arg("-a")
            .arg(tree)
            .arg(&root)
            .status()
            .unwrap();
        assert!(cp.success(), "cp -a {}", tree.display());
        let units = root.join("etc/systemd/system");
        std::fs::write(units.join("domrun-report.service"), REPORT_UNIT).unwrap();
        std::os::unix::fs::symlink(
            "/etc/systemd/system/domrun-report.service",
            units.join("multi-user.target.wants/domrun-report.service"),
        )
        .unwrap();
        if how.idmap {
            shift_ownership(&root, ID_SHIFT, &mut HashSet::new());
        }
        let name = format!("sc-{}-{}", std::process::id(), how.label);
        let idmap = if how.idmap {
            format!(
                "<idmap><uid start='0' target='{ID_SHIFT}' count='65536'/>\
                 <gid start='0' target='{ID_SHIFT}' count='65536'/></idmap>"
            )
        } else {
            String::new()
        };
        let xml = dir.path().join("domain.xml");
        std::fs::write(
            &xml,
            format!(
                "<domain type='lxc'><name>{name}</name>\
                 <uuid>2b1c0e5e-6a43-4f3b-9d1e-{:012x}</uuid>\
                 <memory unit='MiB'>512</memory>\
                 <os><type>exe</type><init>/sbin/init</init></os>{idmap}\
                 <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>\
                 <console type='pty'/></devices></domain>",
                std::process::id(),
                root.display()
            ),
        )
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_domrun"));
        // A state root of the test's own: `run` records the domain there.
        command
            .arg("--root")
            .arg(dir.path().join("state"))
            .arg("run")
            .arg(&xml);
        let output = Arc::new(Mutex::new(Vec::new()));
        let (child, terminal) = if how.terminal {
            let pty = nix::pty::openpty(None, None).unwrap();
            command
                .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
                .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
                .stderr(Stdio::from(pty.slave));
            let child = command.spawn().unwrap();
            collect(
                std::fs::File::from(pty.master.try_clone().unwrap()),
                &output,
            );
            (child, Some(pty.master))
        } else {
            command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = command.spawn().unwrap();
            collect(child.stdout.take().unwrap(), &output);
            collect(child.stderr.take().unwrap(), &output);
            (child, None)
        };
        Booted {
            name,
            child,
            output,
            dir,
            _terminal: terminal,
        }
    }

    /// What domrun printed so far, colours removed.
    fn text(&self) -> String {
        let bytes = self.output.lock().unwrap().clone();
        plain(&String::from_utf8_lossy(&bytes))
    }

    /// Waits for the report (or for domrun to end), then returns its lines.
    fn report(&mut self) -> Report {
        let deadline = Instant::now() + BOOT_DEADLINE;
        loop {
            let text = self.text();
            if text.contains(REPORT_END) {
                let file = self.dir.path().join("root").join(REPORT_FILE);
                return Report::parse(&std::fs::read_to_string(file).unwrap());
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("domrun ended ({status}) before the boot finished:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "no boot report within {BOOT_DEADLINE:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Init's pid: domrun's only child.
    fn init_pid(&self) -> u32 {
        let pid = self.child.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
        children.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// The domain's limit group, from the host.
    fn cgroup(&self) -> Option<Cgroup> {
        let layout = Layout::detect().unwrap();
        Cgroup::open(&layout, DEFAULT_PARTITION, &format!("{}.domrun", self.name)).unwrap()
    }

    /// SIGTERM to domrun, as a service manager stops it: domrun sends init
    /// its poweroff signal (systemd: SIGRTMIN+4), then waits for it.
    fn power_off(&mut self) -> ExitStatus {
        let domrun = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(domrun, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.wait_for_exit()
    }

    fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + POWEROFF_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running {POWEROFF_DEADLINE:?} after the signal:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Nothing of the domain is left: no cgroup directory in any hierarchy,
    /// no mount of its tree, no process rooted in it.
    fn assert_nothing_left(&self) {
        assert_no_cgroup_of(&self.name);
        common::assert_no_leaks_under(self.dir.path());
        let tree = self.dir.path().to_string_lossy().into_owned();
        let rooted: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_link(e.path().join("root")).ok())
            .map(|root| root.to_string_lossy().into_owned())
            .filter(|root| root.starts_with(&tree))
            .collect();
        assert!(rooted.is_empty(), "processes left in the tree: {rooted:?}");
    }
}

/// No cgroup directory of domain `name` in any hierarchy.
fn assert_no_cgroup_of(name: &str) {
    let group = format!("{name}.domrun");
    let find = Command::new("find")
        .args(["/sys/fs/cgroup", "-maxdepth", "4", "-name", &group])
        .output()
        .unwrap();
    assert!(
        find.stdout.is_empty(),
        "cgroups left: {}",
        String::from_utf8_lossy(&find.stdout)
    );
}

impl Drop for Booted {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // A killed domrun cannot clean up; the sweep the next start does.
        if let Ok(layout) = Layout::detect() {
            let group = format!("{}.domrun", self.name);
            let _ = Cgroup::sweep_stale(&layout, DEFAULT_PARTITION, &group);
        }
    }
}

/// Appends everything `from` produces to `to`, in a thread.
fn collect(mut from: impl std::io::Read + Send + 'static, to: &Arc<Mutex<Vec<u8>>>) {
    let to = Arc::clone(to);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        // A terminal's master reads EIO once domrun is gone: the end.
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            to.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
}

/// What the report unit printed.
#[derive(Debug)]
struct Report {
    /// `systemctl is-system-running` once the boot is over.
    state: String,
    /// `systemctl --failed` unit names.
    failed: Vec<String>,
    /// Init's `/proc/1/cgroup` lines.
    cgroup: Vec<String>,
}

impl Report {
    fn parse(text: &str) -> Report {
        let field = |prefix: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.trim_end_matches('\r').split_once(prefix))
                .map(|(_, rest)| rest.trim().to_owned())
                .collect()
        };
        Report {
            state: field("DOMRUN-STATE=").concat(),
            failed: field("DOMRUN-FAILED ")
                .iter()
                .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
                .collect(),
            cgroup: field("DOMRUN-CGROUP "),
        }
    }

    /// Booted to the end with no failed unit but `expected`.
    fn assert_booted(&self, expected: &[&str], text: &str) {
        let unexpected: Vec<&String> = self
            .failed
            .iter()
            .filter(|u| !expected.contains(&u.as_str()))
            .collect();
        assert!(
            unexpected.is_empty(),
            "failed units {unexpected:?}:\n{text}"
        );
        let state_ok = match self.failed.is_empty() {
            true => self.state == "running",
            false => self.state == "degraded",
        };
        assert!(state_ok, "system state {:?}:\n{text}", self.state);
        assert!(
            text.contains("Reached target multi-user.target"),
            "multi-user.target not reached:\n{text}"
        );
    }

    /// Every hierarchy shows init at the root of its cgroup namespace: `/`
    /// where it stays (the read-only v1 controllers), `/init.scope` where
    /// systemd moved itself (the writable tracking hierarchies); never a
    /// path above the root (`/..`) or the host's names.
    fn assert_cgroup_namespace_root(&self) {
        assert!(!self.cgroup.is_empty());
        for line in &self.cgroup {
            let path = line.splitn(3, ':').nth(2).unwrap_or("");
            assert!(path == "/" || path == "/init.scope", "{line}");
        }
        assert!(
            self.cgroup.iter().any(|l| l.ends_with(":/")),
            "{:?}",
            self.cgroup
        );
    }
}

/// One boot at a time: each is a whole system (and a 250 MiB copy).
fn one_boot() -> std::sync::MutexGuard<'static, ()> {
    static BOOT: Mutex<()> = Mutex::new(());
    BOOT.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Boots, checks, powers off, checks that nothing is left.
fn boot_and_power_off(how: Boot, expected_failures: &[&str]) {
    if !common::require_root() {
        return;
    }
    let _one = one_boot();
    let Some(tree) = debian_systemd_tree() else {
        return;
    };
    let mut booted = Booted::start(&tree, how);
    let report = booted.report();
    let text = booted.text();
    report.assert_booted(expected_failures, &text);
    report.assert_cgroup_namespace_root();
    // Init runs in the payload group; the limit is on the group above it.
    let cgroup = booted.cgroup().expect("the domain's cgroup");
    let init = booted.init_pid();
    let own = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    let payload = format!("/{}/{PAYLOAD_GROUP}", cgroup.relative().display());
    assert!(
        own.lines().all(|l| l.contains(&payload)),
        "{own} (want {payload})"
    );
    if let Some(memory) = cgroup.v1_dir(domrun::cgroup::Controller::Memory) {
        let limit = std::fs::read_to_string(memory.join("memory.limit_in_bytes")).unwrap();
        assert_eq!(limit.trim(), (512u64 << 20).to_string());
    }
    let status = booted.power_off();
    // systemd powers off with reboot(2), which in a PID namespace kills
    // init with SIGINT: a clean poweroff, exit 0.
    assert_eq!(status.code(), Some(0), "{status}:\n{}", booted.text());
    assert!(booted.text().contains("Powering off"), "{}", booted.text());
    booted.assert_nothing_left();
}

#[test]
fn debian_systemd_boots_without_a_terminal_and_powers_off() {
    boot_and_power_off(
        Boot {
            label: "pipes",
            idmap: false,
            terminal: false,
        },
        &[],
    );
}

#[test]
fn debian_systemd_boots_on_a_terminal_and_powers_off() {
    boot_and_power_off(
        Boot {
            label: "tty",
            idmap: false,
            terminal: true,
        },
        &[],
    );
}

#[test]
fn debian_systemd_boots_with_an_idmap_and_powers_off() {
    boot_and_power_off(
        Boot {
            label: "idmap",
            idmap: true,
            terminal: false,
        },
        &UNMOUNTABLE_IN_A_USERNS,
    );
}

/// domrun killed outright (a crash): init dies with it (its death signal),
/// and the group it leaves, payload and name=systemd directories included,
/// is found and removed by the sweep the next start runs.
#[test]
fn a_crashed_run_leaves_a_group_the_sweep_removes() {
    if !common::require_root() {
        return;
    }
    let _one = one_boot();
    let Some(tree) = debian_systemd_tree() else {
        return;
    };
    let mut booted = Booted::start(
        &tree,
        Boot {
            label: "crash",
            idmap: false,
            terminal: false,
        },
    );
    booted.report();
    let cgroup = booted.cgroup().expect("the domain's cgroup");
    booted.child.kill().unwrap();
    booted.wait_for_exit();
    // Init follows (PR_SET_PDEATHSIG); its group stays behind.
    let deadline = Instant::now() + POWEROFF_DEADLINE;
    while !cgroup.procs().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "{:?}", cgroup.procs());
        std::thread::sleep(Duration::from_millis(100));
    }
    let payloads: Vec<PathBuf> = cgroup.payload_dirs();
    assert!(payloads.iter().all(|d| d.is_dir()), "{payloads:?}");
    if let Some(systemd) = cgroup.systemd_dir() {
        assert!(systemd.join(PAYLOAD_GROUP).join("init.scope").is_dir());
    }
    let layout = Layout::detect().unwrap();
    let group = format!("{}.domrun", booted.name);
    assert!(Cgroup::sweep_stale(&layout, DEFAULT_PARTITION, &group).unwrap());
    booted.assert_nothing_left();
}

/// Under the monitor: `define` + `start`, ready when `ready` (a shell
/// command run with `domrun exec`) succeeds; `exec` works; `reboot` starts
/// a new init that gets ready again; `shutdown` powers it off (the log says
/// `Poweroff`: the init's own poweroff, not the kill after the grace
/// period); nothing is left.
fn boot_under_the_monitor(template: &Template, ready: &str) {
    if !common::require_root() {
        return;
    }
    let _one = one_boot();
    let Some(tree) = built_tree(template) else {
        return;
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = dir.path().join("root");
    let cp = Command::new("cp")
        .arg("-a")
        .arg(&tree)
        .arg(&root)
        .status()
        .unwrap();
    assert!(cp.success());
    let name = format!("scm-{}-{}", std::process::id(), template.name);
    let xml = dir.path().join("domain.xml");
    std::fs::write(
        &xml,
        format!(
            "<domain type='lxc'><name>{name}</name><memory unit='MiB'>512</memory>\
             <os><type>exe</type><init>/sbin/init</init></os>\
             <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>\
             <console type='pty'/></devices></domain>",
            root.display()
        ),
    )
    .unwrap();
    let state = dir.path().join("state");
    let cli = common::Cli::new(&state);
    cli.run(["define", xml.to_str().unwrap()]).ok();
    cli.run(["start", &name]).ok();
    let is_ready = || cli.run(["exec", &name, "--", "sh", "-c", ready]).success();
    common::wait_until(&format!("{name} to boot ({ready})"), is_ready);
    let hostname = cli.run(["exec", &name, "--", "cat", "/etc/hostname"]);
    assert!(!hostname.ok().stdout.is_empty());
    let first = common::init_pid(&state, &name);
    cli.run(["reboot", &name]).ok();
    common::wait_until(&format!("{name} to reboot"), || {
        common::live_pid(&state, &name, "init").is_some_and(|pid| pid != first) && is_ready()
    });
    cli.run(["shutdown", &name]).ok();
    let log = std::fs::read_to_string(state.join("log").join(format!("{name}.log"))).unwrap();
    assert!(
        log.lines().last().unwrap_or("").contains("(Poweroff)"),
        "{log}"
    );
    assert_no_cgroup_of(&name);
    common::assert_no_leaks_under(dir.path());
}

#[test]
fn busybox_init_boots_reboots_and_powers_off_under_the_monitor() {
    boot_under_the_monitor(&BUSYBOX_INIT, "pidof getty");
}

#[test]
fn sysvinit_boots_reboots_and_powers_off_under_the_monitor() {
    boot_under_the_monitor(&DEBIAN_SYSVINIT, "pidof agetty");
}

#[test]
fn systemd_boots_reboots_and_powers_off_under_the_monitor() {
    boot_under_the_monitor(&DEBIAN_SYSTEMD, "systemctl is-system-running --wait");
}
