//! Where each pane and each list inside a pane goes: pure geometry, from the screen's size,
//! the focused pane, the pane the shared box shows and the number of layers. It knows no
//! report and no state, so drawing, page sizes and mouse hits all ask it the same question
//! and a click lands on what is drawn. Wide screens show every pane; narrow ones (down to
//! 80x24) stack the layers over one other pane, the focused one, and say so; smaller ones get
//! a note instead of a garbled screen.

use ratatui::layout::Rect;

use super::action::Pane;

/// Below this the explorer shows a note instead of panes.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// From this size on every pane is on screen at once.
pub const WIDE_WIDTH: u16 = 120;
pub const WIDE_HEIGHT: u16 = 30;
/// Lines of the header above the panes.
pub const HEADER_LINES: u16 = 2;

/// What the layout depends on.
#[derive(Clone, Copy, Debug)]
pub struct Screen {
    pub area: Rect,
    pub focus: Pane,
    /// Which of Findings and Packages the shared box shows when neither has the focus.
    pub side: Pane,
    pub layers: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub status: Rect,
    pub layers: Option<Rect>,
    /// The rows of the layer list inside the Layers pane.
    pub layer_rows: Option<Rect>,
    pub tree: Option<Rect>,
    pub tree_rows: Option<Rect>,
    /// The box that shows Findings or Packages.
    pub side: Option<Rect>,
    pub side_pane: Option<Pane>,
    pub side_rows: Option<Rect>,
    pub details: Option<Rect>,
    pub wide: bool,
    pub too_small: bool,
}

impl Areas {
    /// The frame of a pane, when it is on screen.
    pub fn pane(&self, pane: Pane) -> Option<Rect> {
        match pane {
            Pane::Layers => self.layers,
            Pane::Files => self.tree,
            Pane::Findings | Pane::Packages => self.side.filter(|_| self.side_pane == Some(pane)),
            Pane::Details => self.details,
        }
    }

    /// The rows of a pane's list, when it is on screen (Details: its text).
    pub fn rows(&self, pane: Pane) -> Option<Rect> {
        match pane {
            Pane::Layers => self.layer_rows,
            Pane::Files => self.tree_rows,
            Pane::Findings | Pane::Packages => {
                self.side_rows.filter(|_| self.side_pane == Some(pane))
            }
            Pane::Details => self.details.map(inner),
        }
    }
}

pub fn areas(screen: Screen) -> Areas {
    let Screen {
        area: screen,
        focus,
        side,
        layers,
    } = screen;
    let mut a = Areas::default();
    if screen.width < MIN_WIDTH || screen.height < MIN_HEIGHT {
        a.too_small = true;
        return a;
    }
    a.header = Rect::new(screen.x, screen.y, screen.width, HEADER_LINES);
    a.status = Rect::new(screen.x, screen.bottom() - 1, screen.width, 1);
    let body = Rect::new(
        screen.x,
        screen.y + HEADER_LINES,
        screen.width,
        screen.height.saturating_sub(HEADER_LINES + 1),
    );
    let n_layers = u16::try_from(layers).unwrap_or(u16::MAX);
    a.wide = screen.width >= WIDE_WIDTH && screen.height >= WIDE_HEIGHT;
    if a.wide {
        let left_w = (body.width * 2 / 5).max(50);
        let left = Rect::new(body.x, body.y, left_w, body.height);
        let right = Rect::new(body.x + left_w, body.y, body.width - left_w, body.height);
        let wanted = layers_height_for(n_layers, true);
        let layers_h = wanted.min(body.height / 3).max(7);
        let rest = body.height - layers_h;
        let side_h = rest / 2;
        a.layers = Some(Rect::new(left.x, left.y, left.width, layers_h));
        a.tree = Some(right);
        a.side = Some(Rect::new(left.x, left.y + layers_h, left.width, side_h));
        a.details = Some(Rect::new(
            left.x,
            left.y + layers_h + side_h,
            left.width,
            rest - side_h,
        ));
        a.side_pane = Some(match focus {
            Pane::Findings | Pane::Packages => focus,
            _ => side,
        });
    } else {
        let wanted = layers_height_for(n_layers, false);
        let layers_h = wanted.min((body.height * 2 / 5).max(6));
        a.layers = Some(Rect::new(body.x, body.y, body.width, layers_h));
        let main = Rect::new(
            body.x,
            body.y + layers_h,
            body.width,
            body.height - layers_h,
        );
        match focus {
            Pane::Layers | Pane::Files => a.tree = Some(main),
            Pane::Findings | Pane::Packages => {
                a.side = Some(main);
                a.side_pane = Some(focus);
            }
            Pane::Details => a.details = Some(main),
        }
    }
    a.layer_rows = a.layers.map(|r| layer_rows(r, a.wide));
    a.tree_rows = a.tree.map(inner);
    a.side_rows = match (a.side, a.side_pane) {
        (Some(r), Some(Pane::Packages)) => Some(packages_split(r).rows),
        (Some(r), _) => Some(findings_split(r).rows),
        _ => None,
    };
    a
}

