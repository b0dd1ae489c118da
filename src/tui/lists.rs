//! The explorer's lists as queries: how many rows each list pane has and which item row `i`
//! is. `update` asks them to move and clamp cursors, the panes ask them to draw, so the two
//! never disagree about a row. A new list (a tab of the Packages pane, say) is a new query
//! here and a pane that draws it.

use crate::analysis::python::Distribution;
use crate::model::NodeId;
use crate::report::Report;

use super::action::Pane;
use super::state::ViewState;

/// The panes that are lists of rows with a cursor.
pub const LISTS: [Pane; 4] = [Pane::Layers, Pane::Files, Pane::Findings, Pane::Packages];

/// How many rows a list pane has (0 for Details, which scrolls text instead).
pub fn len(report: &Report, state: &ViewState, pane: Pane) -> usize {
    match pane {
        Pane::Layers => report.image.layers.len(),
        Pane::Files => state.tree.rows.len(),
        Pane::Findings => report.findings.len(),
        Pane::Packages if state.os_packages => report.facts.os_packages.packages.len(),
        Pane::Packages => report.facts.python.distributions.len(),
        Pane::Details => 0,
    }
}

/// The Python distributions in the order the Packages pane lists them: largest first, then
/// by name.
pub fn packages(report: &Report) -> Vec<&Distribution> {
    let mut d: Vec<&Distribution> = report.facts.python.distributions.iter().collect();
    d.sort_by(|a, b| {
        b.size_bytes
            .cmp(&a.size_bytes)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    d
}

/// The package in row `i` of the Packages pane: its layer and its largest file, to show in
/// Files.
pub fn package_location(report: &Report, state: &ViewState, i: usize) -> Option<(usize, NodeId)> {
    if state.os_packages {
        let p = report.facts.os_packages.packages.get(i)?;
        return Some((p.layer, *p.nodes.first()?));
    }
    let d = packages(report).into_iter().nth(i)?;
    let node = d
        .nodes
        .first()
        .copied()
        .or_else(|| report.image.tree.lookup(&d.metadata))?;
    Some((d.layer, node))
}
