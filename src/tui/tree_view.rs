//! The file tree as the explorer shows it: which nodes are rows, in what order, and how deep,
//! for the selected layer, mode, sort and filters. This is view state, kept here and never in
//! the model (as gitui keeps its tree list apart from git). Sizes come from the model's queries;
//! nothing here reads a file.
//!
//! Work is split so that each keystroke redoes only its part: the size query runs when the
//! layer or mode changes, the path filter runs when the pattern changes, and
//! expand/collapse only re-lists rows. Only the rows on screen are ever drawn.

use std::collections::HashSet;

use regex::bytes::{Regex, RegexBuilder};

use crate::layer::EntryKind;
use crate::model::{NodeId, State, Tree};
use crate::report::Report;

/// What the tree shows, like dive's two views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only what the selected layer added, modified or removed.
    Changes,
    /// The whole filesystem as of the selected layer.
    Image,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Name,
    Size,
}

/// Minimum file sizes `f` steps through.
pub const MIN_SIZES: [u64; 6] = [0, 1_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// One row of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub node: NodeId,
    pub depth: u16,
    /// Bit `d` set: the ancestor at depth `d` has further siblings below (draw a `│`).
    pub guides: u64,
    /// The last of its siblings (`└─` rather than `├─`).
    pub last: bool,
    /// Whether it has rows below it when expanded.
    pub has_children: bool,
}

/// The tree's options, filters, caches and cursor.
#[derive(Debug)]
pub struct TreeView {
    pub mode: Mode,
    pub sort: Sort,
    pub hide_unchanged: bool,
    /// Index into [`MIN_SIZES`].
    pub min_size: usize,
    /// The path filter as typed, and the last pattern that compiled.
    pub pattern: String,
    pub pattern_error: Option<String>,
    regex: Option<Regex>,
    pub collapsed: HashSet<NodeId>,
    pub rows: Vec<Row>,
    pub cursor: usize,
    pub offset: usize,
    /// For the layer and mode in `sized_for`: each node's bytes (see `Image::bytes_at`).
    sizes: Vec<u64>,
    /// Each node's bytes just below that layer: what a removal there took away.
    sizes_below: Vec<u64>,
    sized_for: Option<(u32, Mode)>,
    /// Per node: its path matches the filter (empty when there is no filter).
    matches: Vec<bool>,
}

impl Default for TreeView {
    fn default() -> Self {
        TreeView {
            mode: Mode::Changes,
            sort: Sort::Name,
            hide_unchanged: false,
            min_size: 0,
            pattern: String::new(),
            pattern_error: None,
            regex: None,
            collapsed: HashSet::new(),
            rows: Vec::new(),
            cursor: 0,
            offset: 0,
            sizes: Vec::new(),
            sizes_below: Vec::new(),
            sized_for: None,
            matches: Vec::new(),
        }
    }
}

/// What one node is in the selected layer, as a row shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// Its state in the selected layer, if the layer touched it.
    pub state: Option<State>,
    pub is_dir: bool,
    /// The bytes the row shows: a file's size (for a removal, what was removed), or a
    /// directory's total.
    pub bytes: u64,
}

impl TreeView {
    /// The selected row's node.
    pub fn selected(&self) -> Option<NodeId> {
        self.rows.get(self.cursor).map(|r| r.node)
    }

    pub fn has_filter(&self) -> bool {
        self.regex.is_some()
    }

    /// Sets the path filter. An empty pattern clears it; one that does not compile keeps the
    /// previous filter and records the error. Matching ignores case unless the pattern has
    /// an upper-case letter.
    pub fn set_pattern(&mut self, report: &Report, pattern: String) {
        self.pattern = pattern;
        if self.pattern.is_empty() {
            self.pattern_error = None;
            self.regex = None;
            self.matches.clear();
            return;
        }
        let ignore_case = !self.pattern.chars().any(char::is_uppercase);
        match RegexBuilder::new(&self.pattern)
            .case_insensitive(ignore_case)
            .size_limit(1 << 20)
            .build()
        {
            Ok(regex) => {
                self.pattern_error = None;
                self.matches = path_matches(&report.image.tree, &regex);
                self.regex = Some(regex);
            }
            Err(e) => {
                self.pattern_error = Some(match e {
                    regex::Error::CompiledTooBig(_) => "pattern too large".to_string(),
                    _ => "not a valid regular expression".to_string(),
                });
            }
        }
    }

