//! The Layers pane: index, size, a bar of the layer's bytes by category (scaled to the largest
//! layer), and its Dockerfile step. The selected layer drives the tree; its whole step is
//! wrapped under the list (and shown in full in Details), so a long `RUN` never vanishes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::state::{Pane, ViewState, window};
use super::theme::{Theme, put, put_right, size, wrap};
use crate::analysis::Category;
use crate::report::Report;

/// Lines under the list for the selected layer's step.
fn step_lines(wide: bool) -> u16 {
    if wide { 3 } else { 1 }
}

fn bar_width(wide: bool) -> u16 {
    if wide { 16 } else { 10 }
}

/// Lines above the list for column names (none on narrow screens, where rows are dearer).
fn header_lines(wide: bool) -> u16 {
    u16::from(wide)
}

/// The pane's height to show every layer.
pub fn height_for(layers: u16, wide: bool) -> u16 {
    layers + header_lines(wide) + step_lines(wide) + 2
}

/// Where the layer rows go inside the pane.
pub fn rows_area(area: Rect, wide: bool) -> Rect {
    let inner = super::layout::inner(area);
    let top = header_lines(wide);
    let below = step_lines(wide).min(inner.height.saturating_sub(top + 1));
    Rect::new(
        inner.x,
        inner.y + top,
        inner.width,
        inner.height.saturating_sub(top + below),
    )
}

/// A letter per category, so the bar reads without colour.
pub fn glyph(c: Category) -> char {
    match c {
        Category::PipCache | Category::UvCache | Category::PoetryCache => 'p',
        Category::Compilers => 'c',
        Category::Headers => 'h',
        Category::AptCache => 'a',
        Category::Pycache => 'y',
        Category::Wheels => 'w',
        Category::StaticLibs => 's',
        Category::Tests => 't',
        Category::Docs => 'd',
        Category::DebugInfo => 'g',
    }
}

pub fn render(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer, wide: bool) {
    let theme = Theme { color: state.color };
    let focused = state.focus == Pane::Layers;
    let n = report.image.layers.len();
    let title = format!("Layers {}/{}", state.layer, n.saturating_sub(1));
    let inner = theme.frame(&title, focused, area, buf);
    if inner.height == 0 {
        return;
    }
    let rows = rows_area(area, wide);
    let bar_w = bar_width(wide);
    // Columns: marker, index, size, bar, step.
    let x_size_end = inner.x + 1 + 3 + 1 + 9;
    let x_bar = x_size_end + 2;
    let x_step = x_bar + bar_w + 2;
    let step_w = inner.right().saturating_sub(x_step);
    if header_lines(wide) > 0 {
        put(buf, inner.x + 1, inner.y, 3, "  #", theme.title());
        put_right(buf, x_size_end, inner.y, "size", theme.title());
        put(buf, x_bar, inner.y, bar_w, "by category", theme.title());
        put(buf, x_step, inner.y, step_w, "step", theme.title());
    }

    let max = report
        .image
        .layers
        .iter()
        .map(|l| l.size_bytes)
        .max()
        .unwrap_or(0)
        .max(1);
    let offset = window(state.layer, state.layers_offset, rows.height as usize, n);
    for (i, layer) in report
        .image
        .layers
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows.height as usize)
    {
        let y = rows.y + (i - offset) as u16;
        let selected = i == state.layer;
        let row_style = if selected {
            theme.selected(focused)
        } else {
            Style::new()
        };
        buf.set_style(Rect::new(inner.x, y, inner.width, 1), row_style);
        put(
            buf,
            inner.x,
            y,
            1,
            if selected { ">" } else { " " },
            row_style,
        );
        put_right(buf, inner.x + 4, y, &i.to_string(), row_style);
        put_right(buf, x_size_end, y, &size(layer.size_bytes), row_style);
        draw_bar(report, i, max, x_bar, y, bar_w, theme, buf);
        put(buf, x_step, y, step_w, &layer.step(), row_style);
    }
    // The selected layer's whole step, wrapped.
    let below = inner.bottom().saturating_sub(rows.bottom());
    if below > 0 {
        if let Some(layer) = report.image.layers.get(state.layer) {
            let text = format!("step: {}", layer.step());
            let lines = wrap(&text, inner.width.saturating_sub(2) as usize);
            let shown = lines.len().min(below as usize);
            for (k, line) in lines.iter().take(shown).enumerate() {
                let mut line = line.clone();
                if k + 1 == shown && lines.len() > shown {
                    line = super::theme::fit(&format!("{line} …"), inner.width as usize - 2);
                    if !line.ends_with('…') {
                        line.push('…');
                    }
                }
                put(
                    buf,
                    inner.x + 1,
                    rows.bottom() + k as u16,
                    inner.width.saturating_sub(2),
                    &line,
                    theme.dim(),
                );
            }
        }
    }
}

/// The layer's bytes as a bar: its length is the layer's share of the largest layer, split
/// by the bytes each category added (a file in two categories counts in the first).
#[allow(clippy::too_many_arguments)]
fn draw_bar(
    report: &Report,
    layer: usize,
    max: u64,
    x: u16,
    y: u16,
    width: u16,
    theme: Theme,
    buf: &mut Buffer,
) {
    let total = report.image.layers[layer].size_bytes;
    let cells = |bytes: u64| -> u16 {
        ((u128::from(bytes) * u128::from(width) + u128::from(max) / 2) / u128::from(max)) as u16
    };
    let mut filled = cells(total);
    if total > 0 {
        filled = filled.max(1);
    }
    let mut at = 0u16;
    let mut cumulative = 0u64;
    if let Some(by_cat) = report.facts.categories.added_by_layer.get(layer) {
        for c in Category::ALL {
            let Some(t) = by_cat.get(&c) else { continue };
            cumulative = (cumulative + t.bytes).min(total);
            let end = cells(cumulative).min(filled);
            while at < end {
                let ch = if theme.color { '█' } else { glyph(c) };
                put(buf, x + at, y, 1, &ch.to_string(), theme.category(c));
                at += 1;
            }
        }
    }
    while at < filled {
        let ch = if theme.color { '▒' } else { '#' };
        put(buf, x + at, y, 1, &ch.to_string(), theme.dim());
        at += 1;
    }
}
