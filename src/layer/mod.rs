//! Layer: streams one layer blob (plain tar, gzip or zstd) into a list of [`Entry`] values,
//! without unpacking anything to disk. It sits between `source` (which hands it a blob as a
//! `Read`) and `model` (which stacks the entry lists of all layers into one tree). It knows
//! nothing of other layers: whiteouts are recorded here and applied there.
//!
//! Every regular file's bytes pass through a fast content hash (for duplicate detection); the
//! contents of the few files an analysis asked for are kept. When verification is off and the
//! blob is a plain tar on a seekable source, the walk seeks past contents instead of reading.

pub mod blob;
pub mod elf;
pub mod path;

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read, Seek};

use tar::EntryType;
use xxhash_rust::xxh3::Xxh3;

pub use blob::Compression;

/// What a tar entry is, after whiteout markers are recognized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Fifo,
    CharDevice,
    BlockDevice,
    /// `.wh.NAME`: removes NAME (and everything under it) from the layers below.
    Whiteout,
    /// `.wh..wh..opq`: hides everything the layers below have in this directory.
    Opaque,
}

/// One entry of a layer, with its path normalized (relative to `/`, no trailing slash).
/// For a whiteout the path is the removed path; for an opaque marker it is the directory.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: Box<[u8]>,
    pub kind: EntryKind,
    /// Regular-file size from the tar header (the real size of a sparse file); 0 otherwise.
    pub size: u64,
    /// The size field of the tar header for any entry type (dive counts it even for
    /// directories and links); the real size for a sparse file.
    pub header_size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Symlink target as written, or hardlink target normalized.
    pub link: Option<Box<[u8]>>,
    /// xxh3-128 of the file's contents, when they were read.
    pub content_hash: Option<u128>,
    /// The contents, only for files an analysis asked for.
    pub content: Option<Box<[u8]>>,
    /// What an ELF file needs and provides.
    pub elf: Option<Box<elf::ElfInfo>>,
}

/// A problem with one entry that does not stop the walk.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub path: Option<Box<[u8]>>,
    pub message: String,
}

/// What a layer walk found.
#[derive(Clone, Debug, Default)]
pub struct LayerScan {
    pub entries: Vec<Entry>,
    /// Bytes of the stored blob and of the uncompressed tar.
    pub blob_size: u64,
    pub tar_size: u64,
    pub compression: Option<Compression>,
    /// `sha256:<hex>` of the stored blob and of the uncompressed tar, where computed.
    pub blob_digest: Option<String>,
    pub tar_digest: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Which digests to compute and which contents to keep.
pub struct ScanOptions<'a> {
    pub hash_blob: bool,
    pub hash_tar: bool,
    /// Decides, from a regular file's normalized path and size, whether to keep its contents.
    pub keep_content: &'a (dyn Fn(&[u8], u64) -> bool + Sync),
    /// Read the facts of every ELF file.
    pub inspect_elf: bool,
}

/// Walks a layer blob from a sequential reader, decompressing as needed.
pub fn scan(blob: impl Read, opts: &ScanOptions) -> io::Result<LayerScan> {
    // An uncompressed blob is its own tar, so one hash serves both digests.
    if opts.hash_blob || opts.hash_tar {
        let mut stored = blob::BackgroundHash::new(blob);
        let mut scan = walk_stored(&mut stored, opts)?;
        let (blob_size, digest) = stored.finish()?;
        scan.blob_size = blob_size;
        if scan.compression == Some(Compression::None) {
            scan.tar_digest = Some(digest.clone());
        }
        scan.blob_digest = Some(digest);
        Ok(scan)
    } else {
        let mut stored = BufReader::with_capacity(256 * 1024, blob::Counting::new(blob));
        let mut scan = walk_stored(&mut stored, opts)?;
        // Trailing bytes after the compressed stream still belong to the blob.
        io::copy(&mut stored, &mut io::sink())?;
        scan.blob_size = stored.get_ref().count();
        Ok(scan)
    }
}

