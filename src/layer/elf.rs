//! One ELF file's facts, read with goblin: what the loader will need (interpreter, NEEDED,
//! RPATH/RUNPATH, symbol versions), what the file provides (SONAME, version definitions), and
//! what `strip` would save. A file is captured while the layer streams past: whole when small,
//! and only its headers and the sections the loader reads when large, in a zero-filled buffer
//! of the file's size whose untouched pages cost no memory.

use std::collections::BTreeMap;
use std::ops::Range;

use goblin::elf::{Elf, program_header, section_header, sym};

/// `vd_flags` of the version definition that names the file itself.
const VER_FLG_BASE: u16 = 1;
/// Dynamic tags of packed relative relocations (not in goblin's list).
const DT_RELRSZ: u64 = 35;
const DT_RELR: u64 = 36;

/// ELF files up to this size are captured whole.
pub const WHOLE: u64 = 16 << 20;
/// Larger ELF files are not inspected: no real library is this big, and a hostile header must
/// not make the capture ask for more memory than the machine will map.
pub const LARGEST: u64 = 4 << 30;
/// How much of a large file's first loadable segment (symbols, strings, versions) is kept.
const FIRST_SEGMENT: u64 = 64 << 20;
/// How much comes before a large file's section header table (its section names live there).
const BEFORE_SECTIONS: u64 = 1 << 20;
/// Symbols listed per required version.
const SYMBOLS_PER_VERSION: usize = 8;

/// What goblin read from one ELF file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// 32 or 64.
    pub class: u8,
    /// `e_machine`.
    pub machine: u16,
    /// `e_type`: executable, shared object, relocatable...
    pub kind: u16,
    pub interpreter: Option<String>,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    pub has_dynamic: bool,
    /// Versions required from each library (verneed), with the symbols that require them.
    pub needs: Vec<VersionNeed>,
    /// Versions this file defines (verdef), e.g. `GLIBC_2.36` in libc.so.6.
    pub defines: Vec<String>,
    /// No `.symtab`.
    pub stripped: bool,
    /// Bytes of `.debug_*`, `.symtab` and `.strtab`: what `strip` would save.
    pub debug_bytes: u64,
    /// The dynamic symbols this file needs from the objects the loader loads: the undefined,
    /// non-weak ones (a weak one may stay unresolved), each with the version it asks for
    /// (`GLIBC_2.2.5`; the library that version comes from is in `needs`).
    pub imports: Imports,
    /// The dynamic symbols this file defines for others (functions, data, weak ones too),
    /// each with its version: what an import of another file can bind to.
    pub exports: Exports,
    /// Uses packed relative relocations (DT_RELR, from `-z pack-relative-relocs`), which
    /// loaders older than glibc 2.36 and musl 1.2.4 do not apply: a DT_RELR or DT_RELRSZ entry
    /// in the dynamic section, or a `GLIBC_ABI_DT_RELR` version need.
    pub uses_relr: bool,
}

/// A file's undefined dynamic symbols, sorted by name then version, without duplicates; the
/// names are kept back to back in one string, as there may be tens of thousands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imports {
    /// The names, back to back.
    text: String,
    /// Per symbol: where its name ends in `text`, and 1 + its index in `versions` (0: none).
    ends: Vec<(u32, u16)>,
    /// The version names the symbols ask for.
    versions: Vec<String>,
}

