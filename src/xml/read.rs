//! Bytes → [`Element`] tree, bounded and positioned.
//!
//! Hostile input is refused before it costs anything: the size is checked
//! before a byte is parsed, UTF-8 is checked in one pass (the error names the
//! line and column of the first bad byte), a `<!DOCTYPE` is refused outright so
//! no entity is ever declared, expanded or fetched, references to anything but
//! the five predefined entities and character references are errors, and
//! nesting depth and attribute counts have caps.

use super::{Attr, Element, Name, Node, Pos};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::collections::HashMap;

/// Caps on what a document may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted document, in bytes. Domains may carry kernels as
    /// `data:` URIs, so this is generous; memory stays proportional to it.
    pub max_bytes: usize,
    /// Deepest accepted element nesting.
    pub max_depth: usize,
    /// Most attributes on one element.
    pub max_attrs: usize,
    /// Most elements in one document. With the byte limit alone, a document
    /// of 6-byte `<a/>` elements could hold eleven million of them, and the
    /// domain model costs far more per element than the tree; this cap
    /// bounds what any accepted document costs (see docs/performance.md).
    pub max_elements: usize,
}

impl Limits {
    /// The default [`Limits::max_bytes`], also what file readers check
    /// against before reading (`crate::input::DOCUMENT_LIMIT`).
    pub const DEFAULT_MAX_BYTES: usize = 64 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: Limits::DEFAULT_MAX_BYTES,
            max_depth: 64,
            max_attrs: 64,
            max_elements: 200_000,
        }
    }
}

/// Why a document could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("document is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("{pos}: invalid UTF-8 (documents must be UTF-8 encoded)")]
    Utf8 { pos: Pos },
    #[error(
        "{pos}: character U+{code:04X} is not allowed in XML (control characters other than tab, newline and carriage return, and U+FFFE/U+FFFF)"
    )]
    InvalidChar { pos: Pos, code: u32 },
    #[error("{pos}: unsupported encoding '{encoding}' (only UTF-8 is accepted)")]
    Encoding { pos: Pos, encoding: String },
    #[error("{pos}: DOCTYPE declarations are not accepted (no DTDs or entity declarations)")]
    Doctype { pos: Pos },
    #[error(
        "{pos}: unknown entity '&{name};' (only &lt; &gt; &amp; &apos; &quot; and &#N; are accepted)"
    )]
    Entity { pos: Pos, name: String },
    #[error("{pos}: elements nested deeper than {limit} levels")]
    TooDeep { pos: Pos, limit: usize },
    #[error("{pos}: more than {limit} elements in the document")]
    TooManyElements { pos: Pos, limit: usize },
    #[error("{pos}: element <{element}> has more than {limit} attributes")]
    TooManyAttrs {
        pos: Pos,
        element: String,
        limit: usize,
    },
    #[error("{pos}: duplicate attribute '{name}' on <{element}>")]
    DuplicateAttr {
        pos: Pos,
        element: String,
        name: String,
    },
    #[error("{pos}: no root element (the document is empty)")]
    Empty { pos: Pos },
    #[error("{pos}: content after the root element </{root}>")]
    TrailingContent { pos: Pos, root: String },
    #[error("{pos}: malformed XML: {message}")]
    Syntax { pos: Pos, message: String },
}

impl ReadError {
    /// Where in the document the error is (`0:0` when it is about the whole).
    pub fn pos(&self) -> Pos {
        match self {
            ReadError::TooLarge { .. } => Pos::default(),
            ReadError::Utf8 { pos }
            | ReadError::InvalidChar { pos, .. }
            | ReadError::Encoding { pos, .. }
            | ReadError::Doctype { pos }
            | ReadError::Entity { pos, .. }
            | ReadError::TooDeep { pos, .. }
            | ReadError::TooManyElements { pos, .. }
            | ReadError::TooManyAttrs { pos, .. }
            | ReadError::DuplicateAttr { pos, .. }
            | ReadError::Empty { pos }
            | ReadError::TrailingContent { pos, .. }
            | ReadError::Syntax { pos, .. } => *pos,
        }
    }
}

/// Turns byte offsets into line:column, scanning forward only, so positioning
/// every element of a document costs one pass over it in total.
struct LineIndex<'a> {
    text: &'a str,
    offset: usize,
    pos: Pos,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        LineIndex {
            text,
            offset: 0,
            pos: Pos { line: 1, col: 1 },
        }
    }

    fn pos(&mut self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            // Rare (an error pointing back into a tag): rescan from the start.
            *self = LineIndex::new(self.text);
        }
        let Some(slice) = self.text.get(self.offset..offset) else {
            return self.pos;
        };
        for c in slice.chars() {
            if c == '\n' {
                self.pos.line += 1;
                self.pos.col = 1;
            } else {
                self.pos.col += 1;
            }
        }
        self.offset = offset;
        self.pos
    }
}

