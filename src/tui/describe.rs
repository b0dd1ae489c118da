//! What the Details pane says: everything the report knows about the selected file (every
//! layer that touched it, its categories, waste and duplicates, its ELF facts and its
//! distribution) or, when the layers had the focus last, about the selected layer (digests,
//! sizes, its whole step, the bytes it added by category, its findings). A query, as styled
//! lines before wrapping: the pane draws them, and `update` counts them only when the pane
//! scrolls.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::state::{Subject, ViewState};
use super::theme::{Theme, glyph, libc_name, size, state_letter};
use super::tree_view::Mode;
use crate::analysis::waste::Fate;
use crate::layer::EntryKind;
use crate::layer::path::{Lossless, absolute};
use crate::model::NodeId;
use crate::report::Report;

/// The pane's lines before wrapping, for the selected file or layer.
pub fn lines(report: &Report, state: &ViewState) -> Vec<Line<'static>> {
    let theme = Theme { color: state.color };
    match (state.subject, state.selected_node()) {
        (Subject::File, Some(node)) => file_lines(report, state, node, theme),
        _ => layer_lines(report, state.layer, theme),
    }
}

fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((algo, hex)) => format!("{algo}:{}", &hex[..hex.len().min(12)]),
        None => d.to_string(),
    }
}

fn label(theme: Theme, l: &'static str) -> Span<'static> {
    Span::styled(l, theme.title())
}

fn layer_lines(report: &Report, index: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let Some(layer) = report.image.layers.get(index) else {
        return out;
    };
    out.push(Line::from(vec![
        label(theme, "Layer "),
        Span::raw(format!(
            "{index} of {}",
            report.image.layers.len().saturating_sub(1)
        )),
    ]));
    out.push(Line::from(format!(
        "{} uncompressed, {} stored ({}), {}",
        size(layer.size_bytes),
        size(layer.blob_size),
        layer.compression,
        files(layer.files() as u64)
    )));
    out.push(Line::from(format!(
        "digest  {}",
        short_digest(&layer.digest)
    )));
    out.push(Line::from(format!(
        "diff_id {}",
        short_digest(&layer.diff_id)
    )));
    out.push(Line::from(vec![
        label(theme, "step "),
        Span::raw(layer.step()),
    ]));
    if layer.created_by.trim() != layer.step() && !layer.created_by.is_empty() {
        out.push(Line::styled(
            format!("created_by {}", layer.created_by.trim()),
            theme.dim(),
        ));
    }
    if let Some(cats) = report.facts.categories.added_by_layer.get(index) {
        if !cats.is_empty() {
            out.push(Line::from(label(theme, "added by category")));
            for (c, t) in cats {
                out.push(Line::from(vec![
                    Span::styled(
                        format!("  {} {:<13}", glyph(*c), c.id()),
                        theme.category(*c),
                    ),
                    Span::raw(format!("{:>10}  {}", size(t.bytes), files(t.files))),
                ]));
            }
        }
    }
    let findings: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.layer == Some(index))
        .collect();
    if !findings.is_empty() {
        out.push(Line::from(label(theme, "findings in this layer")));
        for f in findings {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<7} ", f.severity), theme.severity(f.severity)),
                Span::raw(match f.size() {
                    Some(size) => format!("{} {size}", f.rule),
                    None => f.rule.to_string(),
                }),
            ]));
        }
    }
    out
}