impl Imports {
    /// Collects (name, version) pairs.
    pub fn new<'a>(symbols: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Imports {
        let mut symbols: Vec<(&str, Option<&str>)> = symbols.into_iter().collect();
        symbols.sort_unstable();
        symbols.dedup();
        let mut out = Imports::default();
        for (name, version) in symbols {
            let index = version.map_or(0, |v| 1 + version_index(&mut out.versions, v));
            out.text.push_str(name);
            // A file whose names pass 4 GiB is over every size limit long before.
            out.ends.push((out.text.len() as u32, index));
        }
        out
    }

    /// Each undefined symbol with the version it asks for, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(end, _)| end as usize));
        starts.zip(&self.ends).map(|(start, &(end, version))| {
            let name = &self.text[start..end as usize];
            let version = version
                .checked_sub(1)
                .map(|i| self.versions[i as usize].as_str());
            (name, version)
        })
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// A file's defined dynamic symbols, kept small: a 64-bit hash of each name (sorted), not the
/// name, as a large C++ library exports a hundred thousand symbols and only lookups by name
/// are needed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exports {
    /// xxh3-64 of each name, sorted.
    hashes: Vec<u64>,
    /// Per symbol, beside `hashes`: 1 + its index in `versions` (0: unversioned or the file's
    /// base version), with [`Exports::HIDDEN`] set for a non-default version (`name@VER`, not
    /// `name@@VER`), which only a reference asking for that version binds to.
    versions_of: Vec<u16>,
    /// The version names the symbols are defined with.
    versions: Vec<String>,
}

/// A defined symbol's version, as [`Exports::lookup`] gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportVersion<'a> {
    /// `None` for an unversioned symbol or one of the file's base version.
    pub version: Option<&'a str>,
    /// A non-default version (`name@VER`): only a reference to that version binds to it.
    pub hidden: bool,
}

impl Exports {
    const HIDDEN: u16 = 0x8000;

