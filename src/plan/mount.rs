//! `<filesystem>` → plan: the one translation of a filesystem element, used
//! by a start ([`super::plan_from_domain`]) and by hot-plug alike, so a live
//! attach mounts exactly what a restart would.

use std::path::{Path, PathBuf};

use super::from_domain::{FromDomainError, TemplateProvider};
use super::{MountSource, MountStep, RootSource};
use crate::domain::{Filesystem, FsDriverType, FsSource, FsType, ImageFormat};

/// Whether `target` is the container's `/`.
pub(crate) fn is_root_target(target: &str) -> bool {
    Path::new(target).components().count() == 1 && target.starts_with('/')
}

/// The mount step for `fs`, the filesystem at element path `path`
/// (`/domain/devices/filesystem[2]`), mounted below the root. A filesystem
/// on `/` is the root instead: see [`root_source`].
pub fn mount_step(fs: &Filesystem, path: &str) -> Result<MountStep, FromDomainError> {
    let target = fs
        .target
        .as_deref()
        .ok_or_else(|| FromDomainError::Invalid {
            path: path.to_owned(),
            message: "missing <target dir='…'/>: where the filesystem appears in the container"
                .into(),
        })?;
    let source = match (fs.kind, &fs.source) {
        (FsType::Mount, FsSource::Dir(dir)) => MountSource::HostBind { path: dir.into() },
        (FsType::Bind, FsSource::Dir(dir)) => MountSource::ContainerBind { path: dir.into() },
        (FsType::Ram, FsSource::Ram { usage_bytes }) => MountSource::Tmpfs {
            size_bytes: Some(*usage_bytes),
        },
        (FsType::Block, FsSource::Dev(dev)) => MountSource::Block {
            device: dev.into(),
            fs: None,
        },
        (FsType::File, FsSource::File(file)) => image_source(fs, file.into()),
        (FsType::Template | FsType::Volume, _) => {
            return Err(FromDomainError::Unsupported {
                path: path.to_owned(),
                what: format!("a {} filesystem", fs.kind),
                hint: "",
            });
        }
        (kind, _) => {
            // Validation refuses this; a hot-plugged fragment may still have it.
            return Err(FromDomainError::Invalid {
                path: format!("{path}/source"),
                message: format!(
                    "a {kind} filesystem needs its <source> form (see domrun validate)"
                ),
            });
        }
    };
    Ok(MountStep {
        source,
        target: PathBuf::from(target),
        readonly: fs.readonly,
    })
}

/// An image file: on a loop device when raw, else exported first.
fn image_source(fs: &Filesystem, file: PathBuf) -> MountSource {
    let driver = fs.driver.as_ref();
    let nbd = driver.and_then(|d| d.kind) == Some(FsDriverType::Nbd);
    let format = driver.and_then(|d| d.format).unwrap_or(ImageFormat::Raw);
    if nbd || format != ImageFormat::Raw {
        // libvirt uses qemu-nbd; without the nbd module a FUSE export of
        // qemu-storage-daemon does the same job.
        MountSource::ExportedImage { file, format }
    } else {
        MountSource::Image { file, fs: None }
    }
}

