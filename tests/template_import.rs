//! Template import: every tarball format and a directory, with ownership,
//! modes, xattrs, hard links, symlinks, device nodes and setuid kept; hostile
//! tarballs refused with nothing written outside; the store's own rules
//! (names, duplicates, removal while used, interrupted imports).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use domrun::template::{Progress, SourceKind, Store, TemplateError};

/// A source tree with one of everything an import must keep.
fn make_source(dir: &Path) {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    std::fs::create_dir_all(dir.join("dir/sub")).unwrap();
    std::fs::create_dir_all(dir.join("dev")).unwrap();
    std::fs::write(dir.join("file"), "hello\n").unwrap();
    std::os::unix::fs::chown(dir.join("file"), Some(1234), Some(5678)).unwrap();
    std::fs::write(dir.join("setuid"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(dir.join("setuid"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::write(dir.join("setgid"), "x").unwrap();
    std::os::unix::fs::chown(dir.join("setgid"), Some(0), Some(42)).unwrap();
    std::fs::set_permissions(dir.join("setgid"), std::fs::Permissions::from_mode(0o2711)).unwrap();
    std::fs::hard_link(dir.join("file"), dir.join("dir/hardlink")).unwrap();
    std::os::unix::fs::symlink("../file", dir.join("dir/symlink")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("abs-symlink")).unwrap();
    mknod(
        &dir.join("dev/null"),
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o666),
        makedev(1, 3),
    )
    .unwrap();
    mknod(
        &dir.join("dev/loop9"),
        SFlag::S_IFBLK,
        Mode::from_bits_truncate(0o660),
        makedev(7, 9),
    )
    .unwrap();
    std::os::unix::fs::chown(dir.join("dev/loop9"), Some(0), Some(6)).unwrap();
    nix::unistd::mkfifo(&dir.join("fifo"), Mode::from_bits_truncate(0o640)).unwrap();
    std::fs::write(dir.join("xattr-file"), "x").unwrap();
    xattr::set(dir.join("xattr-file"), "user.domrun", b"kept").unwrap();
    xattr::set(dir.join("xattr-file"), "trusted.domrun", b"also").unwrap();
    // A mostly-empty file: holes are written as holes.
    let f = std::fs::File::create(dir.join("dir/sub/sparse")).unwrap();
    f.set_len(8 << 20).unwrap();
    drop(f);
    std::fs::write(dir.join("dir/sub/deep"), "deep").unwrap();
    std::os::unix::fs::chown(dir.join("dir"), Some(42), Some(43)).unwrap();
    std::fs::set_permissions(dir.join("dir"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::set_permissions(dir.join("dir/sub"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Asserts that `dst` holds the same tree as `src`: types, modes, owners,
/// mtimes, contents, link targets, device numbers, xattrs, hard links.
fn assert_same_tree(src: &Path, dst: &Path) {
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let (s, d) = (src.join(&rel), dst.join(&rel));
        let sm = std::fs::symlink_metadata(&s).unwrap();
        let dm = std::fs::symlink_metadata(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        let what = rel.display();
        assert_eq!(sm.file_type(), dm.file_type(), "{what}: type");
        assert_eq!(
            sm.mode(),
            dm.mode(),
            "{what}: mode {:o} vs {:o}",
            sm.mode(),
            dm.mode()
        );
        assert_eq!((sm.uid(), sm.gid()), (dm.uid(), dm.gid()), "{what}: owner");
        if !sm.is_dir() {
            assert_eq!(sm.mtime(), dm.mtime(), "{what}: mtime");
        }
        let ft = sm.file_type();
        if ft.is_dir() {
            for e in std::fs::read_dir(&s).unwrap() {
                stack.push(rel.join(e.unwrap().file_name()));
            }
            let mut a: Vec<_> = std::fs::read_dir(&s)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            let mut b: Vec<_> = std::fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{what}: entries");
        } else if ft.is_file() {
            assert_eq!(
                std::fs::read(&s).unwrap(),
                std::fs::read(&d).unwrap(),
                "{what}: content"
            );
        } else if ft.is_symlink() {
            assert_eq!(
                std::fs::read_link(&s).unwrap(),
                std::fs::read_link(&d).unwrap(),
                "{what}"
            );
        } else if ft.is_char_device() || ft.is_block_device() {
            assert_eq!(sm.rdev(), dm.rdev(), "{what}: device number");
        }
        if !ft.is_symlink() {
            for name in ["user.domrun", "trusted.domrun"] {
                assert_eq!(
                    xattr::get(&s, name).unwrap(),
                    xattr::get(&d, name).unwrap(),
                    "{what}: {name}"
                );
            }
        }
    }
    let (f, h) = (dst.join("file"), dst.join("dir/hardlink"));
    assert_eq!(
        std::fs::metadata(f).unwrap().ino(),
        std::fs::metadata(h).unwrap().ino(),
        "hard link kept"
    );
    let sparse = std::fs::metadata(dst.join("dir/sub/sparse")).unwrap();
    assert!(
        sparse.blocks() * 512 < sparse.len() / 2,
        "holes kept as holes"
    );
}

use common::leaks::assert_store_empty;

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds `<tmp>/src`, tars it with GNU tar (xattrs included) and compresses
/// it with `compress` (None: plain tar); the file gets no telling extension.
fn tarball(tmp: &Path, compress: Option<&str>) -> (PathBuf, PathBuf) {
    let src = tmp.join("src");
    make_source(&src);
    let tar = tmp.join("plain.tar");
    run(Command::new("tar")
        .args([
            "--xattrs",
            "--xattrs-include=*",
            "--numeric-owner",
            "--sparse",
            "-cpf",
        ])
        .arg(&tar)
        .arg("-C")
        .arg(&src)
        .arg("."));
    let Some(tool) = compress else {
        return (src, tar);
    };
    let out = tmp.join("archive.bin");
    let bytes = Command::new(tool).arg("-c").arg(&tar).output().unwrap();
    assert!(bytes.status.success());
    std::fs::write(&out, bytes.stdout).unwrap();
    (src, out)
}

fn import_format(compress: Option<&str>, kind: SourceKind) {
    if !common::require_root() || !common::require_tool("tar") {
        return;
    }
    if let Some(tool) = compress
        && !common::require_tool(tool)
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (src, archive) = tarball(tmp.path(), compress);
    let store = Store::open(&tmp.path().join("state")).unwrap();
    let info = store.import("t1", &archive, Progress::Quiet).unwrap();
    assert_eq!(info.kind, kind);
    assert_eq!(info.name, "t1");
    assert_eq!(info.source, archive.to_string_lossy());
    let want = Command::new("sha256sum").arg(&archive).output().unwrap();
    assert_eq!(info.sha256, String::from_utf8_lossy(&want.stdout)[..64]);
    // file (6) + setuid (10) + setgid (1) + xattr-file (1) + deep (4) + sparse (8 MiB)
    assert_eq!(info.size_bytes, 6 + 10 + 1 + 1 + 4 + (8 << 20));
    assert_same_tree(&src, &store.rootfs("t1").unwrap());
    assert_eq!(store.info("t1").unwrap(), info);
    assert_eq!(store.list().unwrap(), vec![info]);
}

#[test]
fn import_plain_tar() {
    import_format(None, SourceKind::Tar);
}

#[test]
fn import_tar_gz() {
    import_format(Some("gzip"), SourceKind::TarGz);
}

#[test]
fn import_tar_zst() {
    import_format(Some("zstd"), SourceKind::TarZst);
}

#[test]
fn import_tar_xz() {
    import_format(Some("xz"), SourceKind::TarXz);
}

#[test]
fn import_directory() {
    if !common::require_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_source(&src);
    let store = Store::open(&tmp.path().join("state")).unwrap();
    let info = store.import("dir-copy", &src, Progress::Quiet).unwrap();
    assert_eq!(info.kind, SourceKind::Directory);
    assert_eq!(info.sha256.len(), 64);
    assert_same_tree(&src, &store.rootfs("dir-copy").unwrap());
    // The digest is of the tree, so the same tree gives the same digest.
    let again = store.import("dir-copy2", &src, Progress::Quiet).unwrap();
    assert_eq!(again.sha256, info.sha256);
}

/// A tarball whose entries are written byte for byte, `..` and all (the tar
/// crate's own setters refuse such names).
/// Name, type, link name, data.
type RawEntry<'a> = (&'a [u8], tar::EntryType, &'a [u8], &'a [u8]);

fn raw_tar(path: &Path, entries: &[RawEntry<'_>]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        h.set_entry_type(*kind);
        h.set_mode(if *kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(data.len() as u64);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap();
}

#[test]
fn hostile_tarballs_are_refused_with_the_entry_named() {
    if !common::require_root() {
        return;
    }
    use tar::EntryType::{Directory, Link, Regular, Symlink};
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret"), "untouched").unwrap();
    let abs = format!("{}/abs-evil", tmp.path().display());
    let out = outside.to_string_lossy().into_owned();
    let root = tmp.path().join("state");
    let secret_abs = format!("{out}/secret");

    let cases: Vec<(&str, Vec<RawEntry<'_>>, &str)> = vec![
        (
            "dotdot",
            vec![(b"../evil", Regular, b"", b"x")],
            "\"../evil\"",
        ),
        (
            "dotdot-deep",
            vec![(b"./a/../../evil", Regular, b"", b"x")],
            "\"./a/../../evil\"",
        ),
        (
            "absolute",
            vec![(abs.as_bytes(), Regular, b"", b"x")],
            "absolute",
        ),
        (
            "symlink-then-file",
            vec![
                (b"a", Symlink, out.as_bytes(), b""),
                (b"a/passwd", Regular, b"", b"x"),
            ],
            "\"a/passwd\"",
        ),
        (
            "symlink-then-dir",
            vec![
                (b"etc", Symlink, b"../../outside", b""),
                (b"etc/x/", Directory, b"", b""),
                (b"etc/x/y", Regular, b"", b"x"),
            ],
            "symbolic link \"etc\"",
        ),
        (
            "hardlink-out",
            vec![(b"h", Link, b"../outside/secret", b"")],
            "\"../outside/secret\"",
        ),
        (
            "hardlink-abs",
            vec![(b"h", Link, secret_abs.as_bytes(), b"")],
            "absolute",
        ),
        (
            "hardlink-via-symlink",
            vec![
                (b"s", Symlink, out.as_bytes(), b""),
                (b"h", Link, b"s/secret", b""),
            ],
            "symbolic link \"s\"",
        ),
    ];
    for (what, entries, needle) in &cases {
        let tarball = tmp.path().join(format!("{what}.tar"));
        raw_tar(&tarball, entries);
        let store = Store::open(&root).unwrap();
        let err = store
            .import("victim", &tarball, Progress::Quiet)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(needle), "{what}: {msg}");
        assert!(
            matches!(
                err,
                TemplateError::UnsafeEntry { .. }
                    | TemplateError::EntryThroughSymlink { .. }
                    | TemplateError::HardlinkTarget { .. }
            ),
            "{what}: {err:?}"
        );
        assert_store_empty(&root);
    }
    // Nothing was written outside.
    assert!(!tmp.path().join("evil").exists());
    assert!(!Path::new(&abs).exists());
    let mut names: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, vec![std::ffi::OsString::from("secret")]);
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "untouched"
    );
    assert_eq!(
        std::fs::metadata(outside.join("secret")).unwrap().nlink(),
        1
    );
}

#[test]
fn a_file_replacing_a_symlink_replaces_the_link_not_its_target() {
    if !common::require_root() {
        return;
    }
    use tar::EntryType::{Regular, Symlink};
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    std::fs::write(&target, "untouched").unwrap();
    let tarball = tmp.path().join("t.tar");
    let t = target.to_string_lossy().into_owned();
    raw_tar(
        &tarball,
        &[
            (b"a", Symlink, t.as_bytes(), b""),
            (b"a", Regular, b"", b"new"),
        ],
    );
    let store = Store::open(&tmp.path().join("state")).unwrap();
    store.import("t", &tarball, Progress::Quiet).unwrap();
    let a = store.rootfs("t").unwrap().join("a");
    assert!(std::fs::symlink_metadata(&a).unwrap().is_file());
    assert_eq!(std::fs::read_to_string(a).unwrap(), "new");
    assert_eq!(std::fs::read_to_string(target).unwrap(), "untouched");
}

#[test]
fn names_are_names_never_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let root = tmp.path().join("state");
    let store = Store::open(&root).unwrap();
    for bad in ["../x", "/etc", "..", ".empty", "a/b", ""] {
        let err = store.import(bad, &src, Progress::Quiet).unwrap_err();
        assert!(
            matches!(err, TemplateError::InvalidName { .. }),
            "{bad:?}: {err:?}"
        );
        assert!(store.info(bad).is_err());
        assert!(store.remove(bad, &[]).is_err());
        assert!(store.provision(bad, "web", false).is_err());
    }
    assert!(!tmp.path().join("x").exists());
    assert_store_empty(&root);
}

#[test]
fn unsupported_sources_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("state")).unwrap();
    let junk = tmp.path().join("junk.tar.gz");
    std::fs::write(&junk, "this is not an archive").unwrap();
    let err = store.import("t", &junk, Progress::Quiet).unwrap_err();
    assert!(
        matches!(err, TemplateError::UnsupportedSource { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("junk.tar.gz"), "{err}");
    let err = store
        .import("t", &tmp.path().join("missing"), Progress::Quiet)
        .unwrap_err();
    assert!(matches!(err, TemplateError::OpenSource { .. }), "{err:?}");
}

#[test]
fn a_truncated_archive_leaves_no_half_template() {
    if !common::require_root() || !common::require_tool("tar") || !common::require_tool("gzip") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (_, archive) = tarball(tmp.path(), Some("gzip"));
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    let root = tmp.path().join("state");
    let store = Store::open(&root).unwrap();
    let err = store.import("t", &archive, Progress::Quiet).unwrap_err();
    assert!(matches!(err, TemplateError::ReadArchive { .. }), "{err:?}");
    assert_store_empty(&root);
}

#[test]
fn stale_staging_directories_are_swept_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("state");
    Store::open(&root).unwrap();
    // A pid that is gone: a child we waited for.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = root.join(format!("templates/.tmp-half-{dead}"));
    std::fs::create_dir_all(stale.join("rootfs/etc")).unwrap();
    let stale_layer = root.join(format!("layers/.tmp-web-{dead}"));
    std::fs::create_dir_all(&stale_layer).unwrap();
    // One whose process lives (ours) stays: it may be an import in progress.
    let live = root.join(format!("templates/.tmp-busy-{}", std::process::id()));
    std::fs::create_dir_all(&live).unwrap();
    let store = Store::open(&root).unwrap();
    assert!(!stale.exists() && !stale_layer.exists());
    assert!(live.exists());
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn duplicates_and_removal() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("etc")).unwrap();
    std::fs::write(src.join("etc/hostname"), "t\n").unwrap();
    let root = tmp.path().join("state");
    let store = Store::open(&root).unwrap();
    store.import("t", &src, Progress::Quiet).unwrap();
    let err = store.import("t", &src, Progress::Quiet).unwrap_err();
    assert!(matches!(err, TemplateError::Exists { .. }), "{err:?}");

    let users = vec!["web1".to_string(), "web2".to_string()];
    let err = store.remove("t", &users).unwrap_err();
    assert!(matches!(err, TemplateError::InUse { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("web1") && msg.contains("web2"), "{msg}");
    assert!(store.rootfs("t").unwrap().join("etc/hostname").exists());

    store.remove("t", &[]).unwrap();
    assert!(matches!(
        store.info("t").unwrap_err(),
        TemplateError::NotFound { .. }
    ));
    assert!(matches!(
        store.remove("t", &[]).unwrap_err(),
        TemplateError::NotFound { .. }
    ));
    assert_store_empty(&root);
}

#[test]
fn importing_a_tree_that_holds_the_store_does_not_copy_the_store() {
    if !common::require_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("host");
    std::fs::create_dir_all(src.join("etc")).unwrap();
    std::fs::write(src.join("etc/hostname"), "host\n").unwrap();
    // The state root inside the tree being imported, as with `import host /`.
    let store = Store::open(&src.join("var/lib/domrun")).unwrap();
    store.import("host", &src, Progress::Quiet).unwrap();
    let rootfs = store.rootfs("host").unwrap();
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/hostname")).unwrap(),
        "host\n"
    );
    let templates = rootfs.join("var/lib/domrun/templates");
    assert!(templates.is_dir());
    assert_eq!(std::fs::read_dir(templates).unwrap().count(), 0);
}

const CHILD_ENV: &str = "DOMRUN_TEST_IMPORT_CHILD";

/// Not a test of its own: the child of `a_killed_import_leaves_no_half_template`,
/// which re-runs this binary with `CHILD_ENV=STATE_ROOT:TARBALL`.
#[test]
fn killed_import_child() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let spec = spec.to_string_lossy().into_owned();
    let (root, tarball) = spec.split_once(':').unwrap();
    let store = Store::open(Path::new(root)).unwrap();
    store
        .import("victim", Path::new(tarball), Progress::Quiet)
        .unwrap();
}

#[test]
fn a_killed_import_leaves_no_half_template() {
    if !common::require_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Many files, so the import is still running when it is killed.
    let tarball = tmp.path().join("big.tar");
    {
        let mut b = tar::Builder::new(std::fs::File::create(&tarball).unwrap());
        let data = vec![7u8; 64 * 1024];
        for i in 0..2000 {
            let mut h = tar::Header::new_gnu();
            h.set_path(format!("d/f{i}")).unwrap();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            h.set_cksum();
            b.append(&h, &data[..]).unwrap();
        }
        b.into_inner().unwrap();
    }
    let root = tmp.path().join("state");
    Store::open(&root).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "killed_import_child", "--test-threads=1"])
        .env(
            CHILD_ENV,
            format!("{}:{}", root.display(), tarball.display()),
        )
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let staging = root.join(format!("templates/.tmp-victim-{}/rootfs/d", child.id()));
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while !staging.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the import never started (run killed_import_child by hand to see why): {:?} {:?}",
            std::fs::read_dir(root.join("templates"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>(),
            child.try_wait()
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // Mid-import: kill -9, no chance to clean up.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    assert!(
        !root.join("templates/victim").exists(),
        "a half template is visible"
    );
    assert!(staging.exists(), "the import finished before it was killed");
    // The next open sweeps what the dead import left.
    let store = Store::open(&root).unwrap();
    assert_store_empty(&root);
    assert!(matches!(
        store.info("victim").unwrap_err(),
        TemplateError::NotFound { .. }
    ));
}
