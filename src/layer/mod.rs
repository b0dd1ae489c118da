//! Layer: streams one layer blob (plain tar, gzip or zstd) into a list of [`Entry`] values,
//! without unpacking anything to disk. It sits between `source` (which hands it a blob as a
//! `Read`) and `model` (which stacks the entry lists of all layers into one tree). It knows
//! nothing of other layers: whiteouts are recorded here and applied there.
//!
//! Every regular file's bytes pass through a fast content hash (for duplicate detection); the
//! contents of the few files an analysis asked for are kept. A plain tar on a seekable source
//! is walked by seeking past contents; with verification on, its bytes are then hashed where
//! they lie, in one pass (see `scan_seekable_verified`).

pub mod blob;
pub mod elf;
pub mod path;
pub mod tar;

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};
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

/// Which contents of a file an analysis wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    No,
    /// All of it, within the `file-content` limit.
    Whole,
    /// An email-style header block (a wheel's METADATA): up to the first empty line.
    Headers,
}

impl From<bool> for Keep {
    fn from(keep: bool) -> Keep {
        if keep { Keep::Whole } else { Keep::No }
    }
}

/// What the kept contents of one image may take: per file, and all files together (shared by
/// the walks of all layers, which may run at once).
#[derive(Debug)]
pub struct ContentBudget {
    pub per_file: u64,
    pub total: u64,
    /// The `elf-capture` limit: what is kept of one ELF file to read its facts.
    pub elf_capture: u64,
    used: AtomicU64,
}

impl ContentBudget {
    pub fn new(limits: &crate::limits::Limits) -> ContentBudget {
        ContentBudget {
            per_file: limits.file_content,
            total: limits.content_total,
            elf_capture: limits.elf_capture,
            used: AtomicU64::new(0),
        }
    }

    /// Reserves `n` bytes of the total; false when they do not fit.
    fn take(&self, n: u64) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(n).filter(|&u| u <= self.total)
            })
            .is_ok()
    }

    /// Gives back what a reservation did not use.
    fn give_back(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::Relaxed);
    }
}

impl Default for ContentBudget {
    fn default() -> Self {
        ContentBudget::new(&crate::limits::Limits::default())
    }
}

/// Which digests to compute and which contents to keep.
#[derive(Clone, Copy)]
pub struct ScanOptions<'a> {
    pub hash_blob: bool,
    pub hash_tar: bool,
    /// Decides, from a regular file's normalized path and size, what of its contents to keep.
    pub keep_content: &'a (dyn Fn(&[u8], u64) -> Keep + Sync),
    /// Read the facts of every ELF file.
    pub inspect_elf: bool,
    /// The `tar-header` limit: long names, PAX headers, sparse maps.
    pub max_tar_header: u64,
    /// The `file-content` and `content-total` limits.
    pub content: &'a ContentBudget,
}

/// A layer blob as a source hands it over.
pub enum Blob<'a> {
    /// Read once, front to back (a download, a compressed blob, a stream).
    Stream(&'a mut dyn Read),
    /// A plain tar in a file or in memory: the walk may seek past file contents.
    Seekable(blob::Section),
}

/// Which digests of a blob the source will check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digests {
    /// Of the stored blob (a manifest's layer digest).
    pub blob: bool,
    /// Of the uncompressed tar (a config's diff_id).
    pub tar: bool,
}

