//! Linkage: will the compiled code load? The image's own C library (family and version), and
//! for every ELF file in the final filesystem its libc family, the newest glibc, libstdc++ and
//! C++ ABI versions it needs, and how the image's loader (`loader.rs`) would resolve each
//! library it needs.

use std::collections::{BTreeMap, HashMap};

use super::loader::{Loader, elf_at, text};
use super::resolve::{join, resolve};
use crate::layer::elf::ElfInfo;
use crate::layer::path::split_last;
use crate::model::{ARCHES, Image, NodeId};

/// Which C library an ELF file is built against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LibcFamily {
    Glibc,
    Musl,
    /// Needs both: it cannot load anywhere.
    Mixed,
    /// Statically linked: no loader involved.
    Static,
    /// Dynamic, but needs no C library directly.
    None,
}

/// A dotted version such as `2.36` or `3.4.30`, compared number by number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub Vec<u32>);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let parts: Option<Vec<u32>> = s.split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty()).map(Version)
    }

    /// The version in a symbol version name with this prefix: `GLIBC_2.34` -> 2.34.
    pub fn from_symbol_version(name: &str, prefix: &str) -> Option<Version> {
        Version::parse(name.strip_prefix(prefix)?)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// The image's own C library.
#[derive(Clone, Debug, Default)]
pub struct ImageLibc {
    /// `Glibc`, `Musl` or `None`.
    pub family: Option<LibcFamily>,
    pub version: Option<Version>,
    /// The file that says so (libc.so.6, or the musl loader).
    pub path: Option<Vec<u8>>,
    /// The newest `GLIBCXX_` the image's libstdc++ defines, if it has one.
    pub glibcxx: Option<Version>,
    pub cxxabi: Option<Version>,
    /// `PRETTY_NAME` from os-release, for corroboration.
    pub os: Option<String>,
}

/// The newest version of one kind an ELF file needs, and some symbols that need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Floor {
    pub version: Version,
    pub symbols: Vec<String>,
}

/// How the loader would find one needed library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Found(Vec<u8>),
    /// Provided by the GPU driver at run time (the NVIDIA container runtime mounts it).
    Injected,
    Missing,
}

/// Everything about one ELF file in the final filesystem.
#[derive(Clone, Debug)]
pub struct ElfFacts {
    pub node: NodeId,
    pub path: Vec<u8>,
    pub layer: usize,
    pub info: ElfInfo,
    pub libc: LibcFamily,
    pub glibc: Option<Floor>,
    pub glibcxx: Option<Floor>,
    pub cxxabi: Option<Floor>,
    /// Each NEEDED library and how it resolves, in order.
    pub needed: Vec<(String, Resolution)>,
    /// The interpreter, when the file names one, and whether the image has it.
    pub interpreter_found: Option<bool>,
}

