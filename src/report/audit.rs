//! The audit: every finding, grouped by severity, then by the Dockerfile step responsible,
//! each with its fix; as text for a terminal or Markdown for a pull request or a CI summary.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{Report, markdown};
use crate::analysis::linkage::LibcFamily;
use crate::findings::{Finding, Severity, group};
use crate::model::short_step;
use crate::printable;

/// Findings of one severity grouped by layer (None: not tied to a layer), in layer order.
fn grouped(report: &Report, severity: Severity) -> BTreeMap<Option<usize>, Vec<&Finding>> {
    let mut groups: BTreeMap<Option<usize>, Vec<&Finding>> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.severity == severity) {
        groups.entry(f.layer).or_default().push(f);
    }
    groups
}

fn counts(report: &Report) -> String {
    let n = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let word = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    format!(
        "{}, {}, {}",
        word(n(Severity::Error), "error", "errors"),
        word(n(Severity::Warning), "warning", "warnings"),
        word(n(Severity::Info), "note", "notes")
    )
}

/// "glibc 2.36, Python 3.11, 12 ELF files; base slim: ..." for the headline.
fn platform(report: &Report) -> String {
    let linkage = &report.facts.linkage;
    let mut parts = Vec::new();
    match (linkage.libc.family, &linkage.libc.version) {
        (Some(LibcFamily::Glibc), Some(v)) => parts.push(format!("glibc {v}")),
        (Some(LibcFamily::Musl), Some(v)) => parts.push(format!("musl {v}")),
        (Some(LibcFamily::Glibc), None) => parts.push("glibc".into()),
        (Some(LibcFamily::Musl), None) => parts.push("musl".into()),
        _ => parts.push("no C library found".into()),
    }
    let pythons: Vec<String> = report
        .facts
        .python
        .interpreters
        .iter()
        .map(|i| i.version.to_string())
        .collect();
    if !pythons.is_empty() {
        parts.push(format!("Python {}", pythons.join(", ")));
    }
    parts.push(format!("{} ELF files", linkage.elves.len()));
    let mut line = parts.join(", ");
    if report.facts.base.flavour != crate::analysis::base::Flavour::Unknown {
        line.push_str(&format!(
            "; base {}",
            super::base_summary(&report.facts.base)
        ));
    }
    line
}

/// "Projected: 612.4 MB (-58 %) with the 5 fixes below".
fn projection(report: &Report) -> Option<String> {
    super::projection_line(
        report.image.size_bytes(),
        report.projection.bytes,
        report.projection.fixes.len(),
    )
    .map(|line| format!("Projected: {line}"))
}

fn step_of(report: &Report, layer: Option<usize>) -> String {
    match layer.and_then(|l| report.image.layers.get(l)) {
        Some(l) if !l.created_by.is_empty() => format!("layer {}: {}", l.index, l.step()),
        Some(l) => format!("layer {}", l.index),
        None => "the image as a whole".into(),
    }
}

/// " (12.0 MB)" after a finding's message, nothing for a finding about no bytes.
fn in_parentheses(f: &Finding) -> String {
    f.size().map(|s| format!(" ({s})")).unwrap_or_default()
}

const SEVERITIES: [(Severity, &str); 3] = [
    (Severity::Error, "Errors"),
    (Severity::Warning, "Warnings"),
    (Severity::Info, "Notes"),
];

