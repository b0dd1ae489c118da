//! The Files pane: the tree for the selected layer, one row per listed node, with its state
//! in that layer (colour and a letter: A added, M modified, D removed), its category tag and
//! its size right-aligned; collapsed directories show their totals. Only the rows on screen
//! are drawn, so a 100k-file tree costs what a 40-row one does.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::action::Pane;
use super::list;
use super::state::ViewState;
use super::theme::{Theme, put, put_right, size, state_letter};
use super::tree_view::{MIN_SIZES, Mode, Row, Sort};
use crate::layer::EntryKind;
use crate::layer::path::Lossless;
use crate::report::Report;

/// The pane's title: layer, mode, sort and filters, so the screen says what it shows.
pub fn title(state: &ViewState) -> String {
    let t = &state.tree;
    let mut title = format!(
        "Files · layer {} {}",
        state.layer,
        match t.mode {
            Mode::Changes => "changes",
            Mode::Image => "whole image",
        }
    );
    if t.sort == Sort::Size {
        title.push_str(" · by size");
    }
    if t.hide_unchanged {
        title.push_str(" · changed only");
    }
    if t.min_size > 0 {
        title.push_str(&format!(" · >= {}", size(MIN_SIZES[t.min_size])));
    }
    if !t.pattern.is_empty() {
        title.push_str(&format!(" · /{}/", t.pattern));
    }
    title.push_str(&format!(" · {} rows", t.rows.len()));
    title
}

pub fn render(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    let focused = state.focus == Pane::Files;
    let inner = theme.frame(&title(state), focused, area, buf);
    if inner.height == 0 || inner.width < 10 {
        return;
    }
    let t = &state.tree;
    if t.rows.is_empty() {
        let why = if t.has_filter() || t.min_size > 0 || t.hide_unchanged {
            "no file of this layer passes the filters (Esc clears the path filter)"
        } else if t.mode == Mode::Changes {
            "this layer changes no file (m: whole image)"
        } else {
            "the filesystem is empty at this layer"
        };
        list::empty(buf, inner, why, theme);
        return;
    }
    let tag_w: u16 = if inner.width >= 60 { 12 } else { 0 };
    let size_w: u16 = 10;
    list::draw(
        buf,
        inner,
        t.rows.len(),
        state.pos(Pane::Files),
        focused,
        theme,
        |buf, i, area, style| {
            draw_row(
                report, state, &t.rows[i], area, style, tag_w, size_w, theme, buf,
            );
        },
    );
}

#[allow(clippy::too_many_arguments)]
fn draw_row(
    report: &Report,
    state: &ViewState,
    row: &Row,
    area: Rect,
    row_style: Style,
    tag_w: u16,
    size_w: u16,
    theme: Theme,
    buf: &mut Buffer,
) {
    let layer = state.layer as u32;
    let view = state.tree.node_view(report, layer, row.node);
    let node = report.image.tree.node(row.node);
    let state_style = theme.state(view.state).patch(row_style);
    let mut x = area.x;
    put(
        buf,
        x,
        area.y,
        1,
        &state_letter(view.state).to_string(),
        state_style,
    );
    x += 2;
    // Guides: two columns per level.
    let mut prefix = String::new();
    for d in 0..row.depth {
        let more = d < 64 && row.guides & (1 << d) != 0;
        prefix.push_str(if more { "│ " } else { "  " });
    }
    prefix.push_str(if row.last { "└─" } else { "├─" });
    let cats = report.facts.categories.of(row.node);
    // Names take the tag column when there is no tag.
    let tag_w = if cats.is_empty() { 0 } else { tag_w };
    let right = area.right().saturating_sub(size_w + tag_w + 1);
    let used = put(
        buf,
        x,
        area.y,
        right.saturating_sub(x),
        &prefix,
        theme.dim().patch(row_style),
    );
    x += used;
    let mut name = Lossless(&node.name).to_string();
    if view.is_dir {
        name.push('/');
        if row.has_children && state.tree.collapsed.contains(&row.node) {
            name.push_str(" ▸");
        }
    } else if let Some(link) = entry_link(report, row.node, layer) {
        name.push_str(" → ");
        name.push_str(&link);
    }
    put(buf, x, area.y, right.saturating_sub(x), &name, state_style);
    if tag_w > 0 {
        let mut it = cats.iter();
        if let Some(first) = it.next() {
            let mut tag = first.id().to_string();
            if it.next().is_some() {
                tag.push('+');
            }
            put(
                buf,
                right + 1,
                area.y,
                tag_w - 1,
                &tag,
                theme.category(first).patch(row_style),
            );
        }
    }
    let shown = if view.is_dir || view.bytes > 0 || is_file(report, row.node, layer) {
        size(view.bytes)
    } else {
        String::new()
    };
    put_right(buf, area.right(), area.y, &shown, row_style);
}

fn is_file(report: &Report, node: crate::model::NodeId, layer: u32) -> bool {
    let n = report.image.tree.node(node);
    n.provider_at(layer)
        .and_then(|c| report.image.entry(c))
        .is_some_and(|e| e.kind == EntryKind::File)
}

/// A symlink's or hard link's target as of the layer.
fn entry_link(report: &Report, node: crate::model::NodeId, layer: u32) -> Option<String> {
    let n = report.image.tree.node(node);
    let e = n.provider_at(layer).and_then(|c| report.image.entry(c))?;
    let link = e.link.as_deref()?;
    Some(match e.kind {
        EntryKind::Hardlink => format!("/{}", Lossless(link)),
        _ => Lossless(link).to_string(),
    })
}
