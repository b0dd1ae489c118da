//! The text report: what a person reads in a terminal. Layers with their step and size, where
//! the bytes went, the largest OS packages, the waste, and the findings with their fixes.

use std::io::{self, Write};

use super::Report;
use crate::analysis::Category;
use crate::findings::{group, size};
use crate::model::short_step;
use crate::printable::{Printable, escape};

/// Dockerfile steps are cut to this many characters in the layer table.
const STEP_WIDTH: usize = 90;
/// Paths shown per finding; the rest are counted.
const PATHS_SHOWN: usize = 5;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let image = &report.image;
    let facts = &report.facts;
    let visible = report.facts.visible;
    let mut platform = format!("{}/{}", image.os, image.architecture);
    if let Some(v) = &image.variant {
        platform.push('/');
        platform.push_str(v);
    }
    writeln!(out, "{}", escape(&image.reference))?;
    let layer_bytes = crate::model::sum_bytes(image.layers.iter().map(|l| l.files_bytes()));
    writeln!(
        out,
        "  {platform}, {} layers holding {} ({} as layer tars); {} files ({}) in the final filesystem",
        image.layers.len(),
        size(layer_bytes),
        size(image.size_bytes()),
        group(visible.files),
        size(visible.bytes),
    )?;
    if let Some(line) = super::projection_line(
        image.size_bytes(),
        report.projection.bytes,
        report.projection.fixes.len(),
    ) {
        writeln!(out, "  projected: {line}")?;
    }
    let waste = &facts.waste;
    writeln!(
        out,
        "  wasted {} (deleted {}, overwritten {}){}",
        size(waste.wasted_bytes()),
        size(waste.deleted_bytes),
        size(waste.overwritten_bytes),
        if facts.duplicates.computed {
            format!(
                ", duplicates {} reclaimable",
                size(facts.duplicates.reclaimable_bytes())
            )
        } else {
            String::new()
        }
    )?;
    writeln!(out, "  base {}", super::base_summary(&facts.base))?;
    writeln!(
        out,
        "  dive's numbers: efficiency {:.4} %, wasted {}",
        facts.dive.efficiency * 100.0,
        size(facts.dive.wasted_bytes)
    )?;

    writeln!(out, "\nLayers")?;
    writeln!(out, "  {:>3}  {:>10}  {:>7}  step", "#", "size", "files")?;
    for layer in &image.layers {
        writeln!(
            out,
            "  {:>3}  {:>10}  {:>7}  {}",
            layer.index,
            size(layer.files_bytes()),
            group(layer.files() as u64),
            cut(&escape(&layer.step()), STEP_WIDTH)
        )?;
    }

    writeln!(
        out,
        "\nWhere the bytes went (final filesystem; a file can be in several)"
    )?;
    writeln!(out, "  {:<14}  {:>10}  {:>7}", "category", "size", "files")?;
    for c in Category::ALL {
        let t = facts
            .categories
            .visible
            .get(&c)
            .copied()
            .unwrap_or_default();
        if t.files > 0 {
            writeln!(
                out,
                "  {:<14}  {:>10}  {:>7}",
                c.id(),
                size(t.bytes),
                group(t.files)
            )?;
        }
    }

    let os = &facts.os_packages;
    if let Some(manager) = os.manager {
        let total: u64 = os.packages.iter().map(|p| p.bytes).sum();
        let toolchain: Vec<_> = os.packages.iter().filter(|p| p.toolchain).collect();
        writeln!(
            out,
            "\nOS packages ({}: {} installed, {}; build toolchain {} packages, {})",
            match manager {
                crate::analysis::packages::Manager::Dpkg => "dpkg",
                crate::analysis::packages::Manager::Apk => "apk",
            },
            group(os.packages.len() as u64),
            size(total),
            group(toolchain.len() as u64),
            size(toolchain.iter().map(|p| p.bytes).sum()),
        )?;
        for p in os.packages.iter().take(10) {
            writeln!(
                out,
                "  {:>10}  layer {:>2}  {} {}{}",
                size(p.bytes),
                p.layer,
                p.name,
                p.version,
                if p.toolchain { "  (toolchain)" } else { "" }
            )?;
        }
    }

    if !waste.files.is_empty() {
        writeln!(out, "\nLargest waste")?;
        for w in waste.files.iter().take(10) {
            let (verb, by) = match w.fate {
                crate::analysis::waste::Fate::Deleted { by } => ("deleted", by),
                crate::analysis::waste::Fate::Overwritten { by, .. } => ("overwritten", by),
            };
            writeln!(
                out,
                "  {:>10}  /{}  (layer {}, {verb} in layer {by})",
                size(w.bytes),
                Printable(&image.tree.path(w.node)),
                w.layer
            )?;
        }
    }

    writeln!(out)?;
    if report.findings.is_empty() {
        writeln!(out, "No findings.")?;
    } else {
        writeln!(out, "Findings ({})", report.findings.len())?;
    }
    for f in &report.findings {
        let layer = f.layer.map(|l| format!("layer {l}: ")).unwrap_or_default();
        writeln!(
            out,
            "  {:<7} [{}{}] {layer}{}",
            f.severity,
            f.rule,
            if f.is_security() { ", security" } else { "" },
            escape(&f.message)
        )?;
        if let Some(step_text) = &f.created_by {
            writeln!(
                out,
                "          step: {}",
                cut(&escape(&short_step(step_text)), STEP_WIDTH)
            )?;
        }
        for p in f.paths.iter().take(PATHS_SHOWN) {
            writeln!(out, "          {}", escape(p))?;
        }
        if f.path_count > PATHS_SHOWN {
            writeln!(
                out,
                "          ... and {} more",
                group((f.path_count - PATHS_SHOWN) as u64)
            )?;
        }
        writeln!(out, "          fix: {}", escape(&f.fix))?;
    }
    for d in &image.diagnostics {
        let layer = d.layer.map(|l| format!("layer {l}: ")).unwrap_or_default();
        let path = d
            .path
            .as_deref()
            .map(|p| format!("/{}: ", Printable(p)))
            .unwrap_or_default();
        writeln!(out, "  note: {layer}{path}{}", escape(&d.message))?;
    }
    for note in &report.facts.linkage.notes {
        writeln!(out, "  note: {}", escape(note))?;
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
