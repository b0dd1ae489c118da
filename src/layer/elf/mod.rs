//! One ELF file's facts: what the loader will need (interpreter, NEEDED, RPATH/RUNPATH, the
//! symbols and versions it takes from others), what the file provides (SONAME, exported
//! symbols, version definitions), and what `strip` would save.
//!
//! They are read the way the loader reads them: from the program headers, the dynamic segment
//! and the tables its entries point at (DT_STRTAB, DT_SYMTAB, DT_HASH/DT_GNU_HASH, DT_VERSYM,
//! DT_VERNEED, DT_VERDEF), mapped to file offsets through the loadable segments. Section
//! headers serve only the strip estimate, so a file whose tables patchelf moved to the end
//! (auditwheel does that) reads like any other. The bytes come from a [`Source`]: the whole
//! file in memory, a [`Capture`] of what was kept as the layer streamed past, or a seekable
//! layer read at offsets.

mod capture;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use goblin::container::{Container, Ctx};
use goblin::elf::{Elf, ProgramHeader, SectionHeader, program_header, section_header};

pub use capture::{Capture, ReadAt};

/// What every diagnostic about an ELF file whose facts could not be read starts with.
pub const UNREADABLE: &str = "unreadable ELF file";
/// Symbols listed per required version.
const SYMBOLS_PER_VERSION: usize = 8;
/// Version entries (needs and definitions, with their auxiliary entries) read per file: real
/// files have a few hundred; the walk stops there, or at an entry it has already read.
const MAX_VERSION_ENTRIES: usize = 1 << 16;
/// The interpreter path read, at most.
const MAX_INTERPRETER: u64 = 4096;

/// `vd_flags` of the version definition that names the file itself.
const VER_FLG_BASE: u16 = 1;
/// Dynamic tags (goblin lacks the packed relocation ones).
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_STRSZ: u64 = 10;
const DT_SYMENT: u64 = 11;
const DT_SONAME: u64 = 14;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
const DT_RELRSZ: u64 = 35;
const DT_RELR: u64 = 36;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERDEF: u64 = 0x6fff_fffc;
const DT_VERDEFNUM: u64 = 0x6fff_fffd;
const DT_VERNEED: u64 = 0x6fff_fffe;
const DT_VERNEEDNUM: u64 = 0x6fff_ffff;
/// Symbol bindings and the undefined section index.
const STB_LOCAL: u8 = 0;
const STB_WEAK: u8 = 2;
const SHN_UNDEF: u16 = 0;

/// What was read from one ELF file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// 32 or 64.
    pub class: u8,
    /// `e_machine`.
    pub machine: u16,
    /// `e_type`: executable, shared object, relocatable...
    pub kind: u16,
    /// PT_INTERP: the loader an executable names.
    pub interpreter: Option<String>,
    /// DT_SONAME.
    pub soname: Option<String>,
    /// DT_NEEDED, in order; never an empty name (a file with one is unreadable).
    pub needed: Vec<String>,
    /// DT_RPATH and DT_RUNPATH, split at colons.
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    /// Has a dynamic segment (false: statically linked).
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

/// The index of a version name in a small list, added when new. The names come from 15-bit
/// version indexes (`.gnu.version`), so there are fewer than 0x7fff: the cap only keeps the
/// index below `Exports::HIDDEN` whatever a caller passes.
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

/// Bytes of one ELF file, by offset.
pub trait Source {
    /// The file's size.
    fn size(&self) -> u64;
    /// `len` bytes at offset `at`, or why they cannot be had.
    fn bytes(&self, at: u64, len: u64) -> Result<Cow<'_, [u8]>, String>;
}

/// A whole file in memory.
impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn bytes(&self, at: u64, len: u64) -> Result<Cow<'_, [u8]>, String> {
        let end = at.checked_add(len).filter(|&end| end <= self.len() as u64);
        match end {
            Some(end) => Ok(Cow::Borrowed(&self[at as usize..end as usize])),
            None => Err(past_the_end(at, len)),
        }
    }
}

fn past_the_end(at: u64, len: u64) -> String {
    format!("{len} bytes at {at:#x} go past the end of the file")
}

/// Reads the facts of a whole file in memory.
pub fn parse(bytes: &[u8]) -> Result<ElfInfo, String> {
    parse_from(bytes)
}

