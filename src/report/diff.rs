//! The diff of two images as text or Markdown (JSON is `JsonDiff` itself), in the order a
//! reviewer reads it: the headline, layers, categories, packages, files, findings, platform.

use std::io::{self, Write};

use super::markdown::{self, cell, code};
use crate::diff::{
    JsonDiff, JsonFileStatus, JsonLayerChange, JsonLayerStatus, JsonPackageChange,
    JsonPackageStatus, signed_size,
};
use crate::findings::size;
use crate::printable::escape;
use crate::report::json::JsonFinding;

/// Rows shown before a Markdown list folds into `<details>`.
const SHOWN: usize = 10;

fn delta(old: u64, new: u64) -> String {
    signed_size(new as i64 - old as i64)
}

fn status(s: JsonLayerStatus) -> &'static str {
    match s {
        JsonLayerStatus::Shared => "shared",
        JsonLayerStatus::Changed => "changed",
        JsonLayerStatus::Added => "added",
        JsonLayerStatus::Removed => "removed",
    }
}

/// A package's name, with where it is when another row has the same name.
fn package_name(p: &JsonPackageChange, all: &[JsonPackageChange]) -> String {
    if all.iter().filter(|o| o.name == p.name).count() > 1 {
        format!("{} in {}", p.name, p.location)
    } else {
        p.name.clone()
    }
}

fn package_status(p: &JsonPackageChange) -> String {
    let v = |v: &Option<String>| v.clone().unwrap_or_default();
    match p.status {
        JsonPackageStatus::Added => format!("added {}", v(&p.new_version)),
        JsonPackageStatus::Removed => format!("removed {}", v(&p.old_version)),
        JsonPackageStatus::Upgraded => {
            format!("upgraded {} -> {}", v(&p.old_version), v(&p.new_version))
        }
        JsonPackageStatus::Downgraded => {
            format!("downgraded {} -> {}", v(&p.old_version), v(&p.new_version))
        }
        JsonPackageStatus::Changed => format!("rebuilt {}", v(&p.new_version)),
    }
}

fn file_status(s: JsonFileStatus) -> &'static str {
    match s {
        JsonFileStatus::Added => "added",
        JsonFileStatus::Removed => "removed",
        JsonFileStatus::Grown => "grown",
        JsonFileStatus::Shrunk => "shrunk",
    }
}

fn index(i: Option<usize>) -> String {
    i.map(|i| i.to_string()).unwrap_or_else(|| "-".into())
}

/// "projected 612.4 MB (-58 %) with its 5 fixes" for NEW, if a fix saves anything.
fn projection(diff: &JsonDiff) -> Option<String> {
    super::projection_line(
        diff.new.size_bytes,
        diff.new.projected_bytes,
        diff.new.fixes,
    )
    .map(|line| {
        format!(
            "NEW projected: {}",
            line.replace(" below", " of its findings")
        )
    })
}

const NO_FILE_TABLE: &str = "File changes need the file table on both sides: write stored reports with `pydive report --format json --files` (or keep `pydive ci --report`).";

pub fn write_text(diff: &JsonDiff, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} -> {}",
        escape(&diff.old.reference),
        escape(&diff.new.reference)
    )?;
    writeln!(out, "{}", escape(&diff.headline))?;
    if let Some(line) = projection(diff) {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "\nLayers")?;
    for l in &diff.layers {
        writeln!(
            out,
            "  {:<8} {:>3} -> {:<3} {:>10}  {:>11}  {}",
            status(l.status),
            index(l.old_index),
            index(l.new_index),
            size(l.new_bytes.max(l.old_bytes)),
            if l.status == JsonLayerStatus::Shared {
                String::new()
            } else {
                delta(l.old_bytes, l.new_bytes)
            },
            cut(&escape(&l.step), 80)
        )?;
    }
    writeln!(out, "\nCategories")?;
    writeln!(
        out,
        "  {:<14} {:>10} {:>10} {:>11}",
        "", "old", "new", "change"
    )?;
    for c in &diff.categories {
        writeln!(
            out,
            "  {:<14} {:>10} {:>10} {:>11}",
            c.category,
            size(c.old_bytes),
            size(c.new_bytes),
            delta(c.old_bytes, c.new_bytes)
        )?;
    }
    if !diff.packages.is_empty() {
        writeln!(out, "\nPython packages")?;
        for p in &diff.packages {
            writeln!(
                out,
                "  {:<30} {:<34} {:>11}",
                escape(&package_name(p, &diff.packages)),
                escape(&package_status(p)),
                delta(p.old_bytes, p.new_bytes)
            )?;
        }
    }
    writeln!(out, "\nFiles")?;
    match &diff.files {
        None => writeln!(out, "  {NO_FILE_TABLE}")?,
        Some(files) if files.is_empty() => writeln!(out, "  no file changed")?,
        Some(files) => {
            for f in files {
                writeln!(
                    out,
                    "  {:<8} {:>11}  {}",
                    file_status(f.status),
                    delta(f.old_bytes, f.new_bytes),
                    escape(&f.path)
                )?;
            }
        }
    }
    text_findings(out, "Findings new in NEW", &diff.new_findings)?;
    text_findings(out, "Findings fixed since OLD", &diff.fixed_findings)?;
    if !diff.platform.is_empty() {
        writeln!(out, "\nPlatform changed")?;
        for p in &diff.platform {
            writeln!(
                out,
                "  {}: {} -> {}",
                p.what,
                escape(&p.old),
                escape(&p.new)
            )?;
        }
    }
    Ok(())
}

