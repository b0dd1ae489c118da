//! Linkage: will the compiled code load? The image's own C library (family and version), and
//! for every ELF file in the final filesystem its libc family, the newest glibc, libstdc++ and
//! C++ ABI versions it needs, and how the loader would resolve each library it needs inside
//! the image (RPATH, RUNPATH with `$ORIGIN`, `LD_LIBRARY_PATH` from the image config,
//! `ld.so.conf`, musl's path file, the default directories).

use std::collections::{BTreeMap, HashMap};

use goblin::elf::header;

use super::categories::triplet;
use super::resolve::{glob_match, join, resolve};
use crate::layer::elf::ElfInfo;
use crate::layer::path::{normalize, split_last};
use crate::model::{Image, NodeId};

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
}

impl Linkage {
    pub fn by_node(&self, node: NodeId) -> Option<&ElfFacts> {
        self.index.get(&node).map(|&i| &self.elves[i])
    }
}

/// The `e_machine` an image architecture runs.
pub fn machine_for(architecture: &str) -> Option<u16> {
    Some(match architecture {
        "amd64" => header::EM_X86_64,
        "arm64" => header::EM_AARCH64,
        "386" => header::EM_386,
        "arm" => header::EM_ARM,
        "ppc64le" => header::EM_PPC64,
        "s390x" => header::EM_S390,
        "riscv64" => header::EM_RISCV,
        "mips64le" => header::EM_MIPS,
        "loong64" => 258,
        _ => return None,
    })
}

/// A readable name for an `e_machine`.
pub fn machine_name(machine: u16) -> String {
    match machine {
        header::EM_X86_64 => "x86-64".into(),
        header::EM_AARCH64 => "aarch64".into(),
        header::EM_386 => "i386".into(),
        header::EM_ARM => "arm".into(),
        header::EM_PPC64 => "ppc64".into(),
        header::EM_S390 => "s390x".into(),
        header::EM_RISCV => "riscv".into(),
        other => format!("machine {other}"),
    }
}

/// musl's name for an architecture, in `ld-musl-<arch>.so.1`.
fn musl_arch(architecture: &str) -> &str {
    match architecture {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i386",
        "arm" => "armhf",
        other => other,
    }
}

