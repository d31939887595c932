//! The vocabulary table (`src/domain/schema_table.rs`) against libvirt's
//! `domain.rng`, and the vocabulary check against libvirt's own test data.
//!
//! * `checked_in_table_matches_domain_rng`: re-derives the table from the
//!   corpus's `src/conf/schemas/domain.rng` (following its includes) and fails
//!   if the checked-in file differs. To regenerate after a schema update:
//!
//!   ```text
//!   DOMRUN_BLESS=1 DOMRUN_LIBVIRT_CORPUS=/path/to/libvirt-corpus \
//!       cargo test --test schema_table
//!   ```
//! * `corpus_documents_use_only_libvirt_vocabulary`: every domain XML file of
//!   the corpus (libvirt validates each against `domain.rng` in its own
//!   tests) passes the vocabulary check.
//!
//! Without the corpus every test here prints a skip line and passes.
//!
//! # How the table is derived
//!
//! The RelaxNG grammar is read with domrun's own XML reader. `<include>` is
//! followed; defines of one name (`combine="choice"` overrides) are merged;
//! `<ref>` is resolved through its define. Everything that only orders or
//! counts (`group`, `choice`, `interleave`, `optional`, `zeroOrMore`,
//! `oneOrMore`, `mixed`) is looked through: the table lists which names may
//! appear, not in which order or how often. Each `<element>` pattern has
//! its own set of attribute and child names.
//!
//! One element name may be defined by many patterns in one place (`<source>`
//! under `<disk>` is a different pattern for each disk type). A table node is
//! therefore the *set* of patterns an element could match, given its parent's
//! set: its names are the union of theirs (a subset construction, as from an
//! NFA to a DFA). Keying by pattern set rather than by parent path keeps
//! `<source>` under `<disk>` apart from `<source>` under `<interface>`, and
//! stays finite for recursive patterns (`<backingStore>`). Nodes with the
//! same names and the same children are merged, so the table is minimal.
//!
//! Elements in another namespace (`ns="…"`: `qemu:commandline`,
//! `lxc:namespace`) are left out: the check skips foreign names. A pattern
//! with `<anyName/>` (libvirt's `customElement`, under `<metadata>`) makes
//! its parent *open*: nothing below it is checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use domrun::domain::schema::{Strictness, check_vocabulary};
use domrun::xml::{Element, Limits, read_document};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const TABLE_FILE: &str = "src/domain/schema_table.rs";

/// One RelaxNG pattern, reduced to what names can appear.
enum Pat {
    /// `name` is None for `<anyName/>`.
    Element {
        name: Option<String>,
        body: Vec<usize>,
    },
    Attribute {
        name: Option<String>,
    },
    Ref(String),
    /// Any combinator: its parts, looked through.
    Group(Vec<usize>),
    /// Text, data, value, empty, notAllowed, or a foreign-namespace element.
    Leaf,
}

#[derive(Default)]
struct Grammar {
    pats: Vec<Pat>,
    defines: HashMap<String, Vec<usize>>,
    start: Vec<usize>,
}

impl Grammar {
    fn load(file: &Path) -> Grammar {
        let mut g = Grammar::default();
        g.include(file);
        g
    }