/// Detects the compression of a stored blob and walks the tar inside it.
fn walk_stored(stored: &mut impl BufRead, opts: &ScanOptions) -> io::Result<LayerScan> {
    let compression = blob::detect(stored)?;
    let mut scan = LayerScan {
        compression: Some(compression),
        ..LayerScan::default()
    };
    let hash_tar = opts.hash_tar && compression != Compression::None;
    match compression {
        Compression::None => walk_tar(stored, opts, false, &mut scan)?,
        Compression::Gzip => {
            let gz = flate2::bufread::MultiGzDecoder::new(stored);
            walk_tar(gz, opts, hash_tar, &mut scan)?
        }
        Compression::Zstd => {
            let zst = zstd::stream::read::Decoder::with_buffer(stored)?;
            walk_tar(zst, opts, hash_tar, &mut scan)?
        }
    }
    Ok(scan)
}

/// Walks a plain tar on a seekable source, skipping file contents: for `--no-verify`.
/// Large ELF files are read where needed, after the walk, rather than whole.
pub fn scan_seekable(blob: blob::Section, opts: &ScanOptions) -> io::Result<LayerScan> {
    let regions = blob.clone();
    let mut archive = tar::Archive::new(blob::Counting::new(blob));
    let mut scan = LayerScan {
        compression: Some(Compression::None),
        ..LayerScan::default()
    };
    let mut deferred = Vec::new();
    let end = walk(
        archive.entries_with_seek()?,
        opts,
        false,
        &mut scan,
        &mut deferred,
    )?;
    let mut reader = archive.into_inner();
    check_end(reader.count(), end)?;
    scan.tar_size = reader.seek(io::SeekFrom::End(0))?;
    scan.blob_size = scan.tar_size;
    for (index, data_at, mut capture) in deferred {
        for range in capture.missing() {
            let mut bytes = vec![0u8; (range.end - range.start) as usize];
            regions.read_exact_at(&mut bytes, data_at + range.start)?;
            capture.fill(range.start, &bytes);
        }
        let entry = &mut scan.entries[index];
        match capture.parse() {
            Ok(info) => entry.elf = Some(Box::new(info)),
            Err(message) => scan.diagnostics.push(Diagnostic {
                path: Some(entry.path.clone()),
                message,
            }),
        }
    }
    Ok(scan)
}

/// A large ELF file whose remaining regions are read after the walk: (entry index, offset of
/// its data in the layer, what was captured so far).
type Deferred = (usize, u64, elf::Capture);

/// Walks the tar read from `tar`, then reads it to its end, hashing it when asked.
fn walk_tar(
    tar: impl Read,
    opts: &ScanOptions,
    hash: bool,
    scan: &mut LayerScan,
) -> io::Result<()> {
    if hash {
        let mut archive = tar::Archive::new(blob::BackgroundHash::new(tar));
        let end = walk(archive.entries()?, opts, true, scan, &mut Vec::new())?;
        let tar = archive.into_inner();
        check_end(tar.count(), end)?;
        let (size, digest) = tar.finish()?;
        scan.tar_size = size;
        scan.tar_digest = Some(digest);
    } else {
        let mut archive = tar::Archive::new(blob::Counting::new(tar));
        let end = walk(archive.entries()?, opts, true, scan, &mut Vec::new())?;
        let mut tar = archive.into_inner();
        check_end(tar.count(), end)?;
        io::copy(&mut tar, &mut io::sink())?;
        scan.tar_size = tar.count();
    }
    Ok(())
}

/// The tar reader stops quietly at EOF on a header boundary; a real archive ends with a block
/// of zeros, so having read past the last entry's data by less than a block means truncation.
fn check_end(consumed: u64, last_data_end: u64) -> io::Result<()> {
    if consumed < last_data_end + 512 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "truncated tar: it ends without the end-of-archive marker",
        ));
    }
    Ok(())
}

