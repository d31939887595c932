//! The typed-parse helper every element family uses, and what it leaves over.
//!
//! A [`Cursor`] walks one element: each attribute or child the parser takes is
//! marked, and [`Cursor::finish`] returns everything not taken as [`Extras`]:
//! unknown attributes, and unknown children each anchored to the known sibling
//! before it. The formatter prints extras back at their anchors, so a round trip
//! keeps what domrun does not model, in place.

use super::error::{ParseError, ParseErrorKind};
use crate::xml::{Attr, Element, Node, Pos, Writer};
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

/// What a parser did not model: printed back verbatim by the formatter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    pub attrs: Vec<Attr>,
    /// Unknown children, each after the known child element it followed
    /// (`None`: before every known child).
    pub children: Vec<(Option<&'static str>, Element)>,
    /// Unknown attributes of known children that have no extras of their
    /// own (`<name foo='1'>`, `<initarg foo='1'>`): child name, its 1-based
    /// position among same-name siblings, the attributes.
    pub child_attrs: Vec<(String, usize, Vec<Attr>)>,
}

impl Extras {
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty() && self.children.is_empty() && self.child_attrs.is_empty()
    }

    /// The unknown attributes of the `nth` (1-based) known child `name`,
    /// for the formatter to print back on it.
    pub fn attrs_of(&self, name: &str, nth: usize) -> &[Attr] {
        self.child_attrs
            .iter()
            .find(|(n, i, _)| n == name && *i == nth)
            .map_or(&[], |(_, _, a)| a.as_slice())
    }

    /// Writes the unknown children that followed the known child `anchor`.
    pub fn after(&self, w: &mut Writer, anchor: &str) {
        for (a, el) in &self.children {
            if *a == Some(anchor) {
                w.verbatim(el);
            }
        }
    }

    /// Writes the unknown children that came before any known child.
    pub fn leading(&self, w: &mut Writer) {
        for (a, el) in &self.children {
            if a.is_none() {
                w.verbatim(el);
            }
        }
    }
}

/// A value type read from an attribute or element text.
pub trait FromXml: Sized {
    /// Parses `s`; the error says what is accepted ("one of a, b, c").
    fn from_xml(s: &str) -> Result<Self, String>;
}

macro_rules! from_xml_via_fromstr {
    ($($t:ty => $what:expr),* $(,)?) => {$(
        impl FromXml for $t {
            fn from_xml(s: &str) -> Result<Self, String> {
                s.trim().parse().map_err(|_| $what.to_string())
            }
        }
    )*};
}
from_xml_via_fromstr!(
    u8 => "an integer from 0 to 255",
    u16 => "an integer from 0 to 65535",
    u32 => "an integer from 0 to 4294967295",
    u64 => "an integer from 0 to 18446744073709551615",
    i32 => "an integer",
    i64 => "an integer",
);

impl FromXml for String {
    fn from_xml(s: &str) -> Result<Self, String> {
        Ok(s.to_owned())
    }
}

/// libvirt's on/off switch.
impl FromXml for bool {
    fn from_xml(s: &str) -> Result<Self, String> {
        match s {
            "yes" | "on" => Ok(true),
            "no" | "off" => Ok(false),
            _ => Err("yes or no".into()),
        }
    }
}

/// libvirt's strict `on`/`off` switch (virTristateSwitch without `default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnOff(pub bool);

impl FromXml for OnOff {
    fn from_xml(s: &str) -> Result<Self, String> {
        match s {
            "on" => Ok(OnOff(true)),
            "off" => Ok(OnOff(false)),
            _ => Err("on or off".into()),
        }
    }
}

impl OnOff {
    pub fn as_str(self) -> &'static str {
        if self.0 { "on" } else { "off" }
    }
}

/// The attributes some parser has read, by address, shared by every cursor
/// of one document: a parent's [`Cursor::finish`] uses it to find what nobody
/// read on its leaf children.
type Taken = Rc<RefCell<HashSet<usize>>>;

fn key(a: &Attr) -> usize {
    std::ptr::from_ref(a) as usize
}

