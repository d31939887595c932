//! Provisioning domains from a template: overlayfs roots mounted for real
//! (inside a private mount namespace of a helper thread, so nothing can leak
//! onto the host even if an assertion fails half-way), writes isolated
//! between domains and from the template, kept across restarts; read-only
//! roots; the copy fallback; layer removal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use domrun::template::{OverlayRoot, Progress, Provisioned, Store, TemplateError, mount_overlay};
use nix::mount::{MntFlags, MsFlags};

/// Runs `f` on a thread with its own mount namespace (private propagation),
/// then checks that thread left nothing mounted under `under`.
fn in_private_mount_ns(under: &Path, f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        s.spawn(|| {
            // CLONE_NEWNS is allowed in a multithreaded process: it applies
            // to this thread only.
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
            nix::mount::mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .unwrap();
            f();
            let left = thread_mounts_under(under);
            assert!(left.is_empty(), "left mounted: {left:?}");
        })
        .join()
        .unwrap();
    });
}

/// Mount points under `dir` in this thread's mount namespace.
fn thread_mounts_under(dir: &Path) -> Vec<String> {
    let d = dir.to_string_lossy();
    std::fs::read_to_string("/proc/thread-self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(common::unescape_mountinfo)
        .filter(|m| m.contains(&*d))
        .collect()
}

fn overlay(p: Provisioned) -> OverlayRoot {
    match p {
        Provisioned::Overlay(o) => o,
        Provisioned::Directory(d) => panic!("expected an overlay, got directory {}", d.display()),
    }
}

/// Mounts `o` on a fresh directory, runs `f` on it, unmounts.
fn with_mounted(dir: &Path, o: &OverlayRoot, f: impl FnOnce(&Path)) {
    std::fs::create_dir_all(dir).unwrap();
    mount_overlay(dir, o).unwrap();
    f(dir);
    nix::mount::umount2(dir, MntFlags::empty()).unwrap();
}

/// A small template tree: /etc/hostname, /keep, /bin/sh-like file (setuid).
fn template_source(dir: &Path) {
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::write(dir.join("etc/hostname"), "template\n").unwrap();
    std::fs::write(dir.join("keep"), "kept\n").unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(dir.join("bin/su"), "su").unwrap();
    std::fs::set_permissions(dir.join("bin/su"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o751)).unwrap();
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn setup() -> Option<(tempfile::TempDir, Store)> {
    if !common::require_root() {
        return None;
    }
    if !domrun::template::overlay_available() {
        common::skip("needs overlayfs");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    template_source(&src);
    let store = Store::open(&tmp.path().join("state")).unwrap();
    store.import("base", &src, Progress::Quiet).unwrap();
    Some((tmp, store))
}

#[test]
fn two_domains_from_one_template_are_isolated_and_keep_their_writes() {
    let Some((tmp, store)) = setup() else {
        return;
    };
    let t = tmp.path();
    let template = store.rootfs("base").unwrap();
    let web1 = overlay(store.provision("base", "web1", false).unwrap());
    let web2 = overlay(store.provision("base", "web2", false).unwrap());
    assert_eq!(web1.lowers, vec![template.clone()]);
    let up1 = web1.upper.clone().unwrap();
    assert_eq!(up1.upper, t.join("state/layers/web1/upper"));
    assert_eq!(up1.work, t.join("state/layers/web1/work"));
    // O(1): provisioning copies nothing.
    assert_eq!(std::fs::read_dir(&up1.upper).unwrap().count(), 0);
    assert_eq!(
        store.layer_template("web1").unwrap().as_deref(),
        Some("base")
    );

    in_private_mount_ns(t, || {
        let (m1, m2) = (t.join("mnt1"), t.join("mnt2"));
        std::fs::create_dir_all(&m1).unwrap();
        std::fs::create_dir_all(&m2).unwrap();
        mount_overlay(&m1, &web1).unwrap();
        mount_overlay(&m2, &web2).unwrap();
        // The merged root looks like the template's root.
        let root_mode = std::fs::metadata(&m1).unwrap().mode() & 0o7777;
        assert_eq!(root_mode, 0o751);
        assert_eq!(
            std::fs::metadata(m1.join("bin/su")).unwrap().mode() & 0o7777,
            0o4755
        );

        std::fs::write(m1.join("a.txt"), "from web1").unwrap();
        std::fs::write(m1.join("etc/hostname"), "web1\n").unwrap();
        std::fs::write(m2.join("b.txt"), "from web2").unwrap();
        std::fs::remove_file(m2.join("keep")).unwrap();

        assert!(!m1.join("b.txt").exists(), "web1 sees web2's file");
        assert!(!m2.join("a.txt").exists(), "web2 sees web1's file");
        assert_eq!(read(m2.join("etc/hostname")), "template\n");
        assert_eq!(read(m1.join("keep")), "kept\n");
        assert!(!m2.join("keep").exists());

        nix::mount::umount2(&m1, MntFlags::empty()).unwrap();
        nix::mount::umount2(&m2, MntFlags::empty()).unwrap();
    });
    // The template saw nothing.
    assert!(!template.join("a.txt").exists() && !template.join("b.txt").exists());
    assert_eq!(read(template.join("etc/hostname")), "template\n");
    assert_eq!(read(template.join("keep")), "kept\n");

    // Restart: the same layer again, with web1's writes.
    let again = overlay(store.provision("base", "web1", false).unwrap());
    assert_eq!(again, web1);
    in_private_mount_ns(t, || {
        with_mounted(&t.join("mnt1"), &again, |m| {
            assert_eq!(read(m.join("a.txt")), "from web1");
            assert_eq!(read(m.join("etc/hostname")), "web1\n");
            assert!(!m.join("b.txt").exists());
        });
    });

    // The template cannot go while domains use it; the caller names them.
    let err = store
        .remove("base", &["web1".into(), "web2".into()])
        .unwrap_err();
    assert!(matches!(err, TemplateError::InUse { .. }));
    assert!(err.to_string().contains("web1, web2"), "{err}");

    // undefine --remove-all-storage: the layer goes, a new one starts clean.
    assert!(store.remove_layer("web1").unwrap());
    assert!(!t.join("state/layers/web1").exists());
    assert!(!store.remove_layer("web1").unwrap());
    let fresh = overlay(store.provision("base", "web1", false).unwrap());
    in_private_mount_ns(t, || {
        with_mounted(&t.join("mnt1"), &fresh, |m| {
            assert!(!m.join("a.txt").exists());
            assert_eq!(read(m.join("etc/hostname")), "template\n");
        });
    });
    common::assert_no_leaks_under(t);
}

#[test]
fn readonly_roots_have_no_upper_layer_and_refuse_writes() {
    let Some((tmp, store)) = setup() else {
        return;
    };
    let t = tmp.path();
    let ro = overlay(store.provision("base", "ro", true).unwrap());
    assert!(ro.upper.is_none());
    assert_eq!(ro.lowers[0], store.rootfs("base").unwrap());
    assert!(
        !t.join("state/layers/ro").exists(),
        "no layer for a read-only root"
    );
    in_private_mount_ns(t, || {
        with_mounted(&t.join("mnt"), &ro, |m| {
            assert_eq!(read(m.join("keep")), "kept\n");
            let err = std::fs::write(m.join("new"), "x").unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EROFS));
            // Not even a remount makes it writable: there is no upper layer.
            let remount = nix::mount::mount(
                None::<&str>,
                m,
                None::<&str>,
                MsFlags::MS_REMOUNT,
                None::<&str>,
            );
            assert!(remount.is_err() || std::fs::write(m.join("new"), "x").is_err());
        });
    });
    common::assert_no_leaks_under(t);
}

#[test]
fn without_overlayfs_the_domain_gets_a_copy() {
    if !common::require_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    template_source(&src);
    let store = Store::open(&tmp.path().join("state"))
        .unwrap()
        .with_overlay(false);
    store.import("base", &src, Progress::Quiet).unwrap();
    let template = store.rootfs("base").unwrap();

    let Provisioned::Directory(copy) = store.provision("base", "web1", false).unwrap() else {
        panic!("expected a directory");
    };
    assert_eq!(copy, tmp.path().join("state/layers/web1/rootfs"));
    assert_eq!(read(copy.join("etc/hostname")), "template\n");
    assert_eq!(
        std::fs::metadata(copy.join("bin/su")).unwrap().mode() & 0o7777,
        0o4755
    );
    assert_eq!(std::fs::metadata(&copy).unwrap().mode() & 0o7777, 0o751);
    std::fs::write(copy.join("etc/hostname"), "web1\n").unwrap();
    assert_eq!(read(template.join("etc/hostname")), "template\n");

    // Restart keeps the copy; a read-only root is the template itself.
    assert_eq!(
        store.provision("base", "web1", false).unwrap(),
        Provisioned::Directory(copy.clone())
    );
    assert_eq!(read(copy.join("etc/hostname")), "web1\n");
    assert_eq!(
        store.provision("base", "web2", true).unwrap(),
        Provisioned::Directory(template)
    );
    // Once copied, the copy stays the domain's root even where overlayfs
    // becomes available.
    let with = store.clone().with_overlay(true);
    assert_eq!(
        with.provision("base", "web1", false).unwrap(),
        Provisioned::Directory(copy)
    );
    assert!(store.remove_layer("web1").unwrap());
}

#[test]
fn a_layer_belongs_to_one_template() {
    let Some((tmp, store)) = setup() else {
        return;
    };
    let src = tmp.path().join("src");
    store.import("other", &src, Progress::Quiet).unwrap();
    store.provision("base", "web", false).unwrap();
    let err = store.provision("other", "web", false).unwrap_err();
    assert!(
        matches!(err, TemplateError::LayerTemplateMismatch { .. }),
        "{err:?}"
    );
    // An overlay layer on a host that lost overlayfs is an error, not a
    // silent empty copy.
    let err = store
        .clone()
        .with_overlay(false)
        .provision("base", "web", false)
        .unwrap_err();
    assert!(
        matches!(err, TemplateError::OverlayUnavailable { .. }),
        "{err:?}"
    );
}

#[test]
fn domain_and_template_names_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("state")).unwrap();
    for d in ["../x", "/etc", "", ".tmp-x"] {
        let err = store.remove_layer(d).unwrap_err();
        assert!(
            matches!(err, TemplateError::InvalidDomainName { .. }),
            "{d:?}: {err:?}"
        );
    }
    let err = store.provision("missing", "web", false).unwrap_err();
    assert!(matches!(err, TemplateError::NotFound { .. }), "{err:?}");
    assert!(!tmp.path().join("state/layers/web").exists());
}