pub fn write_text(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} ({})",
        printable::escape(&report.image.reference),
        platform(report)
    )?;
    if let Some(line) = projection(report) {
        writeln!(out, "{line}")?;
    }
    for line in super::incomplete_lines(report) {
        writeln!(out, "{line}")?;
    }
    if report.findings.is_empty() {
        writeln!(out, "No findings: nothing to fix.")?;
        return write_text_diagnostics(report, out);
    }
    writeln!(out, "{}", counts(report))?;
    for (severity, title) in SEVERITIES {
        let groups = grouped(report, severity);
        if groups.is_empty() {
            continue;
        }
        writeln!(out, "\n{title}")?;
        for (layer, findings) in groups {
            writeln!(out, "  {}", printable::escape(&step_of(report, layer)))?;
            for f in findings {
                writeln!(
                    out,
                    "    [{}{}] {}{}",
                    f.rule,
                    if f.is_security() { ", security" } else { "" },
                    printable::escape(&f.message),
                    in_parentheses(f)
                )?;
                for p in f.paths.iter().take(5) {
                    writeln!(out, "        {}", printable::escape(p))?;
                }
                if f.path_count > 5 {
                    writeln!(
                        out,
                        "        ... and {} more",
                        group((f.path_count - 5) as u64)
                    )?;
                }
                writeln!(out, "      fix: {}", printable::escape(&f.fix))?;
            }
        }
    }
    write_text_diagnostics(report, out)
}

/// What could not be read, each where and why: the lines that make an audit incomplete.
fn write_text_diagnostics(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let diagnostics = &report.image.diagnostics;
    if diagnostics.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nNot read ({})", diagnostics.len())?;
    for d in diagnostics {
        writeln!(out, "  {}", diagnostic_line(d))?;
    }
    Ok(())
}

/// "layer 3: /usr/lib/x.so: unreadable ELF file: ...", escaped for a terminal.
fn diagnostic_line(d: &crate::model::ImageDiagnostic) -> String {
    let layer = d.layer.map(|l| format!("layer {l}: ")).unwrap_or_default();
    let path = d
        .path
        .as_deref()
        .map(|p| format!("/{}: ", crate::printable::Printable(p)))
        .unwrap_or_default();
    format!("{layer}{path}{}", printable::escape(&d.message))
}

/// Markdown, for `$GITHUB_STEP_SUMMARY` or a pull request comment.
pub fn write_markdown(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## pydive: `{}`\n",
        printable::escape(&report.image.reference).replace('`', "'")
    )?;
    writeln!(out, "{}\n", platform(report))?;
    if let Some(line) = projection(report) {
        writeln!(out, "**{line}**\n")?;
    }
    for line in super::incomplete_lines(report) {
        writeln!(out, "**{line}**\n")?;
    }
    writeln!(out, "{}", super::charts::markdown(report))?;
    if report.findings.is_empty() {
        writeln!(out, "No findings: nothing to fix.")?;
        return write_markdown_diagnostics(report, out);
    }
    writeln!(out, "**{}**", counts(report))?;
    for (severity, title) in SEVERITIES {
        let groups = grouped(report, severity);
        if groups.is_empty() {
            continue;
        }
        writeln!(out, "\n### {title}")?;
        for (layer, findings) in groups {
            writeln!(out, "\n#### {}\n", md_code(&step_of(report, layer)))?;
            for f in findings {
                writeln!(
                    out,
                    "- **`{}`**{} {}{}",
                    f.rule,
                    if f.is_security() { " (security)" } else { "" },
                    markdown::text(&f.message),
                    in_parentheses(f)
                )?;
                for p in f.paths.iter().take(5) {
                    writeln!(out, "  - {}", markdown::code(p))?;
                }
                if f.path_count > 5 {
                    writeln!(out, "  - ... and {} more", group((f.path_count - 5) as u64))?;
                }
                writeln!(out, "  - Fix: {}", markdown::text(&f.fix))?;
            }
        }
    }
    write_markdown_diagnostics(report, out)
}

fn write_markdown_diagnostics(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let diagnostics = &report.image.diagnostics;
    if diagnostics.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n### Not read ({})\n", diagnostics.len())?;
    for d in diagnostics {
        writeln!(out, "- {}", markdown::text(&diagnostic_line(d)))?;
    }
    Ok(())
}

/// A heading with the step in code: `layer 3: RUN pip install x` -> layer 3: `RUN pip install x`.
fn md_code(step: &str) -> String {
    match step.split_once(": ") {
        Some((layer, step)) => format!("{layer}: {}", markdown::code(&short_step(step))),
        None => step.to_string(),
    }
}
