//! The vocabulary check: every element and attribute name of a document is
//! one libvirt's domain schema defines at that place, and one domrun can
//! honour for the domain's type.
//!
//! A separate pass over the positioned [`Element`] tree, before the model is
//! built: the model keeps unknown names (in [`Extras`](super::Extras)) so a
//! round trip loses nothing, but running as if a misspelt `<fileystem>` were
//! not there would start the container on the host's root. So `validate`,
//! `define`, `run`, `start` and `attach-device` refuse such a document,
//! naming every unknown name with the nearest allowed one:
//!
//! ```text
//! c1.xml:9:5: /domain/devices/fileystem: unknown element <fileystem>; did you mean <filesystem>?
//! ```
//!
//! The names come from a table (`src/domain/schema_table.rs`) generated from
//! libvirt's `domain.rng` (see `tests/schema_table.rs`). What is not checked:
//! names with a namespace prefix (`lxc:namespace`, `qemu:commandline`,
//! `xmlns:…` declarations), an element that declares a default namespace
//! other than none (`<x xmlns='…'>`), and everything under an open node (the
//! content of `<metadata>`): those are kept verbatim. Names libvirt defines
//! but domrun cannot honour are in `src/domain/schema_honour.rs`.
//!
//! [`Strictness::Permissive`] turns the whole check off, for tools that only
//! round-trip documents.

use super::error::ParseError;
use super::error::write_location;
use super::schema_honour::{Severity, unhonoured};
use super::schema_table::NODES;
use super::{CheckedParseError, DomainType};
use crate::xml::{Element, Limits, Pos, read_document};
use std::collections::HashMap;
use std::path::PathBuf;

/// One node of the generated vocabulary table: the names allowed on and
/// under one element (in one context).
#[derive(Debug)]
pub struct SchemaNode {
    /// Anything goes here and below (libvirt's `customElement`).
    pub(super) open: bool,
    /// Allowed attribute names, sorted.
    pub(super) attrs: &'static [&'static str],
    /// Allowed child element names with their node, sorted by name.
    pub(super) children: &'static [(&'static str, usize)],
}

impl SchemaNode {
    fn child(&self, name: &str) -> Option<usize> {
        self.children
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| self.children[i].1)
    }

    fn has_attr(&self, name: &str) -> bool {
        self.attrs.binary_search(&name).is_ok()
    }
}

/// Whether names a domain does not define or cannot honour are refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strictness {
    /// Refuse them (every command that validates, stores or runs a domain).
    #[default]
    Strict,
    /// Keep and ignore them, as before: for round-trip tools (`--permissive`).
    Permissive,
}

/// What is wrong with one name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabularyErrorKind {
    #[error("unknown element <{name}>{}", element_hint(*.suggestion, *.belongs_in))]
    UnknownElement {
        name: String,
        /// A close name allowed here.
        suggestion: Option<&'static str>,
        /// A child of this element where the name is allowed (`<console>`
        /// written directly under `<domain>` belongs in `<devices>`).
        belongs_in: Option<&'static str>,
    },
    #[error("unknown attribute '{name}'{}", suggest(*.suggestion, "'", "'"))]
    UnknownAttribute {
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error("<{name}> is not honoured in a domain of type '{kind}': {reason}")]
    CannotHonour {
        name: String,
        kind: DomainType,
        reason: &'static str,
    },
}

fn element_hint(suggestion: Option<&str>, belongs_in: Option<&str>) -> String {
    match (suggestion, belongs_in) {
        (Some(_), _) => suggest(suggestion, "<", ">"),
        (None, Some(p)) => format!("; it belongs inside <{p}>"),
        (None, None) => String::new(),
    }
}

fn suggest(s: Option<&str>, open: &str, close: &str) -> String {
    match s {
        Some(s) => format!("; did you mean {open}{s}{close}?"),
        None => String::new(),
    }
}

/// One refused name, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabularyError {
    pub pos: Pos,
    /// The element's path (`/domain/devices/filesystem[2]/source`).
    pub path: String,
    pub kind: VocabularyErrorKind,
}

/// Every refused name of a document, in document order (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabularyErrors {
    pub file: Option<PathBuf>,
    pub errors: Vec<VocabularyError>,
}

impl VocabularyErrors {
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }
}

/// One line per name: `FILE:LINE:COL: PATH: message`.
impl std::fmt::Display for VocabularyErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write_location(f, self.file.as_deref(), e.pos, &e.path)?;
            write!(f, "{}", e.kind)?;
        }
        Ok(())
    }
}

