//! `domrun template import NAME oci:DIR` and `docker-archive:FILE.tar`, on
//! images this test writes: a gzip busybox layer, then a layer with a new
//! file, a whiteout and an opaque directory; a blob whose digest is wrong;
//! a hostile entry. The imported template runs under `domrun run` from the
//! `--print-xml` skeleton.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Cli, Rootfs};
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn file_entry(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    // The name as given, even a hostile one (`set_path` refuses `..`).
    let name = &mut h.as_old_mut().name;
    name.fill(0);
    name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// Layer one: the busybox tree plus files the next layer removes.
fn base_layer(rootfs: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.append_dir_all(".", rootfs).unwrap();
    file_entry(&mut b, "etc/remove-me", b"lower\n");
    file_entry(&mut b, "data/old", b"lower\n");
    b.into_inner().unwrap()
}

/// Layer two: a new file, a whiteout, an opaque directory with a new child.
fn top_layer(extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    file_entry(&mut b, "etc/motd", b"from layer two\n");
    file_entry(&mut b, "etc/.wh.remove-me", b"");
    file_entry(&mut b, "data/.wh..wh..opq", b"");
    file_entry(&mut b, "data/new", b"upper\n");
    for (p, d) in extra {
        file_entry(&mut b, p, d);
    }
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn config(diff_ids: &[String]) -> Vec<u8> {
    serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": ["sh", "-c"],
            "Cmd": ["cat /etc/motd; ls; test -e /etc/remove-me || echo whiteout-ok; echo $GREETING"],
            "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello-from-env"],
            "WorkingDir": "/data",
            "StopSignal": "SIGQUIT"
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    })
    .to_string()
    .into_bytes()
}

/// Writes an OCI layout with `layers` (bytes, media type); returns its dir.
fn layout(dir: &Path, layers: &[(Vec<u8>, &str)], diff_ids: &[String]) -> PathBuf {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let hex = sha(bytes);
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        serde_json::json!({"digest": format!("sha256:{hex}"), "size": bytes.len()})
    };
    let cfg = config(diff_ids);
    let mut config_desc = put(&cfg);
    config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let layer_descs: Vec<_> = layers
        .iter()
        .map(|(bytes, media)| {
            let mut d = put(bytes);
            d["mediaType"] = (*media).into();
            d
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": layer_descs,
    })
    .to_string();
    let mut m = put(manifest.as_bytes());
    m["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
    m["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "latest"});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [m]}).to_string();
    std::fs::write(dir.join("index.json"), index).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    dir.to_owned()
}

fn check_tree(state: &Path, name: &str) {
    let root = state.join("templates").join(name).join("rootfs");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/motd")).unwrap(),
        "from layer two\n"
    );
    assert!(!root.join("etc/remove-me").exists(), "whiteout not applied");
    assert!(!root.join("etc/.wh.remove-me").exists(), "marker kept");
    assert!(
        !root.join("data/old").exists(),
        "opaque dir kept a lower file"
    );
    assert!(!root.join("data/.wh..wh..opq").exists(), "marker kept");
    assert!(root.join("data/new").exists());
    assert!(root.join("bin/busybox").exists());
}

struct Image {
    tmp: tempfile::TempDir,
    base: Vec<u8>,
    top: Vec<u8>,
}

fn image() -> Option<Image> {
    if !common::require_root() {
        return None;
    }
    let busybox = Rootfs::busybox()?;
    Some(Image {
        tmp: tempfile::tempdir().unwrap(),
        base: base_layer(busybox.path()),
        top: top_layer(&[]),
    })
}

/// The gzip base layer and the plain top one, as an OCI layout.
fn two_layer_layout(img: &Image) -> PathBuf {
    let diff_ids = [
        format!("sha256:{}", sha(&img.base)),
        format!("sha256:{}", sha(&img.top)),
    ];
    layout(
        &img.tmp.path().join("layout"),
        &[
            (
                gzip(&img.base),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            ),
            (img.top.clone(), "application/vnd.oci.image.layer.v1.tar"),
        ],
        &diff_ids,
    )
}

#[test]
fn oci_layout_imports_and_runs() {
    let Some(img) = image() else { return };
    let dir = two_layer_layout(&img);
    let state = img.tmp.path().join("state");
    let cli = Cli::new(&state);
    let source = format!("oci:{}:latest", dir.display());
    let run = cli.run(["template", "import", "img", &source, "--print-xml"]);
    run.ok()
        .stderr_has("Template 'img' imported from")
        .stdout_has("<init>/bin/sh</init>\n    <initarg>-c</initarg>")
        .stdout_has("<initenv name='GREETING'>hello-from-env</initenv>")
        .stdout_has("<initdir>/data</initdir>")
        .stdout_has("<domrun:stopsignal>SIGQUIT</domrun:stopsignal>")
        .stdout_has("<source name='img'/>");
    check_tree(&state, "img");
    let xml = img.tmp.path().join("img.xml");
    std::fs::write(&xml, &run.stdout).unwrap();
    cli.run(["validate", xml.to_str().unwrap()]).ok();
    cli.run(["run", xml.to_str().unwrap()])
        .ok()
        .stdout_has("from layer two")
        .stdout_has("new")
        .stdout_has("whiteout-ok")
        .stdout_has("hello-from-env");
    assert!(
        !std::fs::read_dir(&state).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".image-")),
        "staging tree left behind"
    );
    common::assert_no_leaks_under(img.tmp.path());
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused() {
    let Some(img) = image() else { return };
    let dir = two_layer_layout(&img);
    let blob = dir.join("blobs/sha256").join(sha(&img.top));
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let state = img.tmp.path().join("state");
    let cli = Cli::new(&state);
    cli.run([
        "template",
        "import",
        "bad",
        &format!("oci:{}", dir.display()),
    ])
    .fails()
    .stderr_has("does not match its digest");
    cli.run(["template", "info", "bad"]).fails();
}