/// The inside of a bordered pane.
pub fn inner(r: Rect) -> Rect {
    Rect::new(
        r.x + 1,
        r.y + 1,
        r.width.saturating_sub(2),
        r.height.saturating_sub(2),
    )
}

// ---- inside the Layers pane: column names, rows, then the selected layer's step ----

/// Lines under the list for the selected layer's step.
pub fn step_lines(wide: bool) -> u16 {
    if wide { 3 } else { 1 }
}

/// Lines above the list for column names (none on narrow screens, where rows are dearer).
pub fn layer_header_lines(wide: bool) -> u16 {
    u16::from(wide)
}

/// The Layers pane's height to show every layer.
pub fn layers_height_for(layers: u16, wide: bool) -> u16 {
    layers
        .saturating_add(layer_header_lines(wide) + step_lines(wide))
        .saturating_add(2)
}

/// Where the layer rows go inside the Layers pane.
pub fn layer_rows(area: Rect, wide: bool) -> Rect {
    let inner = inner(area);
    let top = layer_header_lines(wide);
    let below = step_lines(wide).min(inner.height.saturating_sub(top + 1));
    Rect::new(
        inner.x,
        inner.y + top,
        inner.width,
        inner.height.saturating_sub(top + below),
    )
}

// ---- inside Files as a treemap: the map over one line naming its colours ----

/// The map's cells and its legend line inside the Files pane's inner area.
pub fn map_split(rows: Rect) -> (Rect, Rect) {
    let legend = u16::from(rows.height > 4);
    (
        Rect::new(rows.x, rows.y, rows.width, rows.height - legend),
        Rect::new(rows.x, rows.bottom() - legend, rows.width, legend),
    )
}

// ---- inside the Findings and Packages panes: a list over the selected item's text ----

/// A list pane split into its column names, its rows and the selected item's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// Column names (zero height when the list has none).
    pub header: Rect,
    pub rows: Rect,
    /// The selected item in full, under a rule.
    pub detail: Rect,
}

fn split(area: Rect, header: u16, detail: u16) -> Split {
    let inner = inner(area);
    let header = header.min(inner.height);
    let detail = detail.min(inner.height - header);
    let rows_h = inner.height - header - detail;
    Split {
        header: Rect::new(inner.x, inner.y, inner.width, header),
        rows: Rect::new(inner.x, inner.y + header, inner.width, rows_h),
        detail: Rect::new(inner.x, inner.y + header + rows_h, inner.width, detail),
    }
}

/// Findings: the list on top, the selected finding's text below.
pub fn findings_split(area: Rect) -> Split {
    let h = inner(area).height;
    split(area, 0, if h < 6 { 0 } else { (h / 2).min(12) })
}

/// Packages: column names, the table, the selected distribution below.
pub fn packages_split(area: Rect) -> Split {
    let h = inner(area).height;
    split(area, 1, if h < 8 { 0 } else { (h / 3).min(6) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(w: u16, h: u16, focus: Pane) -> Areas {
        areas(Screen {
            area: Rect::new(0, 0, w, h),
            focus,
            side: Pane::Findings,
            layers: 5,
        })
    }

    #[test]
    fn wide_screens_show_every_pane_without_overlap() {
        let a = at(160, 48, Pane::Layers);
        assert!(a.wide);
        let panes = [a.layers, a.tree, a.side, a.details].map(Option::unwrap);
        for (i, p) in panes.iter().enumerate() {
            for q in &panes[i + 1..] {
                assert!(!p.intersects(*q), "{p:?} overlaps {q:?}");
            }
        }
        assert_eq!(a.side_pane, Some(Pane::Findings));
        assert_eq!(at(160, 48, Pane::Packages).side_pane, Some(Pane::Packages));
    }

    #[test]
    fn narrow_screens_show_the_layers_and_the_focused_pane() {
        let a = at(80, 24, Pane::Details);
        assert!(!a.wide);
        assert!(a.layers.is_some() && a.details.is_some());
        assert!(a.tree.is_none() && a.side.is_none());
        assert!(at(59, 24, Pane::Layers).too_small);
    }

    #[test]
    fn splits_cover_the_inside_of_the_pane() {
        for h in [3, 5, 8, 20, 40] {
            let area = Rect::new(0, 0, 50, h);
            for s in [findings_split(area), packages_split(area)] {
                assert_eq!(
                    s.header.height + s.rows.height + s.detail.height,
                    inner(area).height
                );
                assert_eq!(s.rows.y, s.header.bottom());
                assert_eq!(s.detail.y, s.rows.bottom());
            }
        }
    }
}
