//! The JSON report, schema version 1. These types are the contract: change them only with a
//! new schema version or an additive field, and a CHANGELOG entry. Documented in
//! `docs/report-schema.md`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::Report;
use crate::analysis::linkage::{LibcFamily, Resolution, machine_name};
use crate::analysis::python::extension_tag;
use crate::analysis::waste::Fate;
use crate::analysis::{Category, Totals};
use crate::findings::Severity;
use crate::layer::path::{Lossless, absolute};

pub const SCHEMA_VERSION: u32 = 1;

/// How many of the largest wasted files and duplicate groups the report lists.
const TOP: usize = 50;

#[derive(Serialize)]
pub struct JsonReport {
    pub schema_version: u32,
    pub pydive_version: &'static str,
    pub image: JsonImage,
    pub categories: BTreeMap<&'static str, Totals>,
    /// Compilers, headers and static libraries, each file counted once.
    pub build_only: Totals,
    pub waste: JsonWaste,
    pub libc: JsonLibc,
    pub elf: Vec<JsonElf>,
    pub python: JsonPython,
    pub findings: Vec<JsonFinding>,
    pub diagnostics: Vec<JsonDiagnostic>,
}

#[derive(Serialize)]
pub struct JsonLibc {
    /// "glibc", "musl" or "none"
    pub family: &'static str,
    pub version: Option<String>,
    pub path: Option<String>,
    pub glibcxx: Option<String>,
    pub os: Option<String>,
}

#[derive(Serialize)]
pub struct JsonElf {
    pub path: String,
    pub layer: usize,
    pub class: u8,
    pub machine: String,
    /// "executable", "shared-object", "relocatable" or "other"
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub interpreter: Option<String>,
    pub soname: Option<String>,
    pub libc: LibcFamily,
    pub needed: Vec<String>,
    pub unresolved: Vec<String>,
    /// NEEDED name -> the path it resolves to (null when missing, "injected" for GPU drivers).
    pub resolved: BTreeMap<String, Option<String>>,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    pub glibc_floor: Option<String>,
    pub glibc_symbols: Vec<String>,
    pub glibcxx_floor: Option<String>,
    pub cxxabi_floor: Option<String>,
    pub stripped: bool,
    pub debug_bytes: u64,
    pub distribution: Option<String>,
}

#[derive(Serialize)]
pub struct JsonPython {
    pub interpreters: Vec<JsonInterpreter>,
    pub site_packages: Vec<String>,
    pub distributions: Vec<JsonDistribution>,
}

#[derive(Serialize)]
pub struct JsonInterpreter {
    pub path: String,
    pub version: String,
    pub libc: LibcFamily,
}

#[derive(Serialize)]
pub struct JsonDistribution {
    pub name: String,
    pub version: String,
    pub size_bytes: u64,
    pub files: u64,
    pub layer: usize,
    pub location: String,
    pub installer: Option<String>,
    pub wheel_tags: Vec<String>,
    pub extensions: Vec<JsonExtension>,
    pub vendored: Vec<String>,
}

#[derive(Serialize)]
pub struct JsonExtension {
    pub path: String,
    pub tag: Option<String>,
    pub libc: Option<LibcFamily>,
}

#[derive(Serialize)]
pub struct JsonImage {
    pub reference: String,
    /// `os/arch[/variant]`
    pub platform: String,
    /// The image manifest's digest, where the source has a manifest (not a `docker save` tarball).
    pub manifest_digest: Option<String>,
    pub config_digest: Option<String>,
    /// The digest of the multi-platform index the manifest was chosen from.
    pub index_digest: Option<String>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub size_bytes: u64,
    /// Non-directory entries in the final filesystem and their bytes.
    pub files: u64,
    pub files_bytes: u64,
    pub layers: Vec<JsonLayer>,
}

#[derive(Serialize)]
pub struct JsonLayer {
    pub index: usize,
    pub diff_id: String,
    pub digest: String,
    pub compression: crate::layer::Compression,
    pub created_by: String,
    pub size_bytes: u64,
    pub blob_size_bytes: u64,
    /// Bytes of the regular files in the layer (what dive and `docker history` show).
    pub files_bytes: u64,
    pub files: usize,
    /// What this layer's entries added to each category (including bytes a later layer deletes).
    pub categories: BTreeMap<&'static str, Totals>,
}

#[derive(Serialize)]
pub struct JsonWaste {
    pub deleted_bytes: u64,
    pub overwritten_bytes: u64,
    pub wasted_bytes: u64,
    pub duplicate_reclaimable_bytes: Option<u64>,
    pub dive_efficiency: f64,
    pub dive_wasted_bytes: u64,
    pub largest: Vec<JsonWasted>,
    pub duplicates: Vec<JsonDuplicate>,
}

