//! Linkage: will the compiled code load? The image's own C library (family and version), and
//! for every ELF file in the final filesystem its libc family, the newest glibc, libstdc++ and
//! C++ ABI versions it needs, and how the image's loader (`loader.rs`) would resolve each
//! library it needs.

use std::collections::{BTreeMap, HashMap};

pub use super::loader::Flavour;
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

/// Where the image's C library version was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionFrom {
    /// glibc's banner in libc.so.6, or musl's version string in its loader.
    VersionString,
    /// A `libc-2.28.so` file name.
    FileName,
    /// The package database (dpkg's `libc6`).
    PackageDatabase,
    /// The newest `GLIBC_x.y` libc.so.6 defines: a lower bound (glibc does not add a symbol
    /// version every release).
    Symbols,
}

/// The image's own C library.
#[derive(Clone, Debug, Default)]
pub struct ImageLibc {
    /// `Glibc`, `Musl` or `None`.
    pub family: Option<LibcFamily>,
    /// The release (glibc 2.31, musl 1.2.3): what wheel tags are judged against.
    pub version: Option<Version>,
    pub version_from: Option<VersionFrom>,
    /// The newest `GLIBC_x.y` libc.so.6 defines (2.30 for glibc 2.31): what a file's symbol
    /// version needs are judged against.
    pub glibc_symbols: Option<Version>,
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
    /// Whose loader loads it (its PT_INTERP's, or the image's for a library).
    pub flavour: Flavour,
    /// The libraries its NEEDED names resolve to, in order (those found).
    pub libraries: Vec<NodeId>,
    /// Symbols it needs that nothing the loader would load defines (a few; see
    /// [`MAX_MISSING_SYMBOLS`]).
    pub missing_symbols: Vec<MissingSymbol>,
    /// The first object using packed relative relocations (DT_RELR) among the file and what it
    /// loads: the file itself, or a library.
    pub relr: Option<NodeId>,
}

/// A symbol a file needs that no loaded object defines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingSymbol {
    pub name: String,
    /// The version it asks for (`GLIBC_2.38`); musl ignores versions.
    pub version: Option<String>,
}

/// Missing symbols kept per file.
pub const MAX_MISSING_SYMBOLS: usize = 8;
/// Objects followed in one file's NEEDED closure, at most (real closures have tens).
const MAX_CLOSURE: usize = 1024;

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
    /// The C library each loader always loads, where the image has it.
    c_libraries: CLibraries,
}

#[derive(Clone, Copy, Debug, Default)]
struct CLibraries {
    /// The musl loader, which is musl's libc too.
    musl: Option<NodeId>,
    /// glibc's libc.so.6.
    glibc: Option<NodeId>,
}

impl CLibraries {
    fn of(self, flavour: Flavour) -> Option<NodeId> {
        match flavour {
            Flavour::Musl => self.musl,
            Flavour::Glibc => self.glibc,
        }
    }
}

impl Linkage {
    pub fn by_node(&self, node: NodeId) -> Option<&ElfFacts> {
        self.index.get(&node).map(|&i| &self.elves[i])
    }

    /// The objects loaded with `elves[i]`, in load order, itself first.
    fn scope(&self, i: usize) -> Vec<NodeId> {
        let c = self.c_libraries.of(self.elves[i].flavour);
        closure(&self.elves, &self.index, i, c)
    }