/// Reads the facts from wherever the file's bytes are.
pub fn parse_from(source: &(impl Source + ?Sized)) -> Result<ElfInfo, String> {
    read(source).map_err(|e| format!("{UNREADABLE}: {e}"))
}

/// The file's layout: header, program headers, and how to read integers.
struct Layout {
    header: goblin::elf::Header,
    phdrs: Vec<ProgramHeader>,
    is_64: bool,
    little: bool,
}

impl Layout {
    /// From the header and program headers.
    fn read(source: &(impl Source + ?Sized)) -> Result<Layout, String> {
        let head = source.bytes(0, source.size().min(64))?;
        let header = Elf::parse_header(&head).map_err(|e| e.to_string())?;
        let container = header.container().map_err(|e| e.to_string())?;
        let endian = header.endianness().map_err(|e| e.to_string())?;
        let ctx = Ctx::new(container, endian);
        let is_64 = container == Container::Big;
        let entry = ProgramHeader::size(ctx) as u64;
        if header.e_phnum > 0 && u64::from(header.e_phentsize) != entry {
            return Err(format!(
                "program header entries of {} bytes",
                header.e_phentsize
            ));
        }
        let table = source.bytes(header.e_phoff, entry * u64::from(header.e_phnum))?;
        let phdrs = ProgramHeader::parse(&table, 0, header.e_phnum as usize, ctx)
            .map_err(|e| e.to_string())?;
        Ok(Layout {
            header,
            phdrs,
            is_64,
            little: endian.is_little(),
        })
    }

    fn ctx(&self) -> Ctx {
        let container = if self.is_64 {
            Container::Big
        } else {
            Container::Little
        };
        let endian = if self.little {
            goblin::container::Endian::Little
        } else {
            goblin::container::Endian::Big
        };
        Ctx::new(container, endian)
    }

    /// The file offset of a virtual address, through the loadable segment that holds it in
    /// the file (not in its zero-filled tail).
    fn offset_of(&self, address: u64) -> Option<u64> {
        self.phdrs
            .iter()
            .filter(|p| p.p_type == program_header::PT_LOAD)
            .find(|p| address >= p.p_vaddr && address - p.p_vaddr < p.p_filesz)
            .map(|p| p.p_offset + (address - p.p_vaddr))
    }

    /// The loadable segment holding a file offset, as a file range.
    fn segment_at(&self, offset: u64) -> Option<std::ops::Range<u64>> {
        self.phdrs
            .iter()
            .filter(|p| p.p_type == program_header::PT_LOAD)
            .map(|p| p.p_offset..p.p_offset.saturating_add(p.p_filesz))
            .find(|r| r.contains(&offset))
    }

    fn dynamic(&self) -> Option<&ProgramHeader> {
        self.phdrs
            .iter()
            .find(|p| p.p_type == program_header::PT_DYNAMIC)
    }

    fn word(&self) -> u64 {
        if self.is_64 { 8 } else { 4 }
    }

    fn u16(&self, b: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, b: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// A word: 8 bytes in a 64-bit file, 4 in a 32-bit one.
    fn word_at(&self, b: &[u8], at: usize) -> Option<u64> {
        if self.is_64 {
            let b: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
            Some(if self.little {
                u64::from_le_bytes(b)
            } else {
                u64::from_be_bytes(b)
            })
        } else {
            self.u32(b, at).map(u64::from)
        }
    }

    /// The dynamic entries (tag, value), up to DT_NULL.
    fn dynamic_entries(&self, source: &(impl Source + ?Sized)) -> Result<Vec<(u64, u64)>, String> {
        let Some(dynamic) = self.dynamic() else {
            return Ok(Vec::new());
        };
        let bytes = source.bytes(dynamic.p_offset, dynamic.p_filesz)?;
        let size = 2 * self.word() as usize;
        let mut entries = Vec::new();
        for entry in bytes.chunks_exact(size) {
            let tag = self.word_at(entry, 0).unwrap_or(DT_NULL);
            if tag == DT_NULL {
                break;
            }
            entries.push((tag, self.word_at(entry, size / 2).unwrap_or(0)));
        }
        Ok(entries)
    }
}

/// The value of the first dynamic entry with a tag.
fn tag(entries: &[(u64, u64)], tag: u64) -> Option<u64> {
    entries.iter().find(|e| e.0 == tag).map(|e| e.1)
}

/// Where the tables the dynamic entries point at lie in the file: (what, file offset).
fn table_offsets(layout: &Layout, entries: &[(u64, u64)]) -> Vec<(u64, u64)> {
    [
        DT_STRTAB,
        DT_SYMTAB,
        DT_HASH,
        DT_GNU_HASH,
        DT_VERSYM,
        DT_VERNEED,
        DT_VERDEF,
    ]
    .into_iter()
    .filter_map(|t| Some((t, layout.offset_of(tag(entries, t)?)?)))
    .collect()
}

/// Names read from a string table, within a budget: a hostile file can point a hundred
/// thousand symbols or version entries into one long string, and reading each would cost the
/// square of its size. A real file names each thing once, so a few times the table's size is
/// plenty.
struct Names<'a> {
    table: &'a [u8],
    budget: u64,
}

