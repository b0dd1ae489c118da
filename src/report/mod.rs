//! Report: the image, the facts and the findings in one value, and one writer per format. The
//! writers compute nothing; the JSON writer has its own versioned schema types (`json.rs`,
//! documented in `docs/report-schema.md`), which the HTML page (`html/`) embeds.

pub mod audit;
pub mod charts;
pub mod ci;
pub mod diff;
pub mod explain;
pub mod html;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod schema;
pub mod text;

use crate::analysis::{self, Facts};
use crate::findings::projection::Projection;
use crate::findings::{self, Finding};
use crate::model::Image;

pub struct Report {
    pub image: Image,
    pub facts: Facts,
    pub findings: Vec<Finding>,
    /// The image's size with every bloat finding's fix applied.
    pub projection: Projection,
}

impl Report {
    /// Runs every analysis and rule on an image.
    pub fn new(image: Image) -> Report {
        let facts = analysis::analyze(&image);
        let findings = findings::evaluate(&image, &facts);
        let projection = findings::projection::project(image.size_bytes(), &findings);
        Report {
            image,
            facts,
            findings,
            projection,
        }
    }
}

/// ELF files of the final filesystem whose facts could not be read (a diagnostic says why
/// for each): while there are any, the linkage audit is incomplete, and the audit says so.
pub fn unreadable_elf(image: &Image) -> usize {
    image
        .diagnostics
        .iter()
        .filter(|d| d.message.starts_with(crate::layer::elf::UNREADABLE))
        .filter(|d| {
            let node = d.path.as_deref().and_then(|p| image.tree.lookup(p));
            node.is_some_and(|n| {
                let node = image.tree.node(n);
                node.exists() && Some(node.last_layer()) == d.layer
            })
        })
        .count()
}

/// "3 ELF files could not be read: the audit is incomplete", when some could not.
pub fn unreadable_elf_line(image: &Image) -> Option<String> {
    unreadable_elf_sentence(unreadable_elf(image))
}

/// The line [`unreadable_elf_line`] prints, from the count (also a JSON report's
/// `unreadable_elf`, which the CI gate reads).
pub fn unreadable_elf_sentence(unreadable: usize) -> Option<String> {
    match unreadable {
        0 => None,
        1 => Some(
            "1 ELF file could not be read: the audit is incomplete (see the diagnostics)".into(),
        ),
        n => Some(format!(
            "{n} ELF files could not be read: the audit is incomplete (see the diagnostics)"
        )),
    }
}

/// What the audit could not check, one line each: unreadable ELF files, and duplicates when
/// file contents were not read. A clean audit with any of these is not a clean image.
pub fn incomplete_lines(report: &Report) -> Vec<String> {
    let mut lines: Vec<String> = unreadable_elf_line(&report.image).into_iter().collect();
    if !report.facts.duplicates.computed {
        lines.push(
            "duplicate files were not looked for: `--no-verify` skips file contents".to_string(),
        );
    }
    lines
}

/// The base image in a line: "slim: Debian GNU/Linux 12 (bookworm), layers 0-4 (up to
/// `CMD ["python3"]`), Python 3.12 built from source".
pub fn base_summary(base: &analysis::base::Base) -> String {
    use analysis::base::Boundary;
    let mut s = base.flavour.name().to_string();
    if let Some(os) = &base.os {
        s.push_str(&format!(": {os}"));
    }
    match (&base.layers, &base.boundary) {
        (Some(n), Some(Boundary::Step(step))) => {
            s.push_str(&format!(", {} (up to `{step}`)", layer_span(*n)))
        }
        (Some(n), _) => s.push_str(&format!(", {} (its root filesystem)", layer_span(*n))),
        (None, _) => s.push_str(", base layers not known from the history"),
    }
    if let Some(p) = &base.python {
        let origin = match &p.package {
            Some(package) => format!("from the distribution's {package}"),
            None if p.built_from_source => "built from source".to_string(),
            None => "installed in the image".to_string(),
        };
        s.push_str(&format!(", Python {} {origin}", p.version));
    }
    s
}

fn layer_span(n: usize) -> String {
    if n == 1 {
        "layer 0".to_string()
    } else {
        format!("layers 0-{}", n - 1)
    }
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
    /// One self-contained page: header, treemap, layers, tables.
    Html,
}

/// Writes the full report in a format.
pub fn write(report: &Report, format: Format, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    match format {
        Format::Text => for_people(out, |out| text::write(report, out)),
        Format::Json => json::write(report, false, out),
        Format::Markdown => for_people(out, |out| audit::write_markdown(report, out)),
        // Names reach the page as JSON strings, shown with textContent: nothing to escape.
        Format::Html => html::write(report, out),
    }
}

/// Text a person reads goes through the terminal-safe writer, whatever a value holds.
fn for_people(
    out: &mut dyn std::io::Write,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut safe = crate::printable::Terminal::new(out);
    write(&mut safe)?;
    std::io::Write::flush(&mut safe)
}

/// Output formats of `pydive audit`: the report's, and SARIF for code-scanning dashboards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Text,
    Json,
    Markdown,
    /// One self-contained page: header, treemap, layers, tables.
    Html,
    /// SARIF 2.1.0: one result per finding, each rule's help as `pydive explain` prints it.
    Sarif,
}

/// Writes the audit (the findings, grouped) in a format; JSON is the full report.
pub fn write_audit(
    report: &Report,
    format: AuditFormat,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        AuditFormat::Text => for_people(out, |out| audit::write_text(report, out)),
        AuditFormat::Json => json::write(report, false, out),
        AuditFormat::Markdown => for_people(out, |out| audit::write_markdown(report, out)),
        // Names reach the page as JSON strings, shown with textContent: nothing to escape.
        AuditFormat::Html => html::write(report, out),
        // JSON strings: escaped by the serializer, and read by programs, not a terminal.
        AuditFormat::Sarif => sarif::write_audit(&json::JsonReport::new(report), out),
    }
}

/// "612.4 MB (-58 %) with the 5 fixes below", or None when no fix saves bytes.
pub fn projection_line(size_bytes: u64, projected: u64, fixes: usize) -> Option<String> {
    if fixes == 0 || projected >= size_bytes {
        return None;
    }
    Some(format!(
        "{} ({}) with the {} below",
        findings::size(projected),
        percent_change(size_bytes, projected),
        if fixes == 1 {
            "fix".to_string()
        } else {
            format!("{fixes} fixes")
        }
    ))
}

/// "+23 %", "-58 %", "-0.4 %": the change from `old` to `new`, one decimal under 1 %.
pub fn percent_change(old: u64, new: u64) -> String {
    if old == 0 {
        return if new == 0 { "0 %".into() } else { "new".into() };
    }
    let pct = (new as f64 - old as f64) / old as f64 * 100.0;
    let sign = if pct > 0.0 {
        "+"
    } else if pct < 0.0 {
        "-"
    } else {
        ""
    };
    if pct.abs() < 1.0 && pct != 0.0 {
        format!("{sign}{:.1} %", pct.abs())
    } else {
        format!("{sign}{:.0} %", pct.abs())
    }
}