#[derive(Serialize)]
pub struct JsonWasted {
    pub path: String,
    pub layer: usize,
    pub bytes: u64,
    /// "deleted" or "overwritten"
    pub fate: &'static str,
    pub by_layer: usize,
}

#[derive(Serialize)]
pub struct JsonDuplicate {
    pub size_bytes: u64,
    pub reclaimable_bytes: u64,
    pub paths: Vec<String>,
}

#[derive(Serialize)]
pub struct JsonFinding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub layer: Option<usize>,
    /// The digest of that layer's blob, the same in every image that shares the layer.
    pub layer_digest: Option<String>,
    pub created_by: Option<String>,
    pub paths: Vec<String>,
    pub path_count: usize,
    pub bytes: u64,
    pub fix: String,
}

#[derive(Serialize)]
pub struct JsonDiagnostic {
    pub layer: Option<usize>,
    pub path: Option<String>,
    pub message: String,
}

fn category_map(
    from: Option<&BTreeMap<Category, Totals>>,
    all: bool,
) -> BTreeMap<&'static str, Totals> {
    Category::ALL
        .iter()
        .filter_map(|c| {
            let t = from.and_then(|m| m.get(c)).copied().unwrap_or_default();
            (all || t.files > 0).then_some((c.id(), t))
        })
        .collect()
}