impl<'a> Names<'a> {
    fn new(table: &'a [u8]) -> Names<'a> {
        Names {
            table,
            budget: 4 * table.len() as u64 + (1 << 20),
        }
    }

    /// The NUL-terminated name at an offset.
    fn get(&mut self, offset: u64) -> Result<Cow<'a, str>, String> {
        let table = self.table;
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|o| table.get(o..))
            .ok_or_else(|| format!("a name at {offset:#x} is outside its string table"))?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("the name at {offset:#x} runs past its string table"))?;
        self.budget = self
            .budget
            .checked_sub(end as u64 + 1)
            .ok_or("its names overlap far more than a linker writes them")?;
        Ok(String::from_utf8_lossy(&rest[..end]))
    }

    /// A name that must not be empty (a library's).
    fn library(&mut self, offset: u64, what: &str) -> Result<String, String> {
        let name = self.get(offset)?;
        if name.is_empty() {
            return Err(format!("an empty {what} name"));
        }
        Ok(name.into_owned())
    }
}

/// How many dynamic symbols there are: from DT_HASH, DT_GNU_HASH, or the section headers.
fn symbol_count(
    source: &(impl Source + ?Sized),
    layout: &Layout,
    entries: &[(u64, u64)],
    symtab: u64,
    sections: &[SectionHeader],
) -> Result<u64, String> {
    if let Some(hash) = tag(entries, DT_HASH).and_then(|a| layout.offset_of(a)) {
        let head = source.bytes(hash, 8)?;
        return Ok(u64::from(layout.u32(&head, 4).unwrap_or(0)));
    }
    if let Some(gnu) = tag(entries, DT_GNU_HASH).and_then(|a| layout.offset_of(a)) {
        return gnu_hash_count(source, layout, gnu);
    }
    let dynsym = sections
        .iter()
        .find(|s| s.sh_type == section_header::SHT_DYNSYM && s.sh_offset == symtab);
    match dynsym {
        Some(s) if s.sh_entsize > 0 => Ok(s.sh_size / s.sh_entsize),
        _ => Err("no hash table or section header tells how many dynamic symbols".into()),
    }
}

/// The number of symbols a GNU hash table covers: the last chain of the highest bucket ends
/// the table (its last entry has the low bit set).
fn gnu_hash_count(
    source: &(impl Source + ?Sized),
    layout: &Layout,
    at: u64,
) -> Result<u64, String> {
    let head = source.bytes(at, 16)?;
    let field = |i| u64::from(layout.u32(&head, i).unwrap_or(0));
    let (buckets, first, bloom) = (field(0), field(4), field(8));
    let buckets_at = at + 16 + bloom.saturating_mul(layout.word());
    if buckets.saturating_mul(4) > source.size() || buckets_at > source.size() {
        return Err("a GNU hash table larger than the file".into());
    }
    let table = source.bytes(buckets_at, buckets * 4)?;
    let last = table
        .chunks_exact(4)
        .filter_map(|b| layout.u32(b, 0))
        .max()
        .map_or(0, u64::from);
    if last < first {
        return Ok(first);
    }
    // The chain from the highest bucket on, read a block at a time (one entry at a time
    // where a block would run past what a capture kept).
    let mut index = last;
    let mut at = buckets_at + buckets * 4 + (last - first) * 4;
    while at < source.size() {
        let block = (source.size() - at).min(4096);
        let words = match source.bytes(at, block) {
            Ok(words) => words,
            Err(_) => source.bytes(at, 4)?,
        };
        for word in words.chunks_exact(4) {
            index += 1;
            if layout.u32(word, 0).unwrap_or(1) & 1 == 1 {
                return Ok(index);
            }
        }
        at += words.len() as u64;
    }
    Err("a GNU hash chain that does not end".into())
}

