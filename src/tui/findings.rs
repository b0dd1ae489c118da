//! The Findings pane: compatibility and bloat findings, most severe and largest first, and
//! for the selected one its layer's step, its fix and its paths. Enter jumps to the layer and
//! the first file.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::action::Pane;
use super::layout::findings_split;
use super::list;
use super::state::ViewState;
use super::theme::{Theme, put, put_right};
use crate::findings::{Finding, Severity};
use crate::model::short_step;
use crate::report::Report;

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
        list::empty(buf, inner, "No findings.", theme);
        return;
    }
    let split = findings_split(area);
    let rows = split.rows;
    // Rule ids in full when the pane is wide enough to keep room for the message.
    let rule_w: u16 = if rows.width >= 100 { 22 } else { 14 };
    let pos = state.pos(Pane::Findings);
    list::draw(
        buf,
        rows,
        report.findings.len(),
        pos,
        focused,
        theme,
        |buf, i, row, style| {
            let f = &report.findings[i];
            let y = row.y;
            let severity = theme.severity(f.severity).patch(style);
            put(buf, rows.x + 1, y, 1, letter(f.severity), severity);
            put(buf, rows.x + 3, y, rule_w, f.rule, style);
            let layer = f.layer.map(|l| format!("L{l}")).unwrap_or_default();
            let x = rows.x + 3 + rule_w;
            put_right(buf, x + 4, y, &layer, style);
            put_right(buf, x + 14, y, &f.size().unwrap_or_default(), style);
            let message_w = rows.width.saturating_sub(x + 16 - rows.x);
            put(buf, x + 16, y, message_w, &f.message, style);
        },
    );
    if let Some(f) = report.findings.get(pos.cursor) {
        list::detail(buf, split.detail, &detail_lines(f), theme);
    }
}

/// The selected finding in full: (text, dim).
fn detail_lines(f: &Finding) -> Vec<(String, bool)> {
    let mut out = vec![
        (format!("{} [{}] {}", f.severity, f.rule, f.message), false),
        // The fix first: on a small screen it is what must fit.
        (format!("fix: {}", f.fix), false),
    ];
    if let Some(step) = &f.created_by {
        let layer = f.layer.map(|l| format!("layer {l}: ")).unwrap_or_default();
        out.push((format!("{layer}{}", short_step(step)), true));
    }
    for p in f.paths.iter().take(3) {
        out.push((p.clone(), true));
    }
    if f.path_count > 3 {
        out.push((format!("... and {} more", f.path_count - 3), true));
    }
    if !f.paths.is_empty() {
        out.push(("Enter: show in Files".into(), true));
    }
    out
}
