//! Analysis: typed facts computed from the model, with no thresholds, severities or wording
//! (those belong to `findings` and the writers). Byte categories, waste, duplicate content,
//! dive's own efficiency numbers, ELF linkage, Python, OS packages and the base image.

pub mod base;
pub mod categories;
pub mod dive;
pub mod duplicates;
pub mod linkage;
pub mod loader;
pub mod packages;
pub mod python;
pub mod resolve;
pub mod security;
pub mod waste;

use std::collections::BTreeMap;

use crate::layer::path::split_last;
use crate::layer::{EntryKind, Keep};
use crate::model::{Image, NodeId};
pub use categories::{Category, CategorySet, Classifier};

/// Bytes and files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub bytes: u64,
    pub files: u64,
}

impl Totals {
    fn add(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.files += 1;
    }
}

/// A file in the final filesystem that belongs to a category.
#[derive(Clone, Debug)]
pub struct Member {
    pub node: NodeId,
    /// The layer whose entry provides the visible version.
    pub layer: usize,
    pub bytes: u64,
}

/// Per category: what is visible at the end, and what each layer added.
#[derive(Debug, Default)]
pub struct CategoryFacts {
    pub visible: BTreeMap<Category, Totals>,
    /// Indexed by layer: bytes and files each layer's entries added (later deletions included).
    pub added_by_layer: Vec<BTreeMap<Category, Totals>>,
    /// The visible files of each category, largest first.
    pub members: BTreeMap<Category, Vec<Member>>,
    /// Files only a build needs (compilers, headers, static libraries), each counted once.
    pub build_only: Totals,
    /// The final filesystem split without overlap: each visible file once, in its primary
    /// category (`CategorySet::primary`). What none claims is `Facts::visible` less these.
    /// Pictures that must add up (a pie, a treemap's colours) use this.
    pub primary: BTreeMap<Category, Totals>,
    /// Indexed by node: the categories of every path that some layer put a non-directory at,
    /// whether or not it is visible at the end (the explorer tags rows with it).
    pub by_node: Vec<CategorySet>,
}

impl CategoryFacts {
    /// The categories of a node's path (empty for directories and unknown nodes).
    pub fn of(&self, node: NodeId) -> CategorySet {
        self.by_node.get(node as usize).copied().unwrap_or_default()
    }
}

/// Everything the analyses found.
#[derive(Debug)]
pub struct Facts {
    /// Non-directory entries of the final filesystem, and the bytes they hold.
    pub visible: Totals,
    pub categories: CategoryFacts,
    pub waste: waste::Waste,
    pub duplicates: duplicates::Duplicates,
    pub dive: dive::DiveNumbers,
    pub linkage: linkage::Linkage,
    pub python: python::Python,
    pub os_packages: packages::OsPackages,
    pub base: base::Base,
    pub security: security::Security,
}

/// The files whose contents the analyses read, asked before the walk (path relative to `/`,
/// size), and how much of each. Everything else is only hashed, or skipped.
pub fn wants_content(path: &[u8], size: u64) -> Keep {
    if python::wants_headers(path) {
        Keep::Headers
    } else {
        Keep::from(
            linkage::wants_content(path, size)
                || python::wants_content(path, size)
                || packages::wants_content(path, size)
                || security::wants_content(path, size),
        )
    }
}

/// Runs every analysis. dive's numbers, the costliest (they rebuild dive's own per-layer
/// trees) and needed by no other analysis, are computed on a second thread meanwhile: this
/// runs after the layer walks, when every core is free again.
pub fn analyze(image: &Image) -> Facts {
    std::thread::scope(|scope| {
        let dive = scope.spawn(|| dive::compute(image));
        let mut linkage = linkage::compute(image);
        let python = python::compute(image, &linkage);
        let arch = image.arch().map_or("unknown", |a| a.wheel);
        linkage.judge_extension_modules(image, |e| {
            python::importers(&python.interpreters, split_last(&e.path).1, arch)
        });
        let os_packages = packages::compute(image, &linkage);
        linkage.libc.refine_from_packages(&os_packages);
        let categories = categorize(image, &linkage, &os_packages);
        let base = base::compute(image, &categories, &linkage, &python, &os_packages);
        Facts {
            visible: visible(image),
            categories,
            waste: waste::compute(image),
            duplicates: duplicates::compute(image),
            dive: dive.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            linkage,
            python,
            os_packages,
            base,
            security: security::compute(image),
        }
    })
}