/// Walks a blob as a source handed it over, computing the digests asked for (`opts`' own
/// `hash_blob` and `hash_tar` are replaced by `digests`).
pub fn walk_blob(blob: Blob, digests: Digests, opts: &ScanOptions) -> io::Result<LayerScan> {
    let opts = ScanOptions {
        hash_blob: digests.blob,
        hash_tar: digests.tar,
        ..*opts
    };
    match blob {
        Blob::Seekable(section) if digests == Digests::default() && section.is_plain_tar()? => {
            scan_seekable(section, &opts)
        }
        Blob::Seekable(section) if section.is_plain_tar()? => {
            scan_seekable_verified(section, &opts)
        }
        Blob::Seekable(section) => scan(section, &opts),
        Blob::Stream(reader) => scan(reader, &opts),
    }
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
/// ELF files are read where their facts are, after the walk, rather than whole.
pub fn scan_seekable(blob: blob::Section, opts: &ScanOptions) -> io::Result<LayerScan> {
    let mut scan = LayerScan {
        compression: Some(Compression::None),
        blob_size: blob.len(),
        tar_size: blob.len(),
        ..LayerScan::default()
    };
    let later = walk_seekable(&blob, opts, false, &mut scan)?;
    read_deferred(&blob, opts, &mut scan, later.elf);
    Ok(scan)
}

/// Walks a plain tar on a seekable source as [`scan_seekable`] does, then reads every byte
/// where it lies, once, to hash the layer and each of its files (the walk said where they
/// are), while the ELF files are read beside it. Nothing is copied; a streamed ELF capture
/// would hold a large library's first segment until its dynamic section went past.
fn scan_seekable_verified(blob: blob::Section, opts: &ScanOptions) -> io::Result<LayerScan> {
    let mut scan = LayerScan {
        compression: Some(Compression::None),
        blob_size: blob.len(),
        tar_size: blob.len(),
        ..LayerScan::default()
    };
    let later = walk_seekable(&blob, opts, true, &mut scan)?;
    let (digest, file_hashes) = std::thread::scope(|scope| {
        let hashing = scope.spawn(|| hash_in_place(&blob, &later.hash));
        read_deferred(&blob, opts, &mut scan, later.elf);
        hashing
            .join()
            .map_err(|_| io::Error::other("the hashing thread panicked"))?
    })?;
    for (&(index, _, _), hash) in later.hash.iter().zip(file_hashes) {
        scan.entries[index].content_hash = Some(hash);
    }
    scan.tar_digest = Some(digest.clone());
    scan.blob_digest = Some(digest);
    Ok(scan)
}

/// The tar walk of a seekable layer, which seeks past file contents.
fn walk_seekable(
    blob: &blob::Section,
    opts: &ScanOptions,
    hash_later: bool,
    scan: &mut LayerScan,
) -> io::Result<Later> {
    let mut reader = tar::Reader::seekable(blob.clone(), opts.max_tar_header);
    let mut later = Later::default();
    let mode = if hash_later {
        Contents::HashLater
    } else {
        Contents::Skip
    };
    walk(&mut reader, opts, mode, scan, &mut later)?;
    Ok(later)
}

/// The SHA-256 of the whole layer (`sha256:<hex>`, trailing bytes after the tar's end
/// included) and the content hash of each file `files` lists (in the order of their data), in
/// one pass over the layer's bytes where they lie. Each piece is hashed twice while it is in
/// the processor's cache.
fn hash_in_place(blob: &blob::Section, files: &[Located]) -> io::Result<(String, Vec<u128>)> {
    /// Small enough to stay in a core's cache between the two hashes.
    const PIECE: usize = 256 << 10;
    let mut layer = Sha256::new();
    let mut hashes = Vec::with_capacity(files.len());
    // The hash of a file that goes on into the next piece.
    let mut unfinished: Option<Xxh3> = None;
    blob.visit_in_place(|window_at, window| {
        for (i, bytes) in window.chunks(PIECE).enumerate() {
            layer.update(bytes);
            let at = window_at + (i * PIECE) as u64;
            let end = at + bytes.len() as u64;
            while let Some(&(_, data_at, size)) = files.get(hashes.len()) {
                if data_at >= end {
                    break;
                }
                let from = (data_at.max(at) - at) as usize;
                let to = ((data_at + size).min(end) - at) as usize;
                let piece = &bytes[from..to];
                if data_at + size > end {
                    unfinished.get_or_insert_with(Xxh3::new).update(piece);
                    break;
                }
                hashes.push(match unfinished.take() {
                    None => xxhash_rust::xxh3::xxh3_128(piece),
                    Some(mut hasher) => {
                        hasher.update(piece);
                        hasher.digest128()
                    }
                });
            }
        }
    })?;
    if hashes.len() < files.len() {
        // The walk found every file inside the layer; a layer that shrank since is an error.
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "blob ended early",
        ));
    }
    Ok((format!("sha256:{}", blob::hex(&layer.finalize())), hashes))
}

/// Reads the ELF files a walk deferred, one at a time, at the offsets their facts need.
fn read_deferred(
    regions: &blob::Section,
    opts: &ScanOptions,
    scan: &mut LayerScan,
    deferred: Vec<Located>,
) {
    for (index, data_at, size) in deferred {
        let source = elf::ReadAt::new(size, opts.content.elf_capture, |at, buf: &mut [u8]| {
            regions.read_exact_at(buf, data_at + at)
        });
        let entry = &mut scan.entries[index];
        match elf::parse_from(&source) {
            Ok(info) => entry.elf = Some(Box::new(info)),
            Err(message) => scan.diagnostics.push(Diagnostic {
                path: Some(entry.path.clone()),
                message,
            }),
        }
    }
}

