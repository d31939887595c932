//! Building templates from recipes: the repository's own (busybox, debian)
//! and small ones written here for the failure paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use domrun::template::{
    Progress, Provisioned, Recipe, SourceKind, Store, TemplateError, mount_overlay,
};
use sha2::{Digest as _, Sha256};

fn recipes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

fn write_recipe(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("test.recipe");
    std::fs::write(&p, body).unwrap();
    p
}

/// A store in a fresh temp dir (`TMP/state`), as root; `None` (skipped)
/// otherwise.
fn root_store() -> Option<(tempfile::TempDir, PathBuf, Store)> {
    if !common::require_root() {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("state");
    let store = Store::open(&root).unwrap();
    Some((tmp, root, store))
}

use common::leaks::assert_store_empty;

#[test]
fn the_repository_recipes_are_listed_with_their_descriptions() {
    let recipes = Recipe::list(&recipes_dir()).unwrap();
    let names: Vec<String> = recipes
        .iter()
        .map(|r| r.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"busybox.recipe".to_string()), "{names:?}");
    assert!(names.contains(&"debian.recipe".to_string()), "{names:?}");
    for r in &recipes {
        let d = r.description.as_deref().unwrap_or("");
        assert!(!d.is_empty(), "{}: no description", r.path.display());
    }
}

#[test]
fn busybox_recipe_builds_a_template_that_runs() {
    if !common::require_root() || !common::require_tool("chroot") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("state")).unwrap();
    let recipe = recipes_dir().join("busybox.recipe");
    let info = match store.build("busybox", &recipe, Progress::Quiet) {
        Ok(info) => info,
        Err(TemplateError::RecipeUnavailable { message, .. }) => {
            common::skip(&format!("busybox recipe cannot run here: {message}"));
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(info.kind, SourceKind::Recipe);
    assert_eq!(info.source, recipe.to_string_lossy());
    let digest: String = Sha256::digest(std::fs::read(&recipe).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(info.sha256, digest);
    let rootfs = store.rootfs("busybox").unwrap();
    assert!(rootfs.join("bin/busybox").is_file());
    assert!(info.size_bytes >= std::fs::metadata(rootfs.join("bin/busybox")).unwrap().len());
    assert!(
        tmp.path()
            .join("state/templates/busybox/build.log")
            .exists()
    );

    // A domain's root from it runs the template's shell; its write stays in
    // its layer.
    let Provisioned::Overlay(o) = store.provision("busybox", "bb", false).unwrap() else {
        common::skip("no overlayfs: copy fallback covered elsewhere");
        return;
    };
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
            nix::mount::mount(
                None::<&str>,
                "/",
                None::<&str>,
                nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .unwrap();
            mount_overlay(&mnt, &o).unwrap();
            // The child inherits this thread's mount namespace.
            let out = Command::new("chroot")
                .arg(&mnt)
                .args([
                    "/bin/sh",
                    "-c",
                    "echo hello >/tmp/probe && cat /etc/hostname /tmp/probe",
                ])
                .output()
                .unwrap();
            nix::mount::umount2(&mnt, nix::mount::MntFlags::empty()).unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout), "busybox\nhello\n");
        })
        .join()
        .unwrap();
    });
    assert!(!rootfs.join("tmp/probe").exists());
    assert!(tmp.path().join("state/layers/bb/upper/tmp/probe").exists());
    common::assert_no_leaks_under(tmp.path());
}

#[test]
fn debian_recipe_builds_or_says_why_not() {
    let Some((_tmp, root, store)) = root_store() else {
        return;
    };
    match store.build(
        "debian",
        &recipes_dir().join("debian.recipe"),
        Progress::Quiet,
    ) {
        Ok(info) => {
            let rootfs = store.rootfs("debian").unwrap();
            assert!(rootfs.join("etc/debian_version").is_file());
            assert!(rootfs.join("usr/bin/apt-get").exists());
            assert!(info.size_bytes > 50 << 20);
        }
        Err(TemplateError::RecipeUnavailable { message, .. }) => {
            assert!(
                message.contains("debootstrap is not installed")
                    || message.contains("archive unreachable"),
                "{message}"
            );
            assert_store_empty(&root);
            common::skip(&format!("debian recipe: {message}"));
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_failing_recipe_leaves_nothing_and_shows_its_output() {
    let Some((tmp, root, store)) = root_store() else {
        return;
    };
    let recipe = write_recipe(
        tmp.path(),
        "# description: fails half-way\nmkdir \"$ROOTFS/etc\"\necho \"$TEMPLATE_NAME in $ROOTFS\"\necho 'no such package: frobnicate' >&2\nexit 3\n",
    );
    let err = store.build("broken", &recipe, Progress::Quiet).unwrap_err();
    let TemplateError::RecipeFailed { log_tail, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        log_tail.contains("no such package: frobnicate"),
        "{log_tail}"
    );
    assert!(log_tail.contains("broken in "), "{log_tail}");
    assert_store_empty(&root);

    // `set -u` is on: an unset variable is a failure, not an empty string.
    let recipe = write_recipe(tmp.path(), "touch \"$ROOTFS/$UNSET_VARIABLE\"\n");
    let err = store.build("broken", &recipe, Progress::Quiet).unwrap_err();
    assert!(matches!(err, TemplateError::RecipeFailed { .. }), "{err:?}");
    assert_store_empty(&root);
}

#[test]
fn exit_77_means_cannot_run_here() {
    let Some((tmp, root, store)) = root_store() else {
        return;
    };
    let recipe = write_recipe(
        tmp.path(),
        "echo 'test.recipe: needs frob (apt-get install frob)' >&2\nexit 77\n",
    );
    let err = store.build("t", &recipe, Progress::Quiet).unwrap_err();
    let TemplateError::RecipeUnavailable { message, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(message, "test.recipe: needs frob (apt-get install frob)");
    assert_store_empty(&root);
}

#[test]
fn a_recipe_that_works_gives_a_template() {
    let Some((tmp, _root, store)) = root_store() else {
        return;
    };
    let recipe = write_recipe(
        tmp.path(),
        "# description: two files\n# needs: nothing\nmkdir -p \"$ROOTFS/etc\"\nprintf 12345 >\"$ROOTFS/etc/five\"\nln \"$ROOTFS/etc/five\" \"$ROOTFS/etc/same\"\n",
    );
    assert_eq!(
        Recipe::load(&recipe).unwrap().description.as_deref(),
        Some("two files")
    );
    let info = store.build("small", &recipe, Progress::Quiet).unwrap();
    assert_eq!(info.size_bytes, 5, "a hard link counts once");
    assert_eq!(store.list().unwrap(), vec![info]);
}