/// Turns tar entries into [`Entry`] values. Returns where the last entry's data ends.
fn walk<R: Read>(
    entries: tar::Entries<'_, R>,
    opts: &ScanOptions,
    read_contents: bool,
    scan: &mut LayerScan,
    deferred: &mut Vec<Deferred>,
) -> io::Result<u64> {
    let mut data_end = 0;
    for entry in entries {
        let mut entry = entry?;
        let header = entry.header();
        let stored = if header.entry_type().is_gnu_sparse() {
            header.entry_size()?
        } else {
            entry.size()
        };
        data_end = entry.raw_file_position() + stored.div_ceil(512) * 512;

        let kind = match header.entry_type() {
            // Old tars mark directories only by a trailing slash.
            EntryType::Regular if entry.path_bytes().ends_with(b"/") => EntryKind::Dir,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => EntryKind::File,
            EntryType::Directory => EntryKind::Dir,
            EntryType::Symlink => EntryKind::Symlink,
            EntryType::Link => EntryKind::Hardlink,
            EntryType::Fifo => EntryKind::Fifo,
            EntryType::Char => EntryKind::CharDevice,
            EntryType::Block => EntryKind::BlockDevice,
            EntryType::XGlobalHeader => continue,
            other => {
                scan.diagnostics.push(Diagnostic {
                    path: path::normalize(&entry.path_bytes()),
                    message: format!("skipped a tar entry of unsupported type {other:?}"),
                });
                continue;
            }
        };
        let mode = header.mode().unwrap_or(0o644);
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let sparse = pax_sparse(&mut entry)?;
        let raw_path: Cow<[u8]> = match &sparse {
            Some(s) if s.name.is_some() => Cow::Owned(s.name.clone().unwrap_or_default()),
            _ => Cow::Owned(entry.path_bytes().into_owned()),
        };
        let Some(path) = path::normalize(&raw_path) else {
            continue; // the root directory itself
        };
        let (parent, name) = path::split_last(&path);
        if let Some(hidden) = name.strip_prefix(b".wh.") {
            let (kind, path) = if hidden == b".wh..opq" {
                (EntryKind::Opaque, parent.into())
            } else if hidden.starts_with(b".wh.") {
                continue; // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs), not a whiteout
            } else {
                (EntryKind::Whiteout, path::join(parent, hidden))
            };
            scan.entries.push(Entry {
                path,
                kind,
                size: 0,
                header_size: entry.size(),
                mode,
                uid,
                gid,
                link: None,
                content_hash: None,
                content: None,
                elf: None,
            });
            continue;
        }
        let link = match kind {
            EntryKind::Symlink => entry.link_name_bytes().map(|l| l.into_owned().into()),
            EntryKind::Hardlink => entry.link_name_bytes().and_then(|l| path::normalize(&l)),
            _ => None,
        };
        let size = match (&sparse, kind) {
            (Some(s), _) => s.real_size.unwrap_or(entry.size()),
            (None, EntryKind::File) => entry.size(),
            _ => 0,
        };
        let mut record = Entry {
            path,
            kind,
            size,
            header_size: if kind == EntryKind::File {
                size
            } else {
                entry.size()
            },
            mode,
            uid,
            gid,
            link,
            content_hash: None,
            content: None,
            elf: None,
        };
        if kind == EntryKind::File {
            let keep = (opts.keep_content)(&record.path, size);
            let inspect = opts.inspect_elf && sparse.is_none();
            let data_at = entry.raw_file_position();
            let read = read_file(&mut entry, size, keep, inspect, read_contents)
                .map_err(|e| with_path(e, &record.path))?;
            record.content_hash = read.hash;
            record.content = match (read.content, &sparse) {
                (Some(stored), Some(s)) if s.map_in_data => {
                    Some(expand_sparse(&stored, s.real_size).into_boxed_slice())
                }
                (content, _) => content.map(Vec::into_boxed_slice),
            };
            match read.elf {
                Some(capture) if capture.missing().is_empty() => match capture.parse() {
                    Ok(info) => record.elf = Some(Box::new(info)),
                    Err(message) => scan.diagnostics.push(Diagnostic {
                        path: Some(record.path.clone()),
                        message,
                    }),
                },
                Some(capture) => deferred.push((scan.entries.len(), data_at, capture)),
                None => {}
            }
        }
        scan.entries.push(record);
    }
    Ok(data_end)
}

fn with_path(e: io::Error, path: &[u8]) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path::absolute(path)))
}

/// What reading one regular file gave.
struct FileRead {
    /// xxh3-128 of the contents, when all of them were read.
    hash: Option<u128>,
    /// The stored contents, when kept.
    content: Option<Vec<u8>>,
    /// The capture of an ELF file (complete, or with regions left to read).
    elf: Option<elf::Capture>,
}

