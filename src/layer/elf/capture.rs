//! Keeping what an ELF file's facts need while its layer streams past, in bounded memory.
//!
//! A stream cannot go back, and the dynamic segment, which says where the loader's tables are,
//! usually comes after them. So a large file is kept in stages: its first bytes (header and
//! program headers); then, up to the end of the dynamic segment, the loadable segments that
//! may hold the tables (the non-executable ones, and an executable one that starts the file,
//! as in layouts without separate code); once the dynamic segment is read, only the tables it
//! points at, each up to the next section the dynamic segment names (sections do not overlap),
//! whether already kept or still ahead (auditwheel's patchelf moves them to new segments at
//! the end). What is kept on speculation past the first 8 MiB is held compressed until then:
//! in a segment that starts the file it is mostly code. Debug information is never kept.
//! Everything kept counts against the `elf-capture` limit (uncompressed); a file whose tables
//! lie past it is a diagnostic that names the limit, never facts made up from missing bytes.

use std::borrow::Cow;
use std::io;
use std::ops::Range;

use super::{DT_STRSZ, DT_STRTAB, Layout, Source, past_the_end, table_offsets, tag};

/// Files up to this size are kept whole: a plan would save little.
const SMALL: u64 = 256 << 10;
/// The first bytes, kept whole: the header and the program headers.
const HEAD: u64 = 64 << 10;
/// What is kept before the section header table, where the section names usually are.
const BEFORE_SECTIONS: u64 = 64 << 10;
/// Past this many kept bytes of a file, what is kept on speculation is compressed until the
/// plan says which of it is needed: an old-layout library's first segment is mostly code, and
/// two of them in flight held over 100 MiB.
const RAW_SPECULATION: u64 = 8 << 20;
/// Speculated bytes are compressed in blocks of this size.
const BLOCK: usize = 1 << 20;
/// The dynamic tags whose value is an address (`d_ptr`): where a section starts.
const ADDRESS_TAGS: &[u64] = &[
    3,           // DT_PLTGOT
    4,           // DT_HASH
    5,           // DT_STRTAB
    6,           // DT_SYMTAB
    7,           // DT_RELA
    12,          // DT_INIT
    13,          // DT_FINI
    17,          // DT_REL
    23,          // DT_JMPREL
    25,          // DT_INIT_ARRAY
    26,          // DT_FINI_ARRAY
    32,          // DT_PREINIT_ARRAY
    36,          // DT_RELR
    0x6fff_fef5, // DT_GNU_HASH
    0x6fff_fff0, // DT_VERSYM
    0x6fff_fffc, // DT_VERDEF
    0x6fff_fffe, // DT_VERNEED
];

/// The bytes of one ELF file kept as they stream past.
pub struct Capture {
    size: u64,
    /// How far the stream has come.
    seen: u64,
    /// Kept bytes: (offset, bytes), in offset order, not overlapping.
    pieces: Vec<(u64, Vec<u8>)>,
    /// Bytes kept on speculation past `raw_speculation`, compressed, in offset order, and the
    /// block being filled.
    packed: Vec<Packed>,
    filling: Option<(u64, Vec<u8>)>,
    raw_speculation: u64,
    stage: Stage,
    /// The ranges to keep, sorted and disjoint; the speculative ones (true) leave room in the
    /// limit for the others.
    keep: Vec<(Range<u64>, bool)>,
    /// The `elf-capture` limit, how much of it is used, and how much the ranges known to be
    /// needed may take of it.
    limit: u64,
    kept: u64,
    reserved: u64,
    /// Bytes the plan wanted were dropped for the limit.
    dropped: bool,
}

/// A block of speculated bytes, compressed with zstd.
struct Packed {
    at: u64,
    len: usize,
    zstd: Vec<u8>,
}

impl Packed {
    fn unpack(&self) -> Vec<u8> {
        // Compressed here a moment ago: only a failing allocation could fail this.
        zstd::bulk::decompress(&self.zstd, self.len).unwrap_or_default()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Keeping the first bytes, until the program headers are known.
    Head,
    /// Keeping the segments where the tables may be, until the dynamic segment (which ends
    /// here) says where they are.
    Speculating { dynamic_end: u64 },
    /// Keeping only what is known to be needed.
    Planned,
}

impl Capture {
    /// Starts capturing a file of `size` bytes, keeping at most `limit` bytes of it.
    pub fn new(size: u64, limit: u64) -> Capture {
        Capture::with_raw_speculation(size, limit, RAW_SPECULATION)
    }

