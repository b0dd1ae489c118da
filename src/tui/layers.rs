//! The Layers pane: index, size, a bar of the layer's bytes by category (scaled to the largest
//! layer), and its Dockerfile step. The selected layer drives the tree; its whole step is
//! wrapped under the list (and shown in full in Details), so a long `RUN` never vanishes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::action::Pane;
use super::layout::{layer_header_lines, layer_rows};
use super::list;
use super::state::ViewState;
use super::theme::{Theme, glyph, put, put_right, size, wrap};
use crate::analysis::Category;
use crate::report::Report;

fn bar_width(wide: bool) -> u16 {
    if wide { 16 } else { 10 }
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
    let rows = layer_rows(area, wide);
    let bar_w = bar_width(wide);
    // Columns: marker, index, size, bar, step.
    let x_size_end = inner.x + 1 + 3 + 1 + 9;
    let x_bar = x_size_end + 2;
    let x_step = x_bar + bar_w + 2;
    let step_w = inner.right().saturating_sub(x_step);
    if layer_header_lines(wide) > 0 {
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
    list::draw(
        buf,
        rows,
        n,
        state.pos(Pane::Layers),
        focused,
        theme,
        |buf, i, row, style| {
            let layer = &report.image.layers[i];
            let marker = if i == state.layer { ">" } else { " " };
            put(buf, inner.x, row.y, 1, marker, style);
            put_right(buf, inner.x + 4, row.y, &i.to_string(), style);
            put_right(buf, x_size_end, row.y, &size(layer.size_bytes), style);
            draw_bar(report, i, max, x_bar, row.y, bar_w, theme, buf);
            put(buf, x_step, row.y, step_w, &layer.step(), style);
        },
    );
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
            cumulative = cumulative.saturating_add(t.bytes).min(total);
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
