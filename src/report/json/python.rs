//! Python interpreters, site-packages and distributions in the JSON report.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::JsonLibcFamily;
use crate::analysis::python::{Distribution, Interpreter, extension_tag};
use crate::layer::path::absolute;
use crate::model::NodeId;
use crate::report::Report;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonPython {
    pub interpreters: Vec<JsonInterpreter>,
    pub site_packages: Vec<String>,
    /// Largest first.
    pub distributions: Vec<JsonDistribution>,
}

impl From<&Report> for JsonPython {
    fn from(report: &Report) -> JsonPython {
        let python = &report.facts.python;
        JsonPython {
            interpreters: python
                .interpreters
                .iter()
                .map(JsonInterpreter::from)
                .collect(),
            site_packages: python.site_dirs.iter().map(|d| absolute(d)).collect(),
            distributions: python
                .distributions
                .iter()
                .map(|d| JsonDistribution::from((report, d)))
                .collect(),
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonInterpreter {
    pub path: String,
    /// "3.12"
    pub version: String,
    pub libc: JsonLibcFamily,
}

impl From<&Interpreter> for JsonInterpreter {
    fn from(i: &Interpreter) -> JsonInterpreter {
        JsonInterpreter {
            path: absolute(&i.path),
            version: i.version.to_string(),
            libc: i.libc.into(),
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonDistribution {
    pub name: String,
    pub version: String,
    /// From RECORD (or installed-files.txt), counting the files that exist.
    pub size_bytes: u64,
    pub files: u64,
    /// The layer that installed its metadata.
    pub layer: usize,
    /// The site-packages directory it is installed in.
    pub location: String,
    pub installer: Option<String>,
    /// `Tag:` lines of its WHEEL file.
    pub wheel_tags: Vec<String>,
    pub extensions: Vec<JsonExtension>,
    /// Libraries it vendors (`<name>.libs/`).
    pub vendored: Vec<String>,
    /// The distribution whose files include this one's metadata: a copy vendored inside that
    /// package (setuptools' `_vendor/`), not installed itself; its files are counted in both.
    #[serde(default)]
    pub vendored_by: Option<String>,
}

impl From<(&Report, &Distribution)> for JsonDistribution {
    fn from((report, d): (&Report, &Distribution)) -> JsonDistribution {
        let path = |&n: &NodeId| absolute(&report.image.tree.path(n));
        JsonDistribution {
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
                .map(|&n| JsonExtension::from((report, n)))
                .collect(),
            vendored: d.vendored.iter().map(path).collect(),
            vendored_by: d.vendored_by.clone(),
        }
    }
}

/// An extension module of a distribution.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonExtension {
    pub path: String,
    /// The ABI tag of its name: "cpython-312-x86_64-linux-gnu".
    pub tag: Option<String>,
    pub libc: Option<JsonLibcFamily>,
}

impl From<(&Report, NodeId)> for JsonExtension {
    fn from((report, n): (&Report, NodeId)) -> JsonExtension {
        let tree = &report.image.tree;
        JsonExtension {
            path: absolute(&tree.path(n)),
            tag: extension_tag(&tree.node(n).name),
            libc: report.facts.linkage.by_node(n).map(|e| e.libc.into()),
        }
    }
}