fn read(source: &(impl Source + ?Sized)) -> Result<ElfInfo, String> {
    let layout = Layout::read(source)?;
    let header = &layout.header;
    let mut info = ElfInfo {
        class: if layout.is_64 { 64 } else { 32 },
        machine: header.e_machine,
        kind: header.e_type,
        stripped: true,
        ..ElfInfo::default()
    };
    if let Some(interp) = layout
        .phdrs
        .iter()
        .find(|p| p.p_type == program_header::PT_INTERP && p.p_filesz > 0)
    {
        let bytes = source.bytes(interp.p_offset, interp.p_filesz.min(MAX_INTERPRETER))?;
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        info.interpreter = Some(String::from_utf8_lossy(&bytes[..end]).into_owned());
    }
    let sections = read_sections(source, &layout, &mut info);

    let entries = layout.dynamic_entries(source)?;
    info.has_dynamic = layout.dynamic().is_some();
    if entries.is_empty() {
        return Ok(info);
    }
    let strtab: Cow<[u8]> = match tag(&entries, DT_STRTAB) {
        Some(address) => {
            let at = layout
                .offset_of(address)
                .ok_or("DT_STRTAB is outside the loadable segments")?;
            let len = tag(&entries, DT_STRSZ).ok_or("DT_STRTAB without DT_STRSZ")?;
            source.bytes(at, len)?
        }
        None => Cow::Borrowed(&[]),
    };
    let mut names = Names::new(&strtab);
    for &(t, value) in &entries {
        match t {
            DT_NEEDED => info.needed.push(names.library(value, "DT_NEEDED")?),
            DT_SONAME => info.soname = Some(names.library(value, "DT_SONAME")?),
            DT_RPATH => info.rpath.extend(split_paths(&names.get(value)?)),
            DT_RUNPATH => info.runpath.extend(split_paths(&names.get(value)?)),
            _ => {}
        }
    }

    // Version index (vna_other) -> (need, version), to name the version each symbol needs.
    let mut by_index: BTreeMap<u16, (usize, String)> = BTreeMap::new();
    let mut seen = HashSet::new();
    if let Some(at) = tag(&entries, DT_VERNEED).and_then(|a| layout.offset_of(a)) {
        let count = tag(&entries, DT_VERNEEDNUM).unwrap_or(u64::MAX);
        walk_verneed(
            source,
            &layout,
            &mut names,
            at,
            count,
            &mut seen,
            |library, versions| {
                let need = info.needs.len();
                let mut names = BTreeMap::new();
                for (index, version) in versions {
                    names.insert(version.clone(), Vec::new());
                    by_index.insert(index, (need, version));
                }
                info.needs.push(VersionNeed {
                    library,
                    versions: names,
                });
            },
        )?;
    }
    // Version index (vd_ndx) -> name, for the versions of defined symbols; the base version
    // (the file's own name) is left out: a symbol of it is unversioned to a reference.
    let mut defined_at: BTreeMap<u16, String> = BTreeMap::new();
    if let Some(at) = tag(&entries, DT_VERDEF).and_then(|a| layout.offset_of(a)) {
        let count = tag(&entries, DT_VERDEFNUM).unwrap_or(u64::MAX);
        walk_verdef(
            source,
            &layout,
            &mut names,
            at,
            count,
            &mut seen,
            |index, flags, name| {
                if flags & VER_FLG_BASE == 0 {
                    defined_at.insert(index, name.clone());
                }
                info.defines.push(name);
            },
        )?;
    }

    let mut imports = Vec::new();
    let mut exports = Vec::new();
    if let Some(symtab) = tag(&entries, DT_SYMTAB) {
        let at = layout
            .offset_of(symtab)
            .ok_or("DT_SYMTAB is outside the loadable segments")?;
        let entry = tag(&entries, DT_SYMENT).unwrap_or(if layout.is_64 { 24 } else { 16 });
        if entry < 16 {
            return Err(format!("dynamic symbols of {entry} bytes"));
        }
        let count = symbol_count(source, &layout, &entries, at, &sections)?;
        let len = count
            .checked_mul(entry)
            .filter(|&l| l <= source.size())
            .ok_or("more dynamic symbols than the file holds")?;
        let symbols = source.bytes(at, len)?;
        let versym = match tag(&entries, DT_VERSYM).and_then(|a| layout.offset_of(a)) {
            Some(v) => Some(source.bytes(v, count * 2)?),
            None => None,
        };
        for (i, sym) in symbols.chunks_exact(entry as usize).enumerate().skip(1) {
            let (name, info_byte, shndx) = if layout.is_64 {
                (layout.u32(sym, 0), sym[4], layout.u16(sym, 6))
            } else {
                (layout.u32(sym, 0), sym[12], layout.u16(sym, 14))
            };
            let (Some(name), Some(shndx)) = (name, shndx) else {
                continue;
            };
            let name = names.get(u64::from(name))?;
            if name.is_empty() {
                continue;
            }
            let bind = info_byte >> 4;
            let raw = versym
                .as_ref()
                .and_then(|v| layout.u16(v, i * 2))
                .unwrap_or(0);
            let (index, hidden) = (raw & 0x7fff, raw & 0x8000 != 0);
            if shndx == SHN_UNDEF {
                // A weak reference still asks for its version (the loader checks the need),
                // but it may stay unresolved: it is not an import that must be found.
                if let Some((need, version)) = by_index.get(&index) {
                    let symbols = info.needs[*need]
                        .versions
                        .entry(version.clone())
                        .or_default();
                    if symbols.len() < SYMBOLS_PER_VERSION && !symbols.iter().any(|s| *s == name) {
                        symbols.push(name.to_string());
                    }
                }
                if bind != STB_WEAK {
                    imports.push((name, index));
                }
            } else if bind != STB_LOCAL {
                exports.push((name, index, hidden));
            }
        }
    }
    let needed_as = |index: &u16| by_index.get(index).map(|(_, v)| v.as_str());
    info.imports = Imports::new(imports.iter().map(|(n, v)| (n.as_ref(), needed_as(v))));
    let defined_as = |index: &u16| defined_at.get(index).map(String::as_str);
    info.exports = Exports::new(
        exports
            .iter()
            .map(|(n, v, hidden)| (n.as_ref(), defined_as(v), *hidden)),
    );
    info.uses_relr = entries.iter().any(|e| matches!(e.0, DT_RELR | DT_RELRSZ))
        || info
            .needs
            .iter()
            .any(|n| n.versions.contains_key("GLIBC_ABI_DT_RELR"));
    Ok(info)
}

