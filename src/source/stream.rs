//! A `docker save` tarball on standard input (`docker save img | pydive report -`). The stream
//! cannot be re-read and `manifest.json` comes last, so every member is handled as it passes:
//! small JSON files are kept, anything else is walked as a layer right away, and the manifest
//! then says which walked blobs are the layers and in what order. A daemon's image export
//! (Docker's classic and >= 25 layouts, Podman's with layers first as symlinks) comes through
//! here too.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use super::ReadOptions;
use super::manifest::{self, MetaFiles, Resolved};
use crate::layer::path::{join, normalize, split_last};
use crate::layer::{Blob, Digests, LayerScan, tar};
use crate::limits::{named_bytes, named_duration};

#[derive(Default)]
struct Seen {
    origin: String,
    meta: HashMap<Vec<u8>, Vec<u8>>,
    /// Members that looked like metadata but were not kept, and which limit said so.
    not_kept: HashMap<Vec<u8>, String>,
    layers: HashMap<Vec<u8>, io::Result<LayerScan>>,
    links: HashMap<Vec<u8>, Vec<u8>>,
}

impl Seen {
    fn resolve(&self, name: &[u8]) -> Vec<u8> {
        let mut at = name.to_vec();
        for _ in 0..8 {
            match self.links.get(&at) {
                Some(target) => at = target.clone(),
                None => break,
            }
        }
        at
    }
}

impl MetaFiles for Seen {
    fn read_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let key = self.resolve(name.as_bytes());
        if let Some(why) = self.not_kept.get(&key) {
            bail!("{}: {name} was not kept: {why}", self.origin);
        }
        Ok(self.meta.get(&key).cloned())
    }

    fn origin(&self) -> String {
        self.origin.clone()
    }
}

/// Whether a path names something to read as a stream rather than a file to index: a FIFO
/// (`mkfifo`, or bash's `<(docker save img)`, which is `/dev/fd/N`), a character device or a
/// socket.
pub fn is_stream(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| {
        let kind = m.file_type();
        kind.is_fifo() || kind.is_char_device() || kind.is_socket()
    })
}

/// Reads a `docker save` stream or an OCI archive from a FIFO or a device. Opening a FIFO
/// waits for something to open it for writing: after a second pydive says what it waits for,
/// and after the `read-timeout` limit it gives up.
pub fn read_path(
    path: &Path,
    reference: Option<&str>,
    opts: &ReadOptions,
) -> Result<(Resolved, Vec<LayerScan>)> {
    let file = open_waiting(path, opts.limits.read_timeout)?;
    let origin = path.display().to_string();
    read_stream(
        BufReader::with_capacity(256 * 1024, file),
        &origin,
        reference,
        opts,
    )
}

/// Opens a path for reading, giving up after `timeout` (0: wait as long as it takes). The open
/// runs on a thread of its own, which std offers no way to interrupt: after a timeout it is
/// left blocked until the process ends, which is right after the error.
fn open_waiting(path: &Path, timeout: Duration) -> Result<File> {
    let (tx, rx) = mpsc::channel();
    let target = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(File::open(&target));
    });
    let start = Instant::now();
    let mut told = false;
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        let wait = if timeout.is_zero() {
            Duration::from_secs(1)
        } else {
            left.min(Duration::from_secs(1))
        };
        match rx.recv_timeout(wait) {
            Ok(opened) => {
                return opened.with_context(|| format!("cannot open {}", path.display()));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                bail!("cannot open {}", path.display());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if !timeout.is_zero() && start.elapsed() >= timeout {
            bail!(
                "{}: nothing opened this FIFO for writing within {}",
                path.display(),
                named_duration("read-timeout", timeout)
            );
        }
        if !told {
            crate::printable::warn(&format!(
                "waiting for something to write to {} (a FIFO nothing has opened for writing yet)",
                path.display()
            ));
            told = true;
        }
    }
}

pub fn read_stdin(
    reference: Option<&str>,
    opts: &ReadOptions,
) -> Result<(Resolved, Vec<LayerScan>)> {
    let stdin = io::stdin().lock();
    read_stream(stdin, "standard input", reference, opts)
}