    /// The bytes at or under a node for the layer and mode the tree was last refreshed for.
    pub fn size_of(&self, node: NodeId) -> u64 {
        self.sizes.get(node as usize).copied().unwrap_or(0)
    }

    /// What a node is in `layer`.
    pub fn node_view(&self, report: &Report, layer: u32, node: NodeId) -> NodeView {
        let image = &report.image;
        let n = image.tree.node(node);
        let state = n.change_in(layer).map(|c| c.state);
        // What the node is as of this layer; for a removal, what it was just below.
        let provider = if state == Some(State::Removed) {
            layer.checked_sub(1).and_then(|below| n.provider_at(below))
        } else {
            n.provider_at(layer)
        };
        let kind = provider.map(|c| image.entry(c).map_or(EntryKind::Dir, |e| e.kind));
        let is_dir = kind == Some(EntryKind::Dir) || (kind.is_none() && !n.children.is_empty());
        let sizes = if state == Some(State::Removed) {
            &self.sizes_below
        } else {
            &self.sizes
        };
        let bytes = sizes.get(node as usize).copied().unwrap_or(0);
        NodeView {
            state,
            is_dir,
            bytes,
        }
    }

    /// Recomputes what changed since the last call and re-lists the rows, keeping the
    /// selected node selected (or its nearest listed ancestor).
    pub fn refresh(&mut self, report: &Report, layer: u32) {
        let image = &report.image;
        if self.sized_for != Some((layer, self.mode)) {
            self.sizes = match self.mode {
                Mode::Changes => image.bytes_changed_in(layer),
                Mode::Image => image.bytes_at(layer),
            };
            self.sizes_below = match layer.checked_sub(1) {
                Some(below) => image.bytes_at(below),
                None => Vec::new(),
            };
            self.sized_for = Some((layer, self.mode));
        }
        let selected = self.selected();
        let keep = self.keep(report, layer);
        self.rows = self.list(report, layer, &keep);
        self.cursor = selected
            .and_then(|node| self.position_of_or_ancestor(&image.tree, node))
            .unwrap_or(0)
            .min(self.rows.len().saturating_sub(1));
    }

    /// The row of a node, or of its nearest listed ancestor.
    fn position_of_or_ancestor(&self, tree: &Tree, node: NodeId) -> Option<usize> {
        let mut at = node;
        loop {
            if let Some(i) = self.rows.iter().position(|r| r.node == at) {
                return Some(i);
            }
            if at == Tree::ROOT {
                return None;
            }
            at = tree.node(at).parent;
        }
    }

    /// Moves the cursor to a node, expanding its ancestors; false when the filters hide it.
    pub fn reveal(&mut self, report: &Report, layer: u32, node: NodeId) -> bool {
        let tree = &report.image.tree;
        let mut unfolded = false;
        let mut at = tree.node(node).parent;
        while at != Tree::ROOT {
            unfolded |= self.collapsed.remove(&at);
            at = tree.node(at).parent;
        }
        // Re-list only when something changed: a node already listed is just selected.
        let listed = !unfolded && self.sized_for == Some((layer, self.mode));
        let found = listed
            .then(|| self.rows.iter().position(|r| r.node == node))
            .flatten();
        if found.is_none() {
            self.refresh(report, layer);
        }
        match found.or_else(|| self.rows.iter().position(|r| r.node == node)) {
            Some(i) => {
                self.cursor = i;
                true
            }
            None => false,
        }
    }

    /// Per node: whether it is listed (itself passes, or something below it does).
    fn keep(&self, report: &Report, layer: u32) -> Vec<bool> {
        let tree = &report.image.tree;
        let min = MIN_SIZES[self.min_size.min(MIN_SIZES.len() - 1)];
        let mut keep = vec![false; tree.len()];
        // Children have larger ids than their parents: one backward pass carries a listed
        // child up to every ancestor.
        for id in (1..tree.len() as NodeId).rev() {
            let at = id as usize;
            if !keep[at] && self.passes(report, layer, id, min) {
                keep[at] = true;
            }
            if keep[at] {
                keep[tree.node(id).parent as usize] = true;
            }
        }
        keep
    }

