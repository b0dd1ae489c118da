//! Findings and diagnostics in the JSON report.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::findings::projection::{Fix, Projection};
use crate::findings::{Finding, Severity};
use crate::layer::path::Lossless;
use crate::model::ImageDiagnostic;
use crate::report::Report;

#[derive(
    Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "lowercase")]
pub enum JsonSeverity {
    Info,
    Warning,
    Error,
}

impl From<Severity> for JsonSeverity {
    fn from(s: Severity) -> JsonSeverity {
        match s {
            Severity::Info => JsonSeverity::Info,
            Severity::Warning => JsonSeverity::Warning,
            Severity::Error => JsonSeverity::Error,
        }
    }
}

impl std::fmt::Display for JsonSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Severity::from(*self).fmt(f)
    }
}

impl From<JsonSeverity> for Severity {
    fn from(s: JsonSeverity) -> Severity {
        match s {
            JsonSeverity::Info => Severity::Info,
            JsonSeverity::Warning => Severity::Warning,
            JsonSeverity::Error => Severity::Error,
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonFinding {
    /// The rule's id (`pydive explain RULE`).
    pub rule: String,
    pub severity: JsonSeverity,
    pub message: String,
    /// The layer responsible, if any.
    pub layer: Option<usize>,
    /// The digest of that layer's blob, the same in every image that shares the layer.
    #[serde(default)]
    pub layer_digest: Option<String>,
    /// That layer's `history.created_by`.
    pub created_by: Option<String>,
    /// Largest first, at most 50.
    pub paths: Vec<String>,
    /// How many paths in all.
    pub path_count: usize,
    pub bytes: u64,
    pub fix: String,
    /// `["security"]` for the security rules; empty otherwise.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl From<(&Report, &Finding)> for JsonFinding {
    fn from((report, f): (&Report, &Finding)) -> JsonFinding {
        JsonFinding {
            rule: f.rule.to_string(),
            severity: f.severity.into(),
            message: f.message.clone(),
            layer: f.layer,
            layer_digest: f
                .layer
                .and_then(|l| report.image.layers.get(l))
                .map(|l| l.digest.clone()),
            created_by: f.created_by.clone(),
            paths: f.paths.clone(),
            path_count: f.path_count,
            bytes: f.bytes,
            fix: f.fix.clone(),
            tags: if f.is_security() {
                vec!["security".to_string()]
            } else {
                Vec::new()
            },
        }
    }
}

/// An entry that could not be read; the analysis went on.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonDiagnostic {
    pub layer: Option<usize>,
    pub path: Option<String>,
    pub message: String,
}

impl From<&ImageDiagnostic> for JsonDiagnostic {
    fn from(d: &ImageDiagnostic) -> JsonDiagnostic {
        JsonDiagnostic {
            layer: d.layer,
            path: d.path.as_deref().map(|p| format!("/{}", Lossless(p))),
            message: d.message.clone(),
        }
    }
}

/// The image's size with every bloat finding's fix applied, each stored byte counted once.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Default, PartialEq)]
pub struct JsonProjection {
    /// The image's `size_bytes` less `saved`.
    pub bytes: u64,
    pub saved: u64,
    /// Each fix that saves bytes, in the order of the findings; a byte two findings' fixes
    /// remove counts for the first.
    pub fixes: Vec<JsonFix>,
}

impl From<&Projection> for JsonProjection {
    fn from(p: &Projection) -> JsonProjection {
        JsonProjection {
            bytes: p.bytes,
            saved: p.saved,
            fixes: p.fixes.iter().map(JsonFix::from).collect(),
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonFix {
    /// The finding's rule.
    pub rule: String,
    /// The finding's layer.
    pub layer: Option<usize>,
    pub saved: u64,
}

impl From<&Fix> for JsonFix {
    fn from(f: &Fix) -> JsonFix {
        JsonFix {
            rule: f.rule.to_string(),
            layer: f.layer,
            saved: f.saved,
        }
    }
}
