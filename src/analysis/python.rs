//! Python: the interpreters in the image, its site-packages and dist-packages directories
//! (system, venvs, `--target` dirs), and every installed distribution from its `*.dist-info`
//! (METADATA, RECORD, INSTALLER, WHEEL) or `*.egg-info`: size, files, the layer that installed
//! it, its extension modules and the C libraries it vendors.

use std::collections::{BTreeMap, HashMap};

use super::linkage::{LibcFamily, Linkage, Version};
use super::resolve::resolve;
use crate::layer::EntryKind;
use crate::layer::path::{normalize, split_last};
use crate::model::{Image, NodeId};

#[derive(Clone, Debug)]
pub struct Interpreter {
    pub node: NodeId,
    pub path: Vec<u8>,
    /// `3.12`
    pub version: Version,
    pub libc: LibcFamily,
    /// A free-threaded build (`python3.13t`).
    pub free_threaded: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Distribution {
    pub name: String,
    pub version: String,
    /// The site-packages (or dist-packages, or `--target`) directory it is installed in.
    pub location: Vec<u8>,
    /// Its `.dist-info` or `.egg-info`.
    pub metadata: Vec<u8>,
    pub installer: Option<String>,
    /// `Tag:` lines of its WHEEL file.
    pub wheel_tags: Vec<String>,
    pub size_bytes: u64,
    pub files: u64,
    pub layer: usize,
    /// Its files (that exist), largest first.
    pub nodes: Vec<NodeId>,
    /// Its extension modules.
    pub extensions: Vec<NodeId>,
    /// Libraries vendored by auditwheel or delocate (`<name>.libs/`).
    pub vendored: Vec<NodeId>,
    /// The distribution whose files include this one's metadata: a copy vendored inside
    /// another package (setuptools' `_vendor/packaging-*.dist-info`), not installed itself.
    pub vendored_by: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Python {
    pub interpreters: Vec<Interpreter>,
    pub site_dirs: Vec<Vec<u8>>,
    pub distributions: Vec<Distribution>,
    /// Which distribution each file belongs to (index into `distributions`).
    pub owner: HashMap<NodeId, usize>,
}

impl Python {
    pub fn owner_of(&self, node: NodeId) -> Option<&Distribution> {
        self.owner.get(&node).map(|&i| &self.distributions[i])
    }
}

/// The files whose contents the Python analysis reads.
/// Their size is bounded by the walk's `file-content` limit, which says what it skips.
pub fn wants_content(path: &[u8], _size: u64) -> bool {
    let (dir, name) = split_last(path);
    let (_, dir_name) = split_last(dir);
    (dir_name.ends_with(b".dist-info")
        && matches!(name, b"METADATA" | b"RECORD" | b"WHEEL" | b"INSTALLER"))
        || (dir_name.ends_with(b".egg-info")
            && matches!(name, b"PKG-INFO" | b"installed-files.txt"))
        || (name.ends_with(b".egg-info")
            && (dir.ends_with(b"site-packages") || dir.ends_with(b"dist-packages")))
}

/// The email-style metadata files of which only the headers are read (`Name`, `Version`): a
/// wheel's METADATA, an egg's PKG-INFO or single-file egg-info. Their bodies (the long
/// description) can be megabytes.
pub fn wants_headers(path: &[u8]) -> bool {
    let (dir, name) = split_last(path);
    let (_, dir_name) = split_last(dir);
    (dir_name.ends_with(b".dist-info") && name == b"METADATA")
        || (dir_name.ends_with(b".egg-info") && name == b"PKG-INFO")
        || (name.ends_with(b".egg-info")
            && (dir.ends_with(b"site-packages") || dir.ends_with(b"dist-packages")))
}

/// An extension module's ABI tag: `cpython-312-x86_64-linux-gnu`, `abi3`, or none.
pub fn extension_tag(name: &[u8]) -> Option<String> {
    let stem = name.strip_suffix(b".so")?;
    let tag = &stem[stem.iter().rposition(|&b| b == b'.')? + 1..];
    let tag = std::str::from_utf8(tag).ok()?;
    (tag == "abi3" || tag.starts_with("cpython-") || tag.starts_with("pypy"))
        .then(|| tag.to_string())
}

/// Whether an interpreter imports a module with this tag. Tags of other implementations
/// (PyPy) are not judged.
pub fn interpreter_loads(interpreter: &Interpreter, tag: &str, machine_arch: &str) -> bool {
    if tag == "abi3" || tag.starts_with("pypy") {
        return true;
    }
    let Some(rest) = tag.strip_prefix("cpython-") else {
        return true;
    };
    let mut parts = rest.splitn(2, '-');
    let abi = parts.next().unwrap_or("");
    let platform = parts.next().unwrap_or("");
    let want = format!(
        "{}{}{}",
        interpreter.version.0.first().unwrap_or(&0),
        interpreter.version.0.get(1).unwrap_or(&0),
        if interpreter.free_threaded { "t" } else { "" }
    );
    let libc_ok = match interpreter.libc {
        LibcFamily::Musl => platform.contains("-linux-musl"),
        LibcFamily::Glibc => platform.contains("-linux-gnu"),
        _ => true,
    };
    abi == want && libc_ok && (platform.is_empty() || platform.starts_with(machine_arch))
}

/// The interpreters that would import an extension module of this file name: those its tag
/// fits, every one for an `abi3` or untagged module.
pub fn importers(interpreters: &[Interpreter], name: &[u8], machine_arch: &str) -> Vec<NodeId> {
    let tag = extension_tag(name).unwrap_or_default();
    interpreters
        .iter()
        .filter(|i| interpreter_loads(i, &tag, machine_arch))
        .map(|i| i.node)
        .collect()
}

fn interpreters(image: &Image, linkage: &Linkage) -> Vec<Interpreter> {
    let mut found: BTreeMap<NodeId, Interpreter> = BTreeMap::new();
    for id in image.tree.ids() {
        let node = image.tree.node(id);
        let Some(rest) = node.name.strip_prefix(b"python") else {
            continue;
        };
        let (digits, free_threaded) = match rest.strip_suffix(b"t") {
            Some(d) => (d, true),
            None => (rest, false),
        };
        let Some(version) = std::str::from_utf8(digits).ok().and_then(Version::parse) else {
            continue;
        };
        if version.0.len() != 2 || !node.exists() {
            continue;
        }
        let path = image.tree.path(id);
        let (dir, _) = split_last(&path);
        if !dir.ends_with(b"bin") {
            continue;
        }
        let Some(real) = resolve(image, &path) else {
            continue;
        };
        let Some(elf) = linkage.by_node(real) else {
            continue;
        };
        found.entry(real).or_insert(Interpreter {
            node: real,
            path: image.tree.path(real),
            version,
            libc: elf.libc,
            free_threaded,
        });
    }
    found.into_values().collect()
}

/// `Key: value` headers of an email-style metadata file.
fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

fn content(image: &Image, node: NodeId) -> Option<String> {
    let bytes = image.file_entry(node)?.content.as_deref()?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// The first field of a RECORD line, a CSV row whose path may be quoted.
fn record_path(line: &str) -> Option<String> {
    let line = line.trim_end_matches('\r');
    if let Some(rest) = line.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    out.push('"');
                    chars.next();
                }
                '"' => return Some(out),
                c => out.push(c),
            }
        }
        None
    } else {
        line.split(',')
            .next()
            .filter(|p| !p.is_empty())
            .map(str::to_string)
    }
}