#[test]
fn a_hostile_layer_entry_is_refused() {
    let Some(img) = image() else { return };
    let evil = top_layer(&[("../evil", b"x")]);
    let diff_ids = [
        format!("sha256:{}", sha(&img.base)),
        format!("sha256:{}", sha(&evil)),
    ];
    let dir = layout(
        &img.tmp.path().join("layout"),
        &[
            (img.base.clone(), "application/vnd.oci.image.layer.v1.tar"),
            (evil, "application/vnd.oci.image.layer.v1.tar"),
        ],
        &diff_ids,
    );
    Cli::new(img.tmp.path().join("state"))
        .run([
            "template",
            "import",
            "evil",
            &format!("oci:{}", dir.display()),
        ])
        .fails()
        .stderr_has("\"..\" components are not allowed");
    assert!(!img.tmp.path().join("evil").exists());
}

#[test]
fn docker_archive_imports() {
    let Some(img) = image() else { return };
    let diff_ids = [
        format!("sha256:{}", sha(&img.base)),
        format!("sha256:{}", sha(&img.top)),
    ];
    let cfg = config(&diff_ids);
    let cfg_name = format!("{}.json", sha(&cfg));
    let manifest = serde_json::json!([{
        "Config": cfg_name,
        "RepoTags": ["img:latest"],
        "Layers": ["one/layer.tar", "two/layer.tar", "three/layer.tar"]
    }])
    .to_string();
    // A third layer repeating the second, as a symlink, the way docker save
    // links a layer it already wrote.
    let diff3 = [
        diff_ids[0].clone(),
        diff_ids[1].clone(),
        diff_ids[1].clone(),
    ];
    let cfg = config(&diff3);
    let cfg_name = format!("{}.json", sha(&cfg));
    let manifest = manifest.replace(&format!("{}.json", sha(&config(&diff_ids))), &cfg_name);
    let mut b = tar::Builder::new(Vec::new());
    file_entry(&mut b, "one/layer.tar", &img.base);
    file_entry(&mut b, "two/layer.tar", &img.top);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    b.append_link(&mut h, "three/layer.tar", "../two/layer.tar")
        .unwrap();
    file_entry(&mut b, &cfg_name, &cfg);
    file_entry(&mut b, "manifest.json", manifest.as_bytes());
    let archive = img.tmp.path().join("img.tar");
    std::fs::write(&archive, b.into_inner().unwrap()).unwrap();
    let state = img.tmp.path().join("state");
    Cli::new(&state)
        .run([
            "template",
            "import",
            "img",
            &format!("docker-archive:{}", archive.display()),
        ])
        .ok()
        .stdout_has("Template 'img' imported from");
    check_tree(&state, "img");
}

/// An image written by umoci (Debian's `umoci`): the busybox tree, then a
/// whiteout layer, then the config; imported and run.
#[test]
fn an_umoci_image_imports_and_runs() {
    if !common::require_root() || !common::require_tool("umoci") {
        return;
    }
    let Some(busybox) = Rootfs::busybox() else {
        return;
    };
    std::fs::write(busybox.path().join("etc/remove-me"), "lower\n").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let image = format!("{}:latest", layout.display());
    let umoci = |args: &[&str]| {
        let out = std::process::Command::new("umoci")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "umoci {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    umoci(&["init", "--layout", layout.to_str().unwrap()]);
    umoci(&["new", "--image", &image]);
    umoci(&[
        "insert",
        "--image",
        &image,
        busybox.path().to_str().unwrap(),
        "/",
    ]);
    umoci(&["insert", "--image", &image, "--whiteout", "/etc/remove-me"]);
    umoci(&[
        "config",
        "--image",
        &image,
        "--config.entrypoint",
        "/bin/sh",
        "--config.entrypoint",
        "-c",
        "--config.cmd",
        "test -e /etc/remove-me || echo umoci-whiteout-ok",
    ]);
    let state = tmp.path().join("state");
    let cli = Cli::new(&state);
    let run = cli.run([
        "template",
        "import",
        "umoci",
        &format!("oci:{image}"),
        "--print-xml",
    ]);
    run.ok();
    let xml = tmp.path().join("umoci.xml");
    std::fs::write(&xml, &run.stdout).unwrap();
    cli.run(["run", xml.to_str().unwrap()])
        .ok()
        .stdout_has("umoci-whiteout-ok");
    common::assert_no_leaks_under(tmp.path());
}