/// Whether a member may be a manifest, an index or a config: JSON (or one of the two small
/// text files of a layout), and not the per-layer `json` files of the legacy format, which
/// nothing reads.
fn may_be_metadata(name: &[u8], head: &[u8]) -> bool {
    let looks_like_json = matches!(
        head.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    );
    (looks_like_json && !name.ends_with(b"/json"))
        || name == b"repositories"
        || name == b"oci-layout"
}

/// Reads a `docker save` stream; `origin` names it in errors.
pub fn read_stream(
    input: impl Read,
    origin: &str,
    reference: Option<&str>,
    opts: &ReadOptions,
) -> Result<(Resolved, Vec<LayerScan>)> {
    let mut archive = tar::Reader::new(input, opts.limits.tar_header);
    let mut seen = Seen {
        origin: origin.to_string(),
        ..Seen::default()
    };
    let bad = |e: io::Error| anyhow!("{origin}: not a readable tar archive: {e}");
    // Which digest a blob must match is only known at the end, so both are computed.
    let digests = Digests {
        blob: opts.verify,
        tar: opts.verify,
    };
    let (max_meta, max_total) = (opts.limits.metadata, opts.limits.metadata_total);
    let mut kept_total = 0u64;
    while let Some(header) = archive.next_header().map_err(bad)? {
        let Some(name) = normalize(&header.path) else {
            continue;
        };
        let name = name.into_vec();
        match header.typeflag {
            b'0' | b'\0' | b'7' => {
                let size = header.size;
                let mut reader = BufReader::with_capacity(64 * 1024, &mut archive);
                let head = reader.fill_buf().map_err(bad)?;
                if may_be_metadata(&name, head) {
                    // The layout's own files are few and always kept; the total bounds the
                    // manifests and configs, which an image may list any number of.
                    let counted = !matches!(
                        name.as_slice(),
                        b"manifest.json" | b"index.json" | b"repositories" | b"oci-layout"
                    );
                    if size > max_meta {
                        seen.not_kept.insert(
                            name.clone(),
                            format!("{size} bytes is over {}", named_bytes("metadata", max_meta)),
                        );
                    } else if counted && kept_total + size > max_total {
                        seen.not_kept.insert(
                            name.clone(),
                            format!(
                                "the metadata kept before it reach {}",
                                named_bytes("metadata-total", max_total)
                            ),
                        );
                    } else {
                        let mut bytes = Vec::with_capacity(size as usize);
                        reader.read_to_end(&mut bytes).map_err(bad)?;
                        if counted {
                            kept_total += size;
                        }
                        seen.meta.insert(name, bytes);
                        continue;
                    }
                }
                let scan = (opts.walk)(Blob::Stream(&mut reader), digests);
                if let (Some(counters), Ok(scan)) = (opts.counters, &scan) {
                    counters.layer_done(scan.blob_size);
                }
                // A failed walk leaves the outer stream where the tar reader can go on.
                io::copy(&mut reader, &mut io::sink()).map_err(bad)?;
                seen.layers.insert(name, scan);
            }
            b'2' => {
                let (dir, _) = split_last(&name);
                let target = if header.link.starts_with(b"/") {
                    normalize(&header.link)
                } else {
                    normalize(&join(dir, &header.link))
                };
                if let Some(target) = target {
                    seen.links.insert(name, target.into_vec());
                }
            }
            b'1' => {
                if let Some(target) = normalize(&header.link) {
                    seen.links.insert(name, target.into_vec());
                }
            }
            _ => {}
        }
    }
    if seen.meta.is_empty() && seen.layers.is_empty() {
        bail!("{origin}: empty or not a tar archive");
    }
    let resolved = manifest::resolve_archive(&seen, reference, &opts.platform)?;
    let mut scans = Vec::with_capacity(resolved.layers.len());
    for layer in &resolved.layers {
        let key = seen.resolve(layer.member.as_bytes());
        let scan = match seen.layers.remove(&key) {
            Some(scan) => scan.with_context(|| layer.describe())?,
            // The same blob listed twice: walk results are not cloneable, so the second use
            // gets a copy of the first's entries.
            None => match scans.iter().zip(&resolved.layers).find(
                |(_, l): &(&LayerScan, &manifest::LayerRef)| {
                    seen.resolve(l.member.as_bytes()) == key
                },
            ) {
                Some((earlier, _)) => earlier.clone(),
                None => bail!("{origin}: {} is missing from the archive", layer.describe()),
            },
        };
        scans.push(scan);
    }
    Ok((resolved, scans))
}
