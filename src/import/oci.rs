//! Container images → templates: an OCI image layout (`oci:DIR[:REF]`, as
//! `skopeo copy` or `umoci` write it) or a `docker save`/`podman save`
//! archive (`docker-archive:FILE.tar`).
//!
//! The layers are applied in order onto a staging tree by
//! `template::apply_layer` (whiteouts, opaque directories, the tarball
//! import's hostile-entry rules), every blob's sha256 checked first; the
//! tree becomes the template through `Store::import`. The image config
//! becomes a domain skeleton (`--print-xml`).

use super::ImportError;
use domrun::domain::{Chardev, Device, DomainType, FsSource, FsType};
use domrun::template::{Progress, Store, TemplateInfo};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// An OCI image layout directory, and the `ref.name` to take (else the
    /// only manifest).
    Layout {
        dir: PathBuf,
        reference: Option<String>,
    },
    /// A `docker save` / `podman save` tarball.
    DockerArchive(PathBuf),
}

impl ImageSource {
    /// `oci:DIR[:REF]` or `docker-archive:FILE`; `None` for a plain path
    /// (a directory or tarball template source).
    pub fn parse(s: &str) -> Option<ImageSource> {
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, reference) = match rest.rsplit_once(':') {
                Some((d, r)) if !r.contains('/') => (d, Some(r.to_owned())),
                _ => (rest, None),
            };
            return Some(ImageSource::Layout {
                dir: dir.into(),
                reference,
            });
        }
        s.strip_prefix("docker-archive:")
            .map(|f| ImageSource::DockerArchive(f.into()))
    }
}

/// The image config's runtime part (`config` of the image JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub stop_signal: Option<String>,
}

/// What is wrong with an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: not JSON: {source}")]
    NotJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}: not an OCI image layout (oci-layout has no imageLayoutVersion)")]
    NotLayout(PathBuf),
    #[error("digest {0:?}: only sha256:HEX is accepted")]
    DigestForm(String),
    #[error("a descriptor without a digest")]
    NoDigest,
    #[error("{what} {path} does not match its digest {digest} (its sha256 is {got})")]
    DigestMismatch {
        what: &'static str,
        path: PathBuf,
        digest: String,
        got: String,
    },
    #[error("index.json has no manifests")]
    NoManifests,
    #[error("no manifest is named {0:?} in index.json")]
    NoManifestNamed(String),
    #[error("index.json has several manifests and none for this host: name one, oci:DIR:REF")]
    SeveralManifests,
    #[error("the manifest has no {0}")]
    ManifestLacks(&'static str),
    #[error("{archive}: the archive has no member {member}")]
    MissingMember { archive: PathBuf, member: PathBuf },
    #[error("bad member name {0:?} (absolute or with ..)")]
    BadMember(String),
    #[error("the config lists {ids} layer digests for {layers} layers")]
    LayerCount { ids: usize, layers: usize },
    #[error("the image has neither Entrypoint nor Cmd: no init to run")]
    NoCommand,
    #[error("the command {0:?} is on no directory of the image's PATH")]
    NotOnPath(String),
}

fn read_json(path: &Path) -> Result<Value, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| {
        ImageError::NotJson {
            path: path.to_owned(),
            source,
        }
        .into()
    })
}

fn sha256_of(path: &Path, decompress: bool) -> Result<String, ImportError> {
    let read = |source| ImportError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let mut reader: Box<dyn Read> = Box::new(std::io::BufReader::new(file));
    if decompress {
        let mut head = [0u8; 2];
        let gz = std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok()
            && head == [0x1f, 0x8b];
        if gz {
            reader = Box::new(flate2::read::MultiGzDecoder::new(reader));
        }
    }
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(read)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `sha256:HEX` → HEX (only sha256 is accepted; HEX must be 64 hex digits,
/// so it can name a file).
fn sha256_hex(digest: &str) -> Result<&str, ImportError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| ImageError::DigestForm(digest.to_owned()))?;
    Ok(hex)
}

