//! One ELF file's facts, read with goblin: what the loader will need (interpreter, NEEDED,
//! RPATH/RUNPATH, symbol versions), what the file provides (SONAME, version definitions), and
//! what `strip` would save. A file is captured while the layer streams past: whole when small,
//! and only its headers and the sections the loader reads when large, in a zero-filled buffer
//! of the file's size whose untouched pages cost no memory.

use std::collections::BTreeMap;
use std::ops::Range;

use goblin::elf::{Elf, program_header, section_header};

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
    if let Some(verdef) = &elf.verdef {
        for def in verdef.iter() {
            // The first auxiliary entry names the version; the rest name its parents.
            if let Some(aux) = def.iter().next() {
                if let Some(name) = name_of(aux.vda_name) {
                    defines.push(name);
                }
            }
        }
    }

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