impl JsonReport {
    pub fn new(report: &Report) -> JsonReport {
        let image = &report.image;
        let facts = &report.facts;
        let visible = report.facts.visible;
        let tree = &image.tree;
        JsonReport {
            schema_version: SCHEMA_VERSION,
            pydive_version: env!("CARGO_PKG_VERSION"),
            image: JsonImage {
                reference: image.reference.clone(),
                platform: match image.variant.as_deref() {
                    Some(v) if !v.is_empty() => {
                        format!("{}/{}/{v}", image.os, image.architecture)
                    }
                    _ => format!("{}/{}", image.os, image.architecture),
                },
                manifest_digest: image.digests.manifest.clone(),
                config_digest: image.digests.config.clone(),
                index_digest: image.digests.index.clone(),
                os: image.os.clone(),
                architecture: image.architecture.clone(),
                variant: image.variant.clone(),
                size_bytes: image.size_bytes(),
                files: visible.files,
                files_bytes: visible.bytes,
                layers: image
                    .layers
                    .iter()
                    .map(|l| JsonLayer {
                        index: l.index,
                        diff_id: l.diff_id.clone(),
                        digest: l.digest.clone(),
                        compression: l.compression,
                        created_by: l.created_by.clone(),
                        size_bytes: l.size_bytes,
                        blob_size_bytes: l.blob_size,
                        files_bytes: l.files_bytes(),
                        files: l.files(),
                        categories: category_map(
                            facts.categories.added_by_layer.get(l.index),
                            false,
                        ),
                    })
                    .collect(),
            },
            categories: category_map(Some(&facts.categories.visible), true),
            build_only: facts.categories.build_only,
            waste: JsonWaste {
                deleted_bytes: facts.waste.deleted_bytes,
                overwritten_bytes: facts.waste.overwritten_bytes,
                wasted_bytes: facts.waste.wasted_bytes(),
                duplicate_reclaimable_bytes: facts
                    .duplicates
                    .computed
                    .then(|| facts.duplicates.reclaimable_bytes()),
                dive_efficiency: facts.dive.efficiency,
                dive_wasted_bytes: facts.dive.wasted_bytes,
                largest: facts
                    .waste
                    .files
                    .iter()
                    .take(TOP)
                    .map(|w| {
                        let (fate, by_layer) = match w.fate {
                            Fate::Deleted { by } => ("deleted", by),
                            Fate::Overwritten { by, .. } => ("overwritten", by),
                        };
                        JsonWasted {
                            path: absolute(&tree.path(w.node)),
                            layer: w.layer,
                            bytes: w.bytes,
                            fate,
                            by_layer,
                        }
                    })
                    .collect(),
                duplicates: facts
                    .duplicates
                    .groups
                    .iter()
                    .take(TOP)
                    .map(|g| JsonDuplicate {
                        size_bytes: g.size,
                        reclaimable_bytes: g.reclaimable(),
                        paths: g
                            .copies
                            .iter()
                            .map(|&(n, _)| absolute(&tree.path(n)))
                            .collect(),
                    })
                    .collect(),
            },
            libc: {
                let l = &facts.linkage.libc;
                JsonLibc {
                    family: match l.family {
                        Some(LibcFamily::Glibc) => "glibc",
                        Some(LibcFamily::Musl) => "musl",
                        _ => "none",
                    },
                    version: l.version.as_ref().map(ToString::to_string),
                    path: l.path.as_deref().map(absolute),
                    glibcxx: l.glibcxx.as_ref().map(ToString::to_string),
                    os: l.os.clone(),
                }
            },
            elf: facts
                .linkage
                .elves
                .iter()
                .map(|e| JsonElf {
                    path: absolute(&e.path),
                    layer: e.layer,
                    class: e.info.class,
                    machine: machine_name(e.info.machine),
                    kind: match e.info.kind {
                        goblin::elf::header::ET_EXEC => "executable",
                        goblin::elf::header::ET_DYN => "shared-object",
                        goblin::elf::header::ET_REL => "relocatable",
                        _ => "other",
                    },
                    interpreter: e.info.interpreter.clone(),
                    soname: e.info.soname.clone(),
                    libc: e.libc,
                    needed: e.info.needed.clone(),
                    unresolved: e.unresolved().map(str::to_string).collect(),
                    resolved: e
                        .needed
                        .iter()
                        .map(|(name, r)| {
                            let to = match r {
                                Resolution::Found(p) => {
                                    Some(absolute(p.strip_prefix(b"/").unwrap_or(p)))
                                }
                                Resolution::Injected => Some("injected".to_string()),
                                Resolution::Missing => None,
                            };
                            (name.clone(), to)
                        })
                        .collect(),
                    rpath: e.info.rpath.clone(),
                    runpath: e.info.runpath.clone(),
                    glibc_floor: e.glibc.as_ref().map(|f| f.version.to_string()),
                    glibc_symbols: e
                        .glibc
                        .as_ref()
                        .map(|f| f.symbols.clone())
                        .unwrap_or_default(),
                    glibcxx_floor: e.glibcxx.as_ref().map(|f| f.version.to_string()),
                    cxxabi_floor: e.cxxabi.as_ref().map(|f| f.version.to_string()),
                    stripped: e.info.stripped,
                    debug_bytes: e.info.debug_bytes,
                    distribution: facts
                        .python
                        .owner_of(e.node)
                        .map(|d| format!("{} {}", d.name, d.version)),
                })
                .collect(),
            python: JsonPython {
                interpreters: facts
                    .python
                    .interpreters
                    .iter()
                    .map(|i| JsonInterpreter {
                        path: absolute(&i.path),
                        version: i.version.to_string(),
                        libc: i.libc,
                    })
                    .collect(),
                site_packages: facts.python.site_dirs.iter().map(|d| absolute(d)).collect(),
                distributions: facts
                    .python
                    .distributions
                    .iter()
                    .map(|d| JsonDistribution {
                        name: d.name.clone(),
                        version: d.version.clone(),
                        size_bytes: d.size_bytes,
                        files: d.files,
                        layer: d.layer,
                        location: absolute(&d.location),
                        installer: d.installer.clone(),
                        wheel_tags: d.wheel_tags.clone(),
                        extensions: d
                            .extensions
                            .iter()
                            .map(|&n| JsonExtension {
                                path: absolute(&tree.path(n)),
                                tag: extension_tag(&tree.node(n).name),
                                libc: facts.linkage.by_node(n).map(|e| e.libc),
                            })
                            .collect(),
                        vendored: d
                            .vendored
                            .iter()
                            .map(|&n| absolute(&tree.path(n)))
                            .collect(),
                    })
                    .collect(),
            },
            findings: report
                .findings
                .iter()
                .map(|f| JsonFinding {
                    rule: f.rule,
                    severity: f.severity,
                    message: f.message.clone(),
                    layer: f.layer,
                    layer_digest: f
                        .layer
                        .and_then(|l| image.layers.get(l))
                        .map(|l| l.digest.clone()),
                    created_by: f.created_by.clone(),
                    paths: f.paths.clone(),
                    path_count: f.path_count,
                    bytes: f.bytes,
                    fix: f.fix.clone(),
                })
                .collect(),
            diagnostics: image
                .diagnostics
                .iter()
                .map(|d| JsonDiagnostic {
                    layer: d.layer,
                    path: d.path.as_deref().map(|p| format!("/{}", Lossless(p))),
                    message: d.message.clone(),
                })
                .collect(),
        }
    }
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &JsonReport::new(report))?;
    writeln!(out)
}