/// Walks the version needs: each library, with its versions (index, name). Every entry is
/// read once at most (a hostile file's chains may point back into each other).
fn walk_verneed(
    source: &(impl Source + ?Sized),
    layout: &Layout,
    names: &mut Names,
    mut at: u64,
    count: u64,
    seen: &mut HashSet<u64>,
    mut each: impl FnMut(String, Vec<(u16, String)>),
) -> Result<(), String> {
    for _ in 0..count {
        if seen.len() >= MAX_VERSION_ENTRIES || !seen.insert(at) {
            break;
        }
        let entry = source.bytes(at, 16)?;
        let field = |i| layout.u32(&entry, i).map_or(0, u64::from);
        let aux_count = layout.u16(&entry, 2).unwrap_or(0);
        let library = names.library(field(4), "version need library")?;
        let mut versions = Vec::new();
        let mut aux = at.saturating_add(field(8));
        for _ in 0..aux_count {
            if seen.len() >= MAX_VERSION_ENTRIES || !seen.insert(aux) {
                break;
            }
            let a = source.bytes(aux, 16)?;
            let index = layout.u16(&a, 6).unwrap_or(0) & 0x7fff;
            let name = names.get(layout.u32(&a, 8).map_or(0, u64::from))?;
            versions.push((index, name.into_owned()));
            match layout.u32(&a, 12).unwrap_or(0) {
                0 => break,
                next => aux = aux.saturating_add(u64::from(next)),
            }
        }
        each(library, versions);
        match field(12) {
            0 => break,
            next => at = at.saturating_add(next),
        }
    }
    Ok(())
}

