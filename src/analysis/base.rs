//! The base image: which of the image's layers come from the `FROM` image, what kind of base
//! it is (full, with compilers and headers; slim; Alpine with musl; distroless-like, with no
//! shell and no package manager; or a distribution's own Python), where its Python comes
//! from, and, for a full Debian-family base, what the slim variant would leave out: the OS
//! packages it would not have, their bytes, and the packages the image's own compiled code
//! loads at run time that slim would need installed.
//!
//! The base ends at the last `CMD` or `ENTRYPOINT` of the history that more layers follow:
//! official images end so (`CMD ["python3"]`, `CMD ["bash"]`), and the app's own Dockerfile
//! begins after it. Without one, only a first `ADD file:... in /` (a root filesystem) is
//! known to be base.

use std::collections::{HashMap, HashSet};

use super::linkage::{LibcFamily, Linkage, Resolution};
use super::packages::{Manager, OsPackage, OsPackages};
use super::python::{Distribution, Python};
use super::resolve::resolve;
use super::{Category, CategoryFacts};
use crate::layer::path::split_last;
use crate::model::{Image, NodeId, short_step};

/// What kind of base image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavour {
    /// glibc, with a C compiler and headers (`python:3.12`, `buildpack-deps`).
    Full,
    /// glibc, without a compiler (`python:3.12-slim`, `debian:bookworm-slim`).
    Slim,
    /// musl (`python:3.12-alpine`).
    Alpine,
    /// No shell and no package manager (distroless, chiselled images).
    Distroless,
    /// The distribution's own Python (`apt-get install python3`), not one built into the base.
    DistributionPython,
    Unknown,
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Full => "full",
            Flavour::Slim => "slim",
            Flavour::Alpine => "alpine",
            Flavour::Distroless => "distroless",
            Flavour::DistributionPython => "distribution-python",
            Flavour::Unknown => "unknown",
        }
    }
}

/// How the end of the base was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// The base's last step: a `CMD` or `ENTRYPOINT` that later layers follow.
    Step(String),
    /// Only the first layer, a root filesystem (`ADD file:... in /`), is known to be base.
    Rootfs,
}

/// Where the image's Python comes from.
#[derive(Clone, Debug)]
pub struct BasePython {
    pub path: Vec<u8>,
    pub version: String,
    /// Built from source into `/usr/local` (the official images' way), as opposed to a
    /// distribution package.
    pub built_from_source: bool,
    /// The OS package that installed it, if one did.
    pub package: Option<String>,
    /// Whether a base layer put it there.
    pub in_base: bool,
}

/// What the slim variant of a full base would leave out.
#[derive(Clone, Debug, Default)]
pub struct SlimDiff {
    /// The base's packages a slim base would not have (indices into `OsPackages::packages`),
    /// largest first.
    pub removable: Vec<usize>,
    pub bytes: u64,
    /// Of those bytes, the toolchain's and the `-dev` packages'.
    pub toolchain_bytes: u64,
    pub dev_bytes: u64,
    /// The base's packages that the image's own ELF files load at run time and that a slim
    /// base lacks: what to install on slim.
    pub to_install: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Base {
    /// How many of the image's layers, from the bottom, are the base's; `None` when the
    /// history does not tell.
    pub layers: Option<usize>,
    pub boundary: Option<Boundary>,
    pub flavour: Flavour,
    /// `PRETTY_NAME` and `ID` of os-release.
    pub os: Option<String>,
    pub os_id: Option<String>,
    pub python: Option<BasePython>,
    /// Bytes the base layers hold in the final filesystem, and of those the compilers'.
    pub bytes: u64,
    pub compilers_bytes: u64,
    /// Bytes of compilers the layers after the base added (visible or removed later).
    pub app_compilers_added: u64,
    /// For a full Debian-family base with a package database: what slim would leave out.
    pub slim: Option<SlimDiff>,
}

impl Base {
    /// Whether a layer is the base's.
    pub fn contains(&self, layer: usize) -> bool {
        self.layers.is_some_and(|n| layer < n)
    }

