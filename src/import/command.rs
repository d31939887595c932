//! `domrun domxml-from-native lxc-tools|openvz FILE [--define] [--libvirt-exact]`.

use super::{Conversion, ImportError, lxc, oci, openvz};
use crate::cli::FromNativeFormat;
use domrun::lifecycle;
use domrun::state::Root;
use std::path::Path;
use std::process::ExitCode;

/// Converts `file`; prints the XML (or defines the domain) and, on stderr,
/// what was not imported.
pub fn from_native(
    root: &Root,
    format: FromNativeFormat,
    file: &Path,
    define: bool,
    libvirt_exact: bool,
) -> ExitCode {
    let shown = file.display();
    let converted = match format {
        FromNativeFormat::XenXl => {
            eprintln!("domrun: --define and --libvirt-exact are for lxc-tools and openvz");
            return ExitCode::FAILURE;
        }
        FromNativeFormat::Openvz if libvirt_exact => {
            eprintln!("domrun: --libvirt-exact is for lxc-tools (libvirt has no OpenVZ importer)");
            return ExitCode::FAILURE;
        }
        FromNativeFormat::LxcTools => read(file).and_then(|text| {
            let opts = lxc::Options { libvirt_exact };
            lxc::convert(&text, opts, &|p| std::fs::read_to_string(p))
        }),
        FromNativeFormat::Openvz => read(file).and_then(|text| openvz::convert(&text, file)),
    };
    let Conversion {
        domain,
        notes,
        autostart,
    } = match converted {
        Ok(c) => c,
        Err(e) => {
            eprintln!("domrun: {shown}: {e}");
            return ExitCode::FAILURE;
        }
    };
    for n in &notes {
        eprintln!("domrun: warning: {shown}: {n}");
    }
    if !define {
        // `format`, not `format_inactive`: an OpenVZ VEID is the domain's id,
        // which `define` keeps beside the definition.
        print!("{}", domain.format());
        if autostart {
            eprintln!(
                "domrun: note: {shown} starts the container at boot: `--define` defines it \
                 and marks it (or run `domrun autostart {}` after defining it)",
                domain.name
            );
        }
        return ExitCode::SUCCESS;
    }
    let name = domain.name.clone();
    if let Err(e) = lifecycle::define_domain(root, domain) {
        eprintln!("domrun: {shown}: {e}");
        return ExitCode::FAILURE;
    }
    println!("Domain '{name}' defined from {shown}");
    if autostart {
        if let Err(e) = lifecycle::autostart(root, &name, true) {
            eprintln!("domrun: {name}: {e}");
            return ExitCode::FAILURE;
        }
        println!("Domain '{name}' marked as autostarted");
    }
    ExitCode::SUCCESS
}

fn read(file: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(file).map_err(|source| ImportError::Read {
        path: file.to_owned(),
        source,
    })
}

/// `domrun template import NAME oci:DIR[:REF]|docker-archive:FILE
/// [--print-xml]`; `None` when `source` is not an image (the store's own
/// directory and tarball import takes it).
pub fn template_import(
    root: &Root,
    store: &domrun::template::Store,
    name: &str,
    source: &Path,
    print_xml: bool,
) -> Option<ExitCode> {
    let Some(image) = source.to_str().and_then(oci::ImageSource::parse) else {
        if print_xml {
            eprintln!("domrun: --print-xml is for images (oci:DIR, docker-archive:FILE)");
            return Some(ExitCode::FAILURE);
        }
        return None;
    };
    let progress = domrun::template::Progress::Auto;
    let done = oci::import(store, &root.dir, name, &image, progress).and_then(|(info, cfg)| {
        let xml = if print_xml {
            let rootfs = store.rootfs(name).map_err(ImportError::Template)?;
            Some(oci::skeleton(name, &cfg, &rootfs)?.format_inactive())
        } else {
            None
        };
        Ok((info, xml))
    });
    Some(match done {
        Ok((info, xml)) => {
            let line = format!(
                "Template '{}' imported from {} ({} bytes)",
                info.name,
                source.display(),
                info.size_bytes
            );
            match xml {
                Some(xml) => {
                    eprintln!("{line}");
                    print!("{xml}");
                }
                None => println!("{line}"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("domrun: {}: {e}", source.display());
            ExitCode::FAILURE
        }
    })
}
