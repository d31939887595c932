//! The child's numbered steps three ways: `docs/launch.md`'s child list,
//! the `// N. Title:` comments of `child.rs::set_up_and_exec`, and the child
//! step each `protocol::Step` row belongs to. The tests here keep the three
//! the same, so the docs cannot drift from the code again.

use super::protocol::Step;

/// A child step number as the docs write it: `7`, or `1b` for a step
/// squeezed in after `1`. Ordered as the steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ChildStepNumber {
    number: u8,
    letter: Option<char>,
}

impl ChildStepNumber {
    /// `"7"` or `"1b"`; `None` for anything else.
    pub(super) fn parse(text: &str) -> Option<Self> {
        let digits = text.trim_end_matches(|c: char| c.is_ascii_lowercase());
        let letter = match &text[digits.len()..] {
            "" => None,
            rest => {
                let mut chars = rest.chars();
                let letter = chars.next()?;
                Some(chars.next().is_none().then_some(letter)?)
            }
        };
        Some(Self {
            number: digits.parse().ok()?,
            letter,
        })
    }
}

/// One numbered step: its number and its title.
type Numbered = (ChildStepNumber, String);

/// `N. **Title**…` items of the "## Child" section of `docs/launch.md`.
fn docs_steps(markdown: &str) -> Vec<Numbered> {
    let section = markdown
        .split("\n## ")
        .find(|s| s.starts_with("Child"))
        .expect("docs/launch.md has a '## Child' section");
    section
        .lines()
        .filter_map(|line| {
            let (number, rest) = line.split_once(". ")?;
            let number = ChildStepNumber::parse(number)?;
            let title = rest.strip_prefix("**")?.split_once("**")?.0;
            Some((number, title.to_owned()))
        })
        .collect()
}

/// `// N. Title: why` comments in the body of `set_up_and_exec`.
fn code_steps(source: &str) -> Vec<Numbered> {
    let body = source
        .split_once("fn set_up_and_exec(")
        .and_then(|(_, rest)| rest.split_once("\n}\n"))
        .expect("child.rs has set_up_and_exec")
        .0;
    body.lines()
        .filter_map(|line| {
            let comment = line.trim_start().strip_prefix("// ")?;
            let (number, rest) = comment.split_once(". ")?;
            let number = ChildStepNumber::parse(number)?;
            let title = rest.split_once(':')?.0;
            Some((number, title.to_owned()))
        })
        .collect()
}

const DOCS: &str = include_str!("../../docs/launch.md");
const CHILD: &str = include_str!("child.rs");

#[test]
fn docs_list_the_child_steps_the_code_numbers() {
    let docs = docs_steps(DOCS);
    let code = code_steps(CHILD);
    assert!(code.len() > 10, "too few step comments found: {code:?}");
    assert_eq!(docs, code);
    assert!(code.is_sorted(), "steps out of order: {code:?}");
}

#[test]
fn every_failing_step_belongs_to_a_numbered_child_step() {
    let code: Vec<ChildStepNumber> = code_steps(CHILD).into_iter().map(|(n, _)| n).collect();
    for (tag, child_step, name) in Step::ROWS {
        let number = ChildStepNumber::parse(child_step).expect(child_step);
        assert!(
            code.contains(&number),
            "step {name} (tag {tag}) names child step {child_step}, which child.rs lacks"
        );
    }
}

#[test]
fn step_numbers_parse_and_order() {
    let parse = |s| ChildStepNumber::parse(s).expect(s);
    assert!(parse("1") < parse("1b") && parse("1b") < parse("2"));
    assert!(parse("9") < parse("10"));
    for bad in ["", "b", "1bc", "1B", "x1"] {
        assert_eq!(ChildStepNumber::parse(bad), None, "{bad}");
    }
}
