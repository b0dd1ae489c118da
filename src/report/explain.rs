//! `pydive explain`: every rule's text from the one table in `findings` (`findings::catalog`),
//! for a terminal, and as the Markdown table the README carries (kept current by a test).

use std::io::{self, Write};

use crate::findings::{self, Rule};

/// One rule: its id and severity, what makes it fire, why that matters, how to fix it.
pub fn write_rule(rule: &Rule, out: &mut dyn Write) -> io::Result<()> {
    let kind = if rule.is_gate() {
        "gate rule of `pydive ci`".to_string()
    } else {
        format!("{} finding", rule.severity)
    };
    writeln!(out, "{} ({kind})", rule.id)?;
    writeln!(out, "  {}", rule.summary)?;
    writeln!(out)?;
    writeln!(out, "Why: {}", rule.why)?;
    writeln!(out)?;
    writeln!(out, "Fix: {}", rule.fix)
}

/// Every rule, one line each.
pub fn write_all(out: &mut dyn Write) -> io::Result<()> {
    let width = findings::catalog().map(|r| r.id.len()).max().unwrap_or(0);
    writeln!(out, "Finding rules (pydive audit, report, ci):")?;
    for rule in findings::RULES {
        writeln!(
            out,
            "  {:<width$}  {:<7}  {}",
            rule.id,
            rule.severity.to_string(),
            rule.summary
        )?;
    }
    writeln!(out, "\nGate rules (pydive ci):")?;
    for rule in findings::GATES {
        writeln!(out, "  {:<width$}  {}", rule.id, rule.summary)?;
    }
    writeln!(
        out,
        "\n`pydive explain RULE` says why each matters and how to fix it."
    )
}

/// The README's table of rules.
pub fn markdown_table() -> String {
    let mut s =
        String::from("| rule | severity | fires when | why | fix |\n|---|---|---|---|---|\n");
    for rule in findings::catalog() {
        let severity = if rule.is_gate() {
            "gate".to_string()
        } else {
            rule.severity.to_string()
        };
        s.push_str(&format!(
            "| `{}` | {severity} | {} | {} | {} |\n",
            rule.id,
            cell(rule.summary),
            cell(rule.why),
            cell(rule.fix)
        ));
    }
    s
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
