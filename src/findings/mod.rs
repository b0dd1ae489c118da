//! Findings: rules that turn facts into `Finding`s with a severity, the layer and Dockerfile
//! step responsible, the paths, the bytes and a concrete fix. One file per rule, whose `RULE`
//! says what it finds, why that matters and how to fix it; `RULES` lists them all, and `GATES`
//! the gate rules of `pydive ci`. That text is written once, here: `pydive explain`, SARIF's
//! rule help and the README's table of rules all read it ([`catalog`]).
//! Findings are data: wording of the report and colour live in the writers.

mod abi_mismatch;
mod apt_cache;
mod arch_mismatch;
mod base_variant;
mod built_from_source;
mod compilers;
mod debug_info;
mod duplicates;
mod gates;
mod git_directory;
mod glibc_in_musl_image;
mod glibc_too_new;
mod glibcxx_too_new;
mod headers;
mod interpreter_missing;
mod missing_symbol;
mod musl_in_glibc_image;
mod pip_cache;
pub mod projection;
mod relr_unsupported;
mod runs_as_root;
mod secret_file;
mod setuid;
mod static_libs;
mod tests_in_site_packages;
mod unresolved_library;
mod wasted;
mod wheel_tag_mismatch;
mod wheels;
mod world_writable;

use std::collections::BTreeMap;

use crate::analysis::linkage::{ElfFacts, LibcFamily};
use crate::analysis::{Category, Facts};
use crate::layer::path::absolute;
use crate::model::{Image, NodeId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// Files of one layer with their bytes, largest first.
type Members = Vec<(NodeId, u64)>;

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
    /// What applying the fix would remove from the image: each stored copy once. Empty for
    /// findings whose fix saves no bytes (compatibility findings).
    pub saves: Vec<Saving>,
}

/// Bytes a fix removes: those stored for a node by one layer (a whole file, or the part
/// `strip` removes). Two findings that save the same (layer, node) save it once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saving {
    pub layer: usize,
    pub node: NodeId,
    pub bytes: u64,
}

impl Finding {
    /// Its bytes as a person reads them; None for a finding about no bytes (running as root, a
    /// library that does not resolve), where "0 B" would read as a measurement.
    pub fn size(&self) -> Option<String> {
        (self.bytes > 0).then(|| size(self.bytes))
    }

    /// The same finding, saving these bytes when fixed.
    fn saving(mut self, saves: Vec<Saving>) -> Finding {
        self.saves = saves;
        self
    }
}

/// A rule: an id users refer to (in `--rule`, `ignore`, `pydive explain`), its severity, and
/// the text people read: what makes it fire (`summary`, one line), why that matters and how to
/// fix it (whole sentences, Markdown code spans allowed).
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub why: &'static str,
    pub fix: &'static str,
    /// The findings of one image; gate rules are measured by `ci` instead and find nothing here.
    pub check: fn(&Context, &Rule) -> Vec<Finding>,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl Rule {
    /// Whether this is one of `pydive ci`'s gate rules rather than a finding rule.
    pub fn is_gate(&self) -> bool {
        GATES.iter().any(|g| g.id == self.id)
    }
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
    missing_symbol::RULE,
    relr_unsupported::RULE,
    abi_mismatch::RULE,
    wheel_tag_mismatch::RULE,
    secret_file::RULE,
    setuid::RULE,
    world_writable::RULE,
    runs_as_root::RULE,
    git_directory::RULE,
    pip_cache::RULE,
    apt_cache::RULE,
    compilers::RULE,
    base_variant::RULE,
    built_from_source::RULE,
    wheels::RULE,
    wasted::RULE,
    headers::RULE,
    duplicates::RULE,
    debug_info::RULE,
    static_libs::RULE,
    tests_in_site_packages::RULE,
];

pub use gates::GATES;

/// Every rule, finding rules first, then gate rules: what `pydive explain` lists.
pub fn catalog() -> impl Iterator<Item = &'static Rule> {
    RULES.iter().chain(GATES.iter())
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    catalog().find(|r| r.id == id)
}

/// The rules about security rather than size or compatibility: tagged `security` in the
/// reports (SARIF's `security` tag), counted like the others by `audit` and the CI gate.
pub const SECURITY: &[&str] = &[
    "secret-file",
    "setuid",
    "world-writable",
    "runs-as-root",
    "git-directory",
];

impl Finding {
    /// Whether the finding is about security (see [`SECURITY`]).
    pub fn is_security(&self) -> bool {
        SECURITY.contains(&self.rule)
    }
}

/// Runs every rule. Findings come most severe first, then largest first.
pub fn evaluate(image: &Image, facts: &Facts) -> Vec<Finding> {
    let ctx = Context { image, facts };
    let mut findings: Vec<Finding> = RULES.iter().flat_map(|r| (r.check)(&ctx, r)).collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.bytes.cmp(&a.bytes)));
    findings
}

impl Context<'_> {
    /// A node's absolute path, for a message.
    fn path(&self, node: NodeId) -> String {
        absolute(&self.image.tree.path(node))
    }

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
            saves: Vec::new(),
        }
    }

    /// The visible files of a category grouped by the layer that provides them, as
    /// (layer, bytes, (node, bytes) largest first), skipping files `keep` rejects.
    fn category_by_layer(
        &self,
        category: Category,
        keep: impl Fn(NodeId) -> bool,
    ) -> Vec<(usize, u64, Members)> {
        let mut layers: BTreeMap<usize, (u64, Members)> = BTreeMap::new();
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
                slot.0 = slot.0.saturating_add(m.bytes);
                slot.1.push((m.node, m.bytes));
            }
        }
        layers.into_iter().map(|(l, (b, n))| (l, b, n)).collect()
    }

    /// For a finding in a full base image's layers: the fix is the base's variant.
    fn fix_for_full_base(&self, mut finding: Finding) -> Finding {
        let base = &self.facts.base;
        if base.flavour == crate::analysis::base::Flavour::Full
            && finding.layer.is_some_and(|l| base.contains(l))
        {
            finding.fix = "the full base image brings these: base the final stage on the base's slim variant and build what needs them in a separate stage (the base-variant finding has the numbers for this image)".to_string();
        }
        finding
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
            .map(|(layer, bytes, members)| {
                let msg = message(bytes, members.len());
                let nodes: Vec<NodeId> = members.iter().map(|m| m.0).collect();
                let saves = members
                    .iter()
                    .map(|&(node, bytes)| Saving { layer, node, bytes })
                    .collect();
                self.finding(rule, Some(layer), &nodes, bytes, msg, fix.to_string())
                    .saving(saves)
            })
            .collect()
    }
}

impl Context<'_> {
    /// The ELF files that run in this image: not in a cross toolchain's sysroot, debug-symbol
    /// store, firmware or kernel module directory, and built for the image's architecture.
    fn native_elves(&self) -> impl Iterator<Item = &ElfFacts> {
        let image = self.image;
        let own = image.arch().map(|a| a.triplet);
        let machine = image.arch().map(|a| a.machine);
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
                let bytes = crate::model::sum_bytes(elves.iter().map(|e| size(e)));
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
    /// The image's architecture (amd64's names when pydive does not know it).
    fn arch(&self) -> &'static crate::model::Arch {
        self.image.arch().unwrap_or(&crate::model::ARCHES[0])
    }

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