fn normalize_name(name: &str) -> String {
    name.to_lowercase().replace(['-', '.'], "_")
}

pub fn compute(image: &Image, linkage: &Linkage) -> Python {
    let mut python = Python {
        interpreters: interpreters(image, linkage),
        ..Python::default()
    };
    for id in image.tree.ids() {
        let node = image.tree.node(id);
        if (&*node.name == b"site-packages" || &*node.name == b"dist-packages") && node.exists() {
            python.site_dirs.push(image.tree.path(id));
        }
    }

    let mut metadata_dirs: Vec<(NodeId, Vec<u8>)> = Vec::new();
    for id in image.tree.ids() {
        let node = image.tree.node(id);
        if !node.exists()
            || !(node.name.ends_with(b".dist-info") || node.name.ends_with(b".egg-info"))
        {
            continue;
        }
        let path = image.tree.path(id);
        let (location, _) = split_last(&path);
        let location = location.to_vec();
        metadata_dirs.push((id, location));
    }

    for (meta_id, location) in metadata_dirs {
        let meta_node = image.tree.node(meta_id);
        let is_dist_info = meta_node.name.ends_with(b".dist-info");
        let child = |name: &[u8]| {
            meta_node
                .children
                .get(name)
                .copied()
                .filter(|c| image.tree.node(*c).exists())
        };
        // An egg-info may be a single file holding PKG-INFO.
        let (meta_file, meta_text) = if is_dist_info {
            let Some(f) = child(b"METADATA") else {
                continue;
            };
            (f, content(image, f))
        } else if let Some(f) = child(b"PKG-INFO") {
            (f, content(image, f))
        } else if image
            .final_entry(meta_id)
            .is_some_and(|e| e.kind == EntryKind::File)
        {
            (meta_id, content(image, meta_id))
        } else {
            continue;
        };
        let meta_text = meta_text.unwrap_or_default();
        let stem = String::from_utf8_lossy(&meta_node.name).into_owned();
        let stem = stem
            .trim_end_matches(".dist-info")
            .trim_end_matches(".egg-info");
        let (fallback_name, fallback_version) = stem.split_once('-').unwrap_or((stem, ""));
        let mut dist = Distribution {
            name: header(&meta_text, "Name")
                .unwrap_or(fallback_name)
                .to_string(),
            version: header(&meta_text, "Version")
                .unwrap_or(fallback_version)
                .to_string(),
            location: location.clone(),
            metadata: image.tree.path(meta_id),
            layer: image.tree.node(meta_file).last_layer(),
            installer: child(b"INSTALLER")
                .and_then(|f| content(image, f))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            wheel_tags: child(b"WHEEL")
                .and_then(|f| content(image, f))
                .map(|t| {
                    t.lines()
                        .filter_map(|l| header(l, "Tag"))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            ..Distribution::default()
        };

        // Its files: from RECORD, from installed-files.txt, or else the metadata directory and
        // the top-level package named like the distribution.
        let listed: Option<Vec<Vec<u8>>> = if is_dist_info {
            child(b"RECORD").and_then(|f| content(image, f)).map(|t| {
                t.lines()
                    .filter_map(record_path)
                    .filter_map(|p| normalize(&[&location[..], b"/", p.as_bytes()].concat()))
                    .map(Vec::from)
                    .collect()
            })
        } else {
            child(b"installed-files.txt")
                .and_then(|f| content(image, f))
                .map(|t| {
                    let base = image.tree.path(meta_id);
                    t.lines()
                        .filter(|l| !l.trim().is_empty())
                        .filter_map(|p| normalize(&[&base[..], b"/", p.trim().as_bytes()].concat()))
                        .map(Vec::from)
                        .collect()
                })
        };
        let mut nodes: Vec<NodeId> = match listed {
            Some(paths) => paths.iter().filter_map(|p| image.tree.lookup(p)).collect(),
            None => {
                let mut roots = vec![meta_id];
                let wanted = normalize_name(&dist.name);
                if let Some(loc) = image.tree.lookup(&location) {
                    for (name, &c) in &image.tree.node(loc).children {
                        let n = String::from_utf8_lossy(name);
                        let n = n.trim_end_matches(".py");
                        if normalize_name(n) == wanted {
                            roots.push(c);
                        }
                    }
                }
                let mut all = Vec::new();
                while let Some(at) = roots.pop() {
                    all.push(at);
                    roots.extend(image.tree.node(at).children.values());
                }
                all
            }
        };
        nodes.retain(|&n| {
            image.tree.node(n).exists()
                && image
                    .final_entry(n)
                    .is_some_and(|e| e.kind != EntryKind::Dir)
        });
        nodes.sort_unstable();
        nodes.dedup();
        let size = |n: NodeId| image.held_bytes(n);
        nodes.sort_by(|a, b| size(*b).cmp(&size(*a)).then(a.cmp(b)));
        for &n in &nodes {
            dist.size_bytes = dist.size_bytes.saturating_add(size(n));
            dist.files += 1;
            let name = &image.tree.node(n).name;
            if linkage.by_node(n).is_some() {
                let path = image.tree.path(n);
                let rel = &path[location.len().min(path.len())..];
                let first = rel
                    .split(|&b| b == b'/')
                    .find(|c| !c.is_empty())
                    .unwrap_or_default();
                if first.ends_with(b".libs") {
                    dist.vendored.push(n);
                } else if name.ends_with(b".so") || name.windows(4).any(|w| w == b".so.") {
                    dist.extensions.push(n);
                }
            }
        }
        dist.nodes = nodes;
        python.distributions.push(dist);
    }
    mark_vendored(image, &mut python.distributions);
    python
        .distributions
        .sort_by(|a, b| b.size_bytes.cmp(&a.size_bytes).then(a.name.cmp(&b.name)));
    // A file two distributions list belongs to the installed one rather than to a copy it
    // vendors; between two installed ones, to the smaller.
    let (vendored, installed): (Vec<_>, Vec<_>) = python
        .distributions
        .iter()
        .enumerate()
        .partition(|(_, d)| d.vendored_by.is_some());
    python.owner = vendored
        .into_iter()
        .chain(installed)
        .flat_map(|(i, d)| d.nodes.iter().map(move |&n| (n, i)))
        .collect();
    python
}

/// Marks each distribution whose metadata another distribution lists among its files (in its
/// RECORD) as vendored by that one.
fn mark_vendored(image: &Image, distributions: &mut [Distribution]) {
    let metadata: HashMap<NodeId, usize> = distributions
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((image.tree.lookup(&d.metadata)?, i)))
        .collect();
    let mut vendored_by = vec![None; distributions.len()];
    for (j, d) in distributions.iter().enumerate() {
        for &n in &d.nodes {
            if let Some(&i) = metadata.get(&image.tree.node(n).parent) {
                if i != j && vendored_by[i].is_none() {
                    vendored_by[i] = Some(d.name.clone());
                }
            }
        }
    }
    for (d, by) in distributions.iter_mut().zip(vendored_by) {
        d.vendored_by = by;
    }
}

/// Whether a wheel platform tag (`manylinux_2_17_x86_64`, `musllinux_1_1_aarch64`,
/// `linux_x86_64`, `any`) can be satisfied by an image's libc and architecture.
pub fn platform_fits(
    platform: &str,
    arch: &str,
    family: Option<LibcFamily>,
    version: Option<&Version>,
) -> bool {
    if platform == "any" {
        return true;
    }
    let legacy = [
        ("manylinux1_", "2.5"),
        ("manylinux2010_", "2.12"),
        ("manylinux2014_", "2.17"),
    ];
    for (prefix, glibc) in legacy {
        if let Some(tag_arch) = platform.strip_prefix(prefix) {
            return tag_arch == arch && glibc_fits(family, version, glibc);
        }
    }
    let versioned = |rest: &str| -> Option<(String, String)> {
        let mut parts = rest.splitn(3, '_');
        let major = parts.next()?;
        let minor = parts.next()?;
        let tag_arch = parts.next()?;
        Some((format!("{major}.{minor}"), tag_arch.to_string()))
    };
    if let Some(rest) = platform.strip_prefix("manylinux_") {
        return versioned(rest).is_some_and(|(v, a)| a == arch && glibc_fits(family, version, &v));
    }
    if let Some(rest) = platform.strip_prefix("musllinux_") {
        return versioned(rest).is_some_and(|(v, a)| {
            a == arch
                && family == Some(LibcFamily::Musl)
                && version.is_none_or(|have| Version::parse(&v).is_none_or(|need| *have >= need))
        });
    }
    if let Some(tag_arch) = platform.strip_prefix("linux_") {
        return tag_arch == arch;
    }
    true // other platforms' tags are not judged
}

fn glibc_fits(family: Option<LibcFamily>, version: Option<&Version>, need: &str) -> bool {
    family == Some(LibcFamily::Glibc)
        && version.is_none_or(|have| Version::parse(need).is_none_or(|need| *have >= need))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_tags() {
        assert_eq!(
            extension_tag(b"_core.cpython-312-x86_64-linux-gnu.so").as_deref(),
            Some("cpython-312-x86_64-linux-gnu")
        );
        assert_eq!(extension_tag(b"_speedups.abi3.so").as_deref(), Some("abi3"));
        assert_eq!(extension_tag(b"libfoo.so"), None);
        assert_eq!(extension_tag(b"libfoo.so.1"), None);
    }

    #[test]
    fn wheel_platforms() {
        let glibc = Some(LibcFamily::Glibc);
        let musl = Some(LibcFamily::Musl);
        let v236 = Version::parse("2.36").unwrap();
        assert!(platform_fits(
            "manylinux_2_17_x86_64",
            "x86_64",
            glibc,
            Some(&v236)
        ));
        assert!(platform_fits(
            "manylinux2014_x86_64",
            "x86_64",
            glibc,
            Some(&v236)
        ));
        assert!(!platform_fits(
            "manylinux_2_38_x86_64",
            "x86_64",
            glibc,
            Some(&v236)
        ));
        assert!(!platform_fits(
            "manylinux_2_17_aarch64",
            "x86_64",
            glibc,
            Some(&v236)
        ));
        assert!(!platform_fits(
            "musllinux_1_1_x86_64",
            "x86_64",
            glibc,
            Some(&v236)
        ));
        assert!(platform_fits(
            "musllinux_1_1_x86_64",
            "x86_64",
            musl,
            Version::parse("1.2.4").as_ref()
        ));
        assert!(!platform_fits("manylinux2014_x86_64", "x86_64", musl, None));
        assert!(platform_fits("any", "x86_64", musl, None));
        assert!(platform_fits("linux_x86_64", "x86_64", glibc, None));
    }

    #[test]
    fn record_lines() {
        assert_eq!(
            record_path("numpy/__init__.py,sha256=abc,1234").as_deref(),
            Some("numpy/__init__.py")
        );
        assert_eq!(
            record_path("\"odd,name.py\",sha256=x,1").as_deref(),
            Some("odd,name.py")
        );
        assert_eq!(
            record_path("../../../bin/f2py,,").as_deref(),
            Some("../../../bin/f2py")
        );
    }
}
