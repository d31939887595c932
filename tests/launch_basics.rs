//! End-to-end: PID 1, hostname, env, argv, cwd, ids, exit codes, caps.

mod common;

use common::{dir_root, launch_fixture, run_clean, shell_plan};
use domrun::launch::{ExitStatusCode, run_foreground};
use domrun::plan::{Capability, CapabilityPlan, Identity, defaults};

#[test]
fn init_is_pid_1_with_plan_hostname_env_argv_and_cwd() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "echo $$ > /out/pid; hostname > /out/hostname; \
         tr '\\0' '\\n' < /proc/1/environ > /out/env; \
         tr '\\0' '\\n' < /proc/1/cmdline > /out/argv; pwd > /out/cwd; \
         (ls /proc/1/fd) > /out/fds; true",
    );
    plan.hostname = Some("probe-host".into());
    plan.process
        .env
        .push(("GREETING".into(), "hello world".into()));
    plan.process.cwd = "/tmp".into();
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert_eq!(out.read("pid"), "1\n");
    assert_eq!(out.read("hostname"), "probe-host\n");
    assert_eq!(out.read("env"), "PATH=/bin\nGREETING=hello world\n");
    assert!(out.read("argv").starts_with("/bin/sh\n-c\necho $$"));
    assert_eq!(out.read("cwd"), "/tmp\n");
    // Only stdin, stdout and stderr reached init (the test process has many
    // more). Listed from a subshell: busybox sh parks stdout on fd 10 while
    // it redirects an in-process applet.
    assert_eq!(out.read("fds"), "0\n1\n2\n");
    // The host's hostname is untouched.
    assert_ne!(nix::unistd::gethostname().expect("hostname"), "probe-host");
}

#[test]
fn runs_as_the_planned_uid_gid_and_groups() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "id -u > /out/uid; id -g > /out/gid; id -G > /out/groups; \
         grep -E '^Cap(Eff|Prm)' /proc/self/status > /out/caps",
    );
    plan.process.identity = domrun::plan::users::resolve_identity(
        rootfs.path(),
        &domrun::plan::users::IdSpec::Name("tester".into()),
        None,
    )
    .expect("resolve tester");
    assert_eq!(
        plan.process.identity,
        Identity {
            uid: 1000,
            gid: 1000,
            supplementary_groups: vec![2000]
        }
    );
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    assert_eq!(out.read("uid"), "1000\n");
    assert_eq!(out.read("gid"), "1000\n");
    assert_eq!(out.read("groups"), "1000 2000\n");
    // A non-root init keeps no capabilities without ambient ones.
    assert_eq!(
        out.read("caps"),
        "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
    );
}

#[test]
fn exit_status_is_passed_through() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let plan = shell_plan(dir_root(&rootfs), &out, "exit 42");
    assert_eq!(run_clean(&plan).expect("launch"), 42);
}

#[test]
fn killed_init_reports_128_plus_signal() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    // PID 1 ignores signals it has no handler for, except SIGKILL from an
    // ancestor namespace; send that from the host once init is running.
    let plan = shell_plan(dir_root(&rootfs), &out, "touch /out/started; exec sleep 30");
    let flag = out.path().join("started");
    let killer = std::thread::spawn(move || {
        let me = std::process::id().to_string();
        for _ in 0..200 {
            std::thread::sleep(std::time::Duration::from_millis(50));
            if !flag.exists() {
                continue;
            }
            for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
                let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
                let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
                if stat.contains("(sleep)") && after.split_whitespace().nth(1) == Some(me.as_str())
                {
                    let pid: i32 = entry.file_name().to_string_lossy().parse().expect("pid");
                    nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    )
                    .expect("kill");
                    return;
                }
            }
        }
    });
    assert_eq!(run_clean(&plan).expect("launch"), 128 + 9);
    killer.join().expect("killer");
}

#[test]
fn missing_and_unexecutable_init_give_127_and_126() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let mut plan = shell_plan(dir_root(&rootfs), &out, "");
    plan.process.argv = vec!["/bin/nonexistent".into()];
    let err = run_foreground(&plan).expect_err("no init");
    assert_eq!(err.exit_code(), ExitStatusCode::NOT_FOUND);
    assert_eq!(
        err.to_string(),
        "executing init /bin/nonexistent: No such file or directory"
    );
    plan.process.argv = vec!["/etc/passwd".into()];
    let err = run_foreground(&plan).expect_err("not executable");
    assert_eq!(err.exit_code(), ExitStatusCode::NOT_EXECUTABLE);
    common::HostState::capture().assert_restored();
}

fn status_mask(status: &str, field: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} missing"));
    u64::from_str_radix(line.split_whitespace().nth(1).expect("value"), 16).expect("hex")
}

fn mask(caps: &domrun::plan::CapsHashSet) -> u64 {
    caps.iter().map(|c| c.bitmask()).fold(0, |a, b| a | b)
}

#[test]
fn capability_sets_are_as_planned() {
    let Some((_serial, rootfs, out)) = launch_fixture() else {
        return;
    };
    let plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "cat /proc/self/status > /out/status",
    );
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    let status = out.read("status");
    let expected = mask(&CapabilityPlan::libvirt_default().bounding);
    assert_eq!(status_mask(&status, "CapBnd:"), expected);
    // uid 0: after exec the effective set is the bounding set.
    assert_eq!(status_mask(&status, "CapEff:"), expected);
    for dropped in defaults::LIBVIRT_DROPPED_CAPABILITIES {
        assert_eq!(
            status_mask(&status, "CapBnd:") & dropped.bitmask(),
            0,
            "{dropped}"
        );
    }
    assert_ne!(
        status_mask(&status, "CapBnd:") & Capability::CAP_SYS_BOOT.bitmask(),
        0
    );

    // A non-root init with one ambient capability.
    let mut plan = shell_plan(
        dir_root(&rootfs),
        &out,
        "cat /proc/self/status > /out/status-app",
    );
    plan.process.identity = Identity {
        uid: 1000,
        gid: 1000,
        supplementary_groups: vec![],
    };
    let bind = Capability::CAP_NET_BIND_SERVICE;
    plan.capabilities = CapabilityPlan::only(&[bind]);
    plan.capabilities.inheritable.insert(bind);
    plan.capabilities.ambient.insert(bind);
    plan.no_new_privileges = true;
    assert_eq!(run_clean(&plan).expect("launch"), 0);
    let status = out.read("status-app");
    assert_eq!(status_mask(&status, "CapBnd:"), bind.bitmask());
    assert_eq!(status_mask(&status, "CapEff:"), bind.bitmask());
    assert_eq!(status_mask(&status, "CapAmb:"), bind.bitmask());
    assert!(status.contains("NoNewPrivs:\t1"));
}
