//! Waste, duplicates and dive's numbers in the JSON report.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::analysis::duplicates::DuplicateGroup;
use crate::analysis::waste::{Fate, Wasted};
use crate::layer::path::absolute;
use crate::report::Report;

/// How many of the largest wasted files and duplicate groups the report lists.
const TOP: usize = 50;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonWaste {
    /// Bytes a layer added that are gone from the final filesystem.
    pub deleted_bytes: u64,
    /// Bytes a layer added at a path that a later layer provides again.
    pub overwritten_bytes: u64,
    /// `deleted_bytes` + `overwritten_bytes`.
    pub wasted_bytes: u64,
    /// Every copy but one of identical files; null when contents were not read (`--no-verify`).
    pub duplicate_reclaimable_bytes: Option<u64>,
    /// dive 0.13.1's efficiency score, computed as dive does.
    pub dive_efficiency: f64,
    /// dive 0.13.1's wasted bytes.
    pub dive_wasted_bytes: u64,
    /// dive 0.13.1's user size: bytes of the tar entries of every layer but the first
    /// (its `highestUserWastedPercent` is `dive_wasted_bytes` over this).
    #[serde(default)]
    pub dive_user_size_bytes: u64,
    /// The 50 largest wasted files.
    pub largest: Vec<JsonWasted>,
    /// The 50 most reclaimable groups of identical files; the first path is the copy kept.
    pub duplicates: Vec<JsonDuplicate>,
}

impl From<&Report> for JsonWaste {
    fn from(report: &Report) -> JsonWaste {
        let facts = &report.facts;
        JsonWaste {
            deleted_bytes: facts.waste.deleted_bytes,
            overwritten_bytes: facts.waste.overwritten_bytes,
            wasted_bytes: facts.waste.wasted_bytes(),
            duplicate_reclaimable_bytes: facts
                .duplicates
                .computed
                .then(|| facts.duplicates.reclaimable_bytes()),
            dive_efficiency: facts.dive.efficiency,
            dive_wasted_bytes: facts.dive.wasted_bytes,
            dive_user_size_bytes: facts.dive.user_size_bytes,
            largest: facts
                .waste
                .files
                .iter()
                .take(TOP)
                .map(|w| JsonWasted::from((report, w)))
                .collect(),
            duplicates: facts
                .duplicates
                .groups
                .iter()
                .take(TOP)
                .map(|g| JsonDuplicate::from((report, g)))
                .collect(),
        }
    }
}

/// What became of wasted bytes.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonFate {
    Deleted,
    Overwritten,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonWasted {
    pub path: String,
    /// The layer that added the bytes.
    pub layer: usize,
    pub bytes: u64,
    pub fate: JsonFate,
    /// The layer that deleted or overwrote them.
    pub by_layer: usize,
}

impl From<(&Report, &Wasted)> for JsonWasted {
    fn from((report, w): (&Report, &Wasted)) -> JsonWasted {
        let (fate, by_layer) = match w.fate {
            Fate::Deleted { by } => (JsonFate::Deleted, by),
            Fate::Overwritten { by, .. } => (JsonFate::Overwritten, by),
        };
        JsonWasted {
            path: absolute(&report.image.tree.path(w.node)),
            layer: w.layer,
            bytes: w.bytes,
            fate,
            by_layer,
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonDuplicate {
    pub size_bytes: u64,
    pub reclaimable_bytes: u64,
    pub paths: Vec<String>,
}

impl From<(&Report, &DuplicateGroup)> for JsonDuplicate {
    fn from((report, g): (&Report, &DuplicateGroup)) -> JsonDuplicate {
        JsonDuplicate {
            size_bytes: g.size,
            reclaimable_bytes: g.reclaimable(),
            paths: g
                .copies
                .iter()
                .map(|&(n, _)| absolute(&report.image.tree.path(n)))
                .collect(),
        }
    }
}
