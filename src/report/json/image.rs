//! The image and its layers in the JSON report.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::analysis::{Category, Totals};
use crate::layer::path::absolute;
use crate::layer::{Compression, EntryKind};
use crate::model::Layer;
use crate::report::Report;

/// Bytes and files.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonTotals {
    pub bytes: u64,
    pub files: u64,
}

impl From<&Totals> for JsonTotals {
    fn from(t: &Totals) -> JsonTotals {
        JsonTotals {
            bytes: t.bytes,
            files: t.files,
        }
    }
}

/// How a layer blob is stored, from its magic bytes.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonCompression {
    None,
    Gzip,
    Zstd,
}

impl From<Compression> for JsonCompression {
    fn from(c: Compression) -> JsonCompression {
        match c {
            Compression::None => JsonCompression::None,
            Compression::Gzip => JsonCompression::Gzip,
            Compression::Zstd => JsonCompression::Zstd,
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonImage {
    /// The image argument, in transport:path form.
    pub reference: String,
    /// `os/arch[/variant]`.
    #[serde(default)]
    pub platform: String,
    /// The image manifest's digest, where the source has a manifest (not a `docker save` tarball).
    #[serde(default)]
    pub manifest_digest: Option<String>,
    /// The image config's digest.
    #[serde(default)]
    pub config_digest: Option<String>,
    /// The digest of the multi-platform index the manifest was chosen from.
    #[serde(default)]
    pub index_digest: Option<String>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    /// Sum of the layers' uncompressed tar sizes.
    pub size_bytes: u64,
    /// Non-directory entries in the final filesystem.
    pub files: u64,
    /// Their bytes.
    pub files_bytes: u64,
    pub layers: Vec<JsonLayer>,
}

impl From<&Report> for JsonImage {
    fn from(report: &Report) -> JsonImage {
        let image = &report.image;
        JsonImage {
            reference: image.reference.clone(),
            platform: match image.variant.as_deref() {
                Some(v) if !v.is_empty() => format!("{}/{}/{v}", image.os, image.architecture),
                _ => format!("{}/{}", image.os, image.architecture),
            },
            manifest_digest: image.digests.manifest.clone(),
            config_digest: image.digests.config.clone(),
            index_digest: image.digests.index.clone(),
            os: image.os.clone(),
            architecture: image.architecture.clone(),
            variant: image.variant.clone(),
            size_bytes: image.size_bytes(),
            files: report.facts.visible.files,
            files_bytes: report.facts.visible.bytes,
            layers: image
                .layers
                .iter()
                .map(|l| JsonLayer::from((report, l)))
                .collect(),
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonLayer {
    pub index: usize,
    /// sha256 of the uncompressed tar (from the image config).
    pub diff_id: String,
    /// sha256 of the blob as stored.
    pub digest: String,
    pub compression: JsonCompression,
    /// `history.created_by` of the step that made the layer (empty history entries skipped).
    pub created_by: String,
    /// Uncompressed tar size.
    pub size_bytes: u64,
    /// Stored size.
    pub blob_size_bytes: u64,
    /// Bytes of the regular files in the layer (what dive and `docker history` show).
    pub files_bytes: u64,
    /// Entries that are neither directories nor whiteouts.
    pub files: usize,
    /// What this layer's entries added to each category, by id (including bytes a later layer
    /// deletes); categories it added nothing to are left out.
    pub categories: BTreeMap<String, JsonTotals>,
}

impl From<(&Report, &Layer)> for JsonLayer {
    fn from((report, l): (&Report, &Layer)) -> JsonLayer {
        JsonLayer {
            index: l.index,
            diff_id: l.diff_id.clone(),
            digest: l.digest.clone(),
            compression: l.compression.into(),
            created_by: l.created_by.clone(),
            size_bytes: l.size_bytes,
            blob_size_bytes: l.blob_size,
            files_bytes: l.files_bytes(),
            files: l.files(),
            categories: category_map(report.facts.categories.added_by_layer.get(l.index), false),
        }
    }
}

/// A file of the final filesystem, in the file table (`report --files`).
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonFile {
    pub path: String,
    pub bytes: u64,
    /// The layer that provides it.
    pub layer: usize,
}

impl JsonFile {
    /// Every non-directory file of the final filesystem, by path.
    pub fn table(report: &Report) -> Vec<JsonFile> {
        let image = &report.image;
        let mut files: Vec<JsonFile> = image
            .tree
            .ids()
            .filter_map(|id| {
                let entry = image.final_entry(id)?;
                (entry.kind != EntryKind::Dir).then(|| JsonFile {
                    path: absolute(&image.tree.path(id)),
                    bytes: entry.size,
                    layer: image.tree.node(id).last_layer(),
                })
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    }
}

/// Categories by id; with `all`, those with no files too.
pub(super) fn category_map(
    from: Option<&BTreeMap<Category, Totals>>,
    all: bool,
) -> BTreeMap<String, JsonTotals> {
    Category::ALL
        .iter()
        .filter_map(|c| {
            let t = from.and_then(|m| m.get(c)).copied().unwrap_or_default();
            (all || t.files > 0).then(|| (c.id().to_string(), JsonTotals::from(&t)))
        })
        .collect()
}