fn file_lines(
    report: &Report,
    state: &ViewState,
    node: NodeId,
    theme: Theme,
) -> Vec<Line<'static>> {
    let image = &report.image;
    let tree = &image.tree;
    let n = tree.node(node);
    let layer = state.layer as u32;
    let mut out = vec![Line::styled(absolute(&tree.path(node)), theme.title())];
    let view = state.tree.node_view(report, layer, node);
    // What it is as of the selected layer.
    let entry = n.provider_at(layer).and_then(|c| image.entry(c));
    let what = match (view.state, entry) {
        (Some(crate::model::State::Removed), _) => {
            format!("removed in layer {layer} ({} gone)", size(view.bytes))
        }
        (_, Some(e)) => {
            let kind = match e.kind {
                EntryKind::File => "file",
                EntryKind::Dir => "directory",
                EntryKind::Symlink => "symlink",
                EntryKind::Hardlink => "hard link",
                EntryKind::Fifo => "fifo",
                EntryKind::CharDevice => "character device",
                EntryKind::BlockDevice => "block device",
                EntryKind::Whiteout | EntryKind::Opaque => "whiteout",
            };
            let mut s = format!(
                "{kind}, mode {:04o}, uid {} gid {}",
                e.mode & 0o7777,
                e.uid,
                e.gid
            );
            if let Some(link) = &e.link {
                s.push_str(&format!(", -> {}", Lossless(link)));
            }
            s
        }
        (_, None) if view.is_dir => "directory (implied by the files under it)".to_string(),
        _ => "not in the filesystem at this layer".to_string(),
    };
    out.push(Line::from(what));
    if view.is_dir {
        let of = match state.tree.mode {
            Mode::Changes => "added or changed under it in this layer",
            Mode::Image => "under it as of this layer",
        };
        out.push(Line::from(format!("{} {of}", size(view.bytes))));
    }
    out.push(Line::from(label(theme, "layers that touched it")));
    for c in &n.changes {
        let bytes = match c.state {
            crate::model::State::Removed => String::new(),
            _ => image
                .entry(c)
                .filter(|e| e.kind == EntryKind::File)
                .map(|e| size(e.size))
                .unwrap_or_default(),
        };
        let step = image
            .layers
            .get(c.layer as usize)
            .map(|l| l.step())
            .unwrap_or_default();
        out.push(Line::from(vec![
            Span::styled(
                format!("  L{:<3} {} ", c.layer, state_letter(Some(c.state))),
                theme.state(Some(c.state)),
            ),
            Span::raw(format!("{bytes:>9}  {step}")),
        ]));
    }
    let cats: Vec<_> = report
        .facts
        .categories
        .of(node)
        .iter()
        .map(|c| c.id())
        .collect();
    out.push(Line::from(vec![
        label(theme, "categories "),
        Span::raw(if cats.is_empty() {
            "none".to_string()
        } else {
            cats.join(", ")
        }),
    ]));
    for w in report.facts.waste.files.iter().filter(|w| w.node == node) {
        let fate = match w.fate {
            Fate::Deleted { by } => format!("deleted in layer {by}"),
            Fate::Overwritten {
                by,
                same_content: true,
            } => format!("stored again unchanged in layer {by}"),
            Fate::Overwritten { by, .. } => format!("overwritten in layer {by}"),
        };
        out.push(Line::from(vec![
            label(theme, "wasted "),
            Span::raw(format!(
                "{} added in layer {}, {fate}",
                size(w.bytes),
                w.layer
            )),
        ]));
    }
    for g in &report.facts.duplicates.groups {
        if g.copies.iter().any(|(c, _)| *c == node) {
            let others: Vec<String> = g
                .copies
                .iter()
                .filter(|(c, _)| *c != node)
                .take(3)
                .map(|(c, _)| absolute(&tree.path(*c)))
                .collect();
            let kept = g.copies[0].0 == node;
            out.push(Line::from(vec![
                label(theme, "same content as "),
                Span::raw(format!(
                    "{}{} ({} per copy{})",
                    others.join(", "),
                    if g.copies.len() > 4 { ", ..." } else { "" },
                    size(g.size),
                    if kept {
                        ", this copy is the one kept"
                    } else {
                        ""
                    }
                )),
            ]));
        }
    }
    out.extend(elf_lines(report, node, theme));
    if let Some(d) = report.facts.python.owner_of(node) {
        out.push(Line::from(vec![
            label(theme, "distribution "),
            Span::raw(format!(
                "{} {} ({}, {}, installed in layer {}{})",
                d.name,
                d.version,
                size(d.size_bytes),
                files(d.files),
                d.layer,
                d.installer
                    .as_deref()
                    .map(|i| format!(" by {i}"))
                    .unwrap_or_default()
            )),
        ]));
    }
    if let Some(p) = report.facts.os_packages.owner_of(node) {
        out.push(Line::from(vec![
            label(theme, "package "),
            Span::raw(format!(
                "{} {} ({}, {}, installed in layer {}{})",
                p.name,
                p.version,
                size(p.bytes),
                files(p.files),
                p.layer,
                if p.toolchain { ", build toolchain" } else { "" }
            )),
        ]));
    }
    out
}

fn files(n: u64) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}

/// The file's ELF facts: what it is, its libc and version floors, and how each library it
/// needs resolves inside the image.
fn elf_lines(report: &Report, node: NodeId, theme: Theme) -> Vec<Line<'static>> {
    use crate::analysis::linkage::Resolution;
    use crate::model::machine_name;
    let Some(elf) = report.facts.linkage.by_node(node) else {
        return Vec::new();
    };
    let info = &elf.info;
    let kind = match info.kind {
        1 => "relocatable",
        2 => "executable",
        3 if info.interpreter.is_some() => "executable (PIE)",
        3 => "shared object",
        4 => "core dump",
        _ => "ELF",
    };
    let mut out = vec![Line::from(vec![
        label(theme, "ELF "),
        Span::raw(format!(
            "{}-bit {} {kind}, libc {}{}",
            info.class,
            machine_name(info.machine),
            libc_name(elf.libc),
            if info.stripped {
                ", stripped".to_string()
            } else {
                format!(
                    ", not stripped ({} strip would save)",
                    size(info.debug_bytes)
                )
            }
        )),
    ])];
    for (name, floor) in [
        ("GLIBC", &elf.glibc),
        ("GLIBCXX", &elf.glibcxx),
        ("CXXABI", &elf.cxxabi),
    ] {
        if let Some(f) = floor {
            let symbols = if f.symbols.is_empty() {
                String::new()
            } else {
                format!(" (for {})", f.symbols.join(", "))
            };
            out.push(Line::from(format!("  needs {name}_{}{symbols}", f.version)));
        }
    }
    if let Some(interp) = &info.interpreter {
        let found = match elf.interpreter_found {
            Some(false) => " (not in the image)",
            _ => "",
        };
        out.push(Line::from(format!("  interpreter {interp}{found}")));
    }
    for (lib, how) in &elf.needed {
        let (text, bad) = match how {
            Resolution::Found(path) if path.starts_with(b"/") => {
                (Lossless(path).to_string(), false)
            }
            Resolution::Found(path) => (absolute(path), false),
            Resolution::Injected => ("provided by the GPU driver at run time".to_string(), false),
            Resolution::Missing => ("not found".to_string(), true),
        };
        out.push(Line::from(vec![
            Span::raw(format!("  NEEDED {lib} -> ")),
            Span::styled(text, if bad { theme.error() } else { Style::new() }),
        ]));
    }
    for (what, paths) in [("RPATH", &info.rpath), ("RUNPATH", &info.runpath)] {
        if !paths.is_empty() {
            out.push(Line::styled(
                format!("  {what} {}", paths.join(":")),
                theme.dim(),
            ));
        }
    }
    out
}
