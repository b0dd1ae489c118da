//! Findings: rules that turn facts into `Finding`s with a severity, the layer and Dockerfile
//! step responsible, the paths, the bytes and a concrete fix. One file per rule, each with a
//! doc comment saying what it finds, why it matters and how to fix it; `RULES` lists them all.
//! Findings are data: wording of the report and colour live in the writers.

mod abi_mismatch;
mod apt_cache;
mod arch_mismatch;
mod compilers;
mod debug_info;
mod duplicates;
mod glibc_in_musl_image;
mod glibc_too_new;
mod glibcxx_too_new;
mod headers;
mod interpreter_missing;
mod musl_in_glibc_image;
mod pip_cache;
mod static_libs;
mod tests_in_site_packages;
mod unresolved_library;
mod wasted;
mod wheel_tag_mismatch;
mod wheels;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::linkage::{ElfFacts, LibcFamily};
use crate::analysis::{Category, Facts};
use crate::layer::path::absolute;
use crate::model::{Image, NodeId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// How many paths a finding carries; `path_count` tells how many there were in all.
pub const MAX_PATHS: usize = 50;

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub fix: String,
    pub layer: Option<usize>,
    pub created_by: Option<String>,
    /// Absolute paths, largest first, at most `MAX_PATHS`.
    pub paths: Vec<String>,
    pub path_count: usize,
    pub bytes: u64,
}

/// A rule: an id users can refer to, its default severity, and the check.
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub check: fn(&Context, &Rule) -> Vec<Finding>,
}

pub struct Context<'a> {
    pub image: &'a Image,
    pub facts: &'a Facts,
}

/// Every rule, in the order the report lists their findings within a severity.
pub const RULES: &[Rule] = &[
    musl_in_glibc_image::RULE,
    glibc_in_musl_image::RULE,
    arch_mismatch::RULE,
    glibc_too_new::RULE,
    glibcxx_too_new::RULE,
    interpreter_missing::RULE,
    unresolved_library::RULE,
    abi_mismatch::RULE,
    wheel_tag_mismatch::RULE,
    pip_cache::RULE,
    apt_cache::RULE,
    compilers::RULE,
    wheels::RULE,
    wasted::RULE,
    headers::RULE,
    duplicates::RULE,
    debug_info::RULE,
    static_libs::RULE,
    tests_in_site_packages::RULE,
];

/// Runs every rule. Findings come most severe first, then largest first.
pub fn evaluate(image: &Image, facts: &Facts) -> Vec<Finding> {
    let ctx = Context { image, facts };
    let mut findings: Vec<Finding> = RULES.iter().flat_map(|r| (r.check)(&ctx, r)).collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.bytes.cmp(&a.bytes)));
    findings
}

impl Context<'_> {
    /// The Dockerfile step of a layer, if the image history names one.
    fn created_by(&self, layer: usize) -> Option<String> {
        self.image
            .layers
            .get(layer)
            .map(|l| l.created_by.clone())
            .filter(|s| !s.is_empty())
    }

    /// Builds a finding for one layer from its nodes (already largest first).
    fn finding(
        &self,
        rule: &Rule,
        layer: Option<usize>,
        nodes: &[NodeId],
        bytes: u64,
        message: String,
        fix: String,
    ) -> Finding {
        Finding {
            rule: rule.id,
            severity: rule.severity,
            message,
            fix,
            layer,
            created_by: layer.and_then(|l| self.created_by(l)),
            paths: nodes
                .iter()
                .take(MAX_PATHS)
                .map(|&n| absolute(&self.image.tree.path(n)))
                .collect(),
            path_count: nodes.len(),
            bytes,
        }
    }

    /// The visible files of a category grouped by the layer that provides them, as
    /// (layer, bytes, nodes largest first), skipping files `keep` rejects.
    fn category_by_layer(
        &self,
        category: Category,
        keep: impl Fn(NodeId) -> bool,
    ) -> Vec<(usize, u64, Vec<NodeId>)> {
        let mut layers: BTreeMap<usize, (u64, Vec<NodeId>)> = BTreeMap::new();
        for m in self
            .facts
            .categories
            .members
            .get(&category)
            .into_iter()
            .flatten()
        {
            if keep(m.node) {
                let slot = layers.entry(m.layer).or_default();
                slot.0 += m.bytes;
                slot.1.push(m.node);
            }
        }
        layers.into_iter().map(|(l, (b, n))| (l, b, n)).collect()
    }

    /// One finding per layer whose visible files of `category` add up to at least `min_bytes`.
    fn category_findings(
        &self,
        rule: &Rule,
        category: Category,
        min_bytes: u64,
        keep: impl Fn(NodeId) -> bool,
        message: impl Fn(u64, usize) -> String,
        fix: &str,
    ) -> Vec<Finding> {
        self.category_by_layer(category, keep)
            .into_iter()
            .filter(|(_, bytes, _)| *bytes >= min_bytes && *bytes > 0)
            .map(|(layer, bytes, nodes)| {
                let msg = message(bytes, nodes.len());
                self.finding(rule, Some(layer), &nodes, bytes, msg, fix.to_string())
            })
            .collect()
    }
}