/// A file of a seekable layer, read after the walk: (entry index, offset of its data in the
/// layer, its size).
type Located = (usize, u64, u64);

/// What a walk of a seekable layer leaves to be read after it.
#[derive(Default)]
struct Later {
    /// ELF files, to read at the offsets their facts need.
    elf: Vec<Located>,
    /// Files to hash, in the order of their data.
    hash: Vec<Located>,
}

/// What the walk does with the contents of files it does not keep.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Contents {
    /// Reads and hashes them as they stream past (and captures ELF facts from them).
    Hash,
    /// Seeks past them (and leaves ELF files for later).
    Skip,
    /// Seeks past them, and leaves them and ELF files for later.
    HashLater,
}

/// Walks the tar read from `tar`, then reads it to its end, hashing it when asked.
fn walk_tar(
    tar: impl Read,
    opts: &ScanOptions,
    hash: bool,
    scan: &mut LayerScan,
) -> io::Result<()> {
    if hash {
        let mut reader = tar::Reader::new(blob::BackgroundHash::new(tar), opts.max_tar_header);
        walk(
            &mut reader,
            opts,
            Contents::Hash,
            scan,
            &mut Later::default(),
        )?;
        let (size, digest) = reader.into_inner().finish()?;
        scan.tar_size = size;
        scan.tar_digest = Some(digest);
    } else {
        let mut reader = tar::Reader::new(blob::Counting::new(tar), opts.max_tar_header);
        walk(
            &mut reader,
            opts,
            Contents::Hash,
            scan,
            &mut Later::default(),
        )?;
        let mut tar = reader.into_inner();
        io::copy(&mut tar, &mut io::sink())?;
        scan.tar_size = tar.count();
    }
    Ok(())
}

