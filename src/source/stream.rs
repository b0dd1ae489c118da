//! A `docker save` tarball on standard input (`docker save img | pydive report -`). The stream
//! cannot be re-read and `manifest.json` comes last, so every member is handled as it passes:
//! small JSON files are kept, anything else is walked as a layer right away, and the manifest
//! then says which walked blobs are the layers and in what order. A daemon's image export
//! (Docker's classic and >= 25 layouts, Podman's with layers first as symlinks) comes through
//! here too.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};

use anyhow::{Context, Result, anyhow, bail};

use super::ReadOptions;
use super::manifest::{self, MetaFiles, Resolved};
use crate::layer::path::{join, normalize, split_last};
use crate::layer::{self, LayerScan, ScanOptions, tar};
use crate::limits::named_bytes;

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
    let scan_opts = ScanOptions {
        hash_blob: opts.verify,
        hash_tar: opts.verify,
        keep_content: opts.keep_content,
        inspect_elf: opts.inspect_elf,
        max_tar_header: opts.limits.tar_header,
        content: opts.content,
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
                    if size > max_meta {
                        seen.not_kept.insert(
                            name.clone(),
                            format!("{size} bytes is over {}", named_bytes("metadata", max_meta)),
                        );
                    } else if kept_total + size > max_total {
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
                        kept_total += size;
                        seen.meta.insert(name, bytes);
                        continue;
                    }
                }
                let scan = layer::scan(&mut reader, &scan_opts);
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