/// The root a filesystem on `/` gives domain `domain`: a host directory
/// (the host's own `/` is the shared-host case: a private copy of the host's
/// mount table, with nothing to pivot into), or a provisioned template.
pub fn root_source(
    fs: &Filesystem,
    path: &str,
    domain: &str,
    templates: Option<&dyn TemplateProvider>,
) -> Result<RootSource, FromDomainError> {
    match (fs.kind, &fs.source) {
        (FsType::Mount | FsType::Bind, FsSource::Dir(dir)) => Ok(if is_root_target(dir) {
            RootSource::SharedHost
        } else {
            RootSource::Directory(PathBuf::from(dir))
        }),
        (FsType::Template, FsSource::Template(name)) => {
            let provider = templates.ok_or_else(|| FromDomainError::NoTemplateStore {
                path: path.to_owned(),
                template: name.clone(),
            })?;
            provider
                .provision(name, domain, fs.readonly)
                .map_err(|source| FromDomainError::Template {
                    path: path.to_owned(),
                    template: name.clone(),
                    source: Box::new(source),
                })
        }
        _ => Err(FromDomainError::Unsupported {
            path: path.to_owned(),
            what: format!("a {} filesystem as the root", fs.kind),
            hint: " (mount it on the host and use type='mount' with source dir)",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Device, Domain};

    fn filesystem(xml: &str) -> Filesystem {
        let doc = format!(
            "<domain type='lxc'><name>m</name><os><type>exe</type><init>/bin/sh</init></os>
             <devices>{xml}</devices></domain>"
        );
        let d = Domain::parse(doc.as_bytes()).unwrap();
        match d.devices.list.into_iter().next() {
            Some(Device::Filesystem(fs)) => fs,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_filesystem_type_becomes_its_mount_source() {
        let cases: [(&str, MountSource); 6] = [
            (
                "<filesystem type='mount'><source dir='/srv/a'/><target dir='/a'/></filesystem>",
                MountSource::HostBind {
                    path: "/srv/a".into(),
                },
            ),
            (
                "<filesystem type='bind'><source dir='/a'/><target dir='/b'/></filesystem>",
                MountSource::ContainerBind { path: "/a".into() },
            ),
            (
                "<filesystem type='ram'><source usage='1' units='MiB'/><target dir='/t'/></filesystem>",
                MountSource::Tmpfs {
                    size_bytes: Some(1 << 20),
                },
            ),
            (
                "<filesystem type='block'><source dev='/dev/sdb1'/><target dir='/d'/></filesystem>",
                MountSource::Block {
                    device: "/dev/sdb1".into(),
                    fs: None,
                },
            ),
            (
                "<filesystem type='file'><driver type='loop' format='raw'/><source file='/i.img'/><target dir='/i'/></filesystem>",
                MountSource::Image {
                    file: "/i.img".into(),
                    fs: None,
                },
            ),
            (
                "<filesystem type='file'><driver type='nbd' format='qcow2'/><source file='/q.qcow2'/><target dir='/q'/></filesystem>",
                MountSource::ExportedImage {
                    file: "/q.qcow2".into(),
                    format: ImageFormat::Qcow2,
                },
            ),
        ];
        for (xml, want) in cases {
            let step = mount_step(&filesystem(xml), "/fs").unwrap();
            assert_eq!(step.source, want, "{xml}");
        }
    }

    #[test]
    fn refusals_name_the_element() {
        for (xml, says) in [
            (
                "<filesystem type='volume'><source pool='p' volume='v'/><target dir='/v'/></filesystem>",
                "/fs: a volume filesystem is not supported yet",
            ),
            (
                "<filesystem type='mount'><source file='/x'/><target dir='/v'/></filesystem>",
                "/fs/source: a mount filesystem needs its <source> form",
            ),
            (
                "<filesystem type='mount'><source dir='/x'/></filesystem>",
                "/fs: missing <target dir='…'/>",
            ),
        ] {
            let e = mount_step(&filesystem(xml), "/fs").unwrap_err().to_string();
            assert!(e.starts_with(says), "{e}");
        }
    }

    #[test]
    fn the_hosts_own_root_is_the_shared_host() {
        let fs =
            filesystem("<filesystem type='mount'><source dir='/'/><target dir='/'/></filesystem>");
        assert_eq!(
            root_source(&fs, "/fs", "m", None).unwrap(),
            RootSource::SharedHost
        );
        let fs = filesystem(
            "<filesystem type='template'><source name='t'/><target dir='/'/></filesystem>",
        );
        let e = root_source(&fs, "/fs", "m", None).unwrap_err().to_string();
        assert_eq!(e, "/fs: template 't': no template store is available here");
    }
}