    /// The first layer of the image's own steps (0 when the base is not known).
    pub fn first_app_layer(&self) -> usize {
        self.layers.unwrap_or(0)
    }
}

/// Below this much compiler in its layers a base is not "full" (a stray `make` or `strings`).
const FULL_COMPILERS: u64 = 10_000_000;

fn instruction(step: &str) -> String {
    short_step(step)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// The layers of the base, from the history.
fn boundary(image: &Image) -> (Option<usize>, Option<Boundary>) {
    let layer_steps = image.history.iter().filter(|h| !h.empty_layer).count();
    if layer_steps == image.layers.len() && !image.layers.is_empty() {
        let mut seen = 0;
        let mut found = None;
        for step in &image.history {
            if !step.empty_layer {
                seen += 1;
            } else if matches!(instruction(&step.created_by).as_str(), "CMD" | "ENTRYPOINT")
                && seen > 0
                && seen < image.layers.len()
            {
                found = Some((seen, short_step(&step.created_by)));
            }
        }
        if let Some((n, step)) = found {
            return (Some(n), Some(Boundary::Step(step)));
        }
    }
    let first = image.layers.first().map(|l| l.step()).unwrap_or_default();
    let rootfs = first.starts_with("ADD file:") || first.starts_with("ADD rootfs");
    if rootfs && image.layers.len() > 1 {
        return (Some(1), Some(Boundary::Rootfs));
    }
    (None, None)
}

fn os_release(image: &Image) -> (Option<String>, Option<String>) {
    let text = [&b"etc/os-release"[..], b"usr/lib/os-release"]
        .iter()
        .find_map(|p| {
            let node = resolve(image, p)?;
            let bytes = image.file_entry(node)?.content.as_deref()?;
            Some(String::from_utf8_lossy(bytes).into_owned())
        })
        .unwrap_or_default();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty())
    };
    (value("PRETTY_NAME"), value("ID"))
}

fn exists(image: &Image, path: &str) -> bool {
    resolve(image, path.as_bytes()).is_some()
}

fn base_python(
    image: &Image,
    python: &Python,
    packages: &OsPackages,
    base_layers: Option<usize>,
) -> Option<BasePython> {
    // The official images' interpreter in /usr/local first, then the distribution's.
    let mut interpreters: Vec<_> = python.interpreters.iter().collect();
    interpreters.sort_by_key(|i| !i.path.starts_with(b"usr/local/"));
    let i = interpreters.first()?;
    let package = packages.owner_of(i.node).map(|p| p.name.clone());
    Some(BasePython {
        path: i.path.clone(),
        version: i.version.to_string(),
        built_from_source: i.path.starts_with(b"usr/local/") && package.is_none(),
        package,
        in_base: base_layers.is_some_and(|n| image.tree.node(i.node).last_layer() < n),
    })
}

pub fn compute(
    image: &Image,
    categories: &CategoryFacts,
    linkage: &Linkage,
    python: &Python,
    packages: &OsPackages,
) -> Base {
    let (layers, boundary) = boundary(image);
    let (os, os_id) = os_release(image);
    let n = layers.unwrap_or(0);
    let in_base = |layer: usize| layer < n;
    let bytes = image
        .tree
        .ids()
        .filter(|&id| in_base(image.tree.node(id).last_layer()))
        .map(|id| image.held_bytes(id))
        .sum();
    let compilers_bytes = categories
        .members
        .get(&Category::Compilers)
        .into_iter()
        .flatten()
        .filter(|m| in_base(m.layer))
        .map(|m| m.bytes)
        .sum();
    let app_compilers_added = categories
        .added_by_layer
        .iter()
        .enumerate()
        .filter(|(l, _)| *l >= n)
        .filter_map(|(_, c)| c.get(&Category::Compilers))
        .map(|t| t.bytes)
        .sum();
    let python_facts = base_python(image, python, packages, layers);

    let musl = linkage.libc.family == Some(LibcFamily::Musl) || os_id.as_deref() == Some("alpine");
    let shell = ["bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"]
        .iter()
        .any(|p| exists(image, p));
    let package_manager = [
        "usr/bin/apt-get",
        "usr/bin/dpkg",
        "sbin/apk",
        "usr/bin/dnf",
        "usr/bin/microdnf",
        "usr/bin/yum",
    ]
    .iter()
    .any(|p| exists(image, p));
    let flavour = if layers.is_none() && linkage.libc.family.is_none() {
        Flavour::Unknown
    } else if musl {
        Flavour::Alpine
    } else if !shell && !package_manager {
        Flavour::Distroless
    } else if layers.is_some() && compilers_bytes >= FULL_COMPILERS {
        Flavour::Full
    } else if python_facts.as_ref().is_some_and(|p| p.package.is_some()) {
        Flavour::DistributionPython
    } else if linkage.libc.family == Some(LibcFamily::Glibc) {
        Flavour::Slim
    } else {
        Flavour::Unknown
    };
    let slim = (flavour == Flavour::Full && packages.manager == Some(Manager::Dpkg))
        .then(|| slim_diff(image, linkage, python, packages, n))
        .flatten();
    Base {
        layers,
        boundary,
        flavour,
        os,
        os_id,
        python: python_facts,
        bytes,
        compilers_bytes,
        app_compilers_added,
        slim,
    }
}

