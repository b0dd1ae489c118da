//! Byte categories: each a path rule, written once here (and listed in the README). A file can
//! be in several categories. Rules look only at the path, relative to `/`.

use crate::model::Arch;

/// A category of bytes users care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    PipCache,
    UvCache,
    PoetryCache,
    Compilers,
    Headers,
    AptCache,
    Pycache,
    Wheels,
    StaticLibs,
    Tests,
    Docs,
    /// Bytes of `.debug_*`, `.symtab` and `.strtab` in ELF files: what `strip` would save.
    DebugInfo,
}

impl Category {
    pub const ALL: [Category; 12] = [
        Category::PipCache,
        Category::UvCache,
        Category::PoetryCache,
        Category::Compilers,
        Category::Headers,
        Category::AptCache,
        Category::Pycache,
        Category::Wheels,
        Category::StaticLibs,
        Category::Tests,
        Category::Docs,
        Category::DebugInfo,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Category::PipCache => "pip-cache",
            Category::UvCache => "uv-cache",
            Category::PoetryCache => "poetry-cache",
            Category::Compilers => "compilers",
            Category::Headers => "headers",
            Category::AptCache => "apt-cache",
            Category::Pycache => "pycache",
            Category::Wheels => "wheels",
            Category::StaticLibs => "static-libs",
            Category::Tests => "tests",
            Category::Docs => "docs",
            Category::DebugInfo => "debug-info",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of categories, as bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CategorySet(u16);

impl CategorySet {
    pub fn contains(self, c: Category) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn insert(&mut self, c: Category) {
        self.0 |= c.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// The one category a whole file is shown in where pictures must add up: the first of
    /// `Category::ALL` it is in, debug info aside (those are bytes inside an ELF file, never
    /// a whole file).
    pub fn primary(self) -> Option<Category> {
        self.iter().find(|c| *c != Category::DebugInfo)
    }
}

/// Classifies paths for one image (the compilers rule depends on its architecture).
pub struct Classifier {
    triplets: Vec<&'static str>,
}

/// Compiler and binutils programs, by the name a distribution installs them under (less a
/// `<triplet>-` prefix and a `-NN` version suffix).
const TOOL_NAMES: &[&str] = &[
    "gcc",
    "g++",
    "c++",
    "cc",
    "cpp",
    "gcc-ar",
    "gcc-nm",
    "gcc-ranlib",
    "gcov",
    "gcov-dump",
    "gcov-tool",
    "lto-dump",
    "as",
    "ld",
    "ld.bfd",
    "ld.gold",
    "gold",
    "ar",
    "nm",
    "objdump",
    "objcopy",
    "strip",
    "ranlib",
    "readelf",
    "size",
    "strings",
    "addr2line",
    "c++filt",
    "gprof",
    "gprofng",
    "elfedit",
    "dwp",
    "make",
];

/// Compiler internals, wherever they are.
const COMPILER_INTERNALS: &[&str] = &[
    "cc1",
    "cc1plus",
    "collect2",
    "lto1",
    "lto-wrapper",
    "liblto_plugin.so",
];

/// Toolchain libraries in `(usr/)lib/<triplet>/`: (prefix, the rest must be).
const TOOL_LIBS: &[(&str, LibSuffix)] = &[
    ("libbfd-", LibSuffix::EndsSo),
    ("libopcodes-", LibSuffix::EndsSo),
    ("libctf.so", LibSuffix::Any),
    ("libctf-nobfd.so", LibSuffix::Any),
    ("libsframe.so", LibSuffix::Any),
    ("libgprofng.so", LibSuffix::Any),
    ("libisl.so", LibSuffix::Any),
    ("libmpc.so", LibSuffix::Any),
    ("libmpfr.so", LibSuffix::Any),
    ("libcc1.so", LibSuffix::Any),
    ("libasan.so", LibSuffix::Any),
    ("libtsan.so", LibSuffix::Any),
    ("libubsan.so", LibSuffix::Any),
    ("liblsan.so", LibSuffix::Any),
    ("libhwasan.so", LibSuffix::Any),
];

#[derive(Clone, Copy)]
enum LibSuffix {
    /// `libbfd-2.40-system.so`
    EndsSo,
    /// `libisl.so.23.2.0`
    Any,
}

const BIN_DIRS: &[&[u8]] = &[b"usr/bin", b"usr/local/bin", b"bin", b"usr/sbin"];

impl Classifier {
    pub fn new(architecture: &str, variant: Option<&str>) -> Classifier {
        let mut triplets = vec!["x86_64-linux-gnu"];
        if let Some(t) = Arch::of(architecture, variant).map(|a| a.triplet) {
            if !triplets.contains(&t) {
                triplets.push(t);
            }
        }
        Classifier { triplets }
    }

    /// The categories of a regular file (or other non-directory) at `path`.
    pub fn classify(&self, path: &[u8]) -> CategorySet {
        // The components on the stack: this runs once per file of the image.
        let mut on_stack: [&[u8]; 64] = [&[]; 64];
        let mut count = 0;
        for part in path.split(|&b| b == b'/') {
            if count == on_stack.len() {
                break;
            }
            on_stack[count] = part;
            count += 1;
        }
        let deeper: Vec<&[u8]>;
        let parts: &[&[u8]] = if count < on_stack.len() {
            &on_stack[..count]
        } else {
            deeper = path.split(|&b| b == b'/').collect();
            &deeper
        };
        let name = parts.last().copied().unwrap_or_default();
        let dirs = &parts[..parts.len().saturating_sub(1)];
        let mut set = CategorySet::default();

        let cache = |tool: &[u8]| dirs.windows(2).any(|w| w[0] == b".cache" && w[1] == tool);
        let tmp_prefixed =
            |prefix: &[u8]| dirs.len() >= 2 && dirs[0] == b"tmp" && dirs[1].starts_with(prefix);
        if cache(b"pip") || tmp_prefixed(b"pip-") {
            set.insert(Category::PipCache);
        }
        if cache(b"uv") || tmp_prefixed(b"uv-") {
            set.insert(Category::UvCache);
        }
        if cache(b"pypoetry") {
            set.insert(Category::PoetryCache);
        }
        if self.is_compiler(path, dirs, name) {
            set.insert(Category::Compilers);
        }
        if path.starts_with(b"usr/include/")
            || path.starts_with(b"usr/local/include/")
            || dirs
                .windows(2)
                .any(|w| w[0] == b"include" && w[1].starts_with(b"python3"))
            || [&b".h"[..], b".hpp", b".hh", b".hxx"]
                .iter()
                .any(|ext| name.ends_with(ext))
        {
            set.insert(Category::Headers);
        }
        if path.starts_with(b"var/lib/apt/lists/") || path.starts_with(b"var/cache/apt/") {
            set.insert(Category::AptCache);
        }
        if dirs.contains(&&b"__pycache__"[..]) || name.ends_with(b".pyc") || name.ends_with(b".pyo")
        {
            set.insert(Category::Pycache);
        }
        if name.ends_with(b".whl") {
            set.insert(Category::Wheels);
        }
        if name.ends_with(b".a") {
            set.insert(Category::StaticLibs);
        }
        if let Some(site) = dirs
            .iter()
            .position(|d| *d == b"site-packages" || *d == b"dist-packages")
        {
            if dirs[site + 1..]
                .iter()
                .any(|d| *d == b"tests" || *d == b"test")
            {
                set.insert(Category::Tests);
            }
        }
        if [
            &b"usr/share/doc/"[..],
            b"usr/share/man/",
            b"usr/share/info/",
        ]
        .iter()
        .any(|p| path.starts_with(p))
        {
            set.insert(Category::Docs);
        }
        set
    }

    fn is_compiler(&self, path: &[u8], dirs: &[&[u8]], name: &[u8]) -> bool {
        let under =
            |prefix: &[u8]| path.starts_with(prefix) && path.get(prefix.len()) == Some(&b'/');
        if under(b"usr/lib/gcc") || under(b"usr/libexec/gcc") || under(b"usr/lib/gcc-cross") {
            return true;
        }
        if self
            .triplets
            .iter()
            .any(|t| dirs.len() >= 2 && dirs[0] == b"usr" && dirs[1] == t.as_bytes())
        {
            return true;
        }
        if COMPILER_INTERNALS.iter().any(|n| name == n.as_bytes()) {
            return true;
        }
        let dir = &path[..path.len() - name.len()]
            .strip_suffix(b"/")
            .unwrap_or_default();
        if BIN_DIRS.contains(dir) && TOOL_NAMES.iter().any(|t| tool_name(name) == t.as_bytes()) {
            return true;
        }
        let in_triplet_lib = self.triplets.iter().any(|t| {
            let t = t.as_bytes();
            match dirs {
                [b, lib_t] => *b == b"lib" && *lib_t == t,
                [u, b, lib_t] => *u == b"usr" && *b == b"lib" && *lib_t == t,
                _ => false,
            }
        });
        in_triplet_lib
            && TOOL_LIBS.iter().any(|(prefix, suffix)| match suffix {
                LibSuffix::EndsSo => name.starts_with(prefix.as_bytes()) && name.ends_with(b".so"),
                LibSuffix::Any => {
                    name.starts_with(prefix.as_bytes())
                        && matches!(name.get(prefix.len()), None | Some(b'.'))
                }
            })
    }
}

/// A program's name less a `<triplet>-` prefix (`x86_64-linux-gnu-`, `x86_64-alpine-linux-musl-`)
/// and a `-NN` version suffix (`-12`, `-2.40`).
fn tool_name(name: &[u8]) -> &[u8] {
    let mut rest = name;
    if let Some(at) = find(rest, b"-linux-") {
        let after = &rest[at + b"-linux-".len()..];
        if let Some(dash) = after.iter().position(|&b| b == b'-') {
            rest = &after[dash + 1..];
        }
    }
    if let Some(dash) = rest.iter().rposition(|&b| b == b'-') {
        let suffix = &rest[dash + 1..];
        if !suffix.is_empty()
            && suffix[0].is_ascii_digit()
            && suffix.iter().all(|b| b.is_ascii_digit() || *b == b'.')
        {
            rest = &rest[..dash];
        }
    }
    rest
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats(path: &str) -> Vec<&'static str> {
        Classifier::new("amd64", None)
            .classify(path.as_bytes())
            .iter()
            .map(Category::id)
            .collect()
    }

    #[test]
    fn caches() {
        assert_eq!(cats("root/.cache/pip/http/a/b"), ["pip-cache"]);
        assert_eq!(
            cats("home/app/.cache/pip/wheels/x.whl"),
            ["pip-cache", "wheels"]
        );
        assert_eq!(cats("tmp/pip-req-build-1/setup.py"), ["pip-cache"]);
        assert_eq!(
            cats("tmp/pip-x"),
            Vec::<&str>::new(),
            "a file named pip-x is not a cache dir"
        );
        assert_eq!(cats("root/.cache/uv/archive-v0/x"), ["uv-cache"]);
        assert_eq!(cats("root/.cache/pypoetry/cache/x"), ["poetry-cache"]);
        assert_eq!(
            cats("var/lib/apt/lists/deb.debian.org_dists"),
            ["apt-cache"]
        );
        assert_eq!(cats("var/cache/apt/archives/gcc.deb"), ["apt-cache"]);
    }

    #[test]
    fn compilers() {
        for p in [
            "usr/lib/gcc/x86_64-linux-gnu/12/cc1",
            "usr/libexec/gcc/x86_64-linux-gnu/12/lto1",
            "usr/bin/x86_64-linux-gnu-gcc-12",
            "usr/bin/gcc-12",
            "usr/bin/g++",
            "usr/bin/x86_64-linux-gnu-ld.bfd",
            "usr/bin/make",
            "usr/local/bin/gcc",
            "usr/bin/gcc-ar-12",
            "usr/x86_64-linux-gnu/bin/as",
            "usr/lib/x86_64-linux-gnu/libbfd-2.40-system.so",
            "usr/lib/x86_64-linux-gnu/libisl.so.23.2.0",
            "lib/x86_64-linux-gnu/libmpfr.so.6",
            "opt/custom/cc1plus",
        ] {
            assert!(cats(p).contains(&"compilers"), "{p}");
        }
        for p in [
            "usr/bin/python3",
            "usr/bin/gccgo-is-not-listed",
            "usr/share/bin/gcc",
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            "usr/lib/x86_64-linux-gnu/libisland.so",
            "usr/lib/python3/dist-packages/make",
        ] {
            assert!(!cats(p).contains(&"compilers"), "{p}");
        }
    }

    #[test]
    fn arch_triplet_for_arm64() {
        let c = Classifier::new("arm64", None);
        assert!(
            c.classify(b"usr/lib/aarch64-linux-gnu/libmpc.so.3")
                .contains(Category::Compilers)
        );
        assert!(
            c.classify(b"usr/bin/aarch64-linux-gnu-gcc-12")
                .contains(Category::Compilers)
        );
    }

    #[test]
    fn headers_pycache_and_others() {
        assert_eq!(cats("usr/include/stdio.h"), ["headers"]);
        assert_eq!(cats("usr/local/include/python3.12/Python.h"), ["headers"]);
        assert_eq!(cats("opt/venv/include/python3.12/greenlet/x"), ["headers"]);
        assert_eq!(cats("src/lib.hpp"), ["headers"]);
        assert_eq!(cats("app/__pycache__/m.cpython-312.pyc"), ["pycache"]);
        assert_eq!(cats("app/old.pyo"), ["pycache"]);
        assert_eq!(cats("usr/lib/libpython3.12.a"), ["static-libs"]);
        assert_eq!(cats("usr/share/python-wheels/pip-23.whl"), ["wheels"]);
        assert_eq!(
            cats("usr/local/lib/python3.12/site-packages/numpy/core/tests/test_x.py"),
            ["tests"]
        );
        assert_eq!(
            cats("usr/lib/python3/dist-packages/pkg/test/data.bin"),
            ["tests"]
        );
        assert_eq!(
            cats("usr/local/lib/python3.12/site-packages/pkg/testing.py"),
            Vec::<&str>::new()
        );
        assert_eq!(cats("app/tests/test_app.py"), Vec::<&str>::new());
        assert_eq!(cats("usr/share/doc/gcc/copyright"), ["docs"]);
        assert_eq!(cats("usr/share/man/man1/gcc.1.gz"), ["docs"]);
    }

    #[test]
    fn tool_names() {
        assert_eq!(tool_name(b"x86_64-linux-gnu-gcc-12"), b"gcc");
        assert_eq!(tool_name(b"x86_64-alpine-linux-musl-g++"), b"g++");
        assert_eq!(tool_name(b"gcc-ar-12"), b"gcc-ar");
        assert_eq!(tool_name(b"lto-dump-12"), b"lto-dump");
        assert_eq!(tool_name(b"python3.12"), b"python3.12");
    }
}