    /// Judges Python extension modules again, with the process that loads them: [`compute`]
    /// leaves a library's unversioned symbols alone, as they may come from that process, and
    /// looks for the others only in the library's own closure. CPython imports a module with
    /// `RTLD_NOW`: each symbol must be defined by the interpreter or what it loaded (the global
    /// scope: `Py*`, and the libraries an underlinked module relies on), or by the module and
    /// its libraries. `importers(module)` names the interpreters whose tag fits the module; a
    /// symbol is missing only when it is missing under each of them. Judged only against
    /// interpreters that export the C API (`Py_Initialize`), in images that preload nothing
    /// (`LD_PRELOAD`), and never when an object in a scope could not be read.
    pub fn judge_extension_modules(
        &mut self,
        image: &Image,
        importers: impl Fn(&ElfFacts) -> Vec<NodeId>,
    ) {
        if image.env.iter().any(|v| v.starts_with("LD_PRELOAD=")) {
            return;
        }
        // Each interpreter's scope, once: `None` when it cannot be judged against (an object
        // not read, or no C API).
        let mut interpreters: HashMap<usize, Option<Vec<&ElfInfo>>> = HashMap::new();
        'modules: for i in 0..self.elves.len() {
            let e = &self.elves[i];
            if !is_extension_module(e) {
                continue;
            }
            let mut global_scopes = Vec::new();
            for node in importers(e) {
                let Some(&j) = self.index.get(&node) else {
                    continue;
                };
                if self.elves[j].flavour != e.flavour {
                    continue;
                }
                let scope = interpreters.entry(j).or_insert_with(|| {
                    objects_at(image, &self.scope(j))
                        .filter(|o| defines(self.elves[j].flavour, o, "Py_Initialize", None))
                });
                let Some(objects) = scope.clone() else {
                    continue 'modules;
                };
                global_scopes.push(objects);
            }
            let Some(own) = objects_at(image, &self.scope(i)[1..]) else {
                continue;
            };
            if global_scopes.is_empty() {
                continue;
            }
            let missing = e
                .info
                .imports
                .iter()
                .filter(|&(name, version)| {
                    !defines(e.flavour, &own, name, version)
                        && !global_scopes
                            .iter()
                            .any(|g| defines(e.flavour, g, name, version))
                })
                .take(MAX_MISSING_SYMBOLS)
                .map(|(name, version)| MissingSymbol {
                    name: name.to_string(),
                    version: version.map(str::to_string),
                })
                .collect();
            self.elves[i].missing_symbols = missing;
        }
    }
}

/// Whether a file is a CPython extension module: named `<name>.so`, `<name>.abi3.so` or
/// `<name>.cpython-...so` (not PyPy's or GraalPy's), and defining `PyInit_<name>`.
fn is_extension_module(e: &ElfFacts) -> bool {
    let (_, name) = split_last(&e.path);
    let mut parts = name.split(|&b| b == b'.');
    let module = parts.next().unwrap_or_default();
    let for_cpython = match super::python::extension_tag(name) {
        Some(tag) => tag == "abi3" || tag.starts_with("cpython-"),
        None => parts.count() == 1 && name.ends_with(b".so"),
    };
    for_cpython
        && std::str::from_utf8(module)
            .is_ok_and(|m| !m.is_empty() && e.info.exports.contains(&format!("PyInit_{m}")))
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
        // glibc's banner, for its version.
        || name == b"libc.so.6"
        || (name.starts_with(b"libc-") && name.ends_with(b".so"))
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
        let Some(node) = resolve(image, &path) else {
            continue;
        };
        if let Some(info) = elf_at(image, node) {
            libc.family = Some(LibcFamily::Glibc);
            libc.glibc_symbols = highest(info.defines.iter(), "GLIBC_");
            let content = image.file_entry(node).and_then(|e| e.content.as_deref());
            let named = || libc_file_name_version(&image.tree.path(node));
            (libc.version, libc.version_from) = match (content.and_then(glibc_version), named()) {
                (Some(v), _) => (Some(v), Some(VersionFrom::VersionString)),
                (None, Some(v)) => (Some(v), Some(VersionFrom::FileName)),
                (None, None) => (libc.glibc_symbols.clone(), Some(VersionFrom::Symbols)),
            };
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
            libc.version_from = libc.version.as_ref().map(|_| VersionFrom::VersionString);
        }
    }
    libc
}

/// glibc's version, from the banner libc.so.6 carries (what running it prints): `GNU C
/// Library (Debian GLIBC 2.31-13+deb11u5) stable release version 2.31.`
fn glibc_version(bytes: &[u8]) -> Option<Version> {
    const BANNER: &[u8] = b"GNU C Library";
    const MARK: &[u8] = b"release version ";
    let start = bytes.windows(BANNER.len()).position(|w| w == BANNER)?;
    // The banner is one line of at most a few hundred bytes.
    let banner = &bytes[start..bytes.len().min(start + 512)];
    let banner = &banner[..banner
        .iter()
        .position(|&b| b == 0 || b == b'\n')
        .unwrap_or(banner.len())];
    let at = banner.windows(MARK.len()).position(|w| w == MARK)? + MARK.len();
    let digits: Vec<u8> = banner[at..]
        .iter()
        .copied()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .collect();
    Version::parse(std::str::from_utf8(&digits).ok()?.trim_end_matches('.'))
}