/// The ELF files that are the image's own (not a package manager's): in a layer after the
/// base, and not installed by an OS package (apt would bring those packages' dependencies on
/// slim as well).
fn app_elves(linkage: &Linkage, packages: &OsPackages, n: usize) -> impl Iterator<Item = NodeId> {
    linkage
        .elves
        .iter()
        .filter(move |e| e.layer >= n && packages.owner_of(e.node).is_none())
        .map(|e| e.node)
}

/// The OS packages whose files the ELF files at `nodes` load.
fn loaded_packages<'a>(
    image: &Image,
    linkage: &Linkage,
    packages: &'a OsPackages,
    nodes: impl Iterator<Item = NodeId>,
) -> HashSet<&'a str> {
    let mut out = HashSet::new();
    for node in nodes {
        let Some(elf) = linkage.by_node(node) else {
            continue;
        };
        for (_, r) in &elf.needed {
            if let Resolution::Found(path) = r {
                if let Some(p) = resolve(image, path).and_then(|n| packages.owner_of(n)) {
                    out.insert(p.name.as_str());
                }
            }
        }
    }
    out
}

fn slim_diff(
    image: &Image,
    linkage: &Linkage,
    python: &Python,
    packages: &OsPackages,
    n: usize,
) -> Option<SlimDiff> {
    if n == 0 {
        return None;
    }
    let all = &packages.packages;
    let index: HashMap<&str, usize> = all
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    // What a slim base has: every installation's packages (and apt), the few the official
    // slim images add (certificates, netbase, time zones), and what its Python loads, the
    // interpreter and its standard library's extension modules in `lib-dynload`.
    let mut roots: HashSet<&str> = all
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.as_str())
        .collect();
    roots.extend(["apt", "ca-certificates", "netbase", "tzdata"]);
    let interpreter_files = python.interpreters.iter().flat_map(|i| {
        let (dir, _) = split_last(&i.path);
        let prefix = split_last(dir).0.to_vec();
        let lib_dynload = [
            &prefix[..],
            b"/lib/python",
            i.version.to_string().as_bytes(),
            b"/lib-dynload",
        ]
        .concat();
        let mut nodes = vec![i.node];
        if let Some(d) = image.tree.lookup(&lib_dynload) {
            nodes.extend(image.tree.node(d).children.values().copied());
        }
        nodes
    });
    roots.extend(loaded_packages(image, linkage, packages, interpreter_files));
    // The packages the app's own steps installed, with what they depend on.
    roots.extend(all.iter().filter(|p| p.layer >= n).map(|p| p.name.as_str()));
    let slim_without_app = closure(all, &index, &roots);
    let mut to_install: Vec<String> =
        loaded_packages(image, linkage, packages, app_elves(linkage, packages, n))
            .into_iter()
            .filter(|name| !slim_without_app.contains(&index[name]))
            .map(str::to_string)
            .collect();
    to_install.sort();
    roots.extend(to_install.iter().map(String::as_str));
    let keep = closure(all, &index, &roots);
    let mut diff = SlimDiff {
        to_install,
        ..SlimDiff::default()
    };
    for (i, p) in all.iter().enumerate() {
        if p.layer < n && !keep.contains(&i) {
            diff.removable.push(i);
            diff.bytes += p.bytes;
            if p.toolchain {
                diff.toolchain_bytes += p.bytes;
            } else if p.name.ends_with("-dev") {
                diff.dev_bytes += p.bytes;
            }
        }
    }
    Some(diff)
}

/// The packages `roots` need: themselves and, transitively, what they depend on (any one
/// installed alternative is enough; all installed ones are kept).
fn closure(
    all: &[OsPackage],
    index: &HashMap<&str, usize>,
    roots: &HashSet<&str>,
) -> HashSet<usize> {
    let mut providers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in all.iter().enumerate() {
        providers.entry(p.name.as_str()).or_default().push(i);
        for v in p.provides() {
            providers.entry(v).or_default().push(i);
        }
    }
    let mut keep: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = roots.iter().filter_map(|r| index.get(r).copied()).collect();
    while let Some(i) = stack.pop() {
        if !keep.insert(i) {
            continue;
        }
        for group in all[i].depends() {
            for alt in group {
                stack.extend(providers.get(alt.as_str()).into_iter().flatten().copied());
            }
        }
    }
    keep
}

/// Distributions whose extension modules were compiled in an image: a WHEEL tag with a bare
/// platform (`linux_x86_64`, what pip gives a wheel it built from an sdist), or extension
/// modules and no wheel tag at all (`setup.py install`, an egg).
pub fn built_from_source(d: &Distribution) -> bool {
    if d.extensions.is_empty() {
        return false;
    }
    if d.wheel_tags.is_empty() {
        return true;
    }
    d.wheel_tags.iter().all(|t| {
        let platform = t.rsplit('-').next().unwrap_or("");
        platform.split('.').all(|p| p.starts_with("linux_"))
    })
}