    /// Collects (name, version, hidden) triples.
    pub fn new<'a>(symbols: impl IntoIterator<Item = (&'a str, Option<&'a str>, bool)>) -> Exports {
        let mut versions = Vec::new();
        let mut entries: Vec<(u64, u16)> = symbols
            .into_iter()
            .map(|(name, version, hidden)| {
                let index = version.map_or(0, |v| 1 + version_index(&mut versions, v));
                let hidden = if hidden { Exports::HIDDEN } else { 0 };
                (xxhash_rust::xxh3::xxh3_64(name.as_bytes()), index | hidden)
            })
            .collect();
        entries.sort_unstable();
        entries.dedup();
        Exports {
            hashes: entries.iter().map(|e| e.0).collect(),
            versions_of: entries.iter().map(|e| e.1).collect(),
            versions,
        }
    }

    /// The versions this file defines a symbol with, if it defines it at all.
    pub fn lookup(&self, name: &str) -> impl Iterator<Item = ExportVersion<'_>> {
        let hash = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        let from = self.hashes.partition_point(|&h| h < hash);
        let to = self.hashes.partition_point(|&h| h <= hash);
        self.versions_of[from..to].iter().map(|&v| ExportVersion {
            version: (v & !Exports::HIDDEN)
                .checked_sub(1)
                .map(|i| self.versions[i as usize].as_str()),
            hidden: v & Exports::HIDDEN != 0,
        })
    }

    /// Whether this file defines a symbol of that name, in any version.
    pub fn contains(&self, name: &str) -> bool {
        self.lookup(name).next().is_some()
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

/// The index of a version name in a small list, added when new. A file defines or needs at
/// most a few hundred versions; past 0x7ffe the rest share the last slot's index (they are
/// never that many in a real file, and the index must stay below `Exports::HIDDEN`).
fn version_index(versions: &mut Vec<String>, version: &str) -> u16 {
    if let Some(i) = versions.iter().position(|v| v == version) {
        return i as u16;
    }
    if versions.len() >= 0x7ffe {
        return 0x7ffd;
    }
    versions.push(version.to_string());
    (versions.len() - 1) as u16
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionNeed {
    pub library: String,
    /// Version name -> some symbols that need it (at most a few).
    pub versions: BTreeMap<String, Vec<String>>,
}

/// Whether a file starts like an ELF file.
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// The byte ranges of a large ELF file worth keeping, from its first bytes: the headers, the
/// first loadable segment (dynamic symbols, strings, version sections), the dynamic segment,
/// the interpreter, and the section header table with what precedes it.
pub fn capture_plan(head: &[u8], size: u64) -> Vec<Range<u64>> {
    let whole_head = 0..(head.len() as u64).min(size);
    let mut plan = vec![whole_head];
    let Ok(hdr) = Elf::parse_header(head) else {
        return plan;
    };
    let (Ok(container), Ok(endian)) = (hdr.container(), hdr.endianness()) else {
        return plan;
    };
    let ctx = goblin::container::Ctx::new(container, endian);
    let phoff = hdr.e_phoff as usize;
    if let Ok(phdrs) = program_header::ProgramHeader::parse(head, phoff, hdr.e_phnum as usize, ctx)
    {
        if let Some(load) = phdrs.iter().find(|p| p.p_type == program_header::PT_LOAD) {
            let len = load.p_filesz.min(FIRST_SEGMENT);
            plan.push(load.p_offset..load.p_offset.saturating_add(len));
        }
        for p in &phdrs {
            if matches!(
                p.p_type,
                program_header::PT_DYNAMIC | program_header::PT_INTERP | program_header::PT_NOTE
            ) {
                plan.push(p.p_offset..p.p_offset.saturating_add(p.p_filesz));
            }
        }
    }
    let table = (hdr.e_shnum as u64).saturating_mul(hdr.e_shentsize as u64);
    plan.push(hdr.e_shoff.saturating_sub(BEFORE_SECTIONS)..hdr.e_shoff.saturating_add(table));
    for r in &mut plan {
        r.start = r.start.min(size);
        r.end = r.end.min(size);
    }
    plan
}

/// Reads the facts from a captured file (uncaptured bytes are zeros).
pub fn parse(bytes: &[u8]) -> Result<ElfInfo, String> {
    let elf = Elf::parse(bytes).map_err(|e| format!("unreadable ELF file: {e}"))?;
    let dynstr = &elf.dynstrtab;
    let name_of = |offset: usize| dynstr.get_at(offset).map(str::to_string);

    // Version index (vna_other) -> (library, version), to name the version each symbol needs.
    let mut needs: Vec<VersionNeed> = Vec::new();
    let mut by_index: BTreeMap<u16, (usize, String)> = BTreeMap::new();
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            let library = name_of(need.vn_file).unwrap_or_default();
            let mut versions = BTreeMap::new();
            for aux in need.iter() {
                if let Some(version) = name_of(aux.vna_name) {
                    by_index.insert(aux.vna_other, (needs.len(), version.clone()));
                    versions.insert(version, Vec::new());
                }
            }
            needs.push(VersionNeed { library, versions });
        }
    }
    if let Some(versym) = &elf.versym {
        for (i, sym) in elf.dynsyms.iter().enumerate() {
            // Only undefined symbols are needed from elsewhere.
            if sym.st_shndx != section_header::SHN_UNDEF as usize {
                continue;
            }
            let Some(v) = versym.get_at(i) else { continue };
            let Some((need, version)) = by_index.get(&v.version()) else {
                continue;
            };
            let Some(name) = dynstr.get_at(sym.st_name) else {
                continue;
            };
            if let Some(symbols) = needs[*need].versions.get_mut(version) {
                if symbols.len() < SYMBOLS_PER_VERSION && !symbols.iter().any(|s| s == name) {
                    symbols.push(name.to_string());
                }
            }
        }
    }

    let mut defines = Vec::new();
    // Version index (vd_ndx) -> name, for the versions of defined symbols; the base version
    // (the file's own name) is left out: a symbol of it is unversioned to a reference.
    let mut defined_at: BTreeMap<u16, String> = BTreeMap::new();
    if let Some(verdef) = &elf.verdef {
        for def in verdef.iter() {
            // The first auxiliary entry names the version; the rest name its parents.
            if let Some(aux) = def.iter().next() {
                if let Some(name) = name_of(aux.vda_name) {
                    if def.vd_flags & VER_FLG_BASE == 0 {
                        defined_at.insert(def.vd_ndx, name.clone());
                    }
                    defines.push(name);
                }
            }
        }
    }

    let mut imports = Vec::new();
    let mut exports = Vec::new();
    for (i, sym) in elf.dynsyms.iter().enumerate() {
        let Some(name) = dynstr.get_at(sym.st_name).filter(|n| !n.is_empty()) else {
            continue;
        };
        let versym = elf.versym.as_ref().and_then(|v| v.get_at(i));
        let index = versym.as_ref().map_or(0, |v| v.version());
        if sym.st_shndx == section_header::SHN_UNDEF as usize {
            if sym.st_bind() == sym::STB_WEAK {
                continue;
            }
            let version = by_index.get(&index).map(|(_, v)| v.as_str());
            imports.push((name, version));
        } else if sym.st_bind() != sym::STB_LOCAL {
            let version = defined_at.get(&index).map(String::as_str);
            exports.push((
                name,
                version,
                versym.as_ref().is_some_and(|v| v.is_hidden()),
            ));
        }
    }
    let uses_relr = elf.dynamic.as_ref().is_some_and(|d| {
        d.dyns
            .iter()
            .any(|d| matches!(d.d_tag, DT_RELR | DT_RELRSZ))
    }) || needs
        .iter()
        .any(|n| n.versions.contains_key("GLIBC_ABI_DT_RELR"));

    let mut debug_bytes = 0u64;
    let mut stripped = true;
    for sh in &elf.section_headers {
        let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("");
        let counts = name.starts_with(".debug_")
            || name.starts_with(".zdebug_")
            || name == ".symtab"
            || name == ".strtab";
        if name == ".symtab" || sh.sh_type == section_header::SHT_SYMTAB {
            stripped = false;
        }
        if counts && sh.sh_type != section_header::SHT_NOBITS {
            debug_bytes = debug_bytes.saturating_add(sh.sh_size);
        }
    }

    Ok(ElfInfo {
        class: if elf.is_64 { 64 } else { 32 },
        machine: elf.header.e_machine,
        kind: elf.header.e_type,
        interpreter: elf.interpreter.map(str::to_string),
        soname: elf.soname.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        rpath: split_paths(&elf.rpaths),
        runpath: split_paths(&elf.runpaths),
        has_dynamic: elf.dynamic.is_some(),
        needs,
        defines,
        stripped,
        debug_bytes,
        imports: Imports::new(imports),
        exports: Exports::new(exports),
        uses_relr,
    })
}

