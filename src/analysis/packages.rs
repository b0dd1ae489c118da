//! OS packages: what the image's package database says is installed (dpkg's `status` with its
//! `info/<package>.list` file lists, distroless's `status.d/<package>` with `.md5sums`, apk's
//! `lib/apk/db/installed`), and what each package weighs in the final filesystem: its files
//! that are still there, sized the way every other total is (see `Image::held_entry`), and the
//! layer that installed its current version. Also which packages are the build toolchain:
//! the compilers, binutils, `make`, `dpkg-dev`, the gcc and libc `-dev` packages, and every
//! package that only those depend on (what `apt-get purge --autoremove` of the toolchain would
//! take away), so the `compilers` category can count their files whatever their paths.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::linkage::{Linkage, Resolution};
use super::resolve::resolve;
use crate::layer::EntryKind;
use crate::layer::path::{normalize, split_last};
use crate::model::{Image, NodeId, State};

const DPKG_STATUS: &[u8] = b"var/lib/dpkg/status";
const DPKG_STATUS_D: &[u8] = b"var/lib/dpkg/status.d";
const DPKG_INFO: &[u8] = b"var/lib/dpkg/info";
const APK_INSTALLED: &[u8] = b"lib/apk/db/installed";
const APT_EXTENDED_STATES: &[u8] = b"var/lib/apt/extended_states";
const APK_WORLD: &[u8] = b"etc/apk/world";

/// Which package manager's database the facts come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    Dpkg,
    Apk,
}

#[derive(Clone, Debug)]
pub struct OsPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// What the database estimates the package installs, in bytes: dpkg's `Installed-Size`
    /// (KiB, each file rounded up, directories and symlinks counted too) times 1024, or apk's
    /// `I:` (bytes).
    pub installed_size: Option<u64>,
    /// Bytes of its files in the final filesystem, each stored file counted once.
    pub bytes: u64,
    /// Its non-directory entries in the final filesystem (files, symlinks, links).
    pub files: u64,
    /// The layer that installed its current version.
    pub layer: usize,
    /// Its files in the final filesystem, largest first.
    pub nodes: Vec<NodeId>,
    /// Part of the build toolchain (see the module doc).
    pub toolchain: bool,
    /// Part of every installation of the distribution: dpkg's `Essential: yes` or
    /// `Priority: required`.
    pub required: bool,
    /// The package it was built from (dpkg `Source`, apk `o:`), when it says.
    pub source: Option<String>,
    /// Each dependency as a list of alternatives (dpkg `Depends` and `Pre-Depends`, apk `D:`),
    /// as names only; and what it provides besides its own name.
    depends: Vec<Vec<String>>,
    recommends: Vec<Vec<String>>,
    provides: Vec<String>,
    /// Whether the package manager installed it only as another package's dependency (apt's
    /// `extended_states`, apk's `world`), when the image says.
    auto: Option<bool>,
}

impl OsPackage {
    /// Its dependencies (dpkg `Depends` and `Pre-Depends`, apk `D:`), each a list of
    /// alternatives.
    pub fn depends(&self) -> &[Vec<String>] {
        &self.depends
    }

    /// The names it provides besides its own (virtual packages, apk's `so:` names).
    pub fn provides(&self) -> impl Iterator<Item = &str> {
        self.provides.iter().map(String::as_str)
    }
}

#[derive(Clone, Debug, Default)]
pub struct OsPackages {
    pub manager: Option<Manager>,
    /// Every installed package, largest first.
    pub packages: Vec<OsPackage>,
    /// Which package each file belongs to (the first that lists it).
    owner: HashMap<NodeId, usize>,
    /// Every node a toolchain package's file list named, in any layer's version of the list:
    /// a compiler that a later step purged still counts where it was added.
    toolchain_nodes: HashSet<NodeId>,
}

impl OsPackages {
    pub fn owner_of(&self, node: NodeId) -> Option<&OsPackage> {
        self.owner.get(&node).map(|&i| &self.packages[i])
    }