fn text_findings(out: &mut dyn Write, title: &str, findings: &[JsonFinding]) -> io::Result<()> {
    writeln!(out, "\n{title} ({})", findings.len())?;
    for f in findings {
        let step = f
            .created_by
            .as_deref()
            .map(|s| format!(" ({})", cut(&escape(&crate::model::short_step(s)), 60)))
            .unwrap_or_default();
        writeln!(
            out,
            "  {:<7} [{}]{step} {}",
            f.severity.to_string(),
            escape(&f.rule),
            escape(&f.message)
        )?;
        writeln!(out, "          fix: {}", escape(&f.fix))?;
    }
    Ok(())
}

pub fn write_markdown(diff: &JsonDiff, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## pydive diff: {} -> {}\n",
        code(&diff.old.reference),
        code(&diff.new.reference)
    )?;
    writeln!(out, "**{}**\n", markdown::text(&diff.headline))?;
    if let Some(line) = projection(diff) {
        writeln!(out, "{}\n", markdown::text(&line))?;
    }
    writeln!(out, "### Layers\n")?;
    let rows: Vec<String> = diff.layers.iter().map(layer_row).collect();
    table(
        out,
        "| | old | new | size | change | step |\n|---|---:|---:|---:|---:|---|",
        &rows,
        "more layers",
    )?;
    writeln!(out, "### Categories\n")?;
    let rows: Vec<String> = diff
        .categories
        .iter()
        .map(|c| {
            format!(
                "| {} | {} | {} | {} |",
                c.category,
                size(c.old_bytes),
                size(c.new_bytes),
                delta(c.old_bytes, c.new_bytes)
            )
        })
        .collect();
    table(
        out,
        "| category | old | new | change |\n|---|---:|---:|---:|",
        &rows,
        "more categories",
    )?;
    if !diff.packages.is_empty() {
        writeln!(out, "### Python packages\n")?;
        let rows: Vec<String> = diff
            .packages
            .iter()
            .map(|p| {
                format!(
                    "| {} | {} | {} |",
                    cell(&code(&package_name(p, &diff.packages))),
                    cell(&markdown::text(&package_status(p))),
                    delta(p.old_bytes, p.new_bytes)
                )
            })
            .collect();
        table(
            out,
            "| package | change | size |\n|---|---|---:|",
            &rows,
            "more packages",
        )?;
    }
    writeln!(out, "### Files\n")?;
    match &diff.files {
        None => writeln!(out, "{NO_FILE_TABLE}\n")?,
        Some(files) if files.is_empty() => writeln!(out, "No file changed.\n")?,
        Some(files) => {
            let rows: Vec<String> = files
                .iter()
                .map(|f| {
                    format!(
                        "| {} | {} | {} |",
                        file_status(f.status),
                        delta(f.old_bytes, f.new_bytes),
                        cell(&code(&f.path))
                    )
                })
                .collect();
            table(
                out,
                "| | change | path |\n|---|---:|---|",
                &rows,
                "more files",
            )?;
        }
    }
    md_findings(out, "Findings new in NEW", &diff.new_findings)?;
    md_findings(out, "Findings fixed since OLD", &diff.fixed_findings)?;
    if !diff.platform.is_empty() {
        writeln!(out, "### Platform changed\n")?;
        for p in &diff.platform {
            writeln!(
                out,
                "- **{}**: {} -> {}",
                p.what,
                markdown::text(&p.old),
                markdown::text(&p.new)
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn layer_row(l: &JsonLayerChange) -> String {
    format!(
        "| {} | {} | {} | {} | {} | {} |",
        status(l.status),
        index(l.old_index),
        index(l.new_index),
        size(l.new_bytes.max(l.old_bytes)),
        if l.status == JsonLayerStatus::Shared {
            String::new()
        } else {
            delta(l.old_bytes, l.new_bytes)
        },
        cell(&code(&cut(&l.step, 100)))
    )
}

/// A table whose rows past `SHOWN` fold into `<details>`.
fn table(out: &mut dyn Write, head: &str, rows: &[String], more: &str) -> io::Result<()> {
    writeln!(out, "{head}")?;
    for row in rows.iter().take(SHOWN) {
        writeln!(out, "{row}")?;
    }
    writeln!(out)?;
    if rows.len() > SHOWN {
        let body = format!("{head}\n{}", rows[SHOWN..].join("\n"));
        writeln!(
            out,
            "{}",
            markdown::details(&format!("{} {more}", rows.len() - SHOWN), &body)
        )?;
    }
    Ok(())
}

fn md_findings(out: &mut dyn Write, title: &str, findings: &[JsonFinding]) -> io::Result<()> {
    writeln!(out, "### {title} ({})\n", findings.len())?;
    for f in findings {
        let step = f
            .created_by
            .as_deref()
            .map(|s| format!(" in {}", code(&crate::model::short_step(s))))
            .unwrap_or_default();
        writeln!(
            out,
            "- **{}**{step}: {}\n  - Fix: {}",
            code(&f.rule),
            markdown::text(&f.message),
            markdown::text(&f.fix)
        )?;
    }
    if !findings.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(width - 3).collect::<String>())
    }
}