fn visible(image: &Image) -> Totals {
    let mut totals = Totals::default();
    for id in image.tree.ids() {
        if image
            .final_entry(id)
            .is_some_and(|e| e.kind != EntryKind::Dir)
        {
            totals.add(image.held_bytes(id));
        }
    }
    totals
}

fn categorize(
    image: &Image,
    linkage: &linkage::Linkage,
    os_packages: &packages::OsPackages,
) -> CategoryFacts {
    let classifier = Classifier::new(&image.architecture, image.variant.as_deref());
    let mut facts = CategoryFacts {
        added_by_layer: vec![BTreeMap::new(); image.layers.len()],
        by_node: vec![CategorySet::default(); image.tree.len()],
        ..CategoryFacts::default()
    };
    let tree = &image.tree;
    let mut path = Vec::new();
    for id in tree.ids() {
        let node = tree.node(id);
        // The layers that provide this node as a file, not as a directory or removal.
        let provided = || {
            node.changes
                .iter()
                .filter_map(|c| image.entry(c).map(|e| (c, e)))
                .filter(|(_, e)| {
                    !matches!(
                        e.kind,
                        EntryKind::Dir | EntryKind::Whiteout | EntryKind::Opaque
                    )
                })
        };
        if provided().next().is_none() {
            continue;
        }
        // One path buffer for every node: no allocation per file.
        tree.path_into(id, &mut path);
        let mut set = classifier.classify(&path);
        // The package database knows the toolchain's files wherever they are (binutils'
        // translations, gprofng, linker scripts); the path rules cover images without one.
        if os_packages.is_toolchain_file(id) {
            set.insert(Category::Compilers);
        }
        if set.is_empty() {
            continue;
        }
        facts.by_node[id as usize] = set;
        for (change, entry) in provided() {
            for c in set.iter() {
                facts.added_by_layer[change.layer as usize]
                    .entry(c)
                    .or_default()
                    .add(entry.size);
            }
        }
        let Some(entry) = image.final_entry(id) else {
            continue;
        };
        if entry.kind == EntryKind::Dir {
            continue;
        }
        let layer = node.last_layer();
        let bytes = image.held_bytes(id);
        if [Category::Compilers, Category::Headers, Category::StaticLibs]
            .iter()
            .any(|c| set.contains(*c))
        {
            facts.build_only.add(bytes);
        }
        if let Some(p) = set.primary() {
            facts.primary.entry(p).or_default().add(bytes);
        }
        for c in set.iter() {
            facts.visible.entry(c).or_default().add(bytes);
            facts.members.entry(c).or_default().push(Member {
                node: id,
                layer,
                bytes,
            });
        }
    }
    // Debug info is counted in bytes of the sections `strip` would remove, not whole files.
    for elf in &linkage.elves {
        if elf.info.debug_bytes > 0 {
            if let Some(set) = facts.by_node.get_mut(elf.node as usize) {
                set.insert(Category::DebugInfo);
            }
            facts
                .visible
                .entry(Category::DebugInfo)
                .or_default()
                .add(elf.info.debug_bytes);
            facts
                .members
                .entry(Category::DebugInfo)
                .or_default()
                .push(Member {
                    node: elf.node,
                    layer: elf.layer,
                    bytes: elf.info.debug_bytes,
                });
            facts.added_by_layer[elf.layer]
                .entry(Category::DebugInfo)
                .or_default()
                .add(elf.info.debug_bytes);
        }
    }
    for members in facts.members.values_mut() {
        members.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.node.cmp(&b.node)));
    }
    facts
}