/// A layout blob, its digest checked.
fn blob(dir: &Path, descriptor: &Value) -> Result<PathBuf, ImportError> {
    let digest = descriptor["digest"].as_str().ok_or(ImageError::NoDigest)?;
    let hex = sha256_hex(digest)?;
    let path = dir.join("blobs/sha256").join(hex);
    let got = sha256_of(&path, false)?;
    if got != hex {
        return Err(ImageError::DigestMismatch {
            what: "blob",
            path,
            digest: digest.to_owned(),
            got,
        }
        .into());
    }
    Ok(path)
}

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// The manifest `reference` names (or the only one), descending through a
/// nested index to this host's platform.
fn pick_manifest(dir: &Path, index: &Value, reference: Option<&str>) -> Result<Value, ImportError> {
    let manifests = index["manifests"]
        .as_array()
        .ok_or(ImageError::NoManifests)?;
    let by_ref =
        |m: &&Value| m["annotations"]["org.opencontainers.image.ref.name"].as_str() == reference;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let by_platform = |m: &&Value| m["platform"]["architecture"].as_str() == Some(arch);
    let chosen = match reference {
        Some(r) => manifests
            .iter()
            .find(by_ref)
            .ok_or_else(|| ImageError::NoManifestNamed(r.to_owned()))?,
        None if manifests.len() == 1 => &manifests[0],
        None => manifests
            .iter()
            .find(by_platform)
            .ok_or(ImageError::SeveralManifests)?,
    };
    let value = read_json(&blob(dir, chosen)?)?;
    let media = value["mediaType"]
        .as_str()
        .or(chosen["mediaType"].as_str())
        .unwrap_or("");
    if INDEX_TYPES.contains(&media) {
        return pick_manifest(dir, &value, None);
    }
    Ok(value)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn image_config(config: &Value) -> ImageConfig {
    let c = &config["config"];
    let text = |k: &str| c[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    ImageConfig {
        entrypoint: strings(&c["Entrypoint"]),
        cmd: strings(&c["Cmd"]),
        env: strings(&c["Env"])
            .into_iter()
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect(),
        working_dir: text("WorkingDir"),
        user: text("User"),
        stop_signal: text("StopSignal"),
    }
}

/// Removes the staging tree however the import ends.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        // Best effort: a leftover is under the state root, named for its pid.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Imports the image as template `name`; returns the template and the
/// image's config.
pub fn import(
    store: &Store,
    state_dir: &Path,
    name: &str,
    source: &ImageSource,
    progress: Progress,
) -> Result<(TemplateInfo, ImageConfig), ImportError> {
    domrun::template::validate_name(name).map_err(ImportError::Template)?;
    let staging = Staging(state_dir.join(format!(".image-{name}-{}", std::process::id())));
    let rootfs = staging.0.join("rootfs");
    // 0700, as the store's own directories: the tree holds setuid files.
    std::fs::create_dir_all(&rootfs)
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&staging.0, std::fs::Permissions::from_mode(0o700))
        })
        .map_err(|source| ImportError::Read {
            path: rootfs.clone(),
            source,
        })?;
    let (layers, config) = match source {
        ImageSource::Layout { dir, reference } => layout_layers(dir, reference.as_deref())?,
        ImageSource::DockerArchive(file) => archive_layers(file, &staging.0)?,
    };
    for layer in &layers {
        domrun::template::apply_layer(&rootfs, layer, progress).map_err(ImportError::Template)?;
    }
    let info = store
        .import(name, &rootfs, progress)
        .map_err(ImportError::Template)?;
    Ok((info, image_config(&config)))
}

fn layout_layers(
    dir: &Path,
    reference: Option<&str>,
) -> Result<(Vec<PathBuf>, Value), ImportError> {
    let layout = read_json(&dir.join("oci-layout"))?;
    if layout["imageLayoutVersion"].as_str().is_none() {
        return Err(ImageError::NotLayout(dir.to_owned()).into());
    }
    let index = read_json(&dir.join("index.json"))?;
    let manifest = pick_manifest(dir, &index, reference)?;
    let config = read_json(&blob(dir, &manifest["config"])?)?;
    let layers = manifest["layers"]
        .as_array()
        .ok_or(ImageError::ManifestLacks("layers"))?
        .iter()
        .map(|l| blob(dir, l))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((layers, config))
}