/// Position of the first invalid UTF-8 byte: line and column counted over the
/// valid prefix, so the user can find it in an editor.
fn utf8_error_pos(bytes: &[u8], valid_up_to: usize) -> Pos {
    let prefix = std::str::from_utf8(&bytes[..valid_up_to]).unwrap_or_default();
    LineIndex::new(prefix).pos(valid_up_to)
}

/// XML 1.0's `Char` production (surrogates cannot occur in a `str`).
fn is_xml_char(c: char) -> bool {
    !matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// XML's `Name` production, exact for ASCII; non-ASCII letters are taken
/// as name characters (the spec's ranges are nearly all of them).
fn is_xml_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':' || !c.is_ascii();
    start(first) && chars.all(|c| start(c) || c.is_ascii_digit() || c == '-' || c == '.')
}

/// `s` quoted for an error message, shortened if long.
fn quoted_name(s: &str) -> String {
    let short: String = s.chars().take(40).collect();
    let more = if short.len() < s.len() { "…" } else { "" };
    format!("'{}{more}'", short.escape_debug())
}

/// Reads one document: exactly one root element, optional XML declaration,
/// comments and processing instructions (which are dropped).
pub fn read_document(bytes: &[u8], limits: &Limits) -> Result<Element, ReadError> {
    if bytes.len() > limits.max_bytes {
        return Err(ReadError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ReadError::Utf8 {
        pos: utf8_error_pos(bytes, e.valid_up_to()),
    })?;
    // XML 1.0 forbids most control characters even raw; libvirt (libxml2)
    // refuses them, and they could not be written back.
    if let Some(i) = text.find(|c: char| !is_xml_char(c)) {
        let code = text[i..].chars().next().map_or(0, u32::from);
        return Err(ReadError::InvalidChar {
            pos: LineIndex::new(text).pos(i),
            code,
        });
    }
    // A byte-order mark is allowed before the declaration, nothing else.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    TreeBuilder::new(text, limits).run()
}

/// Most distinct names shared through the interner: a real document uses a
/// few hundred; beyond this (a hostile document of unique names) names are
/// allocated one by one, so the interner itself stays small.
const MAX_INTERNED: usize = 4096;

/// An element being read.
struct Open {
    name: Name,
    attrs: Box<[Attr]>,
    pos: Pos,
    children: Vec<Node>,
    /// White-space-only text runs not yet known to be content, as ranges of
    /// the source (no allocation): dropped if the element turns out to hold
    /// only structure, made text nodes if it holds mixed content or no
    /// child element at all.
    spaces: Vec<Space>,
    has_elements: bool,
    /// Non-white-space text was seen: every text run is content.
    mixed: bool,
}

/// A white-space run before child `at`, at `start..end` in the source.
#[derive(Clone, Copy)]
struct Space {
    at: usize,
    start: usize,
    end: usize,
}

/// Text being accumulated across Text, CDATA and reference events.
enum Pending {
    None,
    /// One run taken as it is in the source.
    Raw {
        start: usize,
        end: usize,
    },
    Owned(String),
}

fn is_space(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

impl Open {
    /// Turns the white-space ranges into text nodes at their places.
    fn materialize(&mut self, text: &str) {
        if self.spaces.is_empty() {
            return;
        }
        let mut merged = Vec::with_capacity(self.children.len() + self.spaces.len());
        let mut spaces = std::mem::take(&mut self.spaces).into_iter().peekable();
        for (i, child) in std::mem::take(&mut self.children).into_iter().enumerate() {
            while let Some(sp) = spaces.next_if(|sp| sp.at == i) {
                merged.push(Node::Text(text[sp.start..sp.end].to_owned()));
            }
            merged.push(child);
        }
        merged.extend(spaces.map(|sp| Node::Text(text[sp.start..sp.end].to_owned())));
        self.children = merged;
    }

    fn close(mut self, text: &str) -> Element {
        if self.has_elements && !self.mixed {
            // Only structure: its white space is layout.
            self.spaces = Vec::new();
            self.children.retain(|n| matches!(n, Node::Element(_)));
        } else {
            self.materialize(text);
        }
        Element {
            name: self.name,
            attrs: self.attrs,
            children: self.children.into_boxed_slice(),
            pos: self.pos,
        }
    }
}

struct TreeBuilder<'a> {
    text: &'a str,
    limits: &'a Limits,
    lines: LineIndex<'a>,
    /// Open elements, innermost last.
    stack: Vec<Open>,
    root: Option<Element>,
    pending: Pending,
    elements: usize,
    /// Names seen so far, keyed by their text in the source.
    names: HashMap<&'a str, Name>,
}

impl<'a> TreeBuilder<'a> {
    fn new(text: &'a str, limits: &'a Limits) -> Self {
        TreeBuilder {
            text,
            limits,
            lines: LineIndex::new(text),
            stack: Vec::new(),
            root: None,
            pending: Pending::None,
            elements: 0,
            names: HashMap::new(),
        }
    }

    fn offset_of(&self, s: &str) -> usize {
        // Slices handed out by the slice reader point into `text`.
        (s.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize)
    }

    /// `s` as a slice of the source, when it is one (the reader borrows
    /// names and unescaped text from it).
    fn in_source(&self, s: &str) -> Option<(usize, usize)> {
        let base = self.text.as_ptr() as usize;
        let at = (s.as_ptr() as usize).checked_sub(base)?;
        let end = at.checked_add(s.len())?;
        (end <= self.text.len()).then_some((at, end))
    }

    /// The shared [`Name`] for `s`.
    fn name(&mut self, s: &str) -> Name {
        if let Some(n) = self.names.get(s) {
            return n.clone();
        }
        let name = Name::from(s);
        if self.names.len() < MAX_INTERNED
            && let Some((at, end)) = self.in_source(s)
            && let Some(key) = self.text.get(at..end)
        {
            self.names.insert(key, name.clone());
        }
        name
    }

    fn run(mut self) -> Result<Element, ReadError> {
        let mut reader = Reader::from_str(self.text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        loop {
            let start = reader.buffer_position() as usize;
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let pos = self.lines.pos(reader.error_position() as usize);
                    return Err(self.syntax_error(pos, e));
                }
            };
            match event {
                Event::Start(e) => {
                    let el = self.open(&e, start)?;
                    self.stack.push(el);
                }
                Event::Empty(e) => {
                    let el = self.open(&e, start)?;
                    self.close(el);
                }
                Event::End(_) => {
                    self.flush_text();
                    if let Some(el) = self.stack.pop() {
                        self.close(el);
                    }
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    self.text_event(&content, start)?;
                }
                Event::CData(c) => {
                    let raw = c.into_inner();
                    self.text_event(&raw, start)?;
                }
                Event::GeneralRef(r) => {
                    let pos = self.lines.pos(start);
                    let resolved = resolve_reference(&r, pos)?;
                    self.text_event(&resolved, start)?;
                }
                Event::DocType(_) => {
                    return Err(ReadError::Doctype {
                        pos: self.lines.pos(start),
                    });
                }
                Event::Decl(d) => {
                    if let Some(Ok(enc)) = d.encoding() {
                        let enc = enc.into_owned();
                        if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                            return Err(ReadError::Encoding {
                                pos: self.lines.pos(start),
                                encoding: enc,
                            });
                        }
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        let end = self.lines.pos(self.text.len());
        match (self.root, self.stack.pop()) {
            (_, Some(open)) => Err(ReadError::Syntax {
                pos: end,
                message: format!(
                    "the document ends but <{}> (opened at {}) is not closed",
                    open.name, open.pos
                ),
            }),
            (Some(root), None) => Ok(root),
            (None, None) => Err(ReadError::Empty { pos: end }),
        }
    }

    fn syntax_error(&self, pos: Pos, e: quick_xml::Error) -> ReadError {
        use quick_xml::errors::IllFormedError;
        use quick_xml::escape::EscapeError;
        match e {
            quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                ReadError::Entity { pos, name }
            }
            // Say where the element that should have been closed was opened:
            // that is where the user has to look.
            quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
                let opened = match self.stack.last() {
                    Some(open) if open.name == expected => format!(" (opened at {})", open.pos),
                    _ => String::new(),
                };
                ReadError::Syntax {
                    pos,
                    message: format!(
                        "</{found}> found where </{expected}> was expected: <{expected}>{opened} is not closed"
                    ),
                }
            }
            quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(found)) => {
                ReadError::Syntax {
                    pos,
                    message: format!("</{found}> closes no open element"),
                }
            }
            other => ReadError::Syntax {
                pos,
                message: other.to_string(),
            },
        }
    }

    fn text_event(&mut self, s: &str, start: usize) -> Result<(), ReadError> {
        if self.stack.is_empty() {
            if is_space(s) {
                return Ok(());
            }
            let pos = self.lines.pos(start);
            return Err(match &self.root {
                Some(root) => ReadError::TrailingContent {
                    pos,
                    root: root.name.to_string(),
                },
                None => ReadError::Syntax {
                    pos,
                    message: "text before the root element".into(),
                },
            });
        }
        self.pending = match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => match self.in_source(s) {
                Some((start, end)) => Pending::Raw { start, end },
                None => Pending::Owned(s.to_owned()),
            },
            Pending::Raw { start, end } => {
                let mut owned = self.text[start..end].to_owned();
                owned.push_str(s);
                Pending::Owned(owned)
            }
            Pending::Owned(mut owned) => {
                owned.push_str(s);
                Pending::Owned(owned)
            }
        };
        Ok(())
    }

    fn flush_text(&mut self) {
        let pending = std::mem::replace(&mut self.pending, Pending::None);
        let text = self.text;
        let Some(parent) = self.stack.last_mut() else {
            return;
        };
        let node = match pending {
            Pending::None => return,
            Pending::Raw { start, end } => {
                let run = &text[start..end];
                if is_space(run) && !parent.mixed {
                    let at = parent.children.len();
                    parent.spaces.push(Space { at, start, end });
                    return;
                }
                run.to_owned()
            }
            Pending::Owned(s) => s,
        };
        if !parent.mixed && !is_space(&node) {
            parent.mixed = true;
            parent.materialize(text);
        }
        parent.children.push(Node::Text(node));
    }

    fn open(&mut self, e: &BytesStart<'_>, start: usize) -> Result<Open, ReadError> {
        self.flush_text();
        let pos = self.lines.pos(start);
        if self.stack.is_empty()
            && let Some(root) = &self.root
        {
            return Err(ReadError::TrailingContent {
                pos,
                root: root.name.to_string(),
            });
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(ReadError::TooDeep {
                pos,
                limit: self.limits.max_depth,
            });
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(ReadError::TooManyElements {
                pos,
                limit: self.limits.max_elements,
            });
        }
        let qname = e.name();
        let raw_name: &str = qname.as_ref();
        if !is_xml_name(raw_name) {
            return Err(ReadError::Syntax {
                pos,
                message: format!("invalid element name {}", quoted_name(raw_name)),
            });
        }
        let name = self.name(raw_name);
        let mut attrs: Vec<Attr> = Vec::new();
        for attr in e.attributes().with_checks(false) {
            let attr = attr.map_err(|err| ReadError::Syntax {
                pos,
                message: format!("in the attributes of <{name}>: {err}"),
            })?;
            let key: &str = attr.key.as_ref();
            let apos = self.lines.pos(self.offset_of(key));
            if !is_xml_name(key) {
                return Err(ReadError::Syntax {
                    pos: apos,
                    message: format!("invalid attribute name {} on <{name}>", quoted_name(key)),
                });
            }
            if attrs.len() >= self.limits.max_attrs {
                return Err(ReadError::TooManyAttrs {
                    pos,
                    element: name.to_string(),
                    limit: self.limits.max_attrs,
                });
            }
            // At most `max_attrs` to compare against.
            if attrs.iter().any(|a| a.name == key) {
                return Err(ReadError::DuplicateAttr {
                    pos: apos,
                    element: name.to_string(),
                    name: key.to_owned(),
                });
            }
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| self.syntax_error(apos, err))?
                .into_owned();
            // The raw text was checked; a character reference like &#1; was not.
            if let Some(c) = value.chars().find(|c| !is_xml_char(*c)) {
                return Err(ReadError::InvalidChar {
                    pos: apos,
                    code: u32::from(c),
                });
            }
            let key = self.name(key);
            attrs.push(Attr {
                name: key,
                value,
                pos: apos,
            });
        }
        Ok(Open {
            name,
            attrs: attrs.into_boxed_slice(),
            pos,
            children: Vec::new(),
            spaces: Vec::new(),
            has_elements: false,
            mixed: false,
        })
    }

    fn close(&mut self, open: Open) {
        let el = open.close(self.text);
        match self.stack.last_mut() {
            Some(parent) => {
                parent.has_elements = true;
                parent.children.push(Node::Element(el));
            }
            None => self.root = Some(el),
        }
    }
}

fn resolve_reference(r: &quick_xml::events::BytesRef<'_>, pos: Pos) -> Result<String, ReadError> {
    let name = std::ops::Deref::deref(r).to_string();
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if !is_xml_char(c) => Err(ReadError::InvalidChar {
                pos,
                code: u32::from(c),
            }),
            Ok(Some(c)) => Ok(c.to_string()),
            _ => Err(ReadError::Syntax {
                pos,
                message: format!("invalid character reference '&{name};'"),
            }),
        };
    }
    let s = match name.as_str() {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return Err(ReadError::Entity { pos, name }),
    };
    Ok(s.to_owned())
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
