//! The runc command surface end to end through the binary, for the verbs
//! phase 1 carries out (`spec`, `features`, `state`, `list`, `delete` of a
//! stopped or missing container) and the typed refusals of the others.
//! State records are written with the library's `Store` (there is no
//! `create` yet). No root needed; nothing is forked but `domrun`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::Cli;
use domrun::oci::state::{OCI_VERSION, OciState, Status, now_rfc3339};
use domrun::oci::store::{Record, Store};
use domrun::state::ProcessRef;

/// `domrun oci --root ROOT ARGS…`.
fn oci(root: &Path, args: &[&str]) -> common::cli::Run {
    let mut all = vec!["oci", "--root", root.to_str().unwrap()];
    all.extend_from_slice(args);
    Cli::bare().run(all)
}

fn record(store: &Store, id: &str, status: Status, init: Option<ProcessRef>) {
    let _lock = store.lock(id).unwrap();
    store
        .write(&Record {
            state: OciState {
                oci_version: OCI_VERSION.into(),
                id: id.into(),
                status,
                pid: init.map(|p| p.pid),
                bundle: "/bundle".into(),
                annotations: Default::default(),
                created: now_rfc3339(),
                owner: String::new(),
            },
            init,
        })
        .unwrap();
}

#[test]
fn spec_writes_a_config_that_plans_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().to_str().unwrap();
    oci(tmp.path(), &["spec", "--bundle", bundle]).ok();
    let bytes = std::fs::read(tmp.path().join("config.json")).unwrap();
    let spec = domrun::oci::parse_config(&bytes, Path::new("config.json")).unwrap();
    let options = domrun::oci::SpecOptions {
        id: "c".into(),
        systemd_cgroup: false,
    };
    domrun::oci::plan_from_spec(&spec, tmp.path(), &options).unwrap();
    oci(tmp.path(), &["spec", "--bundle", bundle])
        .fails_with(1)
        .stderr_has("already exists");
}

#[test]
fn features_is_runtime_spec_json() {
    let tmp = tempfile::tempdir().unwrap();
    let out = oci(tmp.path(), &["features"]).ok().stdout.clone();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert_eq!(v["linux"]["seccomp"]["enabled"], true);
    assert_eq!(v["linux"]["apparmor"]["enabled"], false);
    assert!(
        v["mountOptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "rbind")
    );
}

#[test]
fn state_and_list_read_the_records() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    record(
        &store,
        "alive",
        Status::Created,
        ProcessRef::of(std::process::id() as i32),
    );
    let gone = ProcessRef {
        pid: i32::MAX,
        start_time: 1,
    };
    record(&store, "exited", Status::Running, Some(gone));

    let out = oci(tmp.path(), &["state", "alive"]).ok().stdout.clone();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "created");
    assert_eq!(v["pid"], std::process::id());
    assert_eq!(v["ociVersion"], OCI_VERSION);
    assert_eq!(v["bundle"], "/bundle");

    let out = oci(tmp.path(), &["state", "exited"]).ok().stdout.clone();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "stopped");
    assert!(v.get("pid").is_none());

    let out = oci(tmp.path(), &["list", "--format", "json"])
        .ok()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["alive", "exited"]);
    assert_eq!(
        oci(tmp.path(), &["list", "-q"]).ok().stdout,
        "alive\nexited\n"
    );
}

#[test]
fn the_state_machine_guards_the_verbs() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    record(
        &store,
        "c",
        Status::Created,
        ProcessRef::of(std::process::id() as i32),
    );
    record(&store, "s", Status::Stopped, None);
    // The spec: delete of a container that is not stopped fails.
    oci(tmp.path(), &["delete", "c"])
        .fails_with(1)
        .stderr_has("container c is created: delete needs it stopped");
    oci(tmp.path(), &["kill", "s", "KILL"])
        .fails_with(1)
        .stderr_has("container s is stopped: kill needs it");
    oci(tmp.path(), &["kill", "c", "NOSIG"])
        .fails_with(1)
        .stderr_has("\"NOSIG\" is not a signal");
    // Allowed, but needs the launcher: a typed refusal, nothing faked.
    oci(tmp.path(), &["start", "c"])
        .fails_with(1)
        .stderr_has("start: not yet supported");
    oci(tmp.path(), &["kill", "c", "9"])
        .fails_with(1)
        .stderr_has("kill: not yet supported");
    oci(tmp.path(), &["delete", "s"]).ok();
    assert_eq!(store.read("s").unwrap(), None);
    // The shim's cleanup: delete --force of a missing container is fine.
    oci(tmp.path(), &["delete", "--force", "never"]).ok();
    oci(tmp.path(), &["state", "never"])
        .fails_with(1)
        .stderr_has("container never does not exist");
}

#[test]
fn create_plans_the_bundle_and_logs_json_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    let log = tmp.path().join("log.json");
    let run = |args: &[&str]| {
        let mut all = vec!["--log", log.to_str().unwrap(), "--log-format", "json"];
        all.extend_from_slice(args);
        oci(&tmp.path().join("root"), &all)
    };
    run(&["spec", "-b", bundle.to_str().unwrap()]).ok();
    run(&["create", "--bundle", bundle.to_str().unwrap(), "c1"])
        .fails_with(1)
        .stderr_has("create: not yet supported");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    config["linux"]["intelRdt"] = serde_json::json!({"closID": "x"});
    std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();
    run(&["create", "--bundle", bundle.to_str().unwrap(), "c1"])
        .fails_with(1)
        .stderr_has("config.json: linux.intelRdt: not supported");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["msg"].as_str().unwrap().contains("linux.intelRdt"));
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
}

/// containerd's shim calls the runtime as `runc --root R --log F
/// --log-format json VERB …`: the binary under the name `runc` is the OCI CLI.
#[test]
fn invoked_as_runc_it_speaks_runc() {
    let tmp = tempfile::tempdir().unwrap();
    let runc = tmp.path().join("runc");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_domrun"), &runc).unwrap();
    let out = Command::new(&runc).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("runc "));
    let root = tmp.path().join("root");
    let out = Command::new(&runc)
        .args([
            "--root",
            root.to_str().unwrap(),
            "delete",
            "--force",
            "gone",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = Command::new(&runc)
        .args(["--root", root.to_str().unwrap(), "state", "gone"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
