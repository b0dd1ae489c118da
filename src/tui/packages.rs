//! The Packages pane: the image's Python distributions, largest first, with version, size,
//! the layer that installed them and the libc of their extension modules; for the selected
//! one, where it lives, its installer, wheel tags and vendored libraries. Enter shows its
//! largest file in Files.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::state::{Pane, ViewState, window};
use super::theme::{Theme, libc_name, put, put_right, size, wrap};
use crate::analysis::python::Distribution;
use crate::layer::path::absolute;
use crate::model::NodeId;
use crate::report::Report;

/// Rows of the table, under its header line; the selected distribution goes below.
pub fn rows_area(area: Rect) -> Rect {
    let inner = super::layout::inner(area);
    let detail = if inner.height < 8 {
        0
    } else {
        (inner.height / 3).min(6)
    };
    Rect::new(
        inner.x,
        inner.y + 1,
        inner.width,
        inner.height.saturating_sub(1 + detail),
    )
}

/// The distributions in the order the pane lists them: largest first, then by name.
pub fn order(report: &Report) -> Vec<&Distribution> {
    let mut d: Vec<&Distribution> = report.facts.python.distributions.iter().collect();
    d.sort_by(|a, b| {
        b.size_bytes
            .cmp(&a.size_bytes)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    d
}

/// How many distributions the pane lists.
pub fn count(report: &Report) -> usize {
    report.facts.python.distributions.len()
}

/// The distribution in row `i`: its layer and its largest file, to show in Files.
pub fn location(report: &Report, i: usize) -> Option<(usize, NodeId)> {
    let d = order(report).into_iter().nth(i)?;
    let node = d
        .nodes
        .first()
        .copied()
        .or_else(|| report.image.tree.lookup(&d.metadata))?;
    Some((d.layer, node))
}

/// The libc families of a distribution's extension modules: `-` when it has none.
fn extension_libc(report: &Report, d: &Distribution) -> String {
    let mut families: Vec<&str> = d
        .extensions
        .iter()
        .filter_map(|n| report.facts.linkage.by_node(*n))
        .map(|e| libc_name(e.libc))
        .collect();
    families.sort_unstable();
    families.dedup();
    if families.is_empty() {
        "-".to_string()
    } else {
        families.join("+")
    }
}

pub fn render(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    let focused = state.focus == Pane::Packages;
    let title = format!("Packages ({}) · Tab: Details", count(report));
    let inner = theme.frame(&title, focused, area, buf);
    if inner.height == 0 {
        return;
    }
    let dists = order(report);
    if dists.is_empty() {
        let note = if report.facts.python.interpreters.is_empty() {
            "No Python in this image: no interpreter and no installed distribution."
        } else {
            "No installed Python distribution (no *.dist-info or *.egg-info) in this image."
        };
        for (k, line) in wrap(note, inner.width.saturating_sub(2) as usize)
            .iter()
            .take(inner.height as usize)
            .enumerate()
        {
            put(
                buf,
                inner.x + 1,
                inner.y + k as u16,
                inner.width.saturating_sub(2),
                line,
                theme.dim(),
            );
        }
        return;
    }
    // Columns: name, version, size, layer, libc of extensions.
    let x = inner.x + 1;
    let libc_w = 7u16;
    let x_libc = inner.right().saturating_sub(libc_w);
    let x_layer_end = x_libc.saturating_sub(1);
    let x_size_end = x_layer_end.saturating_sub(6);
    let name_w = x_size_end.saturating_sub(x + 10 + 12);
    let x_version = x + name_w + 1;
    let header = theme.title();
    put(buf, x, inner.y, name_w, "name", header);
    put(buf, x_version, inner.y, 12, "version", header);
    put_right(buf, x_size_end, inner.y, "size", header);
    put_right(buf, x_layer_end, inner.y, "layer", header);
    put(buf, x_libc, inner.y, libc_w, "libc", header);
    let rows = rows_area(area);
    let pos = state.packages;
    let offset = window(pos.cursor, pos.offset, rows.height as usize, dists.len());
    for (i, d) in dists
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows.height as usize)
    {
        let y = rows.y + (i - offset) as u16;
        let style = if i == pos.cursor {
            theme.selected(focused)
        } else {
            Style::new()
        };
        buf.set_style(Rect::new(inner.x, y, inner.width, 1), style);
        put(buf, x, y, name_w, &d.name, style);
        put(buf, x_version, y, 12, &d.version, style);
        put_right(buf, x_size_end, y, &size(d.size_bytes), style);
        put_right(buf, x_layer_end, y, &d.layer.to_string(), style);
        put(buf, x_libc, y, libc_w, &extension_libc(report, d), style);
    }
    // The selected distribution.
    let detail = Rect::new(
        inner.x,
        rows.bottom(),
        inner.width,
        inner.bottom().saturating_sub(rows.bottom()),
    );
    let Some(d) = dists.get(pos.cursor) else {
        return;
    };
    if detail.height < 2 {
        return;
    }
    put(
        buf,
        detail.x,
        detail.y,
        detail.width,
        &"─".repeat(detail.width as usize),
        theme.dim(),
    );
    let mut lines = vec![format!(
        "{} {}: {} files in {}",
        d.name,
        d.version,
        d.files,
        absolute(&d.location)
    )];
    if let Some(installer) = &d.installer {
        lines.push(format!("installed by {installer}"));
    }
    if !d.wheel_tags.is_empty() {
        lines.push(format!("wheel tags {}", d.wheel_tags.join(", ")));
    }
    if !d.extensions.is_empty() || !d.vendored.is_empty() {
        lines.push(format!(
            "{} extension modules, {} vendored libraries",
            d.extensions.len(),
            d.vendored.len()
        ));
    }
    lines.push("Enter: show in Files".to_string());
    let width = detail.width.saturating_sub(2);
    let wrapped = lines.iter().flat_map(|l| wrap(l, width as usize));
    for (y, line) in (detail.y + 1..detail.bottom()).zip(wrapped) {
        put(buf, detail.x + 1, y, width, &line, theme.dim());
    }
}