    fn passes(&self, report: &Report, layer: u32, id: NodeId, min: u64) -> bool {
        let n = report.image.tree.node(id);
        let change = n.change_in(layer);
        let shown = match self.mode {
            Mode::Changes => change.is_some(),
            Mode::Image => change.is_some_and(|c| c.state == State::Removed) || n.exists_at(layer),
        };
        if !shown || (self.hide_unchanged && change.is_none()) {
            return false;
        }
        if self.regex.is_some() && !self.matches.get(id as usize).copied().unwrap_or(false) {
            return false;
        }
        if min > 0 {
            let view = self.node_view(report, layer, id);
            return !view.is_dir && view.bytes >= min;
        }
        true
    }

    /// Lists the kept nodes depth first, children in the chosen order, not descending into
    /// collapsed directories.
    fn list(&self, report: &Report, layer: u32, keep: &[bool]) -> Vec<Row> {
        let tree = &report.image.tree;
        let mut rows = Vec::new();
        // (node, depth, guides of its children's rows)
        let mut stack: Vec<(NodeId, u16, u64, bool)> = Vec::new();
        let children = |id: NodeId| -> Vec<NodeId> {
            let mut kids: Vec<NodeId> = tree
                .node(id)
                .children
                .values()
                .copied()
                .filter(|&c| keep[c as usize])
                .collect();
            if self.sort == Sort::Size {
                kids.sort_by_cached_key(|&c| {
                    std::cmp::Reverse(self.node_view(report, layer, c).bytes)
                });
            }
            kids
        };
        let push_children = |stack: &mut Vec<(NodeId, u16, u64, bool)>,
                             kids: Vec<NodeId>,
                             depth: u16,
                             guides: u64| {
            let n = kids.len();
            for (i, c) in kids.into_iter().enumerate().rev() {
                stack.push((c, depth, guides, i + 1 == n));
            }
        };
        push_children(&mut stack, children(Tree::ROOT), 0, 0);
        while let Some((node, depth, guides, last)) = stack.pop() {
            let has_children = tree.node(node).children.values().any(|&c| keep[c as usize]);
            rows.push(Row {
                node,
                depth,
                guides,
                last,
                has_children,
            });
            if has_children && !self.collapsed.contains(&node) {
                let mut child_guides = guides;
                if !last && depth < 64 {
                    child_guides |= 1 << depth;
                }
                let depth = depth.saturating_add(1);
                if self.sort == Sort::Name {
                    // Name order is the tree's own: pushed straight from it, last first, with
                    // no list of children made per row (this runs for every listed node).
                    let kept = tree.node(node).children.values().rev();
                    let kept = kept.filter(|&&c| keep[c as usize]);
                    for (i, &c) in kept.enumerate() {
                        stack.push((c, depth, child_guides, i == 0));
                    }
                } else {
                    push_children(&mut stack, children(node), depth, child_guides);
                }
            }
        }
        rows
    }

    /// Collapses every directory that has rows below it.
    pub fn collapse_all(&mut self, report: &Report) {
        let tree = &report.image.tree;
        self.collapsed = tree
            .ids()
            .filter(|&id| !tree.node(id).children.is_empty())
            .collect();
    }
}

/// Per node: whether its path, relative to `/` with a leading `/`, matches.
fn path_matches(tree: &Tree, regex: &Regex) -> Vec<bool> {
    let mut matches = vec![false; tree.len()];
    // Depth first with one path buffer: (node, length of the parent's path).
    let mut path: Vec<u8> = Vec::new();
    let mut stack: Vec<(NodeId, usize)> = tree
        .node(Tree::ROOT)
        .children
        .values()
        .map(|&c| (c, 0))
        .collect();
    while let Some((id, parent_len)) = stack.pop() {
        path.truncate(parent_len);
        path.push(b'/');
        path.extend_from_slice(&tree.node(id).name);
        matches[id as usize] = regex.is_match(&path);
        let len = path.len();
        stack.extend(tree.node(id).children.values().map(|&c| (c, len)));
    }
    matches
}
