//! The JSON report: its own types, apart from the domain types, so that renaming a domain type
//! never changes the contract silently. Each type is built from its domain value by one `From`
//! (those that need more of the report take `(&Report, &T)`), and derives `JsonSchema`: the
//! published schema (`docs/schema/report.schema.json`) is generated from these types, and
//! their doc comments are its descriptions.
//!
//! Schema policy (`docs/report-schema.md`): within one `schema_version` fields are only
//! added, never renamed, removed or given a new meaning; a breaking change bumps
//! `SCHEMA_VERSION` and gets a CHANGELOG entry. A field added within a version carries
//! `#[serde(default)]`, so that reports written by older pydive releases still load as
//! baselines (`load`).

mod base;
mod findings;
mod image;
mod linkage;
mod packages;
mod python;
mod waste;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Report;
pub use base::{JsonBase, JsonBasePython, JsonFlavour, JsonSlim};
pub use findings::{JsonDiagnostic, JsonFinding, JsonFix, JsonProjection, JsonSeverity};
pub use image::{JsonCompression, JsonFile, JsonImage, JsonLayer, JsonTotals};
pub use linkage::{JsonElf, JsonElfType, JsonLibc, JsonLibcFamily};
pub use packages::{JsonOsPackage, JsonOsPackages, JsonPackageManager};
pub use python::{JsonDistribution, JsonExtension, JsonInterpreter, JsonPython};
pub use waste::{JsonDuplicate, JsonFate, JsonWaste, JsonWasted};

/// Bumped on any breaking change to the report (a field renamed, removed or given a new
/// meaning); adding a field is not breaking.
pub const SCHEMA_VERSION: u32 = 1;

/// A pydive report of one image.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonReport {
    /// Bumped on a breaking change only; fields are added within a version.
    pub schema_version: u32,
    /// The pydive that wrote the report.
    pub pydive_version: String,
    pub image: JsonImage,
    /// Every byte category, by id, visible in the final filesystem.
    pub categories: BTreeMap<String, JsonTotals>,
    /// Compilers, headers and static libraries, each file counted once.
    pub build_only: JsonTotals,
    pub waste: JsonWaste,
    /// The image's own C library.
    pub libc: JsonLibc,
    /// Every ELF file in the final filesystem, by path.
    pub elf: Vec<JsonElf>,
    pub python: JsonPython,
    /// The OS packages of the image's package database.
    #[serde(default)]
    pub os_packages: JsonOsPackages,
    /// The base image: its layers and flavour.
    #[serde(default)]
    pub base: JsonBase,
    /// Most severe first, then largest.
    pub findings: Vec<JsonFinding>,
    /// Entries that could not be read; the analysis went on without them.
    pub diagnostics: Vec<JsonDiagnostic>,
    /// ELF files of the final filesystem whose facts could not be read (`diagnostics` says
    /// why): while this is not 0 the linkage audit is incomplete.
    #[serde(default)]
    pub unreadable_elf: usize,
    /// The image's size with every finding's fix applied.
    #[serde(default)]
    pub projection: JsonProjection,
    /// Every file of the final filesystem, by path: written with `report --files` and in
    /// `ci --report`, so that `diff` can tell file changes from two stored reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<JsonFile>>,
}

impl From<&Report> for JsonReport {
    fn from(report: &Report) -> JsonReport {
        let facts = &report.facts;
        JsonReport {
            schema_version: SCHEMA_VERSION,
            pydive_version: env!("CARGO_PKG_VERSION").to_string(),
            image: JsonImage::from(report),
            categories: image::category_map(Some(&facts.categories.visible), true),
            build_only: JsonTotals::from(&facts.categories.build_only),
            waste: JsonWaste::from(report),
            libc: JsonLibc::from(&facts.linkage.libc),
            elf: facts
                .linkage
                .elves
                .iter()
                .map(|e| JsonElf::from((report, e)))
                .collect(),
            python: JsonPython::from(report),
            os_packages: JsonOsPackages::from(&report.facts.os_packages),
            base: JsonBase::from((report, &facts.base)),
            findings: report
                .findings
                .iter()
                .map(|f| JsonFinding::from((report, f)))
                .collect(),
            diagnostics: report
                .image
                .diagnostics
                .iter()
                .map(JsonDiagnostic::from)
                .chain(facts.linkage.notes.iter().map(|note| JsonDiagnostic {
                    layer: None,
                    path: None,
                    message: note.clone(),
                }))
                .collect(),
            unreadable_elf: super::unreadable_elf(&report.image),
            projection: JsonProjection::from(&report.projection),
            files: None,
        }
    }
}

impl JsonReport {
    pub fn new(report: &Report) -> JsonReport {
        JsonReport::from(report)
    }

    /// The report with its file table.
    pub fn with_files(report: &Report) -> JsonReport {
        JsonReport {
            files: Some(JsonFile::table(report)),
            ..JsonReport::from(report)
        }
    }
}

/// The JSON report; with `files`, its file table too.
pub fn write(report: &Report, files: bool, out: &mut dyn Write) -> io::Result<()> {
    if files {
        write_value(&JsonReport::with_files(report), out)
    } else {
        write_value(&JsonReport::from(report), out)
    }
}

/// Any of pydive's JSON documents, pretty-printed, with a final newline.
pub fn write_value(value: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// Reads a JSON report written earlier (by this pydive or an older one), saying in one line
/// what is wrong when the file is not one.
pub fn load(path: &Path) -> Result<JsonReport> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    from_slice(&bytes).with_context(|| format!("{}", path.display()))
}

pub fn from_slice(bytes: &[u8]) -> Result<JsonReport> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).context("not a pydive JSON report: not JSON")?;
    let Some(version) = value.get("schema_version") else {
        bail!("not a pydive JSON report: it has no schema_version");
    };
    let Some(version) = version.as_u64() else {
        bail!("not a pydive JSON report: schema_version is not a number");
    };
    if version > u64::from(SCHEMA_VERSION) {
        bail!(
            "written with report schema {version}, newer than this pydive's ({SCHEMA_VERSION}): upgrade pydive to read it"
        );
    }
    if value.get("image").is_none() {
        bail!("not a pydive JSON report: it has no image");
    }
    // Parsed from the bytes again rather than from `value`, so that errors carry a line.
    serde_json::from_slice(bytes).context("not a pydive JSON report of this schema")
}