/// Walks the version definitions: (index, flags, name) of each, the name from its first
/// auxiliary entry (the others name its parents). Every entry is read once at most.
fn walk_verdef(
    source: &(impl Source + ?Sized),
    layout: &Layout,
    names: &mut Names,
    mut at: u64,
    count: u64,
    seen: &mut HashSet<u64>,
    mut each: impl FnMut(u16, u16, String),
) -> Result<(), String> {
    for _ in 0..count {
        if seen.len() >= MAX_VERSION_ENTRIES || !seen.insert(at) {
            break;
        }
        let entry = source.bytes(at, 20)?;
        let flags = layout.u16(&entry, 2).unwrap_or(0);
        let index = layout.u16(&entry, 4).unwrap_or(0) & 0x7fff;
        let aux_count = layout.u16(&entry, 6).unwrap_or(0);
        let aux = layout.u32(&entry, 12).map_or(0, u64::from);
        if aux_count > 0 {
            let a = source.bytes(at.saturating_add(aux), 8)?;
            let name = names.get(layout.u32(&a, 0).map_or(0, u64::from))?;
            each(index, flags, name.into_owned());
        }
        match layout.u32(&entry, 16).unwrap_or(0) {
            0 => break,
            next => at = at.saturating_add(u64::from(next)),
        }
    }
    Ok(())
}

/// The section headers, and from them whether the file is stripped and what `strip` would
/// save. The loader does not need them: when they cannot be read the file counts as stripped
/// with nothing to save (nothing is claimed).
fn read_sections(
    source: &(impl Source + ?Sized),
    layout: &Layout,
    info: &mut ElfInfo,
) -> Vec<SectionHeader> {
    let header = &layout.header;
    let ctx = layout.ctx();
    let entry = SectionHeader::size(ctx) as u64;
    if header.e_shoff == 0 || header.e_shnum == 0 || u64::from(header.e_shentsize) != entry {
        return Vec::new();
    }
    let Ok(table) = source.bytes(header.e_shoff, entry * u64::from(header.e_shnum)) else {
        return Vec::new();
    };
    let Ok(sections) = SectionHeader::parse_from(&table, 0, header.e_shnum as usize, ctx) else {
        return Vec::new();
    };
    info.stripped = !sections
        .iter()
        .any(|s| s.sh_type == section_header::SHT_SYMTAB);
    let names = sections
        .get(header.e_shstrndx as usize)
        .and_then(|s| source.bytes(s.sh_offset, s.sh_size).ok());
    if let Some(table) = names {
        let mut names = Names::new(&table);
        for sh in &sections {
            let name = names.get(sh.sh_name as u64).unwrap_or_default();
            let counts = name.starts_with(".debug_")
                || name.starts_with(".zdebug_")
                || name == ".symtab"
                || name == ".strtab";
            if counts && sh.sh_type != section_header::SHT_NOBITS {
                info.debug_bytes = info.debug_bytes.saturating_add(sh.sh_size);
            }
        }
    }
    sections
}