    pub fn by_name(&self, name: &str) -> Option<&OsPackage> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Whether a node is a file of a toolchain package (as of any layer).
    pub fn is_toolchain_file(&self, node: NodeId) -> bool {
        self.toolchain_nodes.contains(&node)
    }
}

/// The files whose contents this analysis reads.
pub fn wants_content(path: &[u8], size: u64) -> bool {
    if size > 64 << 20 {
        return false;
    }
    let (dir, name) = split_last(path);
    path == DPKG_STATUS
        || path == APK_INSTALLED
        || path == APT_EXTENDED_STATES
        || path == APK_WORLD
        || (dir == DPKG_INFO && name.ends_with(b".list"))
        || dir == DPKG_STATUS_D
}

/// One stanza of a deb822 or apk database: its fields in order, a key possibly repeated.
type Stanza<'a> = Vec<(&'a str, String)>;

/// dpkg's format: `Key: value` lines, continuation lines start with a space, blank lines
/// between packages.
fn dpkg_stanzas(text: &str) -> Vec<Stanza<'_>> {
    let mut out = Vec::new();
    let mut current: Stanza = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// apk's format: `K:value` lines, a blank line between packages.
fn apk_stanzas(text: &str) -> Vec<Stanza<'_>> {
    let mut out = Vec::new();
    let mut current: Stanza = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else if let Some((key, value)) = line.split_once(':') {
            current.push((key, value.to_string()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn field<'a>(stanza: &'a Stanza, key: &str) -> Option<&'a str> {
    stanza
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// `a (>= 1), b | c:any (<< 2)` -> `[[a], [b, c]]`.
fn dpkg_relations(value: Option<&str>) -> Vec<Vec<String>> {
    let Some(value) = value else {
        return Vec::new();
    };
    value
        .split(',')
        .map(|group| {
            group
                .split('|')
                .filter_map(|alt| {
                    let name = alt.trim().split([' ', '(', '[', '<']).next()?;
                    let name = name.split(':').next()?;
                    (!name.is_empty()).then(|| name.to_string())
                })
                .collect::<Vec<_>>()
        })
        .filter(|g| !g.is_empty())
        .collect()
}

/// apk's `D:`/`p:` tokens: `so:libc.musl-x86_64.so.1=1`, `musl>=1.2`, `!conflict`.
fn apk_names(value: &str) -> Vec<String> {
    value
        .split_whitespace()
        .filter(|t| !t.starts_with('!'))
        .filter_map(|t| t.split(['=', '<', '>', '~']).next())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// What a database says about one package before the filesystem is consulted.
struct Record {
    package: OsPackage,
    /// Its files as the database lists them (absolute or root-relative paths).
    paths: Vec<String>,
    /// The layer its own database file came from (dpkg `status.d/`), if it has one.
    own_layer: Option<usize>,
}

fn new_package(name: &str, version: &str, architecture: &str) -> OsPackage {
    OsPackage {
        name: name.to_string(),
        version: version.to_string(),
        architecture: architecture.to_string(),
        installed_size: None,
        bytes: 0,
        files: 0,
        layer: 0,
        nodes: Vec::new(),
        toolchain: false,
        required: false,
        source: None,
        depends: Vec::new(),
        recommends: Vec::new(),
        provides: Vec::new(),
        auto: None,
    }
}

fn text_of(image: &Image, node: NodeId) -> Option<String> {
    let bytes = image.file_entry(node)?.content.as_deref()?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

fn dpkg_package(stanza: &Stanza) -> Option<OsPackage> {
    let name = field(stanza, "Package")?;
    // Only what is installed: not removed packages whose conffiles remain, nor half-done ones.
    if let Some(status) = field(stanza, "Status") {
        if !status.ends_with(" installed") {
            return None;
        }
    }
    let mut p = new_package(
        name,
        field(stanza, "Version").unwrap_or(""),
        field(stanza, "Architecture").unwrap_or(""),
    );
    p.installed_size = field(stanza, "Installed-Size")
        .and_then(|s| s.parse::<u64>().ok())
        .map(|kib| kib * 1024);
    p.required =
        field(stanza, "Essential") == Some("yes") || field(stanza, "Priority") == Some("required");
    p.source = field(stanza, "Source")
        .and_then(|s| s.split_whitespace().next())
        .map(str::to_string);
    p.depends = dpkg_relations(field(stanza, "Depends"));
    p.depends
        .extend(dpkg_relations(field(stanza, "Pre-Depends")));
    p.recommends = dpkg_relations(field(stanza, "Recommends"));
    p.provides = dpkg_relations(field(stanza, "Provides"))
        .into_iter()
        .flatten()
        .collect();
    Some(p)
}

/// dpkg's records: `status` for what is installed, `info/<name>[:<arch>].list` for files; or
/// distroless's one stanza per file in `status.d/`, with `status.d/<name>.md5sums` for files.
fn dpkg_records(image: &Image) -> Vec<Record> {
    let mut records = Vec::new();
    let info = image.tree.lookup(DPKG_INFO);
    let list_of = |name: &str, arch: &str| -> Option<Vec<String>> {
        let info = image.tree.node(info?);
        let file = [format!("{name}:{arch}.list"), format!("{name}.list")]
            .into_iter()
            .find_map(|f| info.children.get(f.as_bytes()).copied())
            .filter(|&n| image.tree.node(n).exists())?;
        Some(text_of(image, file)?.lines().map(str::to_string).collect())
    };
    if let Some(status) = image
        .tree
        .lookup(DPKG_STATUS)
        .filter(|&n| image.tree.node(n).exists())
    {
        if let Some(text) = text_of(image, status) {
            for stanza in dpkg_stanzas(&text) {
                let Some(package) = dpkg_package(&stanza) else {
                    continue;
                };
                let paths = list_of(&package.name, &package.architecture).unwrap_or_default();
                records.push(Record {
                    package,
                    paths,
                    own_layer: None,
                });
            }
        }
    }
    if let Some(dir) = image.tree.lookup(DPKG_STATUS_D) {
        let children = &image.tree.node(dir).children;
        for (name, &node) in children {
            if name.ends_with(b".md5sums") || !image.tree.node(node).exists() {
                continue;
            }
            let Some(text) = text_of(image, node) else {
                continue;
            };
            for stanza in dpkg_stanzas(&text) {
                let Some(package) = dpkg_package(&stanza) else {
                    continue;
                };
                // `<md5>  <path>` lines; the file is named after the stanza's file.
                let sums = [name.as_ref(), b".md5sums"].concat();
                let paths = children
                    .get(&sums[..])
                    .and_then(|&n| text_of(image, n))
                    .map(|t| {
                        t.lines()
                            .filter_map(|l| l.split_once("  ").map(|(_, p)| p.to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                records.push(Record {
                    package,
                    paths,
                    own_layer: Some(image.tree.node(node).last_layer()),
                });
            }
        }
    }
    records
}

fn apk_records(text: &str) -> Vec<Record> {
    let mut records = Vec::new();
    for stanza in apk_stanzas(text) {
        let Some(name) = field(&stanza, "P") else {
            continue;
        };
        let mut package = new_package(
            name,
            field(&stanza, "V").unwrap_or(""),
            field(&stanza, "A").unwrap_or(""),
        );
        package.installed_size = field(&stanza, "I").and_then(|s| s.parse().ok());
        package.source = field(&stanza, "o").map(str::to_string);
        package.depends = field(&stanza, "D")
            .map(apk_names)
            .unwrap_or_default()
            .into_iter()
            .map(|n| vec![n])
            .collect();
        package.provides = field(&stanza, "p").map(apk_names).unwrap_or_default();
        // `F:` names a directory, each `R:` after it a file in it.
        let mut dir = String::new();
        let mut paths = Vec::new();
        for (key, value) in &stanza {
            match *key {
                "F" => dir = value.clone(),
                "R" if dir.is_empty() => paths.push(value.clone()),
                "R" => paths.push(format!("{dir}/{value}")),
                _ => {}
            }
        }
        records.push(Record {
            package,
            paths,
            own_layer: None,
        });
    }
    records
}

/// The layer that installed each package's current version: the first layer of the unbroken
/// run of database versions, ending with the final one, that list the package at this version.
fn install_layers(
    image: &Image,
    db: NodeId,
    parse: fn(&str) -> Vec<(String, String)>,
) -> HashMap<(String, String), usize> {
    let node = image.tree.node(db);
    let mut versions: Vec<(usize, HashSet<(String, String)>)> = Vec::new();
    for change in &node.changes {
        let listed = (change.state != State::Removed)
            .then(|| image.entry(change))
            .flatten()
            .filter(|e| e.kind == EntryKind::File)
            .and_then(|e| e.content.as_deref())
            .map(|bytes| parse(&String::from_utf8_lossy(bytes)).into_iter().collect());
        versions.push((change.layer as usize, listed.unwrap_or_default()));
    }
    let mut layers = HashMap::new();
    let Some((last_layer, last)) = versions.last() else {
        return layers;
    };
    for key in last {
        let mut layer = *last_layer;
        for (l, listed) in versions.iter().rev().skip(1) {
            if !listed.contains(key) {
                break;
            }
            layer = *l;
        }
        layers.insert(key.clone(), layer);
    }
    layers
}

fn dpkg_versions(text: &str) -> Vec<(String, String)> {
    dpkg_stanzas(text)
        .iter()
        .filter_map(dpkg_package)
        .map(|p| (p.name, p.version))
        .collect()
}

fn apk_versions(text: &str) -> Vec<(String, String)> {
    apk_records(text)
        .into_iter()
        .map(|r| (r.package.name, r.package.version))
        .collect()
}

/// Which packages were installed only as dependencies: apt lists them in `extended_states`
/// with `Auto-Installed: 1`; apk's `world` lists the packages asked for by name.
fn mark_auto(image: &Image, packages: &mut [OsPackage]) {
    let text = |path: &[u8]| {
        image
            .tree
            .lookup(path)
            .filter(|&n| image.tree.node(n).exists())
            .and_then(|n| text_of(image, n))
    };
    if let Some(states) = text(APT_EXTENDED_STATES) {
        let auto: HashSet<String> = dpkg_stanzas(&states)
            .iter()
            .filter(|s| field(s, "Auto-Installed") == Some("1"))
            .filter_map(|s| field(s, "Package").map(str::to_string))
            .collect();
        for p in packages.iter_mut() {
            p.auto = Some(auto.contains(&p.name));
        }
    } else if let Some(world) = text(APK_WORLD) {
        let asked: HashSet<String> = apk_names(&world).into_iter().collect();
        for p in packages.iter_mut() {
            p.auto = Some(!asked.contains(&p.name));
        }
    }
}

/// Finds a listed path in the final filesystem as the package manager put it there: symlinks
/// in its directories followed (merged /usr: a package lists `/lib/x86_64-linux-gnu/libc.so.6`
/// and the file is in `/usr/lib`), the last name not (a package's own symlink is its file).
struct Finder<'a> {
    image: &'a Image,
    dirs: HashMap<Vec<u8>, Option<NodeId>>,
}

impl Finder<'_> {
    fn find(&mut self, path: &str) -> Option<NodeId> {
        let path = normalize(path.as_bytes())?;
        let (dir, name) = split_last(&path);
        let image = self.image;
        let dir_node = *self.dirs.entry(dir.to_vec()).or_insert_with(|| {
            if dir.is_empty() {
                Some(0)
            } else {
                resolve(image, dir)
            }
        });
        image.tree.node(dir_node?).children.get(name).copied()
    }
}

/// The build toolchain by name: compilers, binutils, the C library's and gcc's `-dev`
/// packages, and the tools `build-essential` (Debian) and `build-base` (Alpine) pull in.
fn is_toolchain_name(name: &str) -> bool {
    let versioned = |base: &str| {
        name == base
            || name
                .strip_prefix(base)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|r| r.chars().next().is_some_and(|c| c.is_ascii_digit()))
    };
    // `gcc-12-base` holds only gcc's copyright and is needed by libgcc-s1 at run time.
    if name.starts_with("gcc-") && name.ends_with("-base") {
        return false;
    }
    [
        "gcc", "g++", "cpp", "gfortran", "clang", "lld", "gccgo", "gdc", "gnat",
    ]
    .iter()
    .any(|b| versioned(b))
        || (name.starts_with("gcc-") && name.contains("-plugin-dev"))
        || name.starts_with("binutils")
        || name.starts_with("cpp-")
        || name.starts_with("g++-")
        || name.starts_with("gfortran-")
        || (name.starts_with("libgcc-") && name.ends_with("-dev"))
        || (name.starts_with("libstdc++-") && name.ends_with("-dev"))
        || (name.starts_with("libgfortran-") && name.ends_with("-dev"))
        || (name.starts_with("libobjc-") && name.ends_with("-dev"))
        || [
            "build-essential",
            "build-base",
            "libbinutils",
            "libc6-dev",
            "libc-dev-bin",
            "linux-libc-dev",
            "libc-dev",
            "musl-dev",
            "fortify-headers",
            "make",
            "dpkg-dev",
            "libdpkg-perl",
            "pkg-config",
            "pkgconf",
            "autoconf",
            "automake",
            "libtool",
            "cmake",
            "ninja-build",
            "samurai",
        ]
        .contains(&name)
}

/// Marks the toolchain: the packages named so, then, until nothing changes, every package
/// that is not part of every installation, was installed as a dependency (not by name, when
/// the image records that; not in a layer below the toolchain), that only toolchain packages
/// depend on or recommend, and whose libraries only toolchain packages' programs load
/// (`needers[i]`: the owners of the ELF files that need a library of package `i`, `None` for
/// files no package owns, such as the app's extension modules).
fn mark_toolchain(packages: &mut [OsPackage], needers: &[HashSet<Option<usize>>]) {
    let mut providers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in packages.iter().enumerate() {
        providers.entry(p.name.as_str()).or_default().push(i);
        for v in &p.provides {
            providers.entry(v.as_str()).or_default().push(i);
        }
    }
    let mut rdeps: Vec<HashSet<usize>> = vec![HashSet::new(); packages.len()];
    for (i, p) in packages.iter().enumerate() {
        for alt in p.depends.iter().chain(&p.recommends).flatten() {
            for &j in providers.get(alt.as_str()).into_iter().flatten() {
                if j != i {
                    rdeps[j].insert(i);
                }
            }
        }
    }
    let named: Vec<bool> = packages
        .iter()
        .map(|p| !p.required && is_toolchain_name(&p.name))
        .collect();
    // Candidates: what the named packages depend on or recommend, directly or not, short of
    // what every installation has and of what was installed by name.
    let mut toolchain = named.clone();
    let mut stack: Vec<usize> = (0..packages.len()).filter(|&i| named[i]).collect();
    while let Some(i) = stack.pop() {
        let p = &packages[i];
        for alt in p.depends.iter().chain(&p.recommends).flatten() {
            for &j in providers.get(alt.as_str()).into_iter().flatten() {
                let q = &packages[j];
                if !toolchain[j] && !q.required && q.auto != Some(false) {
                    toolchain[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    // Then drop, until nothing changes, each candidate that something outside the toolchain
    // depends on, recommends or loads, or that was there before the toolchain packages that
    // need it (the largest such set, so packages that need each other, perl and its
    // modules, stay in together).
    loop {
        let mut changed = false;
        for i in 0..packages.len() {
            if !toolchain[i] || named[i] {
                continue;
            }
            let outside = rdeps[i].iter().any(|&j| !toolchain[j]);
            let loaded_outside = needers
                .get(i)
                .into_iter()
                .flatten()
                .any(|o| o.is_none_or(|j| !toolchain[j]));
            let pulled_in = rdeps[i]
                .iter()
                .any(|&j| toolchain[j] && packages[j].layer <= packages[i].layer);
            if outside || loaded_outside || !pulled_in {
                toolchain[i] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (p, t) in packages.iter_mut().zip(toolchain) {
        p.toolchain = t;
    }
}

pub fn compute(image: &Image, linkage: &Linkage) -> OsPackages {
    let mut out = OsPackages::default();
    let status = image
        .tree
        .lookup(DPKG_STATUS)
        .filter(|&n| image.tree.node(n).exists());
    let apk = image
        .tree
        .lookup(APK_INSTALLED)
        .filter(|&n| image.tree.node(n).exists());
    let (mut records, layers) = if let Some(db) = apk {
        out.manager = Some(Manager::Apk);
        let text = text_of(image, db).unwrap_or_default();
        (apk_records(&text), install_layers(image, db, apk_versions))
    } else {
        let records = dpkg_records(image);
        if records.is_empty() && status.is_none() {
            return out;
        }
        out.manager = Some(Manager::Dpkg);
        let layers = status
            .map(|db| install_layers(image, db, dpkg_versions))
            .unwrap_or_default();
        (records, layers)
    };

    let mut finder = Finder {
        image,
        dirs: HashMap::new(),
    };
    // dpkg lets only one package own a non-directory: a path several packages list is a
    // directory they share, even where the filesystem has a symlink (merged /usr's `/lib`).
    let mut listed_by: HashMap<String, u32> = HashMap::new();
    for record in &records {
        for path in &record.paths {
            *listed_by
                .entry(path.trim_end_matches('/').to_string())
                .or_default() += 1;
        }
    }
    for record in &mut records {
        let p = &mut record.package;
        p.layer = record
            .own_layer
            .or_else(|| layers.get(&(p.name.clone(), p.version.clone())).copied())
            .unwrap_or(0);
        // So is a listed path that others of its list are under (`/lib64` above
        // `/lib64/ld-linux-x86-64.so.2`).
        let dirs: HashSet<&str> = record
            .paths
            .iter()
            .filter_map(|p| p.rsplit_once('/').map(|(dir, _)| dir))
            .collect();
        let mut nodes: Vec<NodeId> = record
            .paths
            .iter()
            .map(|path| path.trim_end_matches('/'))
            .filter(|path| !dirs.contains(path))
            .filter_map(|path| Some((finder.find(path)?, listed_by[path] > 1)))
            .filter(|&(n, shared)| {
                image.tree.node(n).exists()
                    && image.final_entry(n).is_some_and(|e| match e.kind {
                        EntryKind::Dir => false,
                        EntryKind::Symlink => !shared,
                        _ => true,
                    })
            })
            .map(|(n, _)| n)
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes.sort_by(|a, b| {
            image
                .held_bytes(*b)
                .cmp(&image.held_bytes(*a))
                .then(a.cmp(b))
        });
        p.bytes = nodes.iter().map(|&n| image.held_bytes(n)).sum();
        p.files = nodes.len() as u64;
        p.nodes = nodes;
    }
    let mut packages: Vec<OsPackage> = records.into_iter().map(|r| r.package).collect();
    mark_auto(image, &mut packages);
    let owner = |packages: &[OsPackage]| {
        let mut owner: HashMap<NodeId, usize> = HashMap::new();
        for (i, p) in packages.iter().enumerate() {
            for &n in &p.nodes {
                owner.entry(n).or_insert(i);
            }
        }
        owner
    };
    let before = owner(&packages);
    let mut needers: Vec<HashSet<Option<usize>>> = vec![HashSet::new(); packages.len()];
    for elf in &linkage.elves {
        let by = before.get(&elf.node).copied();
        for (_, resolution) in &elf.needed {
            let Resolution::Found(path) = resolution else {
                continue;
            };
            let lib = resolve(image, path).and_then(|n| before.get(&n).copied());
            if let Some(lib) = lib.filter(|&l| Some(l) != by) {
                needers[lib].insert(by);
            }
        }
    }
    mark_toolchain(&mut packages, &needers);
    packages.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
    out.owner = owner(&packages);
    out.toolchain_nodes = toolchain_nodes(image, &packages, &mut finder);
    out.packages = packages;
    out
}

/// The toolchain packages of every version of the database any layer stored (the final one
/// included), each version judged by its own dependencies.
fn removed_toolchain(image: &Image) -> HashSet<String> {
    let mut names = HashSet::new();
    for layer in &image.layers {
        for entry in &layer.entries {
            let Some(content) = entry.content.as_deref() else {
                continue;
            };
            let text = String::from_utf8_lossy(content);
            let mut packages: Vec<OsPackage> = if &*entry.path == APK_INSTALLED {
                apk_records(&text).into_iter().map(|r| r.package).collect()
            } else if &*entry.path == DPKG_STATUS {
                dpkg_stanzas(&text)
                    .iter()
                    .filter_map(dpkg_package)
                    .collect()
            } else {
                continue;
            };
            mark_toolchain(&mut packages, &[]);
            names.extend(packages.into_iter().filter(|p| p.toolchain).map(|p| p.name));
        }
    }
    names
}

/// The nodes that any version of a toolchain package's file list names, in any layer: the
/// final packages' files, and those of a toolchain package that a later step removed (dpkg's
/// `.list` files and apk's database as each layer stored them).
fn toolchain_nodes(image: &Image, packages: &[OsPackage], finder: &mut Finder) -> HashSet<NodeId> {
    let mut nodes: HashSet<NodeId> = packages
        .iter()
        .filter(|p| p.toolchain)
        .flat_map(|p| p.nodes.iter().copied())
        .collect();
    // A package still installed is what the final database says; one removed since is what
    // the database said when it was there.
    let now: HashMap<&str, bool> = packages
        .iter()
        .map(|p| (p.name.as_str(), p.toolchain))
        .collect();
    let before = removed_toolchain(image);
    let is_toolchain = |name: &str| match now.get(name) {
        Some(&t) => t,
        None => before.contains(name),
    };
    // Every version of every package's file list, to tell shared directories as for the
    // final database.
    let mut lists: Vec<(String, Vec<String>)> = Vec::new();
    for layer in &image.layers {
        for entry in &layer.entries {
            let Some(content) = entry.content.as_deref() else {
                continue;
            };
            let (dir, name) = split_last(&entry.path);
            if dir == DPKG_INFO {
                let Some(stem) = name.strip_suffix(b".list") else {
                    continue;
                };
                let stem = String::from_utf8_lossy(stem);
                let package = stem.split(':').next().unwrap_or_default().to_string();
                let paths = String::from_utf8_lossy(content)
                    .lines()
                    .map(|l| l.trim_end_matches('/').to_string())
                    .collect();
                lists.push((package, paths));
            } else if &*entry.path == APK_INSTALLED {
                lists.extend(
                    apk_records(&String::from_utf8_lossy(content))
                        .into_iter()
                        .map(|r| (r.package.name, r.paths)),
                );
            }
        }
    }
    let mut listers: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (package, paths) in &lists {
        for path in paths {
            listers.entry(path).or_default().insert(package);
        }
    }
    for (package, paths) in &lists {
        if !is_toolchain(package) {
            continue;
        }
        let dirs: HashSet<&str> = paths
            .iter()
            .filter_map(|p| p.rsplit_once('/').map(|(dir, _)| dir))
            .collect();
        for path in paths.iter().filter(|p| !dirs.contains(p.as_str())) {
            let shared = listers.get(path.as_str()).is_some_and(|l| l.len() > 1);
            let Some(n) = finder
                .find(path)
                .or_else(|| normalize(path.as_bytes()).and_then(|p| image.tree.lookup(&p)))
            else {
                continue;
            };
            let provided_file = image.tree.node(n).changes.iter().any(|c| {
                image.entry(c).is_some_and(|e| match e.kind {
                    EntryKind::Dir | EntryKind::Whiteout | EntryKind::Opaque => false,
                    EntryKind::Symlink => !shared,
                    _ => true,
                })
            });
            if provided_file {
                nodes.insert(n);
            }
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_relations_keep_names_and_alternatives() {
        assert_eq!(
            dpkg_relations(Some("libc6 (>= 2.34), perl:any, make | make-guile (<< 4)")),
            vec![
                vec!["libc6".to_string()],
                vec!["perl".to_string()],
                vec!["make".to_string(), "make-guile".to_string()],
            ]
        );
        assert!(dpkg_relations(None).is_empty());
    }

    #[test]
    fn apk_tokens() {
        assert_eq!(
            apk_names("musl>=1.2.3 so:libc.musl-x86_64.so.1 !busybox-extras /bin/sh"),
            vec!["musl", "so:libc.musl-x86_64.so.1", "/bin/sh"]
        );
    }

    #[test]
    fn stanzas_with_continuations() {
        let text =
            "Package: a\nDescription: x\n more\n\nPackage: b\nStatus: deinstall ok config-files\n";
        let s = dpkg_stanzas(text);
        assert_eq!(s.len(), 2);
        assert_eq!(field(&s[0], "description"), Some("x\nmore"));
        assert!(dpkg_package(&s[1]).is_none(), "only installed packages");
    }

    #[test]
    fn toolchain_names() {
        for yes in [
            "gcc",
            "gcc-12",
            "g++-12",
            "cpp-12",
            "binutils-x86-64-linux-gnu",
            "libgcc-12-dev",
            "libstdc++-12-dev",
            "make",
            "dpkg-dev",
            "build-base",
            "musl-dev",
            "clang-16",
        ] {
            assert!(is_toolchain_name(yes), "{yes}");
        }
        for no in [
            "gcc-12-base",
            "libgcc-s1",
            "libstdc++6",
            "libgomp1",
            "libssl-dev",
            "makedev",
        ] {
            assert!(!is_toolchain_name(no), "{no}");
        }
    }

    #[test]
    fn toolchain_closure_stops_at_what_others_need() {
        let pkg = |name: &str, deps: &[&str]| {
            let mut p = new_package(name, "1", "amd64");
            p.depends = deps.iter().map(|d| vec![d.to_string()]).collect();
            p
        };
        let mut packages = vec![
            pkg("gcc-12", &["cpp-12", "libisl23", "libgomp1", "libc6"]),
            pkg("cpp-12", &["libisl23", "libmpc3"]),
            pkg("libisl23", &["libc6"]),
            pkg("libmpc3", &["libc6"]),
            pkg("libgomp1", &["libc6"]),
            pkg("python3-sklearn-lib", &["libgomp1"]),
            pkg("libc6", &[]),
            pkg("orphan", &[]),
        ];
        packages[6].required = true;
        let marked = |packages: &[OsPackage]| -> Vec<String> {
            packages
                .iter()
                .filter(|p| p.toolchain)
                .map(|p| p.name.clone())
                .collect()
        };
        mark_toolchain(&mut packages, &[]);
        assert_eq!(
            marked(&packages),
            ["gcc-12", "cpp-12", "libisl23", "libmpc3"]
        );

        // Without the package that needs it, libgomp1 is the toolchain's; unless a file no
        // package owns (an extension module) loads it.
        packages.remove(5);
        mark_toolchain(&mut packages, &[]);
        assert!(marked(&packages).contains(&"libgomp1".to_string()));
        let mut needers = vec![HashSet::new(); packages.len()];
        needers[4].insert(None);
        mark_toolchain(&mut packages, &needers);
        assert_eq!(
            marked(&packages),
            ["gcc-12", "cpp-12", "libisl23", "libmpc3"]
        );
    }
}