/// The parse state of one element.
#[derive(Debug)]
pub struct Cursor<'a> {
    el: &'a Element,
    path: String,
    taken: Taken,
    child_used: Vec<bool>,
}

impl<'a> Cursor<'a> {
    pub fn root(el: &'a Element) -> Self {
        Cursor {
            el,
            path: format!("/{}", el.name),
            taken: Taken::default(),
            child_used: vec![false; el.children.len()],
        }
    }

    fn with_path(&self, el: &'a Element, path: String) -> Self {
        Cursor {
            el,
            path,
            taken: Rc::clone(&self.taken),
            child_used: vec![false; el.children.len()],
        }
    }

    fn take(&self, a: &Attr) {
        self.taken.borrow_mut().insert(key(a));
    }

    fn is_taken(&self, a: &Attr) -> bool {
        self.taken.borrow().contains(&key(a))
    }

    /// The element, to be kept verbatim: its attributes count as read.
    pub fn verbatim(&self) -> Element {
        for a in &self.el.attrs {
            self.take(a);
        }
        self.el.clone()
    }

    pub fn element(&self) -> &'a Element {
        self.el
    }

    pub fn pos(&self) -> Pos {
        self.el.pos
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// An error located at this element.
    pub fn error(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            file: None,
            pos: self.el.pos,
            path: self.path.clone(),
            kind: Box::new(kind),
        }
    }

    fn attr_index(&self, name: &str) -> Option<usize> {
        self.el.attrs.iter().position(|a| a.name == name)
    }

    /// Takes an attribute's raw value.
    pub fn attr(&mut self, name: &str) -> Option<&'a str> {
        let i = self.attr_index(name)?;
        self.take(&self.el.attrs[i]);
        Some(self.el.attrs[i].value.as_str())
    }

    /// Takes and parses an optional attribute.
    pub fn parse_attr<T: FromXml>(&mut self, name: &str) -> Result<Option<T>, ParseError> {
        self.parse_attr_with(name, T::from_xml)
    }

    /// Takes an optional attribute and parses it with `parse`, for a value
    /// whose rule depends on another attribute (a prefix length on the
    /// address family). `parse`'s error says what is accepted.
    pub fn parse_attr_with<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ParseError> {
        let Some(i) = self.attr_index(name) else {
            return Ok(None);
        };
        let a = &self.el.attrs[i];
        self.take(a);
        parse(&a.value).map(Some).map_err(|expected| ParseError {
            file: None,
            pos: a.pos,
            path: self.path.clone(),
            kind: Box::new(ParseErrorKind::InvalidValue {
                what: format!("attribute '{name}'"),
                value: a.value.clone(),
                expected,
            }),
        })
    }

    /// Takes and parses a required attribute. When it is missing, the error
    /// says what it may be (the accepted values of an enum, an integer's range).
    pub fn require_attr<T: FromXml>(&mut self, name: &'static str) -> Result<T, ParseError> {
        self.parse_attr(name)?.ok_or_else(|| {
            let hint = match T::from_xml("") {
                Err(expected) => format!(": expected {expected}"),
                Ok(_) => String::new(),
            };
            self.error(ParseErrorKind::MissingAttr { name, hint })
        })
    }

    /// The element's own text, trimmed as libvirt trims it.
    pub fn text(&self) -> String {
        self.el.text().trim().to_owned()
    }

    /// Parses the element's text.
    pub fn parse_text<T: FromXml>(&self) -> Result<T, ParseError> {
        let text = self.text();
        T::from_xml(&text).map_err(|expected| {
            self.error(ParseErrorKind::InvalidValue {
                what: format!("<{}>", self.el.name),
                value: text.clone(),
                expected,
            })
        })
    }

    /// Takes the first child element called `name` (later ones stay unknown
    /// and are kept verbatim).
    pub fn child(&mut self, name: &str) -> Option<Cursor<'a>> {
        let (i, el) = self
            .el
            .children
            .iter()
            .enumerate()
            .find_map(|(i, n)| match n {
                Node::Element(e) if e.name == name && !self.child_used[i] => Some((i, e)),
                _ => None,
            })?;
        self.child_used[i] = true;
        Some(self.with_path(el, format!("{}/{}", self.path, name)))
    }

    /// Takes every child element called `name`, in document order; paths are
    /// numbered as in XPath (`filesystem[2]`).
    pub fn children(&mut self, name: &str) -> Vec<Cursor<'a>> {
        let mut out = Vec::new();
        let mut n = 0;
        for (i, node) in self.el.children.iter().enumerate() {
            if let Node::Element(e) = node
                && e.name == name
            {
                n += 1;
                if !self.child_used[i] {
                    self.child_used[i] = true;
                    out.push(self.with_path(e, format!("{}/{}[{}]", self.path, name, n)));
                }
            }
        }
        out
    }

    /// Takes every child element in document order, whatever its name (for
    /// `<devices>`, `<features>`, `<capabilities>`).
    pub fn all_children(&mut self) -> Vec<Cursor<'a>> {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        let mut out = Vec::new();
        for (i, node) in self.el.children.iter().enumerate() {
            if let Node::Element(e) = node {
                let n = match counts.iter_mut().find(|(k, _)| *k == e.name) {
                    Some((_, c)) => {
                        *c += 1;
                        *c
                    }
                    None => {
                        counts.push((&e.name, 1));
                        1
                    }
                };
                self.child_used[i] = true;
                out.push(self.with_path(e, format!("{}/{}[{}]", self.path, e.name, n)));
            }
        }
        out
    }

    /// Parses an optional child's text.
    pub fn child_text<T: FromXml>(&mut self, name: &str) -> Result<Option<T>, ParseError> {
        match self.child(name) {
            Some(c) => c.parse_text().map(Some),
            None => Ok(None),
        }
    }

    /// True when the child exists (an empty flag element like `<readonly/>`).
    pub fn flag(&mut self, name: &str) -> bool {
        self.child(name).is_some()
    }

    /// Everything not taken: unknown attributes, and unknown child elements
    /// anchored to the known element before them (a repeat of a known
    /// element: to the element of its name). `known` lists the names the
    /// formatter anchors on.
    pub fn finish(self, known: &'static [&'static str]) -> Extras {
        let attrs = self
            .el
            .attrs
            .iter()
            .filter(|a| !self.is_taken(a))
            .cloned()
            .collect();
        // Kept as extras now: nobody else is to keep them.
        for a in &self.el.attrs {
            self.take(a);
        }
        let mut children = Vec::new();
        let mut child_attrs = Vec::new();
        let mut anchor: Option<&'static str> = None;
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for (node, used) in self.el.children.iter().zip(&self.child_used) {
            let Node::Element(e) = node else { continue };
            let nth = match counts.iter_mut().find(|(k, _)| *k == e.name) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((&e.name, 1));
                    1
                }
            };
            if *used {
                if let Some(k) = known.iter().find(|k| **k == e.name) {
                    anchor = Some(k);
                }
                // A leaf child's parser read what it knows; the rest is kept.
                let unread: Vec<Attr> = e
                    .attrs
                    .iter()
                    .filter(|a| !self.is_taken(a))
                    .cloned()
                    .collect();
                if !unread.is_empty() {
                    for a in &e.attrs {
                        self.take(a);
                    }
                    child_attrs.push((e.name.clone(), nth, unread));
                }
            } else {
                // A repeat of a known element (a second <memory>) is kept
                // right after the one that was modelled: anchored anywhere
                // earlier, it would be printed first and be the one modelled
                // on the next read, so formatting would not be a fixed point.
                let at = known.iter().find(|k| **k == e.name).copied();
                children.push((at.or(anchor), e.clone()));
            }
        }
        Extras {
            attrs,
            children,
            child_attrs,
        }
    }
}

/// Defines a string-valued enum as one table giving both directions, as
/// libvirt's VIR_ENUM_IMPL does: `parse`, `as_str`, `Display`, `FromXml`, and
/// `ALL`/`NAMES` for documentation and completeness tests.
macro_rules! string_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($s),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::domain::cursor::FromXml for $name {
            fn from_xml(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| format!("one of {}", Self::NAMES.join(", ")))
            }
        }
    };
}
pub(crate) use string_enum;