/// The files whose contents the linkage analysis reads (their path is relative to `/`). Their
/// size is the `file-content` limit's to judge: over it, a diagnostic says the file was not read.
pub fn wants_content(path: &[u8], _size: u64) -> bool {
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

/// GPU driver libraries that the NVIDIA container runtime mounts into containers.
fn injected_at_run_time(name: &str) -> bool {
    name.starts_with("libcuda.so")
        || name.starts_with("libnvidia-")
        || name.starts_with("libnvcuvid.so")
        || name.starts_with("libGLX_nvidia")
        || name.starts_with("libEGL_nvidia")
        || name.starts_with("libGLESv2_nvidia")
        || name.starts_with("libnvoptix.so")
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

fn text(image: &Image, path: &[u8]) -> Option<String> {
    let node = resolve(image, path)?;
    let content = image.file_entry(node)?.content.as_deref()?;
    Some(String::from_utf8_lossy(content).into_owned())
}

fn elf_at(image: &Image, node: NodeId) -> Option<&ElfInfo> {
    image.file_entry(node)?.elf.as_deref()
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
    let trip = triplet(&image.architecture, image.variant.as_deref()).unwrap_or("x86_64-linux-gnu");
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
        let loader = format!("lib/ld-musl-{}.so.1", musl_arch(&image.architecture));
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

/// The directories the loader searches after RPATH, LD_LIBRARY_PATH and RUNPATH.
fn system_dirs(image: &Image, libc: &ImageLibc) -> Vec<String> {
    let trip = triplet(&image.architecture, image.variant.as_deref()).unwrap_or("x86_64-linux-gnu");
    if libc.family == Some(LibcFamily::Musl) {
        let file = format!("etc/ld-musl-{}.path", musl_arch(&image.architecture));
        if let Some(t) = text(image, file.as_bytes()) {
            return t
                .split(|c: char| c == ':' || c.is_whitespace())
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect();
        }
        return vec!["/lib".into(), "/usr/local/lib".into(), "/usr/lib".into()];
    }
    let mut dirs = Vec::new();
    ld_so_conf(image, b"etc/ld.so.conf", &mut dirs, 0);
    for d in [
        format!("/lib/{trip}"),
        format!("/usr/lib/{trip}"),
        "/lib64".into(),
        "/usr/lib64".into(),
        "/lib".into(),
        "/usr/lib".into(),
        "/usr/local/lib".into(),
    ] {
        dirs.push(d);
    }
    dirs
}

/// The directories an `ld.so.conf` lists, following its `include` globs.
fn ld_so_conf(image: &Image, path: &[u8], dirs: &mut Vec<String>, depth: usize) {
    if depth > 4 {
        return;
    }
    let Some(conf) = text(image, path) else {
        return;
    };
    for line in conf.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pattern) = line.strip_prefix("include") {
            let pattern = pattern.trim();
            let pattern = if pattern.starts_with('/') {
                pattern.to_string()
            } else {
                format!("/etc/{pattern}")
            };
            let (dir, name) = split_last(pattern.as_bytes());
            let Some(dir_node) = resolve(image, dir) else {
                continue;
            };
            let matches: Vec<Vec<u8>> = image
                .tree
                .node(dir_node)
                .children
                .iter()
                .filter(|(n, id)| glob_match(name, n) && image.tree.node(**id).exists())
                .map(|(n, _)| [dir, b"/", n].concat())
                .collect();
            for m in matches {
                ld_so_conf(image, &m, dirs, depth + 1);
            }
        } else if !line.is_empty() {
            dirs.extend(
                line.split([':', ',', ' ', '\t'])
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
            );
        }
    }
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

/// musl's loader is also its libc, libm, libpthread and the rest: it answers those names
/// itself (`lib` + c, pthread, rt, m, dl, util or xnet + `.`).
fn musl_builtin(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("lib") else {
        return false;
    };
    ["c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet."]
        .iter()
        .any(|r| rest.starts_with(r))
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
    // musl's loader, wherever the image has one (a glibc image may have musl installed too).
    let musl_loader_path =
        format!("lib/ld-musl-{}.so.1", musl_arch(&image.architecture)).into_bytes();
    let musl_loader = resolve(image, &musl_loader_path)
        .is_some()
        .then_some(musl_loader_path);
    let system = system_dirs(image, &libc);
    let env_dirs: Vec<String> = image
        .env_var("LD_LIBRARY_PATH")
        .map(|v| {
            v.split(':')
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let platform = match image.architecture.as_str() {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i686",
        other => other,
    };
    let trip = triplet(&image.architecture, image.variant.as_deref());

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
        let layer = image.tree.node(id).last_layer();
        let (dir, _) = split_last(&path);
        let origin = format!("/{}", String::from_utf8_lossy(dir));
        let expand = |p: &str| -> Vec<String> {
            let p = p.replace("$ORIGIN", &origin).replace("${ORIGIN}", &origin);
            let p = p
                .replace("$PLATFORM", platform)
                .replace("${PLATFORM}", platform);
            if p.contains("$LIB") || p.contains("${LIB}") {
                let libs = [
                    trip.map(|t| format!("lib/{t}")),
                    Some("lib64".into()),
                    Some("lib".into()),
                ];
                libs.into_iter()
                    .flatten()
                    .map(|l| p.replace("${LIB}", &l).replace("$LIB", &l))
                    .collect()
            } else {
                vec![p]
            }
        };
        let mut search: Vec<String> = Vec::new();
        if info.runpath.is_empty() {
            search.extend(info.rpath.iter().flat_map(|p| expand(p)));
        }
        search.extend(env_dirs.iter().cloned());
        search.extend(info.runpath.iter().flat_map(|p| expand(p)));
        search.extend(system.iter().cloned());

        let family = family_of(info, musl_loader.is_some());
        let needed = info
            .needed
            .iter()
            .map(|name| {
                let resolution = if family == LibcFamily::Musl && musl_builtin(name) {
                    musl_loader.clone().map(Resolution::Found)
                } else if name.contains('/') {
                    let p = if name.starts_with('/') {
                        name.clone()
                    } else {
                        format!("{origin}/{name}")
                    };
                    resolve(image, p.as_bytes()).map(|_| Resolution::Found(p.into_bytes()))
                } else {
                    search.iter().find_map(|dir| {
                        let candidate = join(dir, name);
                        let node = resolve(image, &candidate)?;
                        // The loader skips a library built for another class or machine.
                        match elf_at(image, node) {
                            Some(lib) if lib.class != info.class || lib.machine != info.machine => {
                                None
                            }
                            _ => Some(Resolution::Found(
                                normalize(&candidate).map_or(candidate, Vec::from),
                            )),
                        }
                    })
                };
                // Libraries vendored side by side (auditwheel's `<name>.libs/`, torch's `lib/`)
                // often name each other without a search path: whoever loads them has loaded
                // the sibling already, and the loader matches a NEEDED name against the
                // libraries it has loaded before it searches. A library with no interpreter
                // is only ever loaded that way, so a sibling of that name counts as found.
                let sibling = || {
                    if info.interpreter.is_some() || name.contains('/') {
                        return None;
                    }
                    let candidate = join(&origin, name);
                    resolve(image, &candidate)?;
                    Some(Resolution::Found(
                        normalize(&candidate).map_or(candidate, Vec::from),
                    ))
                };
                let resolution =
                    resolution
                        .or_else(sibling)
                        .unwrap_or(if injected_at_run_time(name) {
                            Resolution::Injected
                        } else {
                            Resolution::Missing
                        });
                (name.clone(), resolution)
            })
            .collect();
        let interpreter_found = info
            .interpreter
            .as_deref()
            .map(|i| resolve(image, i.as_bytes()).is_some());
        elves.push(ElfFacts {
            node: id,
            layer,
            libc: family,
            glibc: floor(info, "GLIBC_"),
            glibcxx: floor(info, "GLIBCXX_"),
            cxxabi: floor(info, "CXXABI_"),
            needed,
            interpreter_found,
            info: info.clone(),
            path,
        });
    }
    elves.sort_by(|a, b| a.path.cmp(&b.path));
    let index = elves.iter().enumerate().map(|(i, e)| (e.node, i)).collect();
    Linkage { libc, elves, index }
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
