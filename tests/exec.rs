//! `domrun exec` (src/lifecycle/exec.rs): a command inside a domain started
//! with `domrun start` — its namespaces, its payload cgroup, no more
//! capabilities than init, its status as ours; the joining process runs
//! from a sealed memfd (CVE-2019-5736) and the command gets no host fd but
//! 0–2 and no host cwd (CVE-2024-21626).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Stdio;

use common::{Cli, DomainXml, Rootfs, probe};

/// A started domain whose init sleeps; destroyed on drop.
struct Started {
    cli: Cli,
    name: String,
    tmp: tempfile::TempDir,
    _rootfs: Rootfs,
}

impl Started {
    fn new(label: &str) -> Option<Started> {
        if !common::require_root() {
            return None;
        }
        let rootfs = Rootfs::busybox()?;
        probe::install(rootfs.path())?;
        let tmp = tempfile::tempdir().unwrap();
        let name = format!("ex-{}-{label}", std::process::id());
        let xml = DomainXml::lxc(&name)
            .rootfs(rootfs.path())
            .shell("exec sleep 100000")
            .write(tmp.path());
        let cli = Cli::new(tmp.path().join("state"));
        cli.run(["define", xml.to_str().unwrap()]).ok();
        cli.run(["start", &name]).ok();
        Some(Started {
            cli,
            name,
            tmp,
            _rootfs: rootfs,
        })
    }

    fn exec(&self, args: &[&str]) -> common::Run {
        let mut all = vec!["exec", self.name.as_str()];
        all.extend_from_slice(args);
        self.cli.run(all)
    }

    fn init_pid(&self) -> i32 {
        common::init_pid(self.cli.root().unwrap(), &self.name)
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.cli.run(["destroy", &self.name]);
        common::assert_no_leaks_under(self.tmp.path());
    }
}

fn ns(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn exec_runs_in_every_namespace_of_init_with_its_status() {
    let Some(d) = Started::new("ns") else { return };
    d.exec(&["--", "sh", "-c", "exit 7"]).fails_with(7);
    d.exec(&["--", "no-such-command"]).fails_with(127);
    let seen = probe::parse(&d.exec(&["--", "/probe"]).ok().stdout);
    let init = d.init_pid().to_string();
    for kind in ["mnt", "pid", "uts", "ipc", "net", "cgroup", "user"] {
        assert_eq!(
            seen["namespaces"][kind].as_str().unwrap(),
            ns(&init, kind),
            "{kind}: {seen}"
        );
    }
    // In the pid namespace: not init, a pid of the container's numbering.
    assert!(seen["pid"].as_u64().unwrap() > 1, "{seen}");
    assert_eq!(seen["cwd"], "/", "{seen}");
    // The payload group: the root of the container's cgroup view.
    let cgroup = seen["cgroup"].to_string();
    assert!(!cgroup.contains(".domrun"), "{cgroup}");
}

#[test]
fn exec_takes_user_cwd_and_env() {
    let Some(d) = Started::new("user") else {
        return;
    };
    let run = d.exec(&[
        "--user",
        "tester",
        "--cwd",
        "/tmp",
        "--env",
        "GREETING=hello",
        "--",
        "sh",
        "-c",
        "id -u; id -g; pwd; echo $GREETING",
    ]);
    assert_eq!(run.ok().stdout, "1000\n1000\n/tmp\nhello\n");
    d.exec(&["--env", "novalue", "--", "true"])
        .fails_with(125)
        .stderr_has("not K=V");
}

#[test]
fn exec_never_has_more_than_init() {
    let Some(d) = Started::new("caps") else {
        return;
    };
    let seen = probe::parse(&d.exec(&["--", "/probe"]).ok().stdout);
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.init_pid())).unwrap();
    let mask = |key: &str| {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(probe::caps(&seen, "bnd"), mask("CapBnd:"));
    assert_eq!(probe::caps(&seen, "eff") & !mask("CapEff:"), 0);
    assert_eq!(probe::caps(&seen, "prm") & !mask("CapPrm:"), 0);
}

/// CVE-2024-21626: only 0-2 reach the command, whatever domrun itself
/// had open (the probe leaves out the fd it lists with); its cwd is inside.
#[test]
fn exec_leaks_no_host_fd_and_no_host_cwd() {
    let Some(d) = Started::new("fds") else { return };
    let extra = std::fs::File::open(d.tmp.path()).unwrap();
    let mut command = d.cli.command(["exec", &d.name, "--", "/probe"]);
    command.current_dir(d.tmp.path());
    // An inherited descriptor a host process would hand down by mistake.
    let extra_fd = std::os::fd::AsRawFd::as_raw_fd(&extra);
    nix::fcntl::fcntl(
        &extra,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    let out = command.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let seen = probe::parse(&String::from_utf8_lossy(&out.stdout));
    let fds: Vec<u64> = seen["fds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    assert_eq!(fds, [0, 1, 2], "fd {extra_fd} was open in domrun");
    assert_eq!(seen["cwd"], "/", "{seen}");
}

/// CVE-2019-5736: the process that joins the container runs from a sealed
/// in-memory copy of domrun, which cannot be opened for writing.
#[test]
fn the_joining_process_is_a_sealed_copy() {
    let Some(d) = Started::new("memfd") else {
        return;
    };
    let mut child = d
        .cli
        .command(["exec", &d.name, "--", "sleep", "30"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let exe = Path::new("/proc").join(pid.to_string()).join("exe");
    common::wait_until("domrun exec to re-execute from its copy", || {
        std::fs::read_link(&exe).is_ok_and(|p| p.to_string_lossy().starts_with("/memfd:domrun"))
    });
    let write = std::fs::OpenOptions::new().write(true).open(&exe);
    assert!(
        write.is_err(),
        "the binary of domrun exec opened for writing"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
