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
use crate::layer::{self, LayerScan, ScanOptions};

const META_LIMIT: u64 = 64 * 1024 * 1024;

#[derive(Default)]
struct Seen {
    origin: String,
    meta: HashMap<Vec<u8>, Vec<u8>>,
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
        Ok(self.meta.get(&self.resolve(name.as_bytes())).cloned())
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

/// Reads a `docker save` stream; `origin` names it in errors.
pub fn read_stream(
    input: impl Read,
    origin: &str,
    reference: Option<&str>,
    opts: &ReadOptions,
) -> Result<(Resolved, Vec<LayerScan>)> {
    let mut archive = tar::Archive::new(input);
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
    };
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let Some(name) = normalize(&entry.path_bytes()) else {
            continue;
        };
        let name = name.into_vec();
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                let mut reader = BufReader::with_capacity(64 * 1024, entry);
                let head = reader.fill_buf().map_err(bad)?;
                let looks_like_json = matches!(
                    head.iter().find(|b| !b.is_ascii_whitespace()),
                    Some(b'{' | b'[')
                );
                if size <= META_LIMIT
                    && (looks_like_json || name == b"repositories" || name == b"oci-layout")
                {
                    let mut bytes = Vec::with_capacity(size as usize);
                    reader.read_to_end(&mut bytes).map_err(bad)?;
                    seen.meta.insert(name, bytes);
                } else {
                    let scan = layer::scan(&mut reader, &scan_opts);
                    if let (Some(counters), Ok(scan)) = (opts.counters, &scan) {
                        counters.layer_done(scan.blob_size);
                    }
                    // A failed walk leaves the outer stream where the tar reader can go on.
                    io::copy(&mut reader, &mut io::sink()).map_err(bad)?;
                    seen.layers.insert(name, scan);
                }
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name_bytes().unwrap_or_default();
                let (dir, _) = split_last(&name);
                let target = if target.starts_with(b"/") {
                    normalize(&target)
                } else {
                    normalize(&join(dir, &target))
                };
                if let Some(target) = target {
                    seen.links.insert(name, target.into_vec());
                }
            }
            tar::EntryType::Link => {
                if let Some(target) = entry.link_name_bytes().and_then(|t| normalize(&t)) {
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
