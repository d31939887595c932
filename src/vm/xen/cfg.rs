//! The `xl.cfg` syntax: `KEY = VALUE` lines, where a value is a number, a
//! quoted string, or a `[ … ]` list of them; `#` starts a comment. Parsing
//! keeps the order of keys; writing quotes and escapes every string and
//! refuses control characters (xl would otherwise read a different value,
//! or a second setting smuggled in after a newline).

use std::fmt::Write as _;

/// One value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Num(String),
    List(Vec<Value>),
}

impl Value {
    /// The text of a string or number.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Num(s) => Some(s),
            Value::List(_) => None,
        }
    }

    /// Strings of a list (a single string counts as a list of one).
    pub fn strings(&self) -> Vec<&str> {
        match self {
            Value::List(items) => items.iter().filter_map(Value::as_str).collect(),
            v => v.as_str().into_iter().collect(),
        }
    }
}

/// An ordered xl config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub entries: Vec<(String, Value)>,
}

/// A config line xl would not read, or a value it cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CfgError {
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error(
        "{key}: control character U+{code:04X} in a value (refused: xl cannot carry it safely)"
    )]
    ControlChar { key: String, code: u32 },
}

/// Why an xl.cfg file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CfgLoadError {
    /// Not read: missing, not a regular file, or over the size limit.
    #[error(transparent)]
    Read(crate::input::InputError),
    /// Read but not an xl.cfg.
    #[error("{path}: {source}")]
    Parse {
        path: std::path::PathBuf,
        source: CfgError,
    },
}