impl std::error::Error for VocabularyErrors {}

/// A name libvirt defines that domrun ignores for this domain type without
/// changing what the domain may reach or use: worth a line, not a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabularyNote {
    pub file: Option<PathBuf>,
    pub pos: Pos,
    pub path: String,
    pub name: String,
    pub kind: DomainType,
    pub reason: &'static str,
}

/// `note: FILE:LINE:COL: PATH: <name> is ignored in a domain of type 'KIND': reason`.
impl std::fmt::Display for VocabularyNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("note: ")?;
        write_location(f, self.file.as_deref(), self.pos, &self.path)?;
        write!(
            f,
            "<{}> is ignored in a domain of type '{}': {}",
            self.name, self.kind, self.reason
        )
    }
}

/// Checks a whole document (rooted at `<domain>`). A root of another name is
/// left to the parser, which refuses it with its own message.
pub fn check_vocabulary(
    root: &Element,
    strictness: Strictness,
) -> Result<Vec<VocabularyNote>, VocabularyErrors> {
    if strictness == Strictness::Permissive || root.name != "domain" {
        return Ok(Vec::new());
    }
    let kind = root.attr("type").and_then(DomainType::parse);
    let mut w = Walk::new(kind);
    let path = format!("/{}", root.name);
    w.element(root, 0, &path, &path);
    w.finish()
}

/// Checks a device (or other) fragment as if it stood at `parent_path`
/// (`/domain/devices` for `attach-device`), in a domain of type `kind`. An
/// unknown parent path checks nothing. Positions are the fragment's own.
pub fn check_fragment(
    fragment: &Element,
    parent_path: &str,
    kind: DomainType,
    strictness: Strictness,
) -> Result<Vec<VocabularyNote>, VocabularyErrors> {
    if strictness == Strictness::Permissive {
        return Ok(Vec::new());
    }
    let mut steps = parent_path.split('/').filter(|s| !s.is_empty());
    if steps.next() != Some("domain") {
        return Ok(Vec::new());
    }
    let mut node = 0;
    for step in steps {
        match NODES[node].child(step) {
            Some(n) => node = n,
            None => return Ok(Vec::new()),
        }
    }
    let mut w = Walk::new(Some(kind));
    w.child(fragment, node, parent_path, parent_path, None);
    w.finish()
}

/// Checks a document holding one device element (what `attach-device`
/// reads) as a child of `/domain/devices` in a `kind` domain. A document
/// that is not well-formed is refused by the reader, as the parser would.
pub fn check_device_document(
    text: &[u8],
    kind: DomainType,
    strictness: Strictness,
) -> Result<Vec<VocabularyNote>, CheckedParseError> {
    if strictness == Strictness::Permissive {
        return Ok(Vec::new());
    }
    let el = read_document(text, &Limits::default()).map_err(ParseError::from_read)?;
    Ok(check_fragment(&el, "/domain/devices", kind, strictness)?)
}

struct Walk {
    kind: Option<DomainType>,
    errors: Vec<VocabularyError>,
    notes: Vec<VocabularyNote>,
}

/// Not libvirt's to check: a namespace declaration or a prefixed name.
fn is_foreign(name: &str) -> bool {
    name == "xmlns" || name.contains(':')
}

