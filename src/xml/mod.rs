//! A small positioned DOM: what the domain parser reads and the formatter writes.
//!
//! `read` turns bytes into an [`Element`] tree with the line:column of every
//! element and attribute, refusing hostile input (DTDs, entities, deep nesting,
//! huge documents, invalid UTF-8) before any memory is spent on it. `write`
//! prints a tree the way libvirt's formatter does: two-space indent, single
//! quoted attributes, self-closing empty elements.
//!
//! Comments and processing instructions are dropped, as libvirt drops them.

mod read;
mod write;

pub use read::{Limits, ReadError, read_document};
pub use write::{Style, Tag, Writer, escape_attr, escape_text};

/// A 1-based line and column (in characters). `0:0` means "not from a file".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn is_known(self) -> bool {
        self.line != 0
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One attribute, its value already unescaped and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    pub value: String,
    pub pos: Pos,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Character data (text and CDATA sections merged), unescaped.
    Text(String),
}

/// An element with its attributes in document order and its children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The qualified name as written (`lxc:namespace`).
    pub name: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
    pub pos: Pos,
}

impl Element {
    pub fn new(name: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            ..Element::default()
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The concatenated character data of this element (not of descendants).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                out.push_str(t);
            }
        }
        out
    }

    /// True when every text child is white space: the element holds structure,
    /// and its white space is only layout.
    pub fn is_structural(&self) -> bool {
        self.children.iter().all(|n| match n {
            Node::Element(_) => true,
            Node::Text(t) => t.chars().all(char::is_whitespace),
        })
    }

    /// The local part of the name: `namespace` for `lxc:namespace`.
    pub fn local_name(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }

    /// The prefix of the name: `lxc` for `lxc:namespace`.
    pub fn prefix(&self) -> Option<&str> {
        self.name.split_once(':').map(|(p, _)| p)
    }
}
