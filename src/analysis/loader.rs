//! The dynamic loader, emulated over the image: where `ld.so` (glibc's or musl's) would find
//! each library an ELF file needs. Built once per image from what the loader itself reads
//! (`ld.so.conf` and its includes, musl's `/etc/ld-musl-<arch>.path`, `LD_LIBRARY_PATH` from
//! the image config, the default directories); then asked per file and name. The linkage
//! analysis (`linkage.rs`) asks it for every NEEDED name.
//!
//! What differs between the two loaders, and is emulated here:
//! - glibc searches DT_RPATH (only when the file has no DT_RUNPATH), `LD_LIBRARY_PATH`,
//!   DT_RUNPATH, the `ld.so.conf` directories, then the defaults; it expands `$ORIGIN`, `$LIB`
//!   and `$PLATFORM`.
//! - musl searches `LD_LIBRARY_PATH`, then DT_RUNPATH or else DT_RPATH, then its path file
//!   (or `/lib:/usr/local/lib:/usr/lib`); it expands only `$ORIGIN`, and answers `libc`,
//!   `libm`, `libpthread`, `libdl`, `librt`, `libutil` and `libxnet` (any version) itself.
//!
//! Lookups are cached per (directory, name), and each search directory is walked once, so a
//! symlink with thousands of `..` costs once, not once per file and name. `include` lines are
//! bounded in depth and count, each file read once.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::linkage::{ImageLibc, LibcFamily, Resolution};
use super::resolve::{glob_match, join, resolve, resolve_from};
use crate::layer::elf::ElfInfo;
use crate::layer::path::{normalize, split_last};
use crate::model::{ARCHES, Arch, Image, NodeId};

/// `include` nesting in `ld.so.conf` followed at most.
const MAX_INCLUDE_DEPTH: usize = 8;
/// Configuration files read at most, in all.
const MAX_CONF_FILES: usize = 256;
/// Search directories kept at most from the configuration.
const MAX_CONF_DIRS: usize = 4096;

/// Which loader's rules apply to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Glibc,
    Musl,
}

/// The image's loader, ready to answer lookups.
pub struct Loader<'a> {
    image: &'a Image,
    pub arch: &'static Arch,
    /// The image's C library family (whose loader a library without an interpreter meets).
    family: Option<LibcFamily>,
    /// musl's loader, wherever the image has one (a glibc image may have musl installed too).
    musl_loader: Option<Vec<u8>>,
    /// `LD_LIBRARY_PATH` from the image config.
    env_dirs: Vec<String>,
    /// glibc's directories after RUNPATH: `ld.so.conf`'s, then the defaults.
    glibc_dirs: Vec<String>,
    /// musl's directories after RPATH/RUNPATH: its path file's, or the defaults.
    musl_dirs: Vec<String>,
    /// What the emulation could not do in full (a bound reached), for the report.
    pub notes: Vec<String>,
    dirs: RefCell<HashMap<String, Option<NodeId>>>,
    found: RefCell<HashMap<(NodeId, String), Option<NodeId>>>,
}