impl Context<'_> {
    /// The ELF files that run in this image: not in a cross toolchain's sysroot, debug-symbol
    /// store, firmware or kernel module directory, and built for the image's architecture.
    fn native_elves(&self) -> impl Iterator<Item = &ElfFacts> {
        let image = self.image;
        let own =
            crate::analysis::categories::triplet(&image.architecture, image.variant.as_deref());
        let machine = crate::analysis::linkage::machine_for(&image.architecture);
        self.facts.linkage.elves.iter().filter(move |e| {
            !crate::analysis::linkage::is_foreign_place(&e.path, own)
                && machine.is_none_or(|m| m == e.info.machine)
        })
    }

    /// Whether an ELF file's C library clashes with the image's (its own findings say so).
    fn wrong_libc(&self, elf: &ElfFacts) -> bool {
        match self.facts.linkage.libc.family {
            Some(LibcFamily::Glibc) => matches!(elf.libc, LibcFamily::Musl | LibcFamily::Mixed),
            Some(LibcFamily::Musl) => matches!(elf.libc, LibcFamily::Glibc | LibcFamily::Mixed),
            _ => false,
        }
    }

    /// One finding per layer (and key) from the ELF files `pick` selects; `pick` returns a
    /// grouping key. Paths come largest first.
    fn elf_findings<'a>(
        &'a self,
        rule: &Rule,
        elves: impl Iterator<Item = &'a ElfFacts>,
        pick: impl Fn(&ElfFacts) -> Option<String>,
        message: impl Fn(&str, &[&ElfFacts]) -> String,
        fix: impl Fn(&str, &[&ElfFacts]) -> String,
    ) -> Vec<Finding> {
        let mut groups: BTreeMap<(usize, String), Vec<&ElfFacts>> = BTreeMap::new();
        for elf in elves {
            if let Some(key) = pick(elf) {
                groups.entry((elf.layer, key)).or_default().push(elf);
            }
        }
        groups
            .into_iter()
            .map(|((layer, key), mut elves)| {
                let size = |e: &ElfFacts| self.image.held_bytes(e.node);
                elves.sort_by(|a, b| size(b).cmp(&size(a)).then(a.path.cmp(&b.path)));
                let nodes: Vec<NodeId> = elves.iter().map(|e| e.node).collect();
                let bytes = elves.iter().map(|e| size(e)).sum();
                self.finding(
                    rule,
                    Some(layer),
                    &nodes,
                    bytes,
                    message(&key, &elves),
                    fix(&key, &elves),
                )
            })
            .collect()
    }

    /// "numpy 1.26.4" for the distributions that own these files, or their paths.
    fn owners(&self, elves: &[&ElfFacts]) -> String {
        let mut names: Vec<String> = elves
            .iter()
            .filter_map(|e| self.facts.python.owner_of(e.node))
            .map(|d| format!("{} {}", d.name, d.version))
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            let first = absolute(&elves[0].path);
            if elves.len() > 1 {
                format!("{first} and {} more", elves.len() - 1)
            } else {
                first
            }
        } else {
            names.join(", ")
        }
    }

    /// The image's C library as users name it: "glibc 2.36 (Debian GNU/Linux 12 (bookworm))".
    fn libc_name(&self) -> String {
        let libc = &self.facts.linkage.libc;
        let family = match libc.family {
            Some(LibcFamily::Musl) => "musl",
            Some(LibcFamily::Glibc) => "glibc",
            _ => "no C library",
        };
        let mut s = family.to_string();
        if let Some(v) = &libc.version {
            s.push_str(&format!(" {v}"));
        }
        if let Some(os) = &libc.os {
            s.push_str(&format!(" ({os})"));
        }
        s
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Sizes in findings' messages: decimal units, as `docker images` shows them.
pub fn size(bytes: u64) -> String {
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let options = humansize::FormatSizeOptions::from(humansize::DECIMAL)
        .decimal_places(1)
        .decimal_zeroes(1);
    humansize::format_size(bytes, options)
}

/// 12345 -> "12,345"
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn files(n: usize) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{} files", group(n as u64))
    }
}
