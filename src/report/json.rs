//! The JSON report, schema version 1. These types are the contract: change them only with a
//! new schema version or an additive field, and a CHANGELOG entry. Documented in
//! `docs/report-schema.md`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::Report;
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
    pub waste: JsonWaste,
    pub findings: Vec<JsonFinding>,
    pub diagnostics: Vec<JsonDiagnostic>,
}

#[derive(Serialize)]
pub struct JsonImage {
    pub reference: String,
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
        let visible = report.visible_files();
        let tree = &image.tree;
        JsonReport {
            schema_version: SCHEMA_VERSION,
            pydive_version: env!("CARGO_PKG_VERSION"),
            image: JsonImage {
                reference: image.reference.clone(),
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
                        files: l.files(),
                        categories: category_map(
                            facts.categories.added_by_layer.get(l.index),
                            false,
                        ),
                    })
                    .collect(),
            },
            categories: category_map(Some(&facts.categories.visible), true),
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
                            Fate::Overwritten { by } => ("overwritten", by),
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
            findings: report
                .findings
                .iter()
                .map(|f| JsonFinding {
                    rule: f.rule,
                    severity: f.severity,
                    message: f.message.clone(),
                    layer: f.layer,
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