/// A member name of the archive as a relative path of normal components.
fn member(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    p.components()
        .all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
        .then(|| p.components().collect())
}

/// Copies the members `wanted` of the archive into `into` (flat, by
/// index); in-archive symlinks (`docker save` links repeated layers) are
/// followed once.
fn extract(file: &Path, wanted: &[PathBuf], into: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let read = |source| ImportError::Read {
        path: file.to_owned(),
        source,
    };
    let mut out: Vec<Option<PathBuf>> = vec![None; wanted.len()];
    let mut links: Vec<(usize, PathBuf)> = Vec::new();
    let f = std::fs::File::open(file).map_err(read)?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(f));
    for entry in archive.entries().map_err(read)? {
        let mut entry = entry.map_err(read)?;
        let Some(path) = member(&entry.path().map_err(read)?.to_string_lossy()) else {
            continue;
        };
        for (i, w) in wanted.iter().enumerate() {
            if *w != path {
                continue;
            }
            if entry.header().entry_type().is_symlink() {
                let target = entry.link_name().map_err(read)?.unwrap_or_default();
                let resolved = path.parent().unwrap_or(Path::new("")).join(target);
                links.push((i, resolved));
            } else {
                let dest = into.join(format!("member-{i}"));
                let mut w = std::fs::File::create(&dest).map_err(read)?;
                std::io::copy(&mut entry, &mut w).map_err(read)?;
                out[i] = Some(dest);
            }
        }
    }
    for (i, target) in links {
        let clean: PathBuf = target.components().fold(PathBuf::new(), |mut acc, c| {
            match c {
                std::path::Component::ParentDir => {
                    acc.pop();
                }
                std::path::Component::Normal(n) => acc.push(n),
                _ => {}
            }
            acc
        });
        out[i] = wanted
            .iter()
            .position(|w| *w == clean)
            .and_then(|j| out[j].clone());
    }
    out.into_iter()
        .zip(wanted)
        .map(|(o, w)| {
            o.ok_or_else(|| {
                ImageError::MissingMember {
                    archive: file.to_owned(),
                    member: w.clone(),
                }
                .into()
            })
        })
        .collect()
}

