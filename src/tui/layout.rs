//! Where each pane goes, as a pure function of the screen size and the state. Drawing and
//! mouse hits both use it, so a click lands on what is drawn. Wide screens show every pane;
//! narrow ones (down to 80x24) stack the layers over one other pane, the focused one, and say
//! so; smaller ones get a note instead of a garbled screen.

use ratatui::layout::Rect;

use super::state::{Pane, ViewState};
use super::{findings, layers, packages};
use crate::report::Report;

/// Below this the explorer shows a note instead of panes.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// From this size on every pane is on screen at once.
pub const WIDE_WIDTH: u16 = 120;
pub const WIDE_HEIGHT: u16 = 30;

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

pub fn areas(screen: Rect, state: &ViewState, report: &Report) -> Areas {
    let mut a = Areas::default();
    if screen.width < MIN_WIDTH || screen.height < MIN_HEIGHT {
        a.too_small = true;
        return a;
    }
    a.header = Rect::new(screen.x, screen.y, screen.width, 2);
    a.status = Rect::new(screen.x, screen.bottom() - 1, screen.width, 1);
    let body = Rect::new(
        screen.x,
        screen.y + 2,
        screen.width,
        screen.height.saturating_sub(3),
    );
    let n_layers = report.image.layers.len() as u16;
    a.wide = screen.width >= WIDE_WIDTH && screen.height >= WIDE_HEIGHT;
    if a.wide {
        let left_w = (body.width * 2 / 5).max(50);
        let left = Rect::new(body.x, body.y, left_w, body.height);
        let right = Rect::new(body.x + left_w, body.y, body.width - left_w, body.height);
        let wanted = layers::height_for(n_layers, true);
        let layers_h = wanted.min(body.height / 3).max(7);
        let rest = body.height - layers_h;
        let side_h = rest / 2;
        let layers_r = Rect::new(left.x, left.y, left.width, layers_h);
        let side_r = Rect::new(left.x, left.y + layers_h, left.width, side_h);
        let details_r = Rect::new(
            left.x,
            left.y + layers_h + side_h,
            left.width,
            rest - side_h,
        );
        a.layers = Some(layers_r);
        a.tree = Some(right);
        a.side = Some(side_r);
        a.details = Some(details_r);
        a.side_pane = Some(if state.focus == Pane::Packages {
            Pane::Packages
        } else if state.focus == Pane::Findings {
            Pane::Findings
        } else {
            state.side
        });
    } else {
        let wanted = layers::height_for(n_layers, false);
        let layers_h = wanted.min((body.height * 2 / 5).max(6));
        let layers_r = Rect::new(body.x, body.y, body.width, layers_h);
        let main = Rect::new(
            body.x,
            body.y + layers_h,
            body.width,
            body.height - layers_h,
        );
        a.layers = Some(layers_r);
        match state.focus {
            Pane::Layers | Pane::Files => a.tree = Some(main),
            Pane::Findings | Pane::Packages => {
                a.side = Some(main);
                a.side_pane = Some(state.focus);
            }
            Pane::Details => a.details = Some(main),
        }
    }
    a.layer_rows = a.layers.map(|r| layers::rows_area(r, a.wide));
    a.tree_rows = a.tree.map(inner);
    a.side_rows = match (a.side, a.side_pane) {
        (Some(r), Some(Pane::Packages)) => Some(packages::rows_area(r)),
        (Some(r), _) => Some(findings::rows_area(r)),
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