impl ElfFacts {
    pub fn unresolved(&self) -> impl Iterator<Item = &str> {
        self.needed
            .iter()
            .filter(|(_, r)| *r == Resolution::Missing)
            .map(|(n, _)| n.as_str())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Linkage {
    pub libc: ImageLibc,
    /// Every ELF file, in path order.
    pub elves: Vec<ElfFacts>,
    index: HashMap<NodeId, usize>,
    /// What the loader emulation could not do in full (a bound of `ld.so.conf` reached).
    pub notes: Vec<String>,
}

impl Linkage {
    pub fn by_node(&self, node: NodeId) -> Option<&ElfFacts> {
        self.index.get(&node).map(|&i| &self.elves[i])
    }
}

/// The files whose contents the linkage analysis reads (their path is relative to `/`).
pub fn wants_content(path: &[u8], size: u64) -> bool {
    if size > 8 << 20 {
        return false;
    }
    let (dir, name) = split_last(path);
    matches!(
        path,
        b"etc/os-release" | b"usr/lib/os-release" | b"etc/alpine-release" | b"etc/ld.so.conf"
    ) || dir == b"etc/ld.so.conf.d"
        || (dir == b"etc" && name.starts_with(b"ld-musl-") && name.ends_with(b".path"))
        || name.starts_with(b"ld-musl-")
        || name.starts_with(b"libc.musl-")
        || (name == b"libc.so" && path.windows(4).any(|w| w == b"musl"))
}

/// Paths whose ELF files are not meant to run in this image: cross-compiler sysroots, debug
/// symbol files, firmware, kernel modules.
pub fn is_foreign_place(path: &[u8], own_triplet: Option<&str>) -> bool {
    let p = path;
    if p.starts_with(b"usr/lib/gcc-cross/")
        || p.starts_with(b"usr/lib/debug/")
        || p.starts_with(b"lib/firmware/")
        || p.starts_with(b"usr/lib/firmware/")
        || p.starts_with(b"lib/modules/")
        || p.starts_with(b"usr/lib/modules/")
    {
        return true;
    }
    // `usr/<triplet>/...` of another architecture is a cross toolchain's sysroot.
    let mut parts = p.split(|&b| b == b'/');
    if let (Some(b"usr"), Some(second), Some(_)) = (parts.next(), parts.next(), parts.next()) {
        let second = String::from_utf8_lossy(second);
        let is_triplet = second.contains("-linux-");
        if is_triplet && Some(second.as_ref()) != own_triplet {
            return true;
        }
    }
    false
}

/// The highest version with a prefix among names (`GLIBC_PRIVATE` does not parse, so it is
/// ignored).
fn highest<'a>(names: impl Iterator<Item = &'a String>, prefix: &str) -> Option<Version> {
    names
        .filter_map(|n| Version::from_symbol_version(n, prefix))
        .max()
}

fn image_libc(image: &Image) -> ImageLibc {
    let mut libc = ImageLibc::default();
    let os_release = text(image, b"etc/os-release").or_else(|| text(image, b"usr/lib/os-release"));
    libc.os = os_release.as_deref().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
    });
    let arch = image.arch().unwrap_or(&ARCHES[0]);
    let trip = arch.triplet;
    let glibc_dirs = [
        format!("lib/{trip}"),
        format!("usr/lib/{trip}"),
        "lib64".into(),
        "usr/lib64".into(),
        "lib".into(),
        "usr/lib".into(),
    ];
    for dir in &glibc_dirs {
        let path = join(dir, "libc.so.6");
        if let Some(info) = resolve(image, &path).and_then(|n| elf_at(image, n)) {
            libc.family = Some(LibcFamily::Glibc);
            libc.version = highest(info.defines.iter(), "GLIBC_");
            libc.path = Some(path);
            break;
        }
    }
    for dir in &glibc_dirs {
        let path = join(dir, "libstdc++.so.6");
        if let Some(info) = resolve(image, &path).and_then(|n| elf_at(image, n)) {
            libc.glibcxx = highest(info.defines.iter(), "GLIBCXX_");
            libc.cxxabi = highest(info.defines.iter(), "CXXABI_");
            break;
        }
    }
    if libc.family.is_none() {
        let loader = arch.musl_loader();
        if let Some(node) = resolve(image, loader.as_bytes()) {
            libc.family = Some(LibcFamily::Musl);
            libc.path = Some(loader.into_bytes());
            libc.version = image
                .file_entry(node)
                .and_then(|e| e.content.as_deref())
                .and_then(musl_version);
        }
    }
    libc
}

/// musl keeps its version as a plain string in the loader (what `ldd --version` prints):
/// the first NUL-delimited `N.N.N`.
fn musl_version(bytes: &[u8]) -> Option<Version> {
    bytes
        .split(|&b| b == 0)
        .filter(|s| (5..=10).contains(&s.len()))
        .filter(|s| s.iter().all(|b| b.is_ascii_digit() || *b == b'.'))
        .filter(|s| s.iter().filter(|&&b| b == b'.').count() == 2)
        .find_map(|s| Version::parse(std::str::from_utf8(s).ok()?))
}

fn family_of(info: &ElfInfo, image_has_musl_loader: bool) -> LibcFamily {
    let is_glibc_name = |n: &str| n == "libc.so.6" || n.starts_with("ld-linux");
    let is_musl_name = |n: &str| n.starts_with("ld-musl") || n.starts_with("libc.musl-");
    let interp = info
        .interpreter
        .as_deref()
        .map(|i| split_last(i.as_bytes()).1)
        .map(|n| String::from_utf8_lossy(n).into_owned());
    let glibc = info.needed.iter().any(|n| is_glibc_name(n))
        || interp.as_deref().is_some_and(|i| i.starts_with("ld-linux"));
    let musl = info.needed.iter().any(|n| is_musl_name(n))
        || interp.as_deref().is_some_and(is_musl_name)
        || (image_has_musl_loader && info.needed.iter().any(|n| n == "libc.so"));
    match (glibc, musl) {
        (true, true) => LibcFamily::Mixed,
        (true, false) => LibcFamily::Glibc,
        (false, true) => LibcFamily::Musl,
        _ if !info.has_dynamic && info.interpreter.is_none() => LibcFamily::Static,
        _ => LibcFamily::None,
    }
}