/// DT_RPATH and DT_RUNPATH hold colon-separated lists.
fn split_paths(entries: &[&str]) -> Vec<String> {
    entries
        .iter()
        .flat_map(|e| e.split(':'))
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Collects the bytes of one file as they stream past, keeping what an ELF parse needs.
pub struct Capture {
    size: u64,
    /// The whole file, or a zero-filled buffer of its size with the planned ranges copied in.
    buf: Vec<u8>,
    plan: Option<Vec<Range<u64>>>,
    seen: u64,
    head: Vec<u8>,
}

impl Capture {
    /// Starts a capture, or returns None when the file is too big to inspect.
    pub fn new(size: u64) -> Option<Capture> {
        if size > LARGEST {
            return None;
        }
        let len = usize::try_from(size).ok()?;
        // `vec![0; n]` asks the allocator for zeroed memory, which the OS maps lazily.
        let buf = if size <= WHOLE {
            Vec::with_capacity(len)
        } else {
            vec![0u8; len]
        };
        Some(Capture {
            size,
            buf,
            plan: (size <= WHOLE).then(|| {
                let everything = 0..size;
                vec![everything]
            }),
            seen: 0,
            head: Vec::new(),
        })
    }

    /// Takes the next bytes of the file.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.size <= WHOLE {
            let room = (self.size as usize).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.seen += chunk.len() as u64;
            return;
        }
        let start = self.seen;
        self.seen += chunk.len() as u64;
        if self.plan.is_none() {
            // The plan comes from the first 64 KiB: header and program headers.
            let want = 64 * 1024usize;
            let take = chunk.len().min(want.saturating_sub(self.head.len()));
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() >= want || self.seen >= self.size {
                self.plan = Some(capture_plan(&self.head, self.size));
                let head = std::mem::take(&mut self.head);
                self.copy(0, &head);
                let done = head.len() as u64;
                if done > start {
                    let skip = (done - start) as usize;
                    self.copy(done, &chunk[skip.min(chunk.len())..]);
                }
            }
            return;
        }
        self.copy(start, chunk);
    }

    fn copy(&mut self, at: u64, bytes: &[u8]) {
        let end = at + bytes.len() as u64;
        for r in self.plan.iter().flatten() {
            let from = r.start.max(at);
            let to = r.end.min(end).min(self.size);
            if from < to {
                let dst = &mut self.buf[from as usize..to as usize];
                dst.copy_from_slice(&bytes[(from - at) as usize..(to - at) as usize]);
            }
        }
    }

    /// Whether the capture still needs the bytes that follow in the stream: all of a small
    /// file; the first 64 KiB of a large one (after that, `missing` says what else to read).
    pub fn wants_stream(&self) -> bool {
        if self.size <= WHOLE {
            self.seen < self.size
        } else {
            self.plan.is_none() && self.seen < self.size
        }
    }

    /// The planned ranges the stream has not reached yet.
    pub fn missing(&self) -> Vec<Range<u64>> {
        self.plan
            .iter()
            .flatten()
            .filter(|r| r.end > self.seen)
            .map(|r| r.start.max(self.seen)..r.end)
            .collect()
    }

    /// Takes bytes read at an offset of the file (for a seekable layer).
    pub fn fill(&mut self, at: u64, bytes: &[u8]) {
        self.copy(at, bytes);
    }

    /// Parses what was captured.
    pub fn parse(self) -> Result<ElfInfo, String> {
        parse(&self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A library with versioned exports (a default `f@@VERS_2`, a hidden `f@VERS_1`), a
    /// glibc-only import (`__isnan`) and a weak one.
    const VERSIONED: &str = r#"
extern int __isnan(double);
double f_old(double x) { return x; }
double f_new(double x) { return x + 1; }
__asm__(".symver f_old,f@VERS_1");
__asm__(".symver f_new,f@@VERS_2");
int g(double x) { return __isnan(x); }
extern int weak_one(void) __attribute__((weak));
int h(void) { return weak_one ? weak_one() : 0; }
int data_item = 3;
"#;
    const VERSION_SCRIPT: &str =
        "VERS_1 { global: g; h; data_item; f; local: *; };\nVERS_2 { } VERS_1;\n";

    /// Compiles C source with `cc` and the arguments into a file in `dir`.
    fn cc(dir: &std::path::Path, source: &str, args: &[&str]) -> std::path::PathBuf {
        let src = dir.join("src.c");
        std::fs::write(&src, source).unwrap();
        std::fs::write(dir.join("v.map"), VERSION_SCRIPT).unwrap();
        let out = dir.join("out.so");
        let status = Command::new("cc")
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .args(args)
            .current_dir(dir)
            .status()
            .expect("cc");
        assert!(status.success());
        out
    }

    fn readelf(args: &[&str], file: &std::path::Path) -> String {
        let out = Command::new("readelf")
            .args(args)
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    /// One row of `readelf --dyn-syms -W`: (bind, section index, name, version, hidden).
    type Row = (String, String, String, Option<String>, bool);

    fn dyn_syms(file: &std::path::Path) -> Vec<Row> {
        readelf(&["--dyn-syms", "-W"], file)
            .lines()
            .filter_map(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                // Num: Value Size Type Bind Vis Ndx Name [(N)]
                let numbered = cols.first()?.trim_end_matches(':').parse::<u32>().is_ok();
                if cols.len() < 8 || !numbered {
                    return None;
                }
                let (bind, ndx, full) = (cols[4], cols[6], cols[7]);
                let (name, version, hidden) = match full.split_once("@@") {
                    Some((n, v)) => (n, Some(v), false),
                    None => match full.split_once('@') {
                        Some((n, v)) => (n, Some(v), ndx != "UND"),
                        None => (full, None, false),
                    },
                };
                let row: Row = (
                    bind.into(),
                    ndx.into(),
                    name.into(),
                    version.map(str::to_string),
                    hidden,
                );
                Some(row)
            })
            .filter(|r| !r.2.is_empty())
            .collect()
    }

    /// What `readelf` says the file imports and exports, beside what `parse` read.
    fn check_symbols_against_readelf(file: &std::path::Path) -> ElfInfo {
        let info = parse(&std::fs::read(file).unwrap()).unwrap();
        let rows = dyn_syms(file);
        let mut want_imports: Vec<(&str, Option<&str>)> = rows
            .iter()
            .filter(|r| r.1 == "UND" && r.0 != "WEAK")
            .map(|r| (r.2.as_str(), r.3.as_deref()))
            .collect();
        want_imports.sort();
        want_imports.dedup();
        let imports: Vec<_> = info.imports.iter().collect();
        assert_eq!(imports, want_imports);
        let defined: Vec<&Row> = rows.iter().filter(|r| r.1 != "UND").collect();
        let base = info.soname.clone();
        for (_, _, name, version, hidden) in &defined {
            // readelf names the base version (the file's own name) too; it is "no version".
            let version = version.as_deref().filter(|v| Some(*v) != base.as_deref());
            // A version's own symbol (`VERS_1`, absolute) readelf shows without its version.
            let version = match version {
                None if info.defines.contains(name) => Some(name.as_str()),
                v => v,
            };
            let found: Vec<ExportVersion> = info.exports.lookup(name).collect();
            assert!(
                found.contains(&ExportVersion {
                    version,
                    hidden: *hidden
                }),
                "{name}: {found:?}"
            );
        }
        assert_eq!(info.exports.len(), defined.len());
        info
    }

    #[test]
    fn imports_and_exports_are_readelfs() {
        let dir = tempfile::tempdir().unwrap();
        let file = cc(
            dir.path(),
            VERSIONED,
            &["-shared", "-fPIC", "-Wl,--version-script=v.map"],
        );
        let info = check_symbols_against_readelf(&file);
        // The glibc-only symbol, with its version; the weak one is not needed.
        let imports: Vec<_> = info.imports.iter().collect();
        assert!(imports.contains(&("__isnan", Some("GLIBC_2.2.5"))));
        assert!(!imports.iter().any(|(n, _)| *n == "weak_one"));
        let f: Vec<_> = info.exports.lookup("f").collect();
        assert_eq!(f.len(), 2);
        assert!(f.contains(&ExportVersion {
            version: Some("VERS_1"),
            hidden: true
        }));
        assert!(f.contains(&ExportVersion {
            version: Some("VERS_2"),
            hidden: false
        }));
        assert!(info.exports.contains("data_item"));
        assert!(!info.exports.contains("f_old"));
        assert!(!info.uses_relr);
    }

    #[test]
    fn the_machines_libc_exports_are_readelfs() {
        let libc = std::fs::canonicalize("/lib/x86_64-linux-gnu/libc.so.6")
            .or_else(|_| std::fs::canonicalize("/lib64/libc.so.6"))
            .or_else(|_| std::fs::canonicalize("/lib/aarch64-linux-gnu/libc.so.6"))
            .unwrap();
        let info = check_symbols_against_readelf(&libc);
        assert!(info.exports.contains("__isnan"));
        assert!(info.exports.len() > 1000);
    }

    #[test]
    fn packed_relative_relocations_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let packed = [
            "-shared",
            "-fPIC",
            "-Wl,--version-script=v.map",
            "-Wl,-z,pack-relative-relocs",
        ];
        let file = cc(dir.path(), VERSIONED, &packed);
        let dynamic = readelf(&["-d", "-V"], &file);
        assert!(dynamic.contains("(RELR)"));
        let info = check_symbols_against_readelf(&file);
        assert!(info.uses_relr);
        // glibc's linker marks it with a version need as well.
        if dynamic.contains("GLIBC_ABI_DT_RELR") {
            let libc = info
                .needs
                .iter()
                .find(|n| n.library == "libc.so.6")
                .unwrap();
            assert!(libc.versions.contains_key("GLIBC_ABI_DT_RELR"));
        }
    }
}
