//! The Files pane: the tree for the selected layer, one row per listed node, with its state
//! in that layer (colour and a letter: A added, M modified, D removed), its category tag and
//! its size right-aligned; collapsed directories show their totals. Only the rows on screen
//! are drawn, so a 100k-file tree costs what a 40-row one does. With `t` it shows the
//! treemap of the selection's directory instead (`treemap` lays it out): tiles filled with
//! their category's colour, or its letter under `NO_COLOR`, and a legend line.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::action::Pane;
use super::layout::{self, map_split};
use super::list;
use super::state::ViewState;
use super::theme::{Theme, glyph, put, put_right, size, state_letter, width};
use super::tree_view::{MIN_SIZES, Mode, Row, Sort};
use super::treemap::{self, Map};
use crate::analysis::Category;
use crate::layer::EntryKind;
use crate::layer::path::{Lossless, absolute};
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
    if let Some(map) = &state.map {
        let inner = theme.frame(&map_title(report, state, map, area), focused, area, buf);
        if inner.height > 0 && inner.width >= 10 {
            draw_map(report, state, map, inner, focused, theme, buf);
        }
        return;
    }
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

// ---- Files as a treemap (`t`) ----

/// The map's title: which directory, layer and mode, and how many tiles did not fit a cell.
fn map_title(report: &Report, state: &ViewState, map: &Map, area: Rect) -> String {
    let dir = absolute(&report.image.tree.path(map.dir));
    let mode = match map.mode {
        Mode::Changes => "changes",
        Mode::Image => "whole image",
    };
    let mut rest = format!(
        " · layer {} {mode} · {} tiles",
        state.layer,
        map.tiles.len()
    );
    let (cells, _) = map_split(layout::inner(area));
    let drawn = treemap::cells(&map.tiles, cells).len();
    if drawn < map.tiles.len() {
        rest.push_str(&format!(", {} too small", map.tiles.len() - drawn));
    }
    // A long directory loses its start, not the rest; room is kept for the narrow screen's
    // "more panes" note on the frame.
    let head = "Treemap of ";
    let room = usize::from(area.width)
        .saturating_sub(24 + width(head) + width(&rest))
        .max(8);
    let dir = if width(&dir) > room {
        let tail: String = dir.chars().rev().take(room - 1).collect();
        format!("…{}", tail.chars().rev().collect::<String>())
    } else {
        dir
    };
    format!("{head}{dir}{rest}")
}

#[allow(clippy::too_many_arguments)]
fn draw_map(
    report: &Report,
    state: &ViewState,
    map: &Map,
    inner: Rect,
    focused: bool,
    theme: Theme,
    buf: &mut Buffer,
) {
    if map.tiles.is_empty() {
        let why = match map.mode {
            Mode::Changes => "this layer changes no bytes here (m: whole image)",
            Mode::Image => "nothing here holds bytes at this layer",
        };
        list::empty(buf, inner, why, theme);
        return;
    }
    let (cells_area, legend) = map_split(inner);
    let selected = state.selected_node();
    let tree = &report.image.tree;
    for (i, r) in treemap::cells(&map.tiles, cells_area) {
        let t = &map.tiles[i];
        let fill = theme.tile(t.category);
        // Letters say the category where colour cannot; blank is no category.
        let ch = match (theme.color, t.category) {
            (false, Some(c)) => glyph(c),
            _ => ' ',
        };
        // Each tile keeps its right column and bottom row for an edge, when it has room.
        let content = Rect::new(
            r.x,
            r.y,
            r.width - u16::from(r.width > 1),
            r.height - u16::from(r.height > 1),
        );
        for y in content.top()..content.bottom() {
            for x in content.left()..content.right() {
                buf[(x, y)].set_char(ch).set_style(fill);
            }
        }
        let edge = theme.dim();
        if r.width > 1 {
            for y in r.top()..r.bottom() {
                buf[(r.right() - 1, y)].set_char('│').set_style(edge);
            }
        }
        if r.height > 1 {
            for x in r.left()..r.right() {
                let corner = r.width > 1 && x == r.right() - 1;
                buf[(x, r.bottom() - 1)]
                    .set_char(if corner { '┘' } else { '─' })
                    .set_style(edge);
            }
        }
        let mut name = match t.node {
            Some(n) => Lossless(&tree.node(n).name).to_string(),
            None => format!("+{} more", t.count),
        };
        if t.is_dir {
            name.push('/');
        }
        let is_selected = t.node.is_some() && t.node == selected;
        let mut label_style = fill.add_modifier(Modifier::BOLD);
        if is_selected {
            name.insert(0, '>');
            label_style = label_style.patch(theme.selected(focused));
        }
        // A blank after each label keeps it apart from the letters that fill the tile.
        name.push(' ');
        put(buf, content.x, content.y, content.width, &name, label_style);
        if content.height > 1 {
            let bytes = format!("{} ", size(t.bytes));
            put(buf, content.x, content.y + 1, content.width, &bytes, fill);
        }
    }
    draw_legend(map, legend, theme, buf);
}

/// One line naming the colours (or letters) the map uses.
fn draw_legend(map: &Map, area: Rect, theme: Theme, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let mut x = area.x;
    let mut used: Vec<Option<Category>> = Vec::new();
    for c in Category::ALL.map(Some).into_iter().chain([None]) {
        if map.tiles.iter().any(|t| t.category == c) && !used.contains(&c) {
            used.push(c);
        }
    }
    for c in used {
        let (key, name) = match c {
            Some(c) if theme.color => ("  ".to_string(), c.id()),
            Some(c) => (glyph(c).to_string(), c.id()),
            None if theme.color => ("  ".to_string(), "no category"),
            None => (" ".to_string(), "blank: no category"),
        };
        let swatch = theme.tile(c);
        x += put(buf, x, area.y, area.right().saturating_sub(x), &key, swatch);
        x += put(
            buf,
            x,
            area.y,
            area.right().saturating_sub(x),
            &format!(" {name}  "),
            theme.dim(),
        );
    }
}
