//! The image's C library and every ELF file's linkage in the JSON report.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::analysis::linkage::{ElfFacts, ImageLibc, LibcFamily, Resolution, VersionFrom};
use crate::layer::path::absolute;
use crate::model::machine_name;
use crate::report::Report;

/// Which C library an ELF file (or the image) is built against.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonLibcFamily {
    Glibc,
    Musl,
    /// Needs both: it cannot load anywhere.
    Mixed,
    /// Statically linked: no loader involved.
    Static,
    /// Needs no C library (or, for the image, none was found).
    None,
}

impl std::fmt::Display for JsonLibcFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JsonLibcFamily::Glibc => "glibc",
            JsonLibcFamily::Musl => "musl",
            JsonLibcFamily::Mixed => "mixed",
            JsonLibcFamily::Static => "static",
            JsonLibcFamily::None => "none",
        })
    }
}

impl From<LibcFamily> for JsonLibcFamily {
    fn from(f: LibcFamily) -> JsonLibcFamily {
        match f {
            LibcFamily::Glibc => JsonLibcFamily::Glibc,
            LibcFamily::Musl => JsonLibcFamily::Musl,
            LibcFamily::Mixed => JsonLibcFamily::Mixed,
            LibcFamily::Static => JsonLibcFamily::Static,
            LibcFamily::None => JsonLibcFamily::None,
        }
    }
}

/// The image's own C library.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonLibc {
    /// "glibc", "musl" or "none".
    pub family: JsonLibcFamily,
    /// The C library's release: glibc's from the banner in libc.so.6, a `libc-X.Y.so` name or
    /// the package database, else the newest `GLIBC_x.y` it defines; musl's from its loader.
    pub version: Option<String>,
    /// Where `version` was read: "version-string", "file-name", "package-database" or
    /// "symbols".
    #[serde(default)]
    pub version_from: Option<String>,
    /// The newest `GLIBC_x.y` that libc.so.6 defines (glibc 2.31 defines GLIBC_2.30 at most):
    /// what files' symbol version needs are judged against.
    #[serde(default)]
    pub glibc_symbols: Option<String>,
    pub path: Option<String>,
    /// The newest `GLIBCXX_` of libstdc++.so.6, if present.
    pub glibcxx: Option<String>,
    /// PRETTY_NAME from os-release.
    pub os: Option<String>,
}

impl From<&ImageLibc> for JsonLibc {
    fn from(l: &ImageLibc) -> JsonLibc {
        JsonLibc {
            family: match l.family {
                Some(LibcFamily::Glibc) => JsonLibcFamily::Glibc,
                Some(LibcFamily::Musl) => JsonLibcFamily::Musl,
                _ => JsonLibcFamily::None,
            },
            version: l.version.as_ref().map(ToString::to_string),
            version_from: l.version_from.map(|f| {
                match f {
                    VersionFrom::VersionString => "version-string",
                    VersionFrom::FileName => "file-name",
                    VersionFrom::PackageDatabase => "package-database",
                    VersionFrom::Symbols => "symbols",
                }
                .to_string()
            }),
            glibc_symbols: l.glibc_symbols.as_ref().map(ToString::to_string),
            path: l.path.as_deref().map(absolute),
            glibcxx: l.glibcxx.as_ref().map(ToString::to_string),
            os: l.os.clone(),
        }
    }
}

/// An ELF file's type (`e_type`).
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum JsonElfType {
    Executable,
    SharedObject,
    Relocatable,
    Other,
}

impl From<u16> for JsonElfType {
    fn from(kind: u16) -> JsonElfType {
        match kind {
            goblin::elf::header::ET_EXEC => JsonElfType::Executable,
            goblin::elf::header::ET_DYN => JsonElfType::SharedObject,
            goblin::elf::header::ET_REL => JsonElfType::Relocatable,
            _ => JsonElfType::Other,
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct JsonElf {
    pub path: String,
    /// The layer that provides the file.
    pub layer: usize,
    /// 32 or 64.
    pub class: u8,
    pub machine: String,
    #[serde(rename = "type")]
    pub kind: JsonElfType,
    /// PT_INTERP.
    pub interpreter: Option<String>,
    pub soname: Option<String>,
    pub libc: JsonLibcFamily,
    pub needed: Vec<String>,
    /// NEEDED names no search path finds (musl's own names, `libc.so.6` and the rest, are
    /// musl itself under musl's loader).
    pub unresolved: Vec<String>,
    /// Some symbols (at most 8) it needs that nothing the loader would load defines: musl's
    /// `symbol not found`, glibc's `undefined symbol`.
    #[serde(default)]
    pub missing_symbols: Vec<String>,
    /// Uses packed relative relocations (DT_RELR): glibc 2.36 and musl 1.2.4 or newer only.
    #[serde(default)]
    pub uses_relr: bool,
    /// NEEDED name -> the path it resolves to (null when missing, "injected" for GPU drivers).
    pub resolved: BTreeMap<String, Option<String>>,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    /// The newest `GLIBC_x.y` needed (GLIBC_PRIVATE ignored).
    pub glibc_floor: Option<String>,
    /// Some symbols that need it.
    pub glibc_symbols: Vec<String>,
    pub glibcxx_floor: Option<String>,
    pub cxxabi_floor: Option<String>,
    /// No `.symtab`.
    pub stripped: bool,
    /// Bytes of `.debug_*`, `.symtab` and `.strtab`.
    pub debug_bytes: u64,
    /// "name version" of the distribution whose RECORD lists it.
    pub distribution: Option<String>,
    /// "name version" of the OS package whose file list names it.
    #[serde(default)]
    pub os_package: Option<String>,
}

impl From<(&Report, &ElfFacts)> for JsonElf {
    fn from((report, e): (&Report, &ElfFacts)) -> JsonElf {
        JsonElf {
            path: absolute(&e.path),
            layer: e.layer,
            class: e.info.class,
            machine: machine_name(e.info.machine),
            kind: e.info.kind.into(),
            interpreter: e.info.interpreter.clone(),
            soname: e.info.soname.clone(),
            libc: e.libc.into(),
            needed: e.info.needed.clone(),
            unresolved: e.unresolved().map(str::to_string).collect(),
            missing_symbols: e.missing_symbols.iter().map(|m| m.name.clone()).collect(),
            uses_relr: e.info.uses_relr,
            resolved: e
                .needed
                .iter()
                .map(|(name, r)| {
                    let to = match r {
                        Resolution::Found(p) => Some(absolute(p.strip_prefix(b"/").unwrap_or(p))),
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
            distribution: report
                .facts
                .python
                .owner_of(e.node)
                .map(|d| format!("{} {}", d.name, d.version)),
            os_package: report
                .facts
                .os_packages
                .owner_of(e.node)
                .map(|p| format!("{} {}", p.name, p.version)),
        }
    }
}