impl Walk {
    fn new(kind: Option<DomainType>) -> Self {
        Walk {
            kind,
            errors: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn finish(self) -> Result<Vec<VocabularyNote>, VocabularyErrors> {
        if self.errors.is_empty() {
            Ok(self.notes)
        } else {
            Err(VocabularyErrors {
                file: None,
                errors: self.errors,
            })
        }
    }

    /// Checks the attributes and children of `el`, which matched `node`.
    /// `path` is numbered (`filesystem[2]`) for messages; `plain` is not,
    /// for the cannot-honour table. Recursion is bounded by the reader's
    /// depth limit.
    fn element(&mut self, el: &Element, node: usize, path: &str, plain: &str) {
        let n = &NODES[node];
        if n.open {
            return;
        }
        if let Some(kind) = self.kind
            && let Some(entry) = unhonoured(kind, plain, el)
        {
            match entry.severity {
                Severity::Error => self.errors.push(VocabularyError {
                    pos: el.pos,
                    path: path.to_owned(),
                    kind: VocabularyErrorKind::CannotHonour {
                        name: el.name.clone(),
                        kind,
                        reason: entry.reason,
                    },
                }),
                Severity::Note => self.notes.push(VocabularyNote {
                    file: None,
                    pos: el.pos,
                    path: path.to_owned(),
                    name: el.name.clone(),
                    kind,
                    reason: entry.reason,
                }),
            }
        }
        for a in &el.attrs {
            if !is_foreign(&a.name) && !n.has_attr(&a.name) {
                self.errors.push(VocabularyError {
                    pos: a.pos,
                    path: path.to_owned(),
                    kind: VocabularyErrorKind::UnknownAttribute {
                        name: a.name.clone(),
                        suggestion: nearest(&a.name, n.attrs.iter().copied()),
                    },
                });
            }
        }
        // Counted with maps: a hostile document may have many children of
        // many names, and nothing here may be quadratic in them.
        let mut totals: HashMap<&str, usize> = HashMap::new();
        for c in el.elements() {
            *totals.entry(c.name.as_str()).or_default() += 1;
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for c in el.elements() {
            let index = (totals[c.name.as_str()] > 1).then(|| {
                let i = seen.entry(c.name.as_str()).or_default();
                *i += 1;
                *i
            });
            self.child(c, node, path, plain, index);
        }
    }

    /// Checks `c`, a child of an element that matched `parent`.
    fn child(&mut self, c: &Element, parent: usize, path: &str, plain: &str, index: Option<usize>) {
        let default_ns = c.attr("xmlns").is_some_and(|ns| !ns.is_empty());
        if is_foreign(&c.name) || default_ns {
            return;
        }
        let child_path = match index {
            Some(i) => format!("{path}/{}[{i}]", c.name),
            None => format!("{path}/{}", c.name),
        };
        let p = &NODES[parent];
        match p.child(&c.name) {
            Some(node) => self.element(c, node, &child_path, &format!("{plain}/{}", c.name)),
            None => self.errors.push(VocabularyError {
                pos: c.pos,
                path: child_path,
                kind: VocabularyErrorKind::UnknownElement {
                    name: c.name.clone(),
                    suggestion: nearest(&c.name, p.children.iter().map(|(n, _)| *n)),
                    belongs_in: p
                        .children
                        .iter()
                        .find(|(_, n)| NODES[*n].child(&c.name).is_some())
                        .map(|(k, _)| *k),
                },
            }),
        }
    }
}

/// The allowed name closest to `name`, if close enough to be a slip: at most
/// a third of its letters (at least one) inserted, removed, changed or
/// swapped, letter case aside. Ties go to the first in table order.
fn nearest(name: &str, allowed: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    let budget = (name.chars().count() / 3).max(1);
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    let len = lower.chars().count();
    for a in allowed {
        // The length difference bounds the distance from below: most names
        // are ruled out without computing it.
        if a.len().abs_diff(len) > budget {
            continue;
        }
        let d = edit_distance(&lower, &a.to_lowercase());
        if d <= budget && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, a));
        }
    }
    best.map(|(_, a)| a)
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent swaps
/// (`memroy` is one step from `memory`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(doc: &str) -> Result<Vec<VocabularyNote>, VocabularyErrors> {
        let root = read_document(doc.as_bytes(), &Limits::default()).unwrap();
        check_vocabulary(&root, Strictness::Strict)
    }

    fn errors(doc: &str) -> String {
        check(doc).unwrap_err().to_string()
    }

    const HEAD: &str = "<domain type='lxc'><name>a</name><os><type>exe</type></os>";

    #[test]
    fn distance_counts_swaps_as_one_step() {
        assert_eq!(edit_distance("memroy", "memory"), 1);
        assert_eq!(edit_distance("fileystem", "filesystem"), 1);
        assert_eq!(edit_distance("read-only", "readonly"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(nearest("xyzzy", ["memory", "name"].into_iter()), None);
        assert_eq!(
            nearest("currentmemory", ["currentMemory"].into_iter()),
            Some("currentMemory")
        );
    }

    #[test]
    fn the_three_misspellings_of_the_issue_are_refused_with_a_suggestion() {
        let doc = format!(
            "{HEAD}<memroy>1</memroy><devices>\n<fileystem type='mount'><source dir='/'/>\
             <target dir='/'/></fileystem><filesystem><source dir='/a'/><target dir='/b'/>\
             <read-only/></filesystem></devices></domain>"
        );
        assert_eq!(
            errors(&doc),
            "1:59: /domain/memroy: unknown element <memroy>; did you mean <memory>?\n\
             2:1: /domain/devices/fileystem: unknown element <fileystem>; did you mean <filesystem>?\n\
             2:119: /domain/devices/filesystem/read-only: unknown element <read-only>; did you mean <readonly>?"
        );
    }

    #[test]
    fn attributes_are_checked_per_element() {
        let doc = format!(
            "{HEAD}<devices><filesystem tipe='mount' accessmode='passthrough'>\
             <source dir='/a' file='/x'/><target dir='/b' path='/c'/></filesystem></devices></domain>"
        );
        let e = errors(&doc);
        assert!(
            e.contains(
                "/domain/devices/filesystem: unknown attribute 'tipe'; did you mean 'type'?"
            ),
            "{e}"
        );
        // `path` is not an attribute of a filesystem's <target> (it is of a
        // console's): the context decides, not the element name alone.
        assert!(
            e.contains("/domain/devices/filesystem/target: unknown attribute 'path'"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 2, "{e}");
    }

    #[test]
    fn repeated_elements_are_numbered_in_paths() {
        let doc = format!(
            "{HEAD}<devices><filesystem><source dir='/a'/><target dir='/b'/></filesystem>\
             <filesystem><source dir='/a'/><target dir='/c'/><targte/></filesystem></devices></domain>"
        );
        assert!(
            errors(&doc).contains("/domain/devices/filesystem[2]/targte: unknown element <targte>"),
            "{}",
            errors(&doc)
        );
    }

    #[test]
    fn foreign_namespaces_and_metadata_are_not_checked() {
        let doc = "<domain type='lxc' xmlns:lxc='http://libvirt.org/schemas/domain/lxc/1.0' \
             xmlns:my='urn:x' my:flag='1'><name>a</name>\
             <metadata><anything at='all'><below/></anything></metadata>\
             <os><type>exe</type></os><my:thing><not-checked/></my:thing>\
             <devices><filesystem><source dir='/a'/><target dir='/b'/>\
             <ext xmlns='urn:y'><z/></ext></filesystem></devices>\
             <lxc:namespace><lxc:sharenet type='netns' value='x'/></lxc:namespace></domain>";
        assert_eq!(check(doc).unwrap(), vec![]);
    }

    #[test]
    fn a_name_one_level_too_high_says_where_it_belongs() {
        let doc = format!("{HEAD}<console type='pty'/></domain>");
        assert_eq!(
            errors(&doc),
            "1:59: /domain/console: unknown element <console>; it belongs inside <devices>"
        );
    }

    /// Many children of many unknown names: one error each, numbered only
    /// when a name repeats (counted with maps, not by rescanning siblings).
    #[test]
    fn many_unknown_children_get_one_error_each() {
        let mut doc = String::from(HEAD);
        doc.push_str("<devices>");
        for i in 0..20_000 {
            doc.push_str(&format!("<u{i}/><console type='pty'/>"));
        }
        doc.push_str("</devices></domain>");
        let root = read_document(doc.as_bytes(), &Limits::default()).unwrap();
        let e = check_vocabulary(&root, Strictness::Strict).unwrap_err();
        assert_eq!(e.errors.len(), 20_000);
        assert_eq!(e.errors[1].path, "/domain/devices/u1");
    }

    #[test]
    fn permissive_checks_nothing() {
        let doc = format!("{HEAD}<memroy>1</memroy></domain>");
        let root = read_document(doc.as_bytes(), &Limits::default()).unwrap();
        assert!(check_vocabulary(&root, Strictness::Permissive).is_ok());
    }

    #[test]
    fn a_fragment_is_checked_at_its_parent_path() {
        let frag = "<filesystem type='mount'><source dir='/a'/><target dir='/b'/><read-only/></filesystem>";
        let el = read_document(frag.as_bytes(), &Limits::default()).unwrap();
        let e = check_fragment(&el, "/domain/devices", DomainType::Lxc, Strictness::Strict)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "1:62: /domain/devices/filesystem/read-only: unknown element <read-only>; did you mean <readonly>?"
        );
        let bad = read_document(b"<fileystem/>", &Limits::default()).unwrap();
        assert!(
            check_fragment(&bad, "/domain/devices", DomainType::Lxc, Strictness::Strict).is_err()
        );
    }
}
