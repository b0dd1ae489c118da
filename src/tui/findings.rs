//! The Findings pane: compatibility and bloat findings, most severe and largest first, and
//! for the selected one its layer's step, its fix and its paths. Enter jumps to the layer and
//! the first file.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::state::{Pane, ViewState, window};
use super::theme::{Theme, put, put_right, size, wrap};
use crate::findings::{Finding, Severity};
use crate::model::short_step;
use crate::report::Report;

/// Rows of the list: the top part of the pane; the selected finding's text goes below.
pub fn rows_area(area: Rect) -> Rect {
    let inner = super::layout::inner(area);
    let detail = detail_height(inner.height);
    Rect::new(
        inner.x,
        inner.y,
        inner.width,
        inner.height.saturating_sub(detail),
    )
}

fn detail_height(inner: u16) -> u16 {
    if inner < 6 { 0 } else { (inner / 2).min(12) }
}

fn letter(s: Severity) -> &'static str {
    match s {
        Severity::Error => "E",
        Severity::Warning => "W",
        Severity::Info => "I",
    }
}

pub fn render(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    let focused = state.focus == Pane::Findings;
    let title = format!("Findings ({}) · Tab: Packages", report.findings.len());
    let inner = theme.frame(&title, focused, area, buf);
    if inner.height == 0 {
        return;
    }
    if report.findings.is_empty() {
        put(
            buf,
            inner.x + 1,
            inner.y,
            inner.width.saturating_sub(1),
            "No findings.",
            Style::new(),
        );
        return;
    }
    let rows = rows_area(area);
    let pos = state.findings;
    let offset = window(
        pos.cursor,
        pos.offset,
        rows.height as usize,
        report.findings.len(),
    );
    // Rule ids in full when the pane is wide enough to keep room for the message.
    let rule_w: u16 = if rows.width >= 100 { 22 } else { 14 };
    for (i, f) in report
        .findings
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows.height as usize)
    {
        let y = rows.y + (i - offset) as u16;
        let selected = i == pos.cursor;
        let row_style = if selected {
            theme.selected(focused)
        } else {
            Style::new()
        };
        buf.set_style(Rect::new(rows.x, y, rows.width, 1), row_style);
        put(
            buf,
            rows.x + 1,
            y,
            1,
            letter(f.severity),
            theme.severity(f.severity).patch(row_style),
        );
        put(buf, rows.x + 3, y, rule_w, f.rule, row_style);
        let layer = f.layer.map(|l| format!("L{l}")).unwrap_or_default();
        let x = rows.x + 3 + rule_w;
        put_right(buf, x + 4, y, &layer, row_style);
        put_right(buf, x + 14, y, &size(f.bytes), row_style);
        put(
            buf,
            x + 16,
            y,
            rows.width.saturating_sub(x + 16 - rows.x),
            &f.message,
            row_style,
        );
    }
    // The selected finding in full.
    let detail = Rect::new(
        inner.x,
        rows.bottom(),
        inner.width,
        inner.bottom() - rows.bottom(),
    );
    if detail.height < 2 {
        return;
    }
    let Some(f) = report.findings.get(pos.cursor) else {
        return;
    };
    put(
        buf,
        detail.x,
        detail.y,
        detail.width,
        &"─".repeat(detail.width as usize),
        theme.dim(),
    );
    let lines = detail_lines(f, detail.width.saturating_sub(2) as usize);
    for (k, (text, style)) in lines.iter().take(detail.height as usize - 1).enumerate() {
        let style = if *style { theme.dim() } else { Style::new() };
        put(
            buf,
            detail.x + 1,
            detail.y + 1 + k as u16,
            detail.width.saturating_sub(2),
            text,
            style,
        );
    }
}

/// The selected finding as wrapped lines: (text, dim).
fn detail_lines(f: &Finding, width: usize) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut add = |text: String, dim: bool| {
        for line in wrap(&text, width) {
            out.push((line, dim));
        }
    };
    add(format!("{} [{}] {}", f.severity, f.rule, f.message), false);
    // The fix first: on a small screen it is what must fit.
    add(format!("fix: {}", f.fix), false);
    if let Some(step) = &f.created_by {
        let layer = f.layer.map(|l| format!("layer {l}: ")).unwrap_or_default();
        add(format!("{layer}{}", short_step(step)), true);
    }
    for p in f.paths.iter().take(3) {
        add(p.clone(), true);
    }
    if f.path_count > 3 {
        add(format!("... and {} more", f.path_count - 3), true);
    }
    if !f.paths.is_empty() {
        add("Enter: show in Files".into(), true);
    }
    out
}