/// Reads a regular file's data: all of it when `whole` (for the content hash), else only what
/// is kept and what an ELF capture needs.
fn read_file(
    entry: &mut impl Read,
    size: u64,
    keep: bool,
    inspect_elf: bool,
    whole: bool,
) -> io::Result<FileRead> {
    let mut hasher = whole.then(Xxh3::new);
    let mut kept = keep.then(Vec::new);
    let mut capture: Option<elf::Capture> = None;
    // The first bytes, until they say whether this is an ELF file.
    let mut head: Vec<u8> = Vec::new();
    let mut decided = !inspect_elf || size < 4;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let wanted = whole
            || kept.is_some()
            || !decided
            || capture.as_ref().is_some_and(elf::Capture::wants_stream);
        if !wanted {
            break;
        }
        // Without the content hash, a file's first bytes are enough to tell it is not ELF.
        let limit = if whole || kept.is_some() || decided {
            buf.len()
        } else {
            4 - head.len()
        };
        let n = entry.read(&mut buf[..limit])?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if let Some(h) = &mut hasher {
            h.update(chunk);
        }
        if let Some(k) = &mut kept {
            k.extend_from_slice(chunk);
        }
        if decided {
            if let Some(c) = &mut capture {
                c.push(chunk);
            }
            continue;
        }
        head.extend_from_slice(chunk);
        if head.len() >= 4 {
            decided = true;
            if elf::is_elf(&head) {
                capture = elf::Capture::new(size);
                if let Some(c) = &mut capture {
                    c.push(&head);
                }
            }
        }
    }
    Ok(FileRead {
        hash: hasher.map(|h| h.digest128()),
        content: kept,
        elf: capture,
    })
}

/// The PAX records GNU tar writes for sparse files (formats 0.1 and 1.0).
struct PaxSparse {
    name: Option<Vec<u8>>,
    real_size: Option<u64>,
    /// Format 1.0 keeps the sparse map at the start of the data.
    map_in_data: bool,
}

fn pax_sparse<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Option<PaxSparse>> {
    let Some(exts) = entry.pax_extensions()? else {
        return Ok(None);
    };
    let mut found = PaxSparse {
        name: None,
        real_size: None,
        map_in_data: false,
    };
    let mut any = false;
    for ext in exts.flatten() {
        let number = || {
            std::str::from_utf8(ext.value_bytes())
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        match ext.key_bytes() {
            b"GNU.sparse.name" => found.name = Some(ext.value_bytes().to_vec()),
            b"GNU.sparse.realsize" | b"GNU.sparse.size" => found.real_size = number(),
            b"GNU.sparse.major" => found.map_in_data = number() == Some(1),
            b"GNU.sparse.map" => {}
            _ => continue,
        }
        any = true;
    }
    Ok(any.then_some(found))
}

/// Rebuilds a PAX 1.0 sparse file from its stored form: a map of decimal numbers, one per line
/// (count, then offset/length pairs), padded to a 512-byte block, then the segments' data.
fn expand_sparse(stored: &[u8], real_size: Option<u64>) -> Vec<u8> {
    let mut numbers = Vec::new();
    let mut line_start = 0;
    for (at, &byte) in stored.iter().enumerate() {
        if byte != b'\n' {
            continue;
        }
        let text = std::str::from_utf8(&stored[line_start..at]).unwrap_or("");
        numbers.push(text.trim().parse::<u64>().unwrap_or(0));
        line_start = at + 1;
        let count = numbers[0] as usize;
        if numbers.len() > count.saturating_mul(2) {
            break;
        }
    }
    let mut data = &stored[(line_start.div_ceil(512) * 512).min(stored.len())..];
    // The map comes from the archive: never let it make us allocate past the declared size.
    let limit = real_size.unwrap_or(stored.len() as u64) as usize;
    let mut out = Vec::new();
    for pair in numbers.get(1..).unwrap_or(&[]).chunks_exact(2) {
        let (offset, len) = (pair[0] as usize, pair[1] as usize);
        if offset > limit {
            break;
        }
        if out.len() < offset {
            out.resize(offset, 0);
        }
        let take = len.min(data.len());
        out.extend_from_slice(&data[..take]);
        data = &data[take..];
    }
    if let Some(size) = real_size {
        out.resize(size as usize, 0);
    }
    out
}