impl<'a> Loader<'a> {
    pub fn new(image: &'a Image, libc: &ImageLibc) -> Loader<'a> {
        // An image of an architecture pydive does not know is searched like amd64's (its
        // loader names and triplet are the likeliest).
        let arch = image.arch().unwrap_or(&ARCHES[0]);
        let musl_loader = arch.musl_loader().into_bytes();
        let musl_loader = resolve(image, &musl_loader)
            .is_some()
            .then_some(musl_loader);
        let env_dirs = image
            .env_var("LD_LIBRARY_PATH")
            .map(|v| split_dirs(v, &[':']))
            .unwrap_or_default();
        let mut notes = Vec::new();
        let mut conf = Conf::default();
        conf.read(image, b"etc/ld.so.conf", 0);
        notes.extend(conf.notes);
        let trip = arch.triplet;
        let mut glibc_dirs = conf.dirs;
        glibc_dirs.extend([
            format!("/lib/{trip}"),
            format!("/usr/lib/{trip}"),
            "/lib64".into(),
            "/usr/lib64".into(),
            "/lib".into(),
            "/usr/lib".into(),
            "/usr/local/lib".into(),
        ]);
        let musl_path = format!("etc/ld-musl-{}.path", arch.musl);
        let musl_dirs = match text(image, musl_path.as_bytes()) {
            Some(t) => split_dirs(&t, &[':', '\n', ' ', '\t', '\r']),
            None => vec!["/lib".into(), "/usr/local/lib".into(), "/usr/lib".into()],
        };
        Loader {
            image,
            arch,
            family: libc.family,
            musl_loader,
            env_dirs,
            glibc_dirs,
            musl_dirs,
            notes,
            dirs: RefCell::default(),
            found: RefCell::default(),
        }
    }

    /// The path of musl's loader, when the image has one.
    pub fn musl_loader(&self) -> Option<&[u8]> {
        self.musl_loader.as_deref()
    }

    /// Whose loader loads a file: the one its PT_INTERP names; for a library, the image's.
    pub fn flavour(&self, info: &ElfInfo) -> Flavour {
        match info
            .interpreter
            .as_deref()
            .map(|i| split_last(i.as_bytes()).1)
        {
            Some(name) if name.starts_with(b"ld-musl-") => Flavour::Musl,
            Some(_) => Flavour::Glibc,
            None if self.family == Some(LibcFamily::Musl) => Flavour::Musl,
            None => Flavour::Glibc,
        }
    }

    /// The directories searched for a file's NEEDED names without a slash, in order.
    pub fn search_path(&self, info: &ElfInfo, path: &[u8]) -> Vec<String> {
        let origin = origin(path);
        let flavour = self.flavour(info);
        let mut search: Vec<String> = Vec::new();
        match flavour {
            Flavour::Glibc => {
                if info.runpath.is_empty() {
                    search.extend(info.rpath.iter().flat_map(|p| self.expand(p, &origin)));
                }
                search.extend(self.env_dirs.iter().cloned());
                search.extend(info.runpath.iter().flat_map(|p| self.expand(p, &origin)));
                search.extend(self.glibc_dirs.iter().cloned());
            }
            Flavour::Musl => {
                search.extend(self.env_dirs.iter().cloned());
                let own = if info.runpath.is_empty() {
                    &info.rpath
                } else {
                    &info.runpath
                };
                search.extend(own.iter().filter_map(|p| musl_expand(p, &origin)));
                search.extend(self.musl_dirs.iter().cloned());
            }
        }
        search
    }

    /// How the loader finds every NEEDED name of the file at `path`, in order.
    pub fn resolve_needed(&self, info: &ElfInfo, path: &[u8]) -> Vec<(String, Resolution)> {
        self.load(info, path)
            .into_iter()
            .map(|(name, r, _)| (name, r))
            .collect()
    }

    /// [`Loader::resolve_needed`], with the node each found library is.
    pub fn load(&self, info: &ElfInfo, path: &[u8]) -> Vec<(String, Resolution, Option<NodeId>)> {
        let search = self.search_path(info, path);
        let flavour = self.flavour(info);
        info.needed
            .iter()
            .map(|name| {
                let (r, node) = self.find(info, path, name, flavour, &search);
                (name.clone(), r, node)
            })
            .collect()
    }

    /// One NEEDED name of the file at `path`, given its search path.
    fn find(
        &self,
        info: &ElfInfo,
        path: &[u8],
        name: &str,
        flavour: Flavour,
        search: &[String],
    ) -> (Resolution, Option<NodeId>) {
        if flavour == Flavour::Musl && musl_builtin(name) {
            if let Some(loader) = &self.musl_loader {
                return (
                    Resolution::Found(loader.clone()),
                    resolve(self.image, loader),
                );
            }
        }
        let origin = origin(path);
        let found = if name.contains('/') {
            // Relative to the working directory for the real loader; the file's own directory
            // is the likeliest.
            let p = if name.starts_with('/') {
                name.to_string()
            } else {
                format!("{origin}/{name}")
            };
            resolve(self.image, p.as_bytes()).map(|n| (Resolution::Found(p.into_bytes()), n))
        } else {
            search.iter().find_map(|dir| {
                let node = self.lookup(dir, name)?;
                // The loader skips a library built for another class or machine.
                match elf_at(self.image, node) {
                    Some(lib) if lib.class != info.class || lib.machine != info.machine => None,
                    _ => Some((found_at(dir, name), node)),
                }
            })
        };
        // Libraries vendored side by side (auditwheel's `<name>.libs/`, torch's `lib/`) often
        // name each other without a search path: whoever loads them has loaded the sibling
        // already, and the loader matches a NEEDED name against the libraries it has loaded
        // before it searches. A library with no interpreter is only ever loaded that way, so
        // a sibling of that name counts as found.
        let sibling = || {
            if info.interpreter.is_some() || name.contains('/') {
                return None;
            }
            let node = self.lookup(&origin, name)?;
            Some((found_at(&origin, name), node))
        };
        match found.or_else(sibling) {
            Some((r, node)) => (r, Some(node)),
            None if injected_at_run_time(name) => (Resolution::Injected, None),
            None => (Resolution::Missing, None),
        }
    }

    /// What `dir/name` is in the image, each directory walked once and each name looked up
    /// once per directory.
    fn lookup(&self, dir: &str, name: &str) -> Option<NodeId> {
        let dir_node = *self
            .dirs
            .borrow_mut()
            .entry(dir.to_string())
            .or_insert_with(|| resolve(self.image, dir.as_bytes()));
        let dir_node = dir_node?;
        let key = (dir_node, name.to_string());
        if let Some(&hit) = self.found.borrow().get(&key) {
            return hit;
        }
        let hit = resolve_from(self.image, dir_node, name.as_bytes());
        self.found.borrow_mut().insert(key, hit);
        hit
    }

    /// glibc's expansion of a RPATH/RUNPATH entry: `$ORIGIN`, `$PLATFORM`, and `$LIB`, which
    /// stands for the multiarch, lib64 or lib directory (each is tried).
    fn expand(&self, p: &str, origin: &str) -> Vec<String> {
        let p = p.replace("$ORIGIN", origin).replace("${ORIGIN}", origin);
        let platform = self.arch.platform;
        let p = p
            .replace("$PLATFORM", platform)
            .replace("${PLATFORM}", platform);
        if p.contains("$LIB") || p.contains("${LIB}") {
            [
                format!("lib/{}", self.arch.triplet),
                "lib64".into(),
                "lib".into(),
            ]
            .iter()
            .map(|l| p.replace("${LIB}", l).replace("$LIB", l))
            .collect()
        } else {
            vec![p]
        }
    }
}

/// musl expands only `$ORIGIN`; an entry with any other `$` is not searched.
fn musl_expand(p: &str, origin: &str) -> Option<String> {
    let p = p.replace("${ORIGIN}", origin).replace("$ORIGIN", origin);
    (!p.contains('$')).then_some(p)
}

/// The file's directory, absolute: what `$ORIGIN` stands for.
fn origin(path: &[u8]) -> String {
    format!("/{}", String::from_utf8_lossy(split_last(path).0))
}

fn found_at(dir: &str, name: &str) -> Resolution {
    let candidate = join(dir, name);
    Resolution::Found(normalize(&candidate).map_or(candidate, Vec::from))
}

fn split_dirs(s: &str, separators: &[char]) -> Vec<String> {
    s.split(separators)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// musl's loader is also its libc, libm, libpthread and the rest: it answers those names
/// itself (`lib` + c, pthread, rt, m, dl, util or xnet + `.`), whatever follows, so
/// `libc.so.6` and `libm.so.6` of a glibc-built file are musl too.
pub fn musl_builtin(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("lib") else {
        return false;
    };
    ["c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet."]
        .iter()
        .any(|r| rest.starts_with(r))
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

pub(super) fn text(image: &Image, path: &[u8]) -> Option<String> {
    let node = resolve(image, path)?;
    let content = image.file_entry(node)?.content.as_deref()?;
    Some(String::from_utf8_lossy(content).into_owned())
}

pub(super) fn elf_at(image: &Image, node: NodeId) -> Option<&ElfInfo> {
    image.file_entry(node)?.elf.as_deref()
}

/// The directories `ld.so.conf` lists, following its `include` globs: each file read once
/// (an include cycle ends there), each pattern expanded once, nesting and counts bounded.
#[derive(Default)]
struct Conf {
    dirs: Vec<String>,
    seen_dirs: HashSet<String>,
    read: HashSet<NodeId>,
    patterns: HashSet<String>,
    notes: Vec<String>,
}

impl Conf {
    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    fn read(&mut self, image: &Image, path: &[u8], depth: usize) {
        if depth > MAX_INCLUDE_DEPTH {
            self.note(format!(
                "ld.so.conf: includes nested deeper than {MAX_INCLUDE_DEPTH} were not followed; library lookups may be incomplete"
            ));
            return;
        }
        let Some(node) = resolve(image, path) else {
            return;
        };
        if !self.read.insert(node) {
            return; // read already: a cycle, or two patterns naming one file
        }
        if self.read.len() > MAX_CONF_FILES {
            self.note(format!(
                "ld.so.conf: more than {MAX_CONF_FILES} files included; the rest were not read and library lookups may be incomplete"
            ));
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
                if !self.patterns.insert(pattern.clone()) {
                    continue;
                }
                for m in matches(image, &pattern) {
                    self.read(image, &m, depth + 1);
                }
            } else if !line.is_empty() {
                for dir in line.split([':', ',', ' ', '\t']).filter(|d| !d.is_empty()) {
                    if self.dirs.len() >= MAX_CONF_DIRS {
                        self.note(format!(
                            "ld.so.conf: more than {MAX_CONF_DIRS} directories; the rest were not searched and library lookups may be incomplete"
                        ));
                        return;
                    }
                    if self.seen_dirs.insert(dir.to_string()) {
                        self.dirs.push(dir.to_string());
                    }
                }
            }
        }
    }
}

/// The files a glob in an `include` line names, in name order.
fn matches(image: &Image, pattern: &str) -> Vec<Vec<u8>> {
    let (dir, name) = split_last(pattern.as_bytes());
    let Some(dir_node) = resolve(image, dir) else {
        return Vec::new();
    };
    image
        .tree
        .node(dir_node)
        .children
        .iter()
        .filter(|(n, id)| glob_match(name, n) && image.tree.node(**id).exists())
        .map(|(n, _)| [dir, b"/", n].concat())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn musl_answers_its_own_names_whatever_the_version() {
        for name in [
            "libc.so",
            "libc.so.6",
            "libm.so.6",
            "libpthread.so.0",
            "libdl.so.2",
            "librt.so.1",
            "libutil.so.1",
            "libxnet.so.1",
            "libc.musl-x86_64.so.1",
        ] {
            assert!(musl_builtin(name), "{name}");
        }
        for name in [
            "libcrypt.so.1",
            "libgcc_s.so.1",
            "libz.so.1",
            "ld-linux-x86-64.so.2",
        ] {
            assert!(!musl_builtin(name), "{name}");
        }
    }

    #[test]
    fn musl_expands_origin_only() {
        assert_eq!(
            musl_expand("$ORIGIN/../lib", "/app/x"),
            Some("/app/x/../lib".into())
        );
        assert_eq!(
            musl_expand("${ORIGIN}/lib", "/app"),
            Some("/app/lib".into())
        );
        assert_eq!(musl_expand("/opt/$LIB", "/app"), None);
    }
}
