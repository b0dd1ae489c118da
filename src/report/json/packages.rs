//! The OS packages of the image's package database (dpkg or apk), in the JSON report.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::analysis::packages::{Manager, OsPackage, OsPackages};

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonPackageManager {
    /// `/var/lib/dpkg/status` with `info/*.list`, or distroless `status.d/`.
    Dpkg,
    /// `/lib/apk/db/installed`.
    Apk,
}

impl From<Manager> for JsonPackageManager {
    fn from(m: Manager) -> JsonPackageManager {
        match m {
            Manager::Dpkg => JsonPackageManager::Dpkg,
            Manager::Apk => JsonPackageManager::Apk,
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq, Default)]
pub struct JsonOsPackages {
    /// The package manager whose database was read; null when the image has none.
    pub manager: Option<JsonPackageManager>,
    /// Largest first.
    pub packages: Vec<JsonOsPackage>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonOsPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// Bytes of its files in the final filesystem, each stored file once.
    pub bytes: u64,
    /// Its files, symlinks and links in the final filesystem (directories not counted).
    pub files: u64,
    /// The layer that installed its current version.
    pub layer: usize,
    /// The database's own estimate, in bytes (dpkg's Installed-Size KiB x 1024, apk's `I:`).
    pub installed_size_bytes: Option<u64>,
    /// Part of the build toolchain: its files count as `compilers`.
    pub toolchain: bool,
    /// Essential or of required priority: every installation of the distribution has it.
    pub required: bool,
    /// dpkg's Source, apk's origin, when given.
    pub source: Option<String>,
}

impl From<&OsPackage> for JsonOsPackage {
    fn from(p: &OsPackage) -> JsonOsPackage {
        JsonOsPackage {
            name: p.name.clone(),
            version: p.version.clone(),
            architecture: p.architecture.clone(),
            bytes: p.bytes,
            files: p.files,
            layer: p.layer,
            installed_size_bytes: p.installed_size,
            toolchain: p.toolchain,
            required: p.required,
            source: p.source.clone(),
        }
    }
}

impl From<&OsPackages> for JsonOsPackages {
    fn from(p: &OsPackages) -> JsonOsPackages {
        JsonOsPackages {
            manager: p.manager.map(JsonPackageManager::from),
            packages: p.packages.iter().map(JsonOsPackage::from).collect(),
        }
    }
}