    /// As [`Capture::new`], compressing what is speculated once `raw` bytes are kept (tests
    /// use 0, to check that compressed speculation gives the same facts).
    #[doc(hidden)]
    pub fn with_raw_speculation(size: u64, limit: u64, raw: u64) -> Capture {
        let (stage, keep) = if size <= SMALL {
            (Stage::Planned, vec![(0..size, false)])
        } else {
            (Stage::Head, vec![(0..HEAD, false)])
        };
        Capture {
            size,
            seen: 0,
            pieces: Vec::new(),
            packed: Vec::new(),
            filling: None,
            raw_speculation: raw,
            stage,
            keep,
            limit,
            kept: 0,
            reserved: 0,
            dropped: false,
        }
    }

    /// Takes the next bytes of the file.
    pub fn push(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() && self.seen < self.size {
            let boundary = match self.stage {
                Stage::Head => HEAD.min(self.size),
                Stage::Speculating { dynamic_end } => dynamic_end,
                Stage::Planned => u64::MAX,
            };
            if boundary <= self.seen {
                self.advance();
                continue;
            }
            let n = (boundary - self.seen)
                .min(self.size - self.seen)
                .min(chunk.len() as u64) as usize;
            self.keep_part(&chunk[..n]);
            self.seen += n as u64;
            chunk = &chunk[n..];
            if self.seen >= boundary {
                self.advance();
            }
        }
    }

    /// Whether the capture still needs bytes that follow in the stream.
    pub fn wants_stream(&self) -> bool {
        self.seen < self.size
            && (self.stage != Stage::Planned || self.keep.iter().any(|r| r.0.end > self.seen))
    }

    /// How many bytes of the file are kept (never more than the `elf-capture` limit).
    pub fn kept(&self) -> u64 {
        self.kept
    }

    /// Reads the facts from what was kept.
    pub fn parse(self) -> Result<super::ElfInfo, String> {
        super::parse_from(&self)
    }

    /// The next stage's plan, from what was kept so far.
    fn advance(&mut self) {
        let Ok(layout) = Layout::read(&*self) else {
            // The parse will say what is wrong with the headers.
            self.finish_plan(Vec::new());
            return;
        };
        let header = &layout.header;
        let mut keep = vec![
            0..HEAD.min(self.size),
            header.e_phoff
                ..header
                    .e_phoff
                    .saturating_add(u64::from(header.e_phnum) * u64::from(header.e_phentsize)),
            sections(&layout),
        ];
        for p in &layout.phdrs {
            if p.p_type == goblin::elf::program_header::PT_INTERP {
                keep.push(p.p_offset..p.p_offset.saturating_add(p.p_filesz));
            }
        }
        let dynamic = layout
            .dynamic()
            .map(|d| d.p_offset..d.p_offset.saturating_add(d.p_filesz));
        match (self.stage, dynamic) {
            (Stage::Head, Some(dynamic)) if dynamic.end > self.seen => {
                keep.push(dynamic.clone());
                let mut speculative = Vec::new();
                for p in &layout.phdrs {
                    let code = p.p_flags & goblin::elf::program_header::PF_X != 0;
                    if p.p_type == goblin::elf::program_header::PT_LOAD
                        && (!code || p.p_offset == 0)
                    {
                        let end = p.p_offset.saturating_add(p.p_filesz).min(dynamic.end);
                        speculative.push(p.p_offset..end);
                    }
                }
                self.stage = Stage::Speculating {
                    dynamic_end: dynamic.end,
                };
                self.plan(keep, speculative);
            }
            (_, Some(dynamic)) => {
                // The dynamic segment has been kept: keep what it points at.
                keep.push(dynamic);
                let entries = layout.dynamic_entries(&*self).unwrap_or_default();
                // Each address the dynamic section names starts a section, and sections do not
                // overlap: a table ends where the next one starts, or with its segment.
                let starts: Vec<u64> = entries
                    .iter()
                    .filter(|(t, _)| ADDRESS_TAGS.contains(t))
                    .filter_map(|&(_, address)| layout.offset_of(address))
                    .collect();
                for (t, at) in table_offsets(&layout, &entries) {
                    let end = match t {
                        DT_STRTAB => at.saturating_add(tag(&entries, DT_STRSZ).unwrap_or(0)),
                        // The others' sizes are known only once other tables are read.
                        _ => {
                            let segment_end = layout.segment_at(at).map_or(at, |s| s.end);
                            starts
                                .iter()
                                .copied()
                                .filter(|&s| s > at)
                                .fold(segment_end, u64::min)
                        }
                    };
                    keep.push(at..end);
                }
                self.finish_plan(keep);
            }
            (_, None) => self.finish_plan(keep),
        }
    }

