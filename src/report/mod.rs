//! Report: the image, the facts and the findings in one value, and one writer per format. The
//! writers compute nothing; the JSON writer has its own versioned schema types (`json.rs`,
//! documented in `docs/report-schema.md`).

pub mod audit;
pub mod json;
pub mod text;

use crate::analysis::{self, Facts};
use crate::findings::{self, Finding};
use crate::model::Image;

pub struct Report {
    pub image: Image,
    pub facts: Facts,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Runs every analysis and rule on an image.
    pub fn new(image: Image) -> Report {
        let facts = analysis::analyze(&image);
        let findings = findings::evaluate(&image, &facts);
        Report {
            image,
            facts,
            findings,
        }
    }
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// Writes the full report in a format.
pub fn write(report: &Report, format: Format, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    match format {
        Format::Text => for_people(out, |out| text::write(report, out)),
        Format::Json => json::write(report, out),
        Format::Markdown => for_people(out, |out| audit::write_markdown(report, out)),
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

/// Writes the audit (the findings, grouped) in a format; JSON is the full report.
pub fn write_audit(
    report: &Report,
    format: Format,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Text => for_people(out, |out| audit::write_text(report, out)),
        Format::Json => json::write(report, out),
        Format::Markdown => for_people(out, |out| audit::write_markdown(report, out)),
    }
}
