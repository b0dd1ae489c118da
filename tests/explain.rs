//! `pydive explain` and the README's table of rules, both from the one table of rules in
//! `src/findings`. `UPDATE_README=1 cargo nextest run --test explain` rewrites the README's.

mod common;

use common::pydive;
use pydive::findings;

const START: &str = "<!-- rules:start";
const END: &str = "<!-- rules:end -->";

#[test]
fn readme_rules_table_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find(START).expect("README has a rules:start marker");
    let body = start + readme[start..].find('\n').unwrap() + 1;
    let end = readme.find(END).expect("README has a rules:end marker");
    let table = pydive::report::explain::markdown_table();
    if readme[body..end] != table {
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{}{}", &readme[..body], table, &readme[end..]);
            std::fs::write(&path, updated).unwrap();
        } else {
            panic!(
                "the README's rules table is out of date; run `UPDATE_README=1 cargo nextest run --test explain`"
            );
        }
    }
    for rule in findings::catalog() {
        assert!(table.contains(&format!("| `{}` |", rule.id)), "{}", rule.id);
    }
}

#[test]
fn ids_are_unique_kebab_case_and_every_text_is_filled() {
    let mut seen = std::collections::HashSet::new();
    for rule in findings::catalog() {
        assert!(seen.insert(rule.id), "{} twice", rule.id);
        assert!(
            rule.id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{}",
            rule.id
        );
        for (what, text) in [
            ("summary", rule.summary),
            ("why", rule.why),
            ("fix", rule.fix),
        ] {
            assert!(text.len() > 10, "{}: {what} is empty", rule.id);
            assert!(!text.contains('\n'), "{}: {what} spans lines", rule.id);
        }
        assert!(
            rule.why.ends_with('.') && rule.fix.ends_with('.'),
            "{}: why and fix are sentences",
            rule.id
        );
    }
}

#[test]
fn explain_prints_one_rule_from_the_table() {
    let rule = findings::rule("pip-cache").unwrap();
    let out = pydive().args(["explain", "pip-cache"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("pip-cache (warning finding)\n"), "{text}");
    assert!(text.contains(&format!("Why: {}", rule.why)), "{text}");
    assert!(text.contains(&format!("Fix: {}", rule.fix)), "{text}");

    let out = pydive().args(["explain", "max-growth"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("max-growth (gate rule of `pydive ci`)"),
        "{text}"
    );
}

#[test]
fn explain_lists_every_rule() {
    let out = pydive().arg("explain").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for rule in findings::catalog() {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{} ", rule.id))),
            "{} missing:\n{text}",
            rule.id
        );
    }
}

#[test]
fn an_unknown_rule_is_one_line_and_exit_2() {
    let out = pydive().args(["explain", "no-such-rule"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no rule `no-such-rule`"), "{err}");
}