/// DT_RPATH and DT_RUNPATH hold colon-separated lists.
fn split_paths(entry: &str) -> Vec<String> {
    entry
        .split(':')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
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

    /// A hand-made 64-bit little-endian shared object: one loadable segment covering the
    /// file, a dynamic segment with `entries` (tag, value), and `data` placed at the offsets
    /// given (the tables the entries point at; addresses equal offsets).
    fn handmade(entries: &[(u64, u64)], data: &[(u64, Vec<u8>)]) -> Vec<u8> {
        const DYNAMIC: u64 = 0x100;
        let end = data
            .iter()
            .map(|(at, d)| at + d.len() as u64)
            .max()
            .unwrap_or(0)
            .max(0x1000);
        let mut f = vec![0u8; end as usize];
        let put = |f: &mut Vec<u8>, at: usize, bytes: &[u8]| {
            f[at..at + bytes.len()].copy_from_slice(bytes)
        };
        put(&mut f, 0, b"\x7fELF\x02\x01\x01");
        put(&mut f, 16, &3u16.to_le_bytes()); // ET_DYN
        put(&mut f, 18, &62u16.to_le_bytes()); // x86-64
        put(&mut f, 20, &1u32.to_le_bytes());
        put(&mut f, 32, &64u64.to_le_bytes()); // e_phoff
        put(&mut f, 52, &64u16.to_le_bytes());
        put(&mut f, 54, &56u16.to_le_bytes());
        put(&mut f, 56, &2u16.to_le_bytes()); // e_phnum
        put(&mut f, 58, &64u16.to_le_bytes());
        let dynamic_len = (entries.len() as u64 + 1) * 16;
        let phdrs = [(1u32, 4u32, 0u64, end), (2, 6, DYNAMIC, dynamic_len)];
        for (i, (kind, flags, at, len)) in phdrs.into_iter().enumerate() {
            let p = 64 + 56 * i;
            put(&mut f, p, &kind.to_le_bytes());
            put(&mut f, p + 4, &flags.to_le_bytes());
            for (field, value) in [at, at, at, len, len, 8].into_iter().enumerate() {
                put(&mut f, p + 8 + 8 * field, &value.to_le_bytes());
            }
        }
        for (i, (tag, value)) in entries.iter().enumerate() {
            let at = DYNAMIC as usize + 16 * i;
            put(&mut f, at, &tag.to_le_bytes());
            put(&mut f, at + 8, &value.to_le_bytes());
        }
        for (at, bytes) in data {
            put(&mut f, *at as usize, bytes);
        }
        f
    }

    /// Counts the reads a parse makes.
    struct Counting<'a>(&'a [u8], std::cell::Cell<u64>);

    impl Source for Counting<'_> {
        fn size(&self) -> u64 {
            self.0.size()
        }

        fn bytes(&self, at: u64, len: u64) -> Result<Cow<'_, [u8]>, String> {
            self.1.set(self.1.get() + 1);
            self.0.bytes(at, len)
        }
    }

    #[test]
    fn handmade_files_read_right() {
        let strtab = b"\0libc.so.6\0libm.so.6\0".to_vec();
        let file = handmade(
            &[
                (DT_NEEDED, 1),
                (DT_NEEDED, 11),
                (DT_STRTAB, 0x400),
                (DT_STRSZ, 21),
            ],
            &[(0x400, strtab)],
        );
        let info = parse(&file).unwrap();
        assert_eq!(info.needed, ["libc.so.6", "libm.so.6"]);
        // A NEEDED entry naming the empty string is unreadable, never an empty name.
        let empty = handmade(
            &[(DT_NEEDED, 0), (DT_STRTAB, 0x400), (DT_STRSZ, 11)],
            &[(0x400, b"\0libc.so.6\0".to_vec())],
        );
        let e = parse(&empty).unwrap_err();
        assert!(
            e.starts_with(UNREADABLE) && e.contains("empty DT_NEEDED"),
            "{e}"
        );
    }

    /// Issue 11: version need entries whose auxiliary chains run into each other (4,096 needs,
    /// each claiming 65,535 versions, all sharing one chain of 4,096) cost one read per entry,
    /// not one per (need, version) pair.
    #[test]
    fn overlapping_version_needs_are_read_once_each() {
        const NEEDS: u64 = 4096;
        const VERNEED: u64 = 0x1000;
        let aux_at = VERNEED + 16 * NEEDS;
        let strtab = b"\0libc.so.6\0GLIBC_2.2.5\0".to_vec();
        let mut needs = Vec::new();
        for i in 0..NEEDS {
            let at = VERNEED + 16 * i;
            needs.extend(1u16.to_le_bytes());
            needs.extend(0xffffu16.to_le_bytes()); // vn_cnt
            needs.extend(1u32.to_le_bytes()); // vn_file: libc.so.6
            needs.extend(((aux_at - at) as u32).to_le_bytes()); // vn_aux: the shared chain
            needs.extend(16u32.to_le_bytes()); // vn_next
        }
        let mut aux = Vec::new();
        for i in 0..NEEDS {
            aux.extend(0u32.to_le_bytes());
            aux.extend(0u16.to_le_bytes());
            aux.extend((2 + (i % 100) as u16).to_le_bytes()); // vna_other
            aux.extend(11u32.to_le_bytes()); // vna_name: GLIBC_2.2.5
            let next = if i + 1 < NEEDS { 16u32 } else { 0 };
            aux.extend(next.to_le_bytes()); // vna_next
        }
        let file = handmade(
            &[
                (DT_STRTAB, 0x800),
                (DT_STRSZ, strtab.len() as u64),
                (DT_VERNEED, VERNEED),
                (DT_VERNEEDNUM, 0xffff_ffff),
            ],
            &[(0x800, strtab), (VERNEED, needs), (aux_at, aux)],
        );
        let counting = Counting(&file, std::cell::Cell::new(0));
        let info = parse_from(&counting).unwrap();
        assert_eq!(info.needs.len(), NEEDS as usize);
        assert_eq!(
            info.needs[0].versions.keys().collect::<Vec<_>>(),
            ["GLIBC_2.2.5"]
        );
        assert!(info.needs[1..].iter().all(|n| n.versions.is_empty()));
        // One read per entry and per auxiliary entry, and a few for the headers.
        assert!(
            counting.1.get() <= 2 * NEEDS + 16,
            "{} reads",
            counting.1.get()
        );
    }

    /// Issue 11: 40,000 symbols named by offsets into one 1 MiB string would cost 40 GB of
    /// name reading; the names' budget stops it.
    #[test]
    fn symbols_named_into_one_long_string_are_refused() {
        const SYMBOLS: u64 = 40_000;
        let mut strtab = vec![b'a'; 1 << 20];
        strtab.push(0);
        let strtab_at = 0x10000u64;
        let symtab_at = strtab_at + strtab.len() as u64;
        let hash_at = symtab_at + 24 * SYMBOLS;
        let mut symtab = Vec::new();
        for i in 0..SYMBOLS {
            symtab.extend((i as u32).to_le_bytes()); // st_name
            symtab.push(0x12); // global function
            symtab.push(0);
            symtab.extend(0u16.to_le_bytes()); // undefined
            symtab.extend([0u8; 16]);
        }
        let mut hash = 1u32.to_le_bytes().to_vec();
        hash.extend((SYMBOLS as u32).to_le_bytes()); // nchain
        let file = handmade(
            &[
                (DT_STRTAB, strtab_at),
                (DT_STRSZ, strtab.len() as u64),
                (DT_SYMTAB, symtab_at),
                (DT_HASH, hash_at),
            ],
            &[(strtab_at, strtab), (symtab_at, symtab), (hash_at, hash)],
        );
        let e = parse(&file).unwrap_err();
        assert!(e.contains("overlap"), "{e}");
    }

    /// Issue 11: what a streamed capture keeps is bounded by the limit, whatever the file's
    /// segments claim (here one loadable segment and a dynamic segment span 64 MiB).
    #[test]
    fn a_capture_keeps_no_more_than_its_limit() {
        const SIZE: u64 = 64 << 20;
        let mut file = handmade(&[], &[]);
        file.resize(SIZE as usize, 0);
        // The loadable segment spans the file; the dynamic segment is its last 32 MiB.
        let dynamic_at = SIZE / 2;
        file[64 + 32..64 + 40].copy_from_slice(&SIZE.to_le_bytes());
        file[64 + 40..64 + 48].copy_from_slice(&SIZE.to_le_bytes());
        let p = 64 + 56;
        for field in 0..3 {
            let at = p + 8 + 8 * field;
            file[at..at + 8].copy_from_slice(&dynamic_at.to_le_bytes());
        }
        file[p + 32..p + 40].copy_from_slice(&(SIZE / 2).to_le_bytes());
        file[p + 40..p + 48].copy_from_slice(&(SIZE / 2).to_le_bytes());
        let limit = 1 << 20;
        let mut capture = Capture::new(SIZE, limit);
        for chunk in file.chunks(64 * 1024) {
            if !capture.wants_stream() {
                break;
            }
            capture.push(chunk);
            assert!(capture.kept() <= limit);
        }
        // Facts are not made up from what was not kept.
        let e = capture.parse().unwrap_err();
        assert!(e.contains("elf-capture"), "{e}");
    }
}
