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

/// Everything the rows depend on: `refresh` re-lists only when one of these changed, so a
/// keystroke that leaves the filter's matches as they were costs no listing.
#[derive(Debug, PartialEq)]
struct Listing {
    layer: u32,
    mode: Mode,
    sort: Sort,
    hide_unchanged: bool,
    min_size: usize,
    /// Counts the changes of the filter's matches.
    filter: u64,
    collapsed: HashSet<NodeId>,
}

/// What the filters leave of one node, found in one pass before listing.
#[derive(Clone, Copy, Debug, Default)]
struct Listed {
    /// Itself passes, or something below it does.
    listed: bool,
    /// Some child is listed: the row can be expanded.
    has_children: bool,
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
    /// Bumped whenever `matches` or whether there is a filter changes.
    filter_version: u64,
    listed_for: Option<Listing>,
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
            filter_version: 0,
            listed_for: None,
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
            if self.regex.take().is_some() {
                self.filter_version += 1;
            }
            self.matches.clear();
            return;
        }
        match compile(&self.pattern) {
            Ok(regex) => {
                self.pattern_error = None;
                let tree = &report.image.tree;
                let known = match &self.regex {
                    Some(old) => {
                        Known::between(old.as_str(), &self.pattern, &self.matches, tree.len())
                    }
                    None => Known::Nothing,
                };
                let matches = path_matches(tree, &regex, known);
                if self.regex.is_none() || matches != self.matches {
                    self.filter_version += 1;
                }
                self.matches = matches;
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
        let listing = Listing {
            layer,
            mode: self.mode,
            sort: self.sort,
            hide_unchanged: self.hide_unchanged,
            min_size: self.min_size,
            filter: self.filter_version,
            collapsed: self.collapsed.clone(),
        };
        if self.listed_for.as_ref() != Some(&listing) {
            let keep = self.keep(report, layer);
            self.rows = self.list(report, layer, &keep);
            self.listed_for = Some(listing);
        }
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

    /// Per node: whether it is listed (itself passes, or something below it does), and whether
    /// it has listed children (see [`Listed`]).
    fn keep(&self, report: &Report, layer: u32) -> Vec<Listed> {
        let tree = &report.image.tree;
        let min = MIN_SIZES[self.min_size.min(MIN_SIZES.len() - 1)];
        let mut keep = vec![Listed::default(); tree.len()];
        // Children have larger ids than their parents: one backward pass carries a listed
        // child up to every ancestor.
        for id in (1..tree.len() as NodeId).rev() {
            let at = id as usize;
            if !keep[at].listed && self.passes(report, layer, id, min) {
                keep[at].listed = true;
            }
            if keep[at].listed {
                keep[tree.node(id).parent as usize] = Listed {
                    listed: true,
                    has_children: true,
                };
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
    fn list(&self, report: &Report, layer: u32, keep: &[Listed]) -> Vec<Row> {
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
                .filter(|&c| keep[c as usize].listed)
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
            let has_children = keep[node as usize].has_children;
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
                    let kept = kept.filter(|&&c| keep[c as usize].listed);
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

/// The path filter's regex: case is ignored unless the pattern has an upper-case letter.
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    let ignore_case = !pattern.chars().any(char::is_uppercase);
    RegexBuilder::new(pattern)
        .case_insensitive(ignore_case)
        .size_limit(1 << 20)
        .build()
}

/// What the previous filter's matches say about a new pattern's, when both are plain literals
/// and one extends the other: typing a character only narrows the matches, erasing one only
/// widens them. (Smart case keeps this: a case-sensitive match is also a case-insensitive one,
/// and appending a character can only turn case sensitivity on.)
#[derive(Clone, Copy)]
enum Known<'a> {
    Nothing,
    /// The new pattern extends the old: a node the old one missed is missed.
    Missed(&'a [bool]),
    /// The old pattern extends the new: a node the old one matched is matched.
    Matched(&'a [bool]),
}

impl<'a> Known<'a> {
    fn between(old: &str, new: &str, old_matches: &'a [bool], nodes: usize) -> Known<'a> {
        if old_matches.len() != nodes || !is_literal(old) || !is_literal(new) {
            Known::Nothing
        } else if new.starts_with(old) {
            Known::Missed(old_matches)
        } else if old.starts_with(new) {
            Known::Matched(old_matches)
        } else {
            Known::Nothing
        }
    }

    fn get(self, id: NodeId) -> Option<bool> {
        match self {
            Known::Missed(old) if !old[id as usize] => Some(false),
            Known::Matched(old) if old[id as usize] => Some(true),
            _ => None,
        }
    }
}

/// A pattern with no character the regex syntax gives a meaning to.
fn is_literal(pattern: &str) -> bool {
    !pattern.is_empty()
        && pattern
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | ',' | ':' | '=' | '@' | '%'))
}

/// Whether a match in a path is still a match in any longer path that starts with it. Only
/// assertions that look past a match's end break this: end of text or line (`$`, `\z`) and word
/// boundaries (`\b`, `\B`, `\<`, `\>`); start anchors look only before it. The check is on the
/// text, so an escaped `\$` merely takes the slow path.
fn matches_carry_to_descendants(pattern: &str) -> bool {
    !pattern.contains('$')
        && !["\\z", "\\b", "\\B", "\\<", "\\>"]
            .iter()
            .any(|a| pattern.contains(a))
}

/// Per node: whether its path, relative to `/` with a leading `/`, matches. A node's path is
/// its parent's plus `/name`: when the parent's path matches and no assertion of the pattern
/// looks past a match's end, the whole subtree matches without running the regex.
fn path_matches(tree: &Tree, regex: &Regex, known: Known) -> Vec<bool> {
    let carry = matches_carry_to_descendants(regex.as_str());
    let mut matches = vec![false; tree.len()];
    // Depth first with one path buffer: (node, length of the parent's path, the parent matched).
    // Below a carried match the buffer is not kept up to date: nothing there reads it.
    let mut path: Vec<u8> = Vec::new();
    let mut stack: Vec<(NodeId, usize, bool)> = tree
        .node(Tree::ROOT)
        .children
        .values()
        .map(|&c| (c, 0, false))
        .collect();
    while let Some((id, parent_len, parent_matched)) = stack.pop() {
        let matched = if carry && parent_matched {
            true
        } else {
            path.truncate(parent_len);
            path.push(b'/');
            path.extend_from_slice(&tree.node(id).name);
            known.get(id).unwrap_or_else(|| regex.is_match(&path))
        };
        matches[id as usize] = matched;
        let len = path.len();
        stack.extend(tree.node(id).children.values().map(|&c| (c, len, matched)));
    }
    matches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Entry;

    fn entry(path: &[u8], kind: EntryKind) -> Entry {
        Entry {
            path: path.into(),
            kind,
            size: 0,
            header_size: 0,
            mode: 0o644,
            uid: 0,
            gid: 0,
            link: None,
            content_hash: None,
            content: None,
            elf: None,
        }
    }

    /// A few thousand nodes with names in both cases, word and non-word characters, dots,
    /// digits, a newline and a byte that is not UTF-8.
    fn tree() -> Tree {
        let tops: [&[u8]; 5] = [b"usr", b"opt", b"Lib", b"x\nend", b"caf\xe9"];
        let subs: [&[u8]; 5] = [b"lib", b"site-packages", b"LIB64", b"pkg0", b"mod_x"];
        let leaves: [&[u8]; 8] = [
            b"mod.py",
            b"Mod.PY",
            b"libc.so.6",
            b"py",
            b"a$b",
            b"README",
            b"e",
            b"pkg01.so",
        ];
        let mut entries = Vec::new();
        for top in tops {
            entries.push(entry(top, EntryKind::Dir));
            for (i, sub) in subs.iter().enumerate() {
                let dir = [top, b"/", sub].concat();
                entries.push(entry(&dir, EntryKind::Dir));
                for (j, nested) in subs.iter().enumerate().filter(|&(j, _)| j != i) {
                    let deep = [&dir[..], b"/", nested, format!("{j}").as_bytes()].concat();
                    entries.push(entry(&deep, EntryKind::Dir));
                    for leaf in leaves {
                        entries.push(entry(&[&deep[..], b"/", leaf].concat(), EntryKind::File));
                    }
                }
                for leaf in leaves {
                    entries.push(entry(&[&dir[..], b"/", leaf].concat(), EntryKind::File));
                }
            }
        }
        let mut tree = Tree::new();
        tree.apply_layer(0, &entries);
        tree
    }

    /// The plain way: the regex over every node's full path.
    fn plain(tree: &Tree, regex: &Regex) -> Vec<bool> {
        let mut matches = vec![false; tree.len()];
        for id in tree.ids() {
            let path = [&b"/"[..], &tree.path(id)].concat();
            matches[id as usize] = regex.is_match(&path);
        }
        matches
    }

    #[test]
    fn the_fast_filter_matches_what_the_regex_matches_on_every_path() {
        let tree = tree();
        assert!(tree.len() > 1_000, "{}", tree.len());
        let patterns = [
            "pkg",
            "pkg0",
            "^/usr",
            "^/usr/lib$",
            "py$",
            "PY$",
            "\\bmod",
            "mod\\b",
            "\\Bod",
            "\\<lib",
            "lib\\>",
            "Lib",
            "LIB",
            "lib",
            "(?m)^end",
            "(?m)x$",
            "\\.so",
            "so\\.6$",
            "s/m",
            "a|py$",
            "[a-z]+\\d$",
            "(?i)README",
            "e\\z",
            "x*",
            "\\$",
            "a\\$b",
            "(?-u:caf.)",
            "(?-u:\\xe9)",
            "^/opt/[^/]+$",
            "/e$",
            "\\d\\b",
        ];
        for pattern in patterns {
            let regex = compile(pattern).unwrap();
            let fast = path_matches(&tree, &regex, Known::Nothing);
            let expected = plain(&tree, &regex);
            assert!(expected.iter().any(|&m| m), "{pattern} matches nothing");
            assert_eq!(fast, expected, "{pattern}");
        }
    }

    #[test]
    fn typing_and_erasing_reuse_the_previous_matches_and_agree_with_the_regex() {
        let tree = tree();
        // Typed one character at a time, then erased, with case turning sensitive midway.
        let typed = [
            "l", "li", "lib", "libC", "libC.", "libC.s", "lib6", "s", "si", "site-",
        ];
        let steps = typed.iter().chain(typed.iter().rev());
        let (mut old, mut old_matches) = (String::new(), Vec::new());
        for pattern in steps {
            let regex = compile(pattern).unwrap();
            let known = Known::between(&old, pattern, &old_matches, tree.len());
            let fast = path_matches(&tree, &regex, known);
            assert_eq!(fast, plain(&tree, &regex), "{old} -> {pattern}");
            (old, old_matches) = (pattern.to_string(), fast);
        }
        let reuses =
            |old: &str, new: &str| !matches!(Known::between(old, new, &[false], 1), Known::Nothing);
        assert!(reuses("li", "lib") && reuses("lib", "li") && reuses("lib", "libC"));
        assert!(!reuses("lib", "libC.") && !reuses("lib", "lib*") && !reuses("lib", "site"));
    }
}