/// Turns tar members into [`Entry`] values.
fn walk<R: Read>(
    tar: &mut tar::Reader<R>,
    opts: &ScanOptions,
    contents: Contents,
    scan: &mut LayerScan,
    later: &mut Later,
) -> io::Result<()> {
    // One read buffer for every file of the layer: a zeroed 64 KiB per file cost more than
    // the rest of the walk on images of many small files.
    let mut buf = vec![0u8; 64 * 1024];
    while let Some(header) = tar.next_header()? {
        let kind = match header.typeflag {
            // Old tars mark directories only by a trailing slash.
            b'0' | b'\0' | b'7' if header.path.ends_with(b"/") => EntryKind::Dir,
            b'0' | b'\0' | b'7' | b'S' => EntryKind::File,
            b'5' | b'D' => EntryKind::Dir,
            b'2' => EntryKind::Symlink,
            b'1' => EntryKind::Hardlink,
            b'6' => EntryKind::Fifo,
            b'3' => EntryKind::CharDevice,
            b'4' => EntryKind::BlockDevice,
            other => {
                scan.diagnostics.push(Diagnostic {
                    path: path::normalize(&header.path),
                    message: format!(
                        "skipped a tar entry of unsupported type {}",
                        (other as char).escape_default()
                    ),
                });
                continue;
            }
        };
        let (mode, uid, gid) = (header.mode, header.uid, header.gid);
        let raw_path = match header.sparse.as_ref().and_then(|s| s.name.as_ref()) {
            Some(name) => name,
            None => &header.path,
        };
        let Some(path) = path::normalize(raw_path) else {
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
                header_size: header.size,
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
            EntryKind::Symlink => Some(header.link.clone().into_boxed_slice()),
            EntryKind::Hardlink => path::normalize(&header.link),
            _ => None,
        };
        let size = if kind == EntryKind::File {
            header.file_size()
        } else {
            0
        };
        let mut record = Entry {
            path,
            kind,
            size,
            header_size: if kind == EntryKind::File {
                size
            } else {
                header.size
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
            let sparse = header.sparse.as_ref();
            let keep = match (opts.keep_content)(&record.path, size) {
                Keep::No => Keep::No,
                // A sparse file's map must be known to rebuild it.
                _ if sparse.is_some_and(|s| !s.map_in_data && s.map.is_none()) => {
                    scan.diagnostics.push(Diagnostic {
                        path: Some(record.path.clone()),
                        message: format!(
                            "contents not read: its sparse map is longer than {}",
                            crate::limits::named_bytes("tar-header", opts.max_tar_header)
                        ),
                    });
                    Keep::No
                }
                keep => keep,
            };
            let keep = match keep {
                Keep::No => Keep::No,
                // Headers are read from the stored bytes; a sparse file is rebuilt whole.
                Keep::Headers if sparse.is_none() => Keep::Headers,
                _ if size > opts.content.per_file => {
                    scan.diagnostics.push(Diagnostic {
                        path: Some(record.path.clone()),
                        message: format!(
                            "contents not read: {size} bytes is over {}",
                            crate::limits::named_bytes("file-content", opts.content.per_file)
                        ),
                    });
                    Keep::No
                }
                keep => keep,
            };
            if let (Some(sparse), true, Keep::No) = (sparse, opts.inspect_elf, keep) {
                // Rebuilt with its holes before its ELF facts can be read (GNU tar -S).
                match sparse_elf(tar, header.size, sparse, opts)
                    .map_err(|e| with_path(e, &record.path))?
                {
                    Ok(elf) => record.elf = elf.map(Box::new),
                    Err(message) => scan.diagnostics.push(Diagnostic {
                        path: Some(record.path.clone()),
                        message,
                    }),
                }
                scan.entries.push(record);
                continue;
            }
            // On a seekable layer ELF files are read after the walk, at the offsets needed.
            let inspect = match opts.inspect_elf && sparse.is_none() {
                false => Inspect::No,
                true if contents == Contents::Hash => Inspect::Capture,
                true => Inspect::Defer,
            };
            let data_at = header.data_at;
            // A sparse file's content hash would have to read its holes: it has none.
            let whole = contents == Contents::Hash && sparse.is_none();
            let read = read_file(
                tar,
                header.size,
                keep,
                opts.content,
                inspect,
                whole,
                &mut buf,
            )
            .map_err(|e| with_path(e, &record.path))?;
            if read.over_total {
                scan.diagnostics.push(Diagnostic {
                    path: Some(record.path.clone()),
                    message: format!(
                        "contents not read: the contents read so far reach {}",
                        crate::limits::named_bytes("content-total", opts.content.total)
                    ),
                });
            }
            record.content_hash = read.hash;
            record.content = match (read.content, sparse) {
                (Some(stored), Some(s)) if s.map_in_data => {
                    Some(expand_sparse(&stored, Some(s.real_size)).into_boxed_slice())
                }
                (Some(stored), Some(s)) => s
                    .map
                    .as_ref()
                    .map(|map| expand_map(&stored, map, s.real_size).into_boxed_slice()),
                (content, _) => content.map(Vec::into_boxed_slice),
            };
            if let (Some(content), Some(_)) = (&record.content, sparse) {
                // The holes a sparse file's rebuilding added count too.
                let grown = (content.len() as u64).saturating_sub(header.size);
                if !opts.content.take(grown) {
                    record.content = None;
                    opts.content.give_back(header.size);
                }
            }
            if let (Some(content), Some(_), true) = (&record.content, sparse, opts.inspect_elf) {
                // Kept for an analysis (a libc's banner) and rebuilt: its facts come from it.
                if elf::is_elf(content) {
                    match elf::parse(content) {
                        Ok(info) => record.elf = Some(Box::new(info)),
                        Err(message) => scan.diagnostics.push(Diagnostic {
                            path: Some(record.path.clone()),
                            message,
                        }),
                    }
                }
            }
            match read.elf {
                Some(capture) => match capture.parse() {
                    Ok(info) => record.elf = Some(Box::new(info)),
                    Err(message) => scan.diagnostics.push(Diagnostic {
                        path: Some(record.path.clone()),
                        message,
                    }),
                },
                None if read.is_elf => later.elf.push((scan.entries.len(), data_at, size)),
                None => {}
            }
            if contents == Contents::HashLater && sparse.is_none() {
                later.hash.push((scan.entries.len(), data_at, size));
            }
        }
        scan.entries.push(record);
    }
    Ok(())
}

/// The ELF facts of a sparse file (`None`: not an ELF file), from its stored data rebuilt with
/// its holes; a file that cannot be rebuilt within the `elf-capture` limit is said, not
/// skipped. The outer error is the layer's (a read that failed), the inner one the file's.
fn sparse_elf(
    data: &mut impl Read,
    stored: u64,
    sparse: &tar::Sparse,
    opts: &ScanOptions,
) -> io::Result<Result<Option<elf::ElfInfo>, String>> {
    let limit = opts.content.elf_capture;
    if stored.max(sparse.real_size) > limit {
        return Ok(Err(format!(
            "not inspected for ELF facts: a sparse file of {} bytes is over {}",
            sparse.real_size,
            crate::limits::named_bytes("elf-capture", limit)
        )));
    }
    let mut bytes = Vec::with_capacity(stored as usize);
    data.take(stored).read_to_end(&mut bytes)?;
    let rebuilt = match (&sparse.map, sparse.map_in_data) {
        (_, true) => expand_sparse(&bytes, Some(sparse.real_size)),
        (Some(map), false) => expand_map(&bytes, map, sparse.real_size),
        (None, false) => {
            return Ok(Err(format!(
                "not inspected for ELF facts: its sparse map is longer than {}",
                crate::limits::named_bytes("tar-header", opts.max_tar_header)
            )));
        }
    };
    Ok(match elf::is_elf(&rebuilt) {
        true => elf::parse(&rebuilt).map(Some),
        false => Ok(None),
    })
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
    /// Keeping them would have gone past the `content-total` limit, so they were not kept.
    over_total: bool,
    /// The capture of an ELF file.
    elf: Option<elf::Capture>,
    /// The file is an ELF file (captured, or deferred).
    is_elf: bool,
}

/// Whether and how a regular file's ELF facts are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inspect {
    No,
    /// Keep what they need as the file streams past.
    Capture,
    /// Only tell whether it is an ELF file: it is read later, at offsets.
    Defer,
}

