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

use std::sync::Arc;

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

/// An element or attribute name: shared, not copied. A document repeats a
/// small vocabulary (`<filesystem>`, `type=`) many times; the reader hands
/// every occurrence of a name the same allocation, so a name costs a
/// pointer per element rather than a heap block. Compares with `str`,
/// `&str` and `String` as a string does.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(Arc<str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Name {
    fn default() -> Self {
        Name(Arc::from(""))
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(Arc::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(Arc::from(s))
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.as_str().to_owned()
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

macro_rules! name_eq {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for Name {
            fn eq(&self, other: &$t) -> bool {
                *self.0 == **other
            }
        }
        impl PartialEq<Name> for $t {
            fn eq(&self, other: &Name) -> bool {
                **self == *other.0
            }
        }
    )*};
}
name_eq!(&str, String);

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        *self == *other.0
    }
}

/// One attribute, its value already unescaped and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: Name,
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
///
/// Sized for documents of many small elements: the name is shared (see
/// [`Name`]), attributes and children are exact-size slices (no growth
/// slack), and white space between child elements of an element that
/// holds only structure is not kept (it is layout, which the writer redoes;
/// in mixed content and in a text-only element it is kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The qualified name as written (`lxc:namespace`).
    pub name: Name,
    pub attrs: Box<[Attr]>,
    pub children: Box<[Node]>,
    pub pos: Pos,
}

impl Element {
    pub fn new(name: impl Into<Name>) -> Self {
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
