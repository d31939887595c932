//! Where each element of a parsed domain was in its document, so the
//! validation pass (which sees the model, not the tree) can say `LINE:COL`.

use crate::xml::{Element, Pos};
use std::collections::HashMap;

/// Element positions by path: `/domain/devices[1]/filesystem[2]/target[1]`.
///
/// Positions say where a domain came from, not what it is: two domains that
/// differ only in layout compare equal, so this type's `==` is always true.
/// A domain built in code has none, and every lookup answers `0:0` (unknown).
#[derive(Debug, Clone, Default)]
pub struct Positions {
    map: HashMap<String, Pos>,
}

impl PartialEq for Positions {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Positions {}

impl Positions {
    /// Records every element of the document rooted at `root`, with the
    /// XPath-style numbering the parser's error paths use.
    pub(crate) fn of_tree(root: &Element) -> Positions {
        let mut map = HashMap::new();
        let root_path = format!("/{}", root.name);
        map.insert(root_path.clone(), root.pos);
        // An explicit stack: the reader's depth cap is configurable.
        let mut stack = vec![(root, root_path)];
        while let Some((el, path)) = stack.pop() {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for child in el.elements() {
                let n = counts.entry(child.name.as_str()).or_insert(0);
                *n += 1;
                let p = format!("{path}/{}[{n}]", child.name);
                map.insert(p.clone(), child.pos);
                if child.elements().next().is_some() {
                    stack.push((child, p));
                }
            }
        }
        Positions { map }
    }

    /// The position of the element at `path` (a step without an index means
    /// the first: `/domain/os/init` is `/domain/os[1]/init[1]`), or, when it is
    /// absent (a missing element), of its nearest ancestor that exists.
    pub fn get(&self, path: &str) -> Pos {
        if self.map.is_empty() {
            return Pos::default();
        }
        let mut steps: Vec<String> = Vec::new();
        for (i, step) in path.split('/').filter(|s| !s.is_empty()).enumerate() {
            if i == 0 || step.ends_with(']') {
                steps.push(step.to_owned());
            } else {
                steps.push(format!("{step}[1]"));
            }
        }
        while !steps.is_empty() {
            let key = format!("/{}", steps.join("/"));
            if let Some(p) = self.map.get(&key) {
                return *p;
            }
            steps.pop();
        }
        Pos::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, read_document};

    #[test]
    fn finds_elements_and_nearest_ancestors() {
        let doc = "<domain>\n <os>\n  <init>x</init>\n </os>\n <devices>\n  <disk/>\n  <disk>\n   <target/>\n  </disk>\n </devices>\n</domain>";
        let root = read_document(doc.as_bytes(), &Limits::default()).unwrap();
        let p = Positions::of_tree(&root);
        let at = |line, col| Pos { line, col };
        assert_eq!(p.get("/domain"), at(1, 1));
        assert_eq!(p.get("/domain/os/init"), at(3, 3));
        assert_eq!(p.get("/domain/os/inituser"), at(2, 2));
        assert_eq!(p.get("/domain/devices/disk[2]/target"), at(8, 4));
        assert_eq!(p.get("/domain/devices/disk[2]/source"), at(7, 3));
        assert_eq!(p.get("/domain/idmap/uid"), at(1, 1));
        assert_eq!(Positions::default().get("/domain/os"), Pos::default());
    }
}