/// Reads a regular file's data: all of it when `whole` (for the content hash), else only what
/// is kept and what an ELF capture needs. Kept contents stop at the `file-content` limit, and a
/// header block at its first empty line; they count against the `content-total` limit as they
/// grow.
fn read_file(
    entry: &mut impl Read,
    size: u64,
    keep: Keep,
    budget: &ContentBudget,
    inspect: Inspect,
    whole: bool,
    buf: &mut [u8],
) -> io::Result<FileRead> {
    let mut hasher = whole.then(Xxh3::new);
    let mut kept = (keep != Keep::No).then(Vec::new);
    let mut keeping = kept.is_some();
    let mut over_total = false;
    let mut capture: Option<elf::Capture> = None;
    // The first bytes, until they say whether this is an ELF file.
    let mut head: Vec<u8> = Vec::new();
    let mut is_elf = false;
    let mut decided = inspect == Inspect::No || size < 4;
    loop {
        let wanted = whole
            || keeping
            || !decided
            || capture.as_ref().is_some_and(elf::Capture::wants_stream);
        if !wanted {
            break;
        }
        // Without the content hash, a file's first bytes are enough to tell it is not ELF.
        let limit = if whole || keeping || decided {
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
        if let (true, Some(k)) = (keeping, &mut kept) {
            let room = (budget.per_file.saturating_sub(k.len() as u64) as usize).min(chunk.len());
            if budget.take(room as u64) {
                let from = k.len();
                k.extend_from_slice(&chunk[..room]);
                if keep == Keep::Headers {
                    // From just before this chunk, in case the empty line straddles two.
                    let look = from.saturating_sub(3);
                    if let Some(end) = header_end(&k[look..]) {
                        budget.give_back((k.len() - (look + end)) as u64);
                        k.truncate(look + end);
                        keeping = false;
                    }
                }
                if k.len() as u64 >= budget.per_file {
                    keeping = false;
                }
            } else {
                budget.give_back(k.len() as u64);
                kept = None;
                keeping = false;
                over_total = true;
            }
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
            is_elf = elf::is_elf(&head);
            if is_elf && inspect == Inspect::Capture {
                let mut c = elf::Capture::new(size, budget.elf_capture);
                c.push(&head);
                capture = Some(c);
            }
        }
    }
    Ok(FileRead {
        hash: hasher.map(|h| h.digest128()),
        content: kept,
        over_total,
        elf: capture,
        is_elf,
    })
}

/// Where an email-style header block ends: just after its first empty line.
fn header_end(bytes: &[u8]) -> Option<usize> {
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|at| at + 2);
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Rebuilds a sparse file from its stored segments and their map (old GNU and PAX 0.x
/// formats). Called only for files within the `file-content` limit.
fn expand_map(stored: &[u8], map: &[(u64, u64)], real_size: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut data = stored;
    let limit = real_size as usize;
    for &(offset, len) in map {
        let offset = offset.min(real_size) as usize;
        if out.len() < offset {
            out.resize(offset, 0);
        }
        let take = (len as usize)
            .min(data.len())
            .min(limit.saturating_sub(out.len()));
        out.extend_from_slice(&data[..take]);
        data = &data[(len as usize).min(data.len())..];
    }
    out.resize(limit, 0);
    out
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