/// Older glibc installs libc.so.6 as a link to `libc-2.28.so`: the version is in the name the
/// link resolves to.
fn libc_file_name_version(path: &[u8]) -> Option<Version> {
    let name = std::str::from_utf8(split_last(path).1).ok()?;
    Version::parse(name.strip_prefix("libc-")?.strip_suffix(".so")?)
}

/// The upstream version of a Debian package version: `2.31-13+deb11u5` -> 2.31.
pub fn upstream_version(package_version: &str) -> Option<Version> {
    let v = package_version
        .split_once(':')
        .map_or(package_version, |(_, v)| v);
    let v = v.rsplit_once('-').map_or(v, |(upstream, _)| upstream);
    let digits: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    Version::parse(digits.trim_end_matches('.'))
}

impl ImageLibc {
    /// Takes glibc's version from the package database (dpkg's `libc6`) when the files did not
    /// say it: libc.so.6 without a readable banner or a versioned file name.
    pub fn refine_from_packages(&mut self, packages: &super::packages::OsPackages) {
        if self.family != Some(LibcFamily::Glibc)
            || matches!(
                self.version_from,
                Some(VersionFrom::VersionString | VersionFrom::FileName)
            )
        {
            return;
        }
        let libc6 = packages.packages.iter().find(|p| p.name == "libc6");
        if let Some(v) = libc6.and_then(|p| upstream_version(&p.version)) {
            self.version = Some(v);
            self.version_from = Some(VersionFrom::PackageDatabase);
        }
    }
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

/// The C library a file is built against, from what it carries. Besides the loader and libc
/// names, a NEEDED plain `libc.so` without any `GLIBC_` version need is musl (musl's libc
/// goes by that soname, as Rust's musl targets link it; glibc's `libc.so` is a linker script
/// that no file ever needs), and so is a CPython extension named `*-linux-musl.so`.
fn family_of(info: &ElfInfo, path: &[u8]) -> LibcFamily {
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
        || (info.needed.iter().any(|n| n == "libc.so") && !needs_glibc_versions(info))
        || (info.needed.iter().any(|n| n.starts_with("libc.")) && is_musl_extension(path));
    match (glibc, musl) {
        (true, true) => LibcFamily::Mixed,
        (true, false) => LibcFamily::Glibc,
        (false, true) => LibcFamily::Musl,
        _ if !info.has_dynamic && info.interpreter.is_none() => LibcFamily::Static,
        _ => LibcFamily::None,
    }
}

fn needs_glibc_versions(info: &ElfInfo) -> bool {
    info.needs
        .iter()
        .flat_map(|n| n.versions.keys())
        .any(|v| v.starts_with("GLIBC_"))
}

/// `_core.cpython-312-x86_64-linux-musl.so`: CPython's suffix for a musl build.
fn is_musl_extension(path: &[u8]) -> bool {
    super::python::extension_tag(split_last(path).1).is_some_and(|t| t.ends_with("-linux-musl"))
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
        let loaded = loader.load(info, &path);
        elves.push(ElfFacts {
            node: id,
            layer: image.tree.node(id).last_layer(),
            libc: family_of(info, &path),
            glibc: floor(info, "GLIBC_"),
            glibcxx: floor(info, "GLIBCXX_"),
            cxxabi: floor(info, "CXXABI_"),
            libraries: loaded.iter().filter_map(|(_, _, node)| *node).collect(),
            needed: loaded.into_iter().map(|(name, r, _)| (name, r)).collect(),
            interpreter_found,
            flavour: loader.flavour(info),
            missing_symbols: Vec::new(),
            relr: None,
            info: info.clone(),
            path,
        });
    }
    elves.sort_by(|a, b| a.path.cmp(&b.path));
    let index: HashMap<NodeId, usize> =
        elves.iter().enumerate().map(|(i, e)| (e.node, i)).collect();
    let c_library = |flavour: Flavour| -> Option<NodeId> {
        match flavour {
            Flavour::Musl => loader.musl_loader().and_then(|p| resolve(image, p)),
            Flavour::Glibc => libc.path.as_deref().and_then(|p| resolve(image, p)),
        }
    };
    let c_libraries = CLibraries {
        musl: c_library(Flavour::Musl),
        glibc: c_library(Flavour::Glibc),
    };
    for i in 0..elves.len() {
        let e = &elves[i];
        let scope = closure(&elves, &index, i, c_libraries.of(e.flavour));
        let relr = scope
            .iter()
            .copied()
            .find(|&n| index.get(&n).is_some_and(|&j| elves[j].info.uses_relr));
        let missing = missing_symbols(image, e, &scope);
        elves[i].relr = relr;
        elves[i].missing_symbols = missing;
    }
    Linkage {
        libc,
        elves,
        index,
        notes: loader.notes,
        c_libraries,
    }
}