fn archive_layers(file: &Path, work: &Path) -> Result<(Vec<PathBuf>, Value), ImportError> {
    let manifest_path = extract(file, &[PathBuf::from("manifest.json")], work)?;
    let manifest = read_json(&manifest_path[0])?;
    let image = manifest
        .as_array()
        .and_then(|a| a.first())
        .ok_or(ImageError::ManifestLacks("image"))?;
    let config_name = image["Config"]
        .as_str()
        .ok_or(ImageError::ManifestLacks("Config"))?;
    let mut wanted =
        vec![member(config_name).ok_or_else(|| ImageError::BadMember(config_name.to_owned()))?];
    for l in strings(&image["Layers"]) {
        wanted.push(member(&l).ok_or_else(|| ImageError::BadMember(l.clone()))?);
    }
    let mut files = extract(file, &wanted, work)?;
    let layers = files.split_off(1);
    let config_file = &files[0];
    // The config is named for its digest (HEX.json or blobs/sha256/HEX).
    let stem = Path::new(config_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let got = sha256_of(config_file, false)?;
    if stem.len() == 64 && stem != got {
        return Err(ImageError::DigestMismatch {
            what: "config",
            path: config_name.into(),
            digest: format!("sha256:{stem}"),
            got,
        }
        .into());
    }
    let config = read_json(config_file)?;
    // Each layer against the config's diff_ids (sha256 of the uncompressed tar).
    let diff_ids = strings(&config["rootfs"]["diff_ids"]);
    if diff_ids.len() != layers.len() {
        return Err(ImageError::LayerCount {
            ids: diff_ids.len(),
            layers: layers.len(),
        }
        .into());
    }
    for ((layer, id), name) in layers.iter().zip(&diff_ids).zip(&wanted[1..]) {
        let hex = sha256_hex(id)?;
        let got = sha256_of(layer, true)?;
        if got != hex {
            return Err(ImageError::DigestMismatch {
                what: "layer",
                path: name.clone(),
                digest: id.clone(),
                got,
            }
            .into());
        }
    }
    Ok((layers, config))
}

/// `KEY=VALUE`'s PATH, or the default one images assume.
fn search_path(cfg: &ImageConfig) -> Vec<String> {
    let path = cfg.env.iter().find(|(k, _)| k == "PATH").map_or(
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        |(_, v)| v.as_str(),
    );
    path.split(':').map(str::to_owned).collect()
}

/// The domain skeleton for template `name` made from an image: Entrypoint
/// and Cmd → init and initargs (a bare command found on the image's PATH
/// inside `rootfs`), Env → initenv, WorkingDir → initdir, User →
/// inituser/initgroup; StopSignal goes into `<metadata>` (see docs/import.md).
pub fn skeleton(
    name: &str,
    cfg: &ImageConfig,
    rootfs: &Path,
) -> Result<domrun::domain::Domain, ImportError> {
    let argv: Vec<String> = cfg.entrypoint.iter().chain(&cfg.cmd).cloned().collect();
    let Some((first, args)) = argv.split_first() else {
        return Err(ImageError::NoCommand.into());
    };
    let init = if first.starts_with('/') {
        first.clone()
    } else {
        search_path(cfg)
            .iter()
            .map(|dir| format!("{}/{first}", dir.trim_end_matches('/')))
            .find(|p| std::fs::symlink_metadata(rootfs.join(p.trim_start_matches('/'))).is_ok())
            .ok_or_else(|| ImageError::NotOnPath(first.clone()))?
    };
    let mut d = super::skeleton(DomainType::Lxc, name, &init);
    d.os.initargs = args.to_vec();
    d.os.initenv = cfg.env.clone();
    d.os.initdir = cfg.working_dir.clone();
    if let Some(user) = &cfg.user {
        // domrun sets init's identity as a pair: a lone user takes its own
        // name (or number) as the group, as images almost always have it.
        let (u, g) = user.split_once(':').unwrap_or((user, user));
        d.os.inituser = Some(u.to_owned());
        d.os.initgroup = Some(g.to_owned());
    }
    d.features = Some(domrun::domain::Features {
        privnet: true,
        ..Default::default()
    });
    if let Some(sig) = &cfg.stop_signal {
        d.metadata = Some(stop_signal_metadata(sig));
    }
    d.devices
        .list
        .push(Device::Filesystem(super::text::filesystem(
            FsType::Template,
            FsSource::Template(name.to_owned()),
            "/",
            false,
        )));
    d.devices.list.push(Device::Console(Chardev::pty()));
    super::finish(d, true)
}

/// The namespace of what domrun's importers keep in `<metadata>`.
pub const IMPORT_NS: &str = "https://domrun.invalid/schemas/import/1";

fn stop_signal_metadata(signal: &str) -> domrun::xml::Element {
    use domrun::xml::{Attr, Element, Node, Pos};
    let stop = Element {
        name: "domrun:stopsignal".into(),
        attrs: Box::default(),
        children: Box::new([Node::Text(signal.to_owned())]),
        pos: Pos::default(),
    };
    let image = Element {
        name: "domrun:image".into(),
        attrs: Box::new([Attr {
            name: "xmlns:domrun".into(),
            value: IMPORT_NS.to_owned(),
            pos: Pos::default(),
        }]),
        children: Box::new([Node::Element(stop)]),
        pos: Pos::default(),
    };
    Element {
        name: "metadata".into(),
        attrs: Box::default(),
        children: Box::new([Node::Element(image)]),
        pos: Pos::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(
            ImageSource::parse("oci:/img:latest"),
            Some(ImageSource::Layout {
                dir: "/img".into(),
                reference: Some("latest".into())
            })
        );
        assert_eq!(
            ImageSource::parse("oci:/img"),
            Some(ImageSource::Layout {
                dir: "/img".into(),
                reference: None
            })
        );
        assert_eq!(
            ImageSource::parse("docker-archive:/a.tar"),
            Some(ImageSource::DockerArchive("/a.tar".into()))
        );
        assert_eq!(ImageSource::parse("/srv/t.tar.gz"), None);
    }
}