    /// Keeps `keep`, and what of `speculative` fits in the limit beside it, from now on.
    fn plan(&mut self, keep: Vec<Range<u64>>, speculative: Vec<Range<u64>>) {
        let keep = merged(keep);
        self.reserved = keep.iter().map(|r| r.end - r.start).sum();
        let speculative = subtract(&merged(speculative), &keep);
        self.keep = keep.into_iter().map(|r| (r, false)).collect();
        self.keep.extend(speculative.into_iter().map(|r| (r, true)));
        self.keep.sort_by_key(|r| r.0.start);
    }

    /// Keeps only `keep` from now on, and lets go of what was kept on speculation outside it.
    fn finish_plan(&mut self, keep: Vec<Range<u64>>) {
        self.stage = Stage::Planned;
        self.plan(keep, Vec::new());
        self.seal();
        let mut speculated = std::mem::take(&mut self.pieces);
        // Only the blocks the plan wants a part of are unpacked.
        for block in std::mem::take(&mut self.packed) {
            let end = block.at + block.len as u64;
            if self
                .keep
                .iter()
                .any(|r| r.0.start < end && block.at < r.0.end)
            {
                speculated.push((block.at, block.unpack()));
            }
        }
        speculated.sort_by_key(|p| p.0);
        self.kept = 0;
        for (start, bytes) in speculated {
            let end = start + bytes.len() as u64;
            for i in 0..self.keep.len() {
                let r = &self.keep[i].0;
                let (from, to) = (r.start.max(start), r.end.min(end));
                if from < to {
                    self.store(
                        from,
                        &bytes[(from - start) as usize..(to - start) as usize],
                        false,
                    );
                }
            }
        }
    }

    /// Keeps what the plan wants of bytes at the stream's position.
    fn keep_part(&mut self, bytes: &[u8]) {
        let at = self.seen;
        let end = at + bytes.len() as u64;
        for i in 0..self.keep.len() {
            let (r, speculative) = &self.keep[i];
            let (from, to) = (r.start.max(at), r.end.min(end));
            if from < to {
                let speculative = *speculative;
                self.store(
                    from,
                    &bytes[(from - at) as usize..(to - at) as usize],
                    speculative,
                );
            }
        }
    }

    fn store(&mut self, at: u64, bytes: &[u8], speculative: bool) {
        let limit = if speculative {
            self.limit.saturating_sub(self.reserved)
        } else {
            self.limit
        };
        let room = limit.saturating_sub(self.kept);
        let bytes = if bytes.len() as u64 > room {
            self.dropped = true;
            &bytes[..room as usize]
        } else {
            bytes
        };
        if bytes.is_empty() {
            return;
        }
        self.kept += bytes.len() as u64;
        if speculative && self.kept > self.raw_speculation {
            self.pack(at, bytes);
            return;
        }
        match self.pieces.last_mut() {
            Some((start, piece)) if *start + piece.len() as u64 == at => {
                piece.extend_from_slice(bytes)
            }
            _ => self.pieces.push((at, bytes.to_vec())),
        }
    }
}

impl Capture {
    /// Adds speculated bytes to the block being filled, compressing it when it is full.
    fn pack(&mut self, at: u64, bytes: &[u8]) {
        if self
            .filling
            .as_ref()
            .is_some_and(|(start, b)| start + b.len() as u64 != at)
        {
            self.seal();
        }
        let (_, block) = self
            .filling
            .get_or_insert_with(|| (at, Vec::with_capacity(BLOCK)));
        block.extend_from_slice(bytes);
        if block.len() >= BLOCK {
            self.seal();
        }
    }

    /// Compresses the block being filled. Should compression fail, the bytes stay as they are.
    fn seal(&mut self) {
        let Some((at, bytes)) = self.filling.take() else {
            return;
        };
        match zstd::bulk::compress(&bytes, 1) {
            Ok(mut zstd) => self.packed.push(Packed {
                // The compressor sized it for incompressible input.
                zstd: {
                    zstd.shrink_to_fit();
                    zstd
                },
                at,
                len: bytes.len(),
            }),
            Err(_) => {
                let i = self.pieces.partition_point(|p| p.0 < at);
                self.pieces.insert(i, (at, bytes));
            }
        }
    }