impl Config {
    /// Reads (bounded, see [`crate::input`]) and parses an xl.cfg file.
    pub fn load(path: &std::path::Path) -> Result<Config, CfgLoadError> {
        use crate::input;
        let text = input::read_text(path, input::Links::Follow, input::CONFIG_LIMIT)
            .map_err(CfgLoadError::Read)?;
        Config::parse(&text).map_err(|source| CfgLoadError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Sets (replacing an earlier setting of) `key`.
    pub fn set(&mut self, key: &str, value: Value) {
        self.entries.retain(|(k, _)| k != key);
        self.entries.push((key.to_owned(), value));
    }

    pub fn set_str(&mut self, key: &str, v: impl Into<String>) {
        self.set(key, Value::Str(v.into()));
    }

    pub fn set_num(&mut self, key: &str, v: impl ToString) {
        self.set(key, Value::Num(v.to_string()));
    }

    pub fn set_list(&mut self, key: &str, items: Vec<String>) {
        self.set(
            key,
            Value::List(items.into_iter().map(Value::Str).collect()),
        );
    }

    /// Parses xl.cfg text.
    pub fn parse(text: &str) -> Result<Config, CfgError> {
        let mut p = Parser {
            chars: text.chars().collect(),
            i: 0,
            line: 1,
        };
        let mut cfg = Config::default();
        loop {
            p.skip_space_and_comments();
            if p.peek().is_none() {
                return Ok(cfg);
            }
            let key = p.ident()?;
            p.skip_inline_space();
            if p.next() != Some('=') {
                return Err(p.err(format!("expected '=' after '{key}'")));
            }
            p.skip_inline_space();
            let value = p.value()?;
            p.skip_inline_space();
            match p.peek() {
                None | Some('\n' | '#' | ';') => {
                    if p.peek() == Some(';') {
                        p.next();
                    }
                }
                Some(c) => {
                    return Err(p.err(format!("unexpected '{c}' after the value of '{key}'")));
                }
            }
            cfg.entries.push((key, value));
        }
    }

    /// Writes the config as libvirt does: `key = value`, lists on one line
    /// as `[ "a", "b" ]`.
    pub fn format(&self) -> Result<String, CfgError> {
        let mut out = String::new();
        for (k, v) in &self.entries {
            let _ = write!(out, "{k} = ");
            write_value(&mut out, k, v)?;
            out.push('\n');
        }
        Ok(out)
    }
}

fn write_value(out: &mut String, key: &str, v: &Value) -> Result<(), CfgError> {
    match v {
        Value::Num(n) => out.push_str(n),
        Value::Str(s) => {
            if let Some(c) = s.chars().find(|c| c.is_control()) {
                return Err(CfgError::ControlChar {
                    key: key.to_owned(),
                    code: u32::from(c),
                });
            }
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Value::List(items) => {
            out.push_str("[ ");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, key, item)?;
            }
            out.push_str(" ]");
        }
    }
    Ok(())
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn err(&self, message: String) -> CfgError {
        CfgError::Syntax {
            line: self.line,
            message,
        }
    }

    fn skip_inline_space(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.next();
        }
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.next();
                }
                Some('#') => while !matches!(self.next(), None | Some('\n')) {},
                _ => return,
            }
        }
    }

    fn ident(&mut self) -> Result<String, CfgError> {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                s.push(c);
                self.next();
            } else {
                break;
            }
        }
        if s.is_empty() {
            return Err(self.err("expected a setting name".into()));
        }
        Ok(s)
    }

    fn value(&mut self) -> Result<Value, CfgError> {
        match self.peek() {
            Some('"' | '\'') => self.string().map(Value::Str),
            Some('[') => {
                self.next();
                let mut items = Vec::new();
                loop {
                    self.skip_space_and_comments();
                    match self.peek() {
                        Some(']') => {
                            self.next();
                            return Ok(Value::List(items));
                        }
                        None => return Err(self.err("unterminated list".into())),
                        _ => {}
                    }
                    items.push(self.value()?);
                    self.skip_space_and_comments();
                    match self.peek() {
                        Some(',') => {
                            self.next();
                        }
                        Some(']') => {}
                        _ => return Err(self.err("expected ',' or ']' in a list".into())),
                    }
                }
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '-' || c == '.' => {
                let mut s = String::new();
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                        s.push(c);
                        self.next();
                    } else {
                        break;
                    }
                }
                Ok(Value::Num(s))
            }
            _ => Err(self.err("expected a value".into())),
        }
    }

    /// A quoted string; backslash escapes `\\`, `\"`, `\'`, `\n`, `\t`.
    fn string(&mut self) -> Result<String, CfgError> {
        let quote = self.next();
        let mut s = String::new();
        loop {
            if matches!(self.peek(), None | Some('\n')) {
                return Err(self.err("unterminated string".into()));
            }
            match self.next() {
                None => return Err(self.err("unterminated string".into())),
                Some('\\') => match self.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(c) => s.push(c),
                    None => return Err(self.err("unterminated string".into())),
                },
                Some(c) if Some(c) == quote => return Ok(s),
                Some(c) => s.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let text = "# comment\nname = \"a \\\"b\\\"\"\nmemory = 512\nvif = [ \"mac=00:16:3e:00:00:01,bridge=br0\",\n  'x' ] # trailing\n";
        let c = Config::parse(text).unwrap();
        assert_eq!(c.str("name"), Some("a \"b\""));
        assert_eq!(c.get("memory"), Some(&Value::Num("512".into())));
        assert_eq!(c.get("vif").unwrap().strings().len(), 2);
        let out = c.format().unwrap();
        assert_eq!(
            out,
            "name = \"a \\\"b\\\"\"\nmemory = 512\nvif = [ \"mac=00:16:3e:00:00:01,bridge=br0\", \"x\" ]\n"
        );
        assert_eq!(Config::parse(&out).unwrap(), c);
    }

    #[test]
    fn control_characters_are_refused() {
        let mut c = Config::default();
        c.set_str("cmdline", "quiet\non_crash = \"preserve\"");
        assert_eq!(
            c.format(),
            Err(CfgError::ControlChar {
                key: "cmdline".into(),
                code: 10
            })
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = Config::parse("a = 1\nb = \"x\nc = 2").unwrap_err();
        assert_eq!(e.to_string(), "line 2: unterminated string");
        assert!(Config::parse("a 1").is_err());
    }
}