    fn include(&mut self, file: &Path) {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let root = read_document(&bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(root.name, "grammar", "{}", file.display());
        for item in root.elements() {
            match item.name.as_str() {
                "include" => {
                    let href = item.attr("href").expect("include href");
                    self.include(&file.with_file_name(href));
                }
                "define" => {
                    let name = item.attr("name").expect("define name").to_owned();
                    let body = self.body(item);
                    self.defines.entry(name).or_default().extend(body);
                }
                "start" => {
                    let body = self.body(item);
                    self.start.extend(body);
                }
                other => panic!("{}: unexpected <{other}> in <grammar>", file.display()),
            }
        }
    }

    fn body(&mut self, el: &Element) -> Vec<usize> {
        el.elements().map(|c| self.pattern(c)).collect()
    }

    fn push(&mut self, p: Pat) -> usize {
        self.pats.push(p);
        self.pats.len() - 1
    }

    fn pattern(&mut self, el: &Element) -> usize {
        let foreign = el.attr("ns").is_some_and(|ns| !ns.is_empty());
        let p = match el.name.as_str() {
            "element" if foreign => Pat::Leaf,
            "element" => {
                let any = el.elements().any(|c| c.name == "anyName");
                let body = el
                    .elements()
                    .filter(|c| c.name != "anyName")
                    .map(|c| self.pattern(c))
                    .collect();
                let name = match el.attr("name") {
                    Some(n) => Some(n.to_owned()),
                    None if any => None,
                    None => panic!("<element> at {} without a name", el.pos),
                };
                Pat::Element { name, body }
            }
            "attribute" => Pat::Attribute {
                name: el.attr("name").map(str::to_owned),
            },
            "ref" => Pat::Ref(el.attr("name").expect("ref name").to_owned()),
            "group" | "choice" | "interleave" | "optional" | "zeroOrMore" | "oneOrMore"
            | "mixed" => Pat::Group(self.body(el)),
            "text" | "data" | "value" | "empty" | "notAllowed" => Pat::Leaf,
            other => panic!("unsupported RelaxNG pattern <{other}> at {}", el.pos),
        };
        self.push(p)
    }

    /// The element patterns and attribute names directly in `pats` (through
    /// refs and combinators, not into elements or attributes).
    fn content(&self, pats: &[usize], out: &mut Content, seen: &mut BTreeSet<String>) {
        for &p in pats {
            match &self.pats[p] {
                Pat::Element { .. } => {
                    out.elements.insert(p);
                }
                Pat::Attribute { name: Some(n) } => {
                    out.attrs.insert(n.clone());
                }
                Pat::Attribute { name: None } => out.any_attr = true,
                Pat::Ref(name) => {
                    if seen.insert(name.clone()) {
                        let body = self
                            .defines
                            .get(name)
                            .unwrap_or_else(|| panic!("undefined <ref name='{name}'>"));
                        self.content(body, out, seen);
                    }
                }
                Pat::Group(parts) => self.content(parts, out, seen),
                Pat::Leaf => {}
            }
        }
    }

    fn element_name(&self, p: usize) -> Option<&str> {
        match &self.pats[p] {
            Pat::Element { name, .. } => name.as_deref(),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Content {
    elements: BTreeSet<usize>,
    attrs: BTreeSet<String>,
    any_attr: bool,
}

/// A table node before minimisation: the element patterns it stands for.
struct Node {
    attrs: BTreeSet<String>,
    open: bool,
    children: BTreeMap<String, usize>,
    /// A path that reaches it, for the comment.
    path: String,
}

/// Subset construction from `<start>` (the `<domain>` element).
fn build(g: &Grammar) -> Vec<Node> {
    let mut root = Content::default();
    g.content(&g.start, &mut root, &mut BTreeSet::new());
    let start: BTreeSet<usize> = root.elements;
    assert!(start.iter().all(|&p| g.element_name(p) == Some("domain")));
    let mut ids: HashMap<BTreeSet<usize>, usize> = HashMap::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut queue: Vec<(BTreeSet<usize>, String)> = vec![(start, "/domain".into())];
    ids.insert(queue[0].0.clone(), 0);
    let mut next = 0;
    while next < queue.len() {
        let (set, path) = queue[next].clone();
        next += 1;
        let mut c = Content::default();
        for &p in &set {
            if let Pat::Element { body, .. } = &g.pats[p] {
                g.content(body, &mut c, &mut BTreeSet::new());
            }
        }
        let mut by_name: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let mut open = c.any_attr;
        for &e in &c.elements {
            match g.element_name(e) {
                Some(n) => {
                    by_name.entry(n.to_owned()).or_default().insert(e);
                }
                None => open = true,
            }
        }
        let mut children = BTreeMap::new();
        if !open {
            for (name, child) in by_name {
                let id = match ids.get(&child) {
                    Some(&id) => id,
                    None => {
                        let id = queue.len();
                        ids.insert(child.clone(), id);
                        queue.push((child, format!("{path}/{name}")));
                        id
                    }
                };
                children.insert(name, id);
            }
        }
        nodes.push(Node {
            attrs: if open { BTreeSet::new() } else { c.attrs },
            open,
            children,
            path,
        });
    }
    minimise(nodes)
}

/// What a node's class depends on: open, attributes, children's classes,
/// and its class in the previous round.
type ClassKey<'a> = (bool, &'a BTreeSet<String>, Vec<(&'a str, usize)>, usize);

/// Merges nodes with equal names whose children are equivalent (partition
/// refinement), renumbering in order of first appearance.
fn minimise(nodes: Vec<Node>) -> Vec<Node> {
    let mut class: Vec<usize> = vec![0; nodes.len()];
    loop {
        let mut keys: HashMap<ClassKey<'_>, usize> = HashMap::new();
        let mut next = Vec::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            let kids = n
                .children
                .iter()
                .map(|(k, &v)| (k.as_str(), class[v]))
                .collect();
            let len = keys.len();
            next.push(
                *keys
                    .entry((n.open, &n.attrs, kids, class[i]))
                    .or_insert(len),
            );
        }
        let stable = keys.len() == class.iter().collect::<BTreeSet<_>>().len();
        class = next;
        if stable {
            break;
        }
    }
    // Renumber in breadth-first order from the root.
    let mut order: HashMap<usize, usize> = HashMap::new();
    let mut reps: Vec<usize> = Vec::new();
    for (i, &c) in class.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(v) = order.entry(c) {
            v.insert(reps.len());
            reps.push(i);
        }
    }
    reps.iter()
        .map(|&i| {
            let n = &nodes[i];
            Node {
                attrs: n.attrs.clone(),
                open: n.open,
                children: n
                    .children
                    .iter()
                    .map(|(k, &v)| (k.clone(), order[&class[v]]))
                    .collect(),
                path: n.path.clone(),
            }
        })
        .collect()
}

fn render(nodes: &[Node]) -> String {
    let mut s = String::new();
    s.push_str(
        "//! GENERATED from libvirt's `domain.rng` by `tests/schema_table.rs`; do not edit.\n\
         //! Regenerate: `DOMRUN_BLESS=1 DOMRUN_LIBVIRT_CORPUS=DIR cargo test --test schema_table`.\n\
         //!\n\
         //! The element and attribute names are derived from libvirt 11.3.0's RelaxNG\n\
         //! schemas (`src/conf/schemas/domain.rng` and its includes), which libvirt\n\
         //! distributes under the GNU LGPL 2.1 or later; see the corpus's\n\
         //! `LICENSE-NOTE.txt`. Only the names are taken, not the grammar.\n\
         //!\n\
         //! Node 0 is `<domain>`; each node lists the attribute names and the child\n\
         //! elements (with their node) allowed there, sorted. The comment gives one\n\
         //! path that reaches the node.\n\n\
         use super::schema::SchemaNode;\n\n",
    );
    writeln!(
        s,
        "pub(super) static NODES: [SchemaNode; {}] = [",
        nodes.len()
    )
    .unwrap();
    // One node a line (the path as a comment above it): a data table, not
    // code to read, kept short enough to review as a diff.
    for (i, n) in nodes.iter().enumerate() {
        writeln!(s, "    // {i}: {}", n.path).unwrap();
        let attrs: Vec<String> = n.attrs.iter().map(|a| format!("{a:?}")).collect();
        let children: Vec<String> = n
            .children
            .iter()
            .map(|(k, v)| format!("({k:?}, {v})"))
            .collect();
        writeln!(
            s,
            "    SchemaNode {{ open: {}, attrs: &[{}], children: &[{}] }},",
            n.open,
            attrs.join(", "),
            children.join(", ")
        )
        .unwrap();
    }
    s.push_str("];\n");
    s
}

fn generate(corpus: &Path) -> String {
    let g = Grammar::load(&corpus.join("src/conf/schemas/domain.rng"));
    render(&build(&g))
}

#[test]
fn checked_in_table_matches_domain_rng() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let want = generate(&corpus);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TABLE_FILE);
    if std::env::var_os("DOMRUN_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &want).unwrap();
        println!("wrote {}", path.display());
        return;
    }
    let got = std::fs::read_to_string(&path).unwrap();
    assert!(
        got == want,
        "{TABLE_FILE} differs from what {} derives; regenerate with \
         DOMRUN_BLESS=1 cargo test --test schema_table and review the diff",
        corpus.display()
    );
}

/// The corpus folders of domain documents (libvirt validates each against
/// `domain.rng` in its tests).
const DOMAIN_DIRS: &[&str] = &[
    "lxcxml2xmldata",
    "lxcxml2xmloutdata",
    "xlconfigdata",
    "xmconfigdata",
    "lxcconf2xmldata",
];

#[test]
fn corpus_documents_use_only_libvirt_vocabulary() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in DOMAIN_DIRS {
        for e in std::fs::read_dir(corpus.join("tests").join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "xml") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut failures = Vec::new();
    for f in &files {
        let root = read_document(&std::fs::read(f).unwrap(), &Limits::default()).unwrap();
        if let Err(e) = check_vocabulary(&root, Strictness::Strict) {
            failures.push(format!("{}", e.in_file(f)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(files.len() >= 100, "only {} corpus files", files.len());
    println!("vocabulary: {} corpus documents pass", files.len());
}