/// The objects the loader would have loaded for the file at `elves[start]`, in load order: the
/// file, its libraries breadth first, then the C library (always there: the interpreter, or
/// the process that loads a library).
fn closure(
    elves: &[ElfFacts],
    index: &HashMap<NodeId, usize>,
    start: usize,
    c_library: Option<NodeId>,
) -> Vec<NodeId> {
    let mut order = vec![elves[start].node];
    let mut seen: std::collections::HashSet<NodeId> = order.iter().copied().collect();
    let mut at = 0;
    while at < order.len() && order.len() < MAX_CLOSURE {
        if let Some(&j) = index.get(&order[at]) {
            for &lib in &elves[j].libraries {
                if seen.insert(lib) {
                    order.push(lib);
                }
            }
        }
        at += 1;
    }
    if let Some(c) = c_library {
        if seen.insert(c) {
            order.push(c);
        }
    }
    order
}

/// The facts of the objects at these nodes; `None` when one could not be read (or is not an ELF
/// file): it may define anything, so nothing is claimed.
fn objects_at<'a>(image: &'a Image, scope: &[NodeId]) -> Option<Vec<&'a ElfInfo>> {
    scope.iter().map(|&n| elf_at(image, n)).collect()
}

/// Whether one of the objects defines a symbol as a reference of that version binds to it.
/// glibc binds a versioned reference only to a definition of that version (or to a library
/// without versions), an unversioned one to a default version; musl ignores versions.
fn defines(flavour: Flavour, objects: &[&ElfInfo], name: &str, version: Option<&str>) -> bool {
    objects.iter().any(|o| {
        o.exports.lookup(name).any(|x| match (flavour, version) {
            (Flavour::Musl, _) | (Flavour::Glibc, None) => !x.hidden,
            (Flavour::Glibc, Some(v)) => x.version == Some(v) || o.defines.is_empty(),
        })
    })
}

/// The symbols a file needs that no object in its scope defines. A library's unversioned
/// references are not judged here: the process that loads it (Python, with its `Py*` API; a
/// host program's plugins) may define them ([`Linkage::judge_extension_modules`] judges
/// extension modules').
fn missing_symbols(image: &Image, e: &ElfFacts, scope: &[NodeId]) -> Vec<MissingSymbol> {
    let Some(objects) = objects_at(image, &scope[1..]) else {
        return Vec::new();
    };
    let library = e.info.interpreter.is_none();
    let mut missing = Vec::new();
    for (name, version) in e.info.imports.iter() {
        if version.is_none() && library {
            continue;
        }
        if !defines(e.flavour, &objects, name, version) {
            missing.push(MissingSymbol {
                name: name.to_string(),
                version: version.map(str::to_string),
            });
            if missing.len() == MAX_MISSING_SYMBOLS {
                break;
            }
        }
    }
    missing
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
    fn glibc_version_from_its_banner_name_or_package() {
        let banner = b"\x7fELF\0junk\0GNU C Library (Debian GLIBC 2.31-13+deb11u5) stable release version 2.31.\nCopyright";
        assert_eq!(glibc_version(banner), Version::parse("2.31"));
        let rhel =
            b"\0GNU C Library (GNU libc) stable release version 2.17, by Roland McGrath et al.\n";
        assert_eq!(glibc_version(rhel), Version::parse("2.17"));
        assert_eq!(glibc_version(b"GNU C Library\0release version 2.31"), None);
        assert_eq!(
            libc_file_name_version(b"lib/x86_64-linux-gnu/libc-2.28.so"),
            Version::parse("2.28")
        );
        assert_eq!(libc_file_name_version(b"lib/libc.so.6"), None);
        assert_eq!(upstream_version("2.31-13+deb11u5"), Version::parse("2.31"));
        assert_eq!(upstream_version("1:2.36-9"), Version::parse("2.36"));
        assert_eq!(upstream_version("2.35-0ubuntu3.8"), Version::parse("2.35"));
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
