//! The parse pass's error: what is wrong, and exactly where.

use crate::xml::{Pos, ReadError};
use std::path::PathBuf;

/// A domain document that could not be parsed.
///
/// Displays as `FILE:LINE:COL: /domain/devices/filesystem[2]/source: message`,
/// each part present when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: Option<PathBuf>,
    pub pos: Pos,
    /// The element path, e.g. `/domain/devices/filesystem[2]/source`.
    pub path: String,
    pub kind: Box<ParseErrorKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("{0}")]
    Xml(ReadError),
    #[error("the root element is <{found}>, expected <domain>")]
    RootElement { found: String },
    #[error("missing attribute '{name}'{hint}")]
    MissingAttr { name: &'static str, hint: String },
    #[error("missing element <{name}>{hint}")]
    MissingElement { name: &'static str, hint: String },
    #[error("invalid value '{value}' for {what}: expected {expected}")]
    InvalidValue {
        /// `attribute 'type'` or `<memory>`.
        what: String,
        value: String,
        expected: String,
    },
    #[error("element <{name}> may appear only once")]
    Duplicate { name: String },
}

impl ParseError {
    /// Names the file the document came from.
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub(crate) fn from_read(e: ReadError) -> Self {
        ParseError {
            file: None,
            pos: e.pos(),
            path: String::new(),
            kind: Box::new(ParseErrorKind::Xml(e)),
        }
    }
}

/// Formats `FILE:LINE:COL: PATH: ` with whichever parts are known.
pub(crate) fn write_location(
    f: &mut std::fmt::Formatter<'_>,
    file: Option<&std::path::Path>,
    pos: Pos,
    path: &str,
) -> std::fmt::Result {
    if let Some(file) = file {
        write!(f, "{}:", file.display())?;
    }
    if pos.is_known() {
        write!(f, "{pos}:")?;
    }
    if file.is_some() || pos.is_known() {
        f.write_str(" ")?;
    }
    if !path.is_empty() {
        write!(f, "{path}: ")?;
    }
    Ok(())
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A read error carries its own position in its message.
        if let ParseErrorKind::Xml(e) = &*self.kind {
            if let Some(file) = &self.file {
                write!(f, "{}:", file.display())?;
            }
            return write!(f, "{e}");
        }
        write_location(f, self.file.as_deref(), self.pos, &self.path)?;
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for ParseError {}