/// The newest version with a prefix that an ELF file needs, with the symbols that need it.
fn floor(info: &ElfInfo, prefix: &str) -> Option<Floor> {
    let mut best: Option<Floor> = None;
    for need in &info.needs {
        for (name, symbols) in &need.versions {
            let Some(version) = Version::from_symbol_version(name, prefix) else {
                continue;
            };
            match &mut best {
                Some(b) if b.version > version => {}
                Some(b) if b.version == version => {
                    b.symbols.extend(symbols.iter().cloned());
                }
                _ => {
                    best = Some(Floor {
                        version,
                        symbols: symbols.clone(),
                    })
                }
            }
        }
    }
    best
}

pub fn compute(image: &Image) -> Linkage {
    let libc = image_libc(image);
    let loader = Loader::new(image, &libc);
    let mut elves = Vec::new();
    for id in image.tree.ids() {
        // Each stored file once, under the name that holds it (a hard link, when uv's cache
        // that held the bytes is gone).
        let Some(entry) = image.held_entry(id) else {
            continue;
        };
        let Some(info) = entry.elf.as_deref() else {
            continue;
        };
        let path = image.tree.path(id);
        let interpreter_found = info
            .interpreter
            .as_deref()
            .map(|i| resolve(image, i.as_bytes()).is_some());
        elves.push(ElfFacts {
            node: id,
            layer: image.tree.node(id).last_layer(),
            libc: family_of(info, loader.musl_loader().is_some()),
            glibc: floor(info, "GLIBC_"),
            glibcxx: floor(info, "GLIBCXX_"),
            cxxabi: floor(info, "CXXABI_"),
            needed: loader.resolve_needed(info, &path),
            interpreter_found,
            info: info.clone(),
            path,
        });
    }
    elves.sort_by(|a, b| a.path.cmp(&b.path));
    let index = elves.iter().enumerate().map(|(i, e)| (e.node, i)).collect();
    Linkage {
        libc,
        elves,
        index,
        notes: loader.notes,
    }
}

/// Counts of ELF files by libc family, for summaries.
pub fn families(linkage: &Linkage) -> BTreeMap<LibcFamily, usize> {
    let mut out = BTreeMap::new();
    for e in &linkage.elves {
        *out.entry(e.libc).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(Version::parse("2.38").unwrap() > Version::parse("2.4").unwrap());
        assert!(Version::parse("3.4.30").unwrap() > Version::parse("3.4.9").unwrap());
        assert_eq!(
            Version::from_symbol_version("GLIBC_2.34", "GLIBC_"),
            Version::parse("2.34")
        );
        assert_eq!(
            Version::from_symbol_version("GLIBC_PRIVATE", "GLIBC_"),
            None
        );
        assert_eq!(Version::parse("2.36").unwrap().to_string(), "2.36");
    }

    #[test]
    fn musl_version_from_loader_bytes() {
        let bytes = b"\x7fELF\0junk\0musl libc (x86_64)\0Version %s\n\x001.2.4\0more";
        assert_eq!(musl_version(bytes), Version::parse("1.2.4"));
        assert_eq!(musl_version(b"no version here\0"), None);
    }

    #[test]
    fn foreign_places() {
        assert!(is_foreign_place(
            b"usr/aarch64-linux-gnu/lib/libc.so.6",
            Some("x86_64-linux-gnu")
        ));
        assert!(!is_foreign_place(
            b"usr/x86_64-linux-gnu/lib/ldscripts/x",
            Some("x86_64-linux-gnu")
        ));
        assert!(is_foreign_place(
            b"usr/lib/debug/.build-id/ab/cd.debug",
            None
        ));
        assert!(!is_foreign_place(
            b"usr/lib/x86_64-linux-gnu/libc.so.6",
            Some("x86_64-linux-gnu")
        ));
    }
}