    /// The bytes at `at..end` from kept pieces and blocks together, when they cover it: a file
    /// whose stream ended before its plan was made is parsed from what was speculated.
    fn gather(&self, at: u64, end: u64) -> Option<Vec<u8>> {
        if self.packed.is_empty() && self.filling.is_none() {
            return None;
        }
        let mut parts: Vec<(u64, Cow<'_, [u8]>)> = self
            .pieces
            .iter()
            .map(|(start, bytes)| (*start, Cow::Borrowed(&bytes[..])))
            .chain(
                self.filling
                    .iter()
                    .map(|(start, bytes)| (*start, Cow::Borrowed(&bytes[..]))),
            )
            .filter(|(start, bytes)| *start < end && at < start + bytes.len() as u64)
            .collect();
        for block in &self.packed {
            if block.at < end && at < block.at + block.len as u64 {
                parts.push((block.at, Cow::Owned(block.unpack())));
            }
        }
        parts.sort_by_key(|p| p.0);
        // Grown only by what was kept: a hostile file may ask for far more.
        let mut out = Vec::new();
        for (start, bytes) in parts {
            let here = at + out.len() as u64;
            if start > here {
                return None;
            }
            let from = (here - start) as usize;
            let to = (end - start).min(bytes.len() as u64) as usize;
            if from < to {
                out.extend_from_slice(&bytes[from..to]);
            }
        }
        (out.len() as u64 == end - at).then_some(out)
    }
}

/// The section header table, with what precedes it (the section names, usually).
fn sections(layout: &Layout) -> Range<u64> {
    let header = &layout.header;
    let table = u64::from(header.e_shnum) * u64::from(header.e_shentsize);
    if header.e_shoff == 0 {
        return 0..0;
    }
    header.e_shoff.saturating_sub(BEFORE_SECTIONS)..header.e_shoff.saturating_add(table)
}

/// The parts of sorted disjoint ranges outside other sorted disjoint ranges.
fn subtract(ranges: &[Range<u64>], minus: &[Range<u64>]) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    for r in ranges {
        let mut start = r.start;
        for m in minus {
            if m.start >= r.end || m.end <= start {
                continue;
            }
            if m.start > start {
                out.push(start..m.start);
            }
            start = start.max(m.end);
        }
        if start < r.end {
            out.push(start..r.end);
        }
    }
    out
}

/// Ranges sorted, with overlapping and touching ones merged.
fn merged(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

impl Source for Capture {
    fn size(&self) -> u64 {
        self.size
    }

    fn bytes(&self, at: u64, len: u64) -> Result<Cow<'_, [u8]>, String> {
        let end = at
            .checked_add(len)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| past_the_end(at, len))?;
        let i = self.pieces.partition_point(|p| p.0 <= at);
        if let Some((start, piece)) = i.checked_sub(1).map(|i| &self.pieces[i]) {
            if end <= start + piece.len() as u64 {
                return Ok(Cow::Borrowed(
                    &piece[(at - start) as usize..(end - start) as usize],
                ));
            }
        }
        if let Some(bytes) = self.gather(at, end) {
            return Ok(Cow::Owned(bytes));
        }
        Err(if self.dropped {
            format!(
                "its tables at {at:#x} are past what {} keeps of a file in a streamed layer",
                crate::limits::named_bytes("elf-capture", self.limit)
            )
        } else {
            format!(
                "its layout puts tables at {at:#x} where a streamed layer's capture does not keep bytes"
            )
        })
    }
}

/// A file in a seekable layer, read at offsets as the parse asks.
pub struct ReadAt<F> {
    size: u64,
    /// The `elf-capture` limit: no table bigger is read.
    limit: u64,
    read: F,
}

impl<F: Fn(u64, &mut [u8]) -> io::Result<()>> ReadAt<F> {
    /// A file of `size` bytes whose bytes at an offset `read` fills in.
    pub fn new(size: u64, limit: u64, read: F) -> ReadAt<F> {
        ReadAt { size, limit, read }
    }
}

impl<F: Fn(u64, &mut [u8]) -> io::Result<()>> Source for ReadAt<F> {
    fn size(&self) -> u64 {
        self.size
    }

    fn bytes(&self, at: u64, len: u64) -> Result<Cow<'_, [u8]>, String> {
        if at.checked_add(len).is_none_or(|end| end > self.size) {
            return Err(past_the_end(at, len));
        }
        if len > self.limit {
            return Err(format!(
                "a table of {len} bytes at {at:#x} is over {}",
                crate::limits::named_bytes("elf-capture", self.limit)
            ));
        }
        let mut buf = vec![0u8; len as usize];
        (self.read)(at, &mut buf).map_err(|e| format!("reading {len} bytes at {at:#x}: {e}"))?;
        Ok(Cow::Owned(buf))
    }
}
