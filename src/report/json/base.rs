//! The base image in the JSON report: which layers are the base's, its flavour, its Python,
//! and what the slim variant would leave out of a full base.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::analysis::base::{Base, Boundary, Flavour};
use crate::layer::path::absolute;
use crate::report::Report;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum JsonFlavour {
    /// glibc with compilers and headers in the base layers (`python:3.12`).
    Full,
    /// glibc without a compiler (`python:3.12-slim`).
    Slim,
    /// musl (`python:3.12-alpine`).
    Alpine,
    /// No shell and no package manager.
    Distroless,
    /// The distribution's own Python package.
    DistributionPython,
    #[default]
    Unknown,
}

impl From<Flavour> for JsonFlavour {
    fn from(f: Flavour) -> JsonFlavour {
        match f {
            Flavour::Full => JsonFlavour::Full,
            Flavour::Slim => JsonFlavour::Slim,
            Flavour::Alpine => JsonFlavour::Alpine,
            Flavour::Distroless => JsonFlavour::Distroless,
            Flavour::DistributionPython => JsonFlavour::DistributionPython,
            Flavour::Unknown => JsonFlavour::Unknown,
        }
    }
}

/// The base image the image was built `FROM`.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq, Default)]
pub struct JsonBase {
    pub flavour: JsonFlavour,
    /// How many layers, from the bottom, are the base image's; null when the history does
    /// not tell.
    pub layers: Option<usize>,
    /// The step that ends the base (a `CMD` or `ENTRYPOINT` that more layers follow), or null
    /// when only the root filesystem layer is known to be base.
    pub last_step: Option<String>,
    /// os-release's PRETTY_NAME and ID.
    pub os: Option<String>,
    pub os_id: Option<String>,
    pub python: Option<JsonBasePython>,
    /// Bytes the base layers hold in the final filesystem, and of those the compilers'.
    pub bytes: u64,
    pub compilers_bytes: u64,
    /// What the slim variant would leave out of a full base (with a package database).
    pub slim: Option<JsonSlim>,
}

/// Where the image's Python comes from.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonBasePython {
    pub path: String,
    pub version: String,
    /// Built from source into /usr/local, as the official python images are.
    pub built_from_source: bool,
    /// The OS package it comes from, for a distribution's Python.
    pub package: Option<String>,
    /// Whether a base layer put it there.
    pub in_base: bool,
}

/// What a slim base would not have of a full one.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonSlim {
    /// The base's OS packages a slim base would not have, largest first.
    pub packages: Vec<String>,
    /// Their bytes, and of those the build toolchain's and the `-dev` packages'.
    pub bytes: u64,
    pub toolchain_bytes: u64,
    pub dev_bytes: u64,
    /// Packages the image's own compiled code loads that slim lacks: to install on slim.
    pub install: Vec<String>,
}

impl From<(&Report, &Base)> for JsonBase {
    fn from((report, b): (&Report, &Base)) -> JsonBase {
        JsonBase {
            flavour: b.flavour.into(),
            layers: b.layers,
            last_step: match &b.boundary {
                Some(Boundary::Step(s)) => Some(s.clone()),
                _ => None,
            },
            os: b.os.clone(),
            os_id: b.os_id.clone(),
            python: b.python.as_ref().map(|p| JsonBasePython {
                path: absolute(&p.path),
                version: p.version.clone(),
                built_from_source: p.built_from_source,
                package: p.package.clone(),
                in_base: p.in_base,
            }),
            bytes: b.bytes,
            compilers_bytes: b.compilers_bytes,
            slim: b.slim.as_ref().map(|s| JsonSlim {
                packages: s
                    .removable
                    .iter()
                    .map(|&i| report.facts.os_packages.packages[i].name.clone())
                    .collect(),
                bytes: s.bytes,
                toolchain_bytes: s.toolchain_bytes,
                dev_bytes: s.dev_bytes,
                install: s.to_install.clone(),
            }),
        }
    }
}
