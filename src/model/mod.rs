//! Model: the image as one file tree stacked from its layers. Sits between `layer` (entry lists,
//! one per layer) and `analysis` (which reads this and computes facts). Each node records its
//! state in every layer that touched it; "the tree as of layer k" is a query over those
//! records, not a copy. The model holds no UI state and does no I/O.

mod arch;
mod links;
mod sizes;
mod tree;

pub use arch::{ARCHES, Arch, machine_name};
pub use tree::{Change, Node, NodeId, State, Tree};

use crate::layer::{Compression, Diagnostic, Entry, EntryKind, LayerScan};

/// A layer: where it came from, what it holds, and its Dockerfile step.
#[derive(Debug)]
pub struct Layer {
    pub index: usize,
    pub diff_id: String,
    /// The stored blob's digest (equal to `diff_id` for an uncompressed blob).
    pub digest: String,
    pub created_by: String,
    /// Size of the uncompressed tar, and of the blob as stored.
    pub size_bytes: u64,
    pub blob_size: u64,
    pub compression: Compression,
    /// The layer's entries in archive order; tree changes point into this list.
    pub entries: Vec<Entry>,
}

impl Layer {
    /// The Dockerfile step that made this layer, as written (see [`short_step`]).
    pub fn step(&self) -> String {
        short_step(&self.created_by)
    }

    /// Bytes of the regular files this layer's entries hold (what `docker history` and dive
    /// call a layer's size; the tar adds headers and padding).
    pub fn files_bytes(&self) -> u64 {
        sum_bytes(self.entries.iter().map(|e| e.size))
    }

    /// Entries that are neither directories nor whiteout markers.
    pub fn files(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| {
                !matches!(
                    e.kind,
                    EntryKind::Dir | EntryKind::Whiteout | EntryKind::Opaque
                )
            })
            .count()
    }
}

/// A sum of byte counts that stops at `u64::MAX` instead of wrapping: sizes come from tar
/// headers, and an image may claim any.
pub fn sum_bytes(bytes: impl IntoIterator<Item = u64>) -> u64 {
    bytes.into_iter().fold(0, u64::saturating_add)
}

/// A Dockerfile step as a person wrote it, from the `created_by` Docker recorded: without
/// the `/bin/sh -c` wrapper, the `#(nop)` marker, build-arg prefixes and BuildKit's comment.
pub fn short_step(created_by: &str) -> String {
    let s = created_by.trim();
    let s = s.strip_suffix("# buildkit").unwrap_or(s).trim_end();
    let (run, rest) = match s.find("/bin/sh -c ") {
        // The classic builder prefixes build args as `|2 A=1 B=2 /bin/sh -c ...`.
        Some(at) if at == 0 || s.starts_with('|') || s.starts_with("RUN ") => {
            (true, s[at + "/bin/sh -c ".len()..].trim_start())
        }
        _ => (false, s),
    };
    let step = match rest.strip_prefix("#(nop)") {
        Some(instruction) => instruction.trim().to_string(),
        None if run => format!("RUN {rest}"),
        None => rest.to_string(),
    };
    step.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A problem found while reading the image that did not stop the analysis.
#[derive(Clone, Debug)]
pub struct ImageDiagnostic {
    pub layer: Option<usize>,
    pub path: Option<Box<[u8]>>,
    pub message: String,
}

/// The content addresses of an image, where its source has them: the manifest, the config, and
/// the index (multi-platform image) the manifest was chosen from. A `docker save` tarball has
/// no manifest blob; a daemon knows only the config's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageDigests {
    pub manifest: Option<String>,
    pub config: Option<String>,
    pub index: Option<String>,
}

/// What the image config says about the image as a whole.
#[derive(Clone, Debug, Default)]
pub struct ImageMeta {
    pub reference: String,
    pub digests: ImageDigests,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    /// The container's environment (`KEY=value`), e.g. an `LD_LIBRARY_PATH`.
    pub env: Vec<String>,
    /// The config's `User` (`USER` in the Dockerfile), as written; `None` when absent.
    pub user: Option<String>,
    /// The image config's history, every step, also those that made no layer.
    pub history: Vec<HistoryStep>,
}

/// One step of the image's history: its `created_by`, and whether it made a layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryStep {
    pub created_by: String,
    pub empty_layer: bool,
}

/// The whole image: its metadata, its layers and the stacked tree.
#[derive(Debug)]
pub struct Image {
    pub reference: String,
    pub digests: ImageDigests,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub env: Vec<String>,
    /// Every history step, in order, including those that made no layer (`ENV`, `CMD`).
    pub history: Vec<HistoryStep>,
    /// The config's `User`, as written; `None` when absent (the container runs as root).
    pub user: Option<String>,
    pub layers: Vec<Layer>,
    pub tree: Tree,
    pub diagnostics: Vec<ImageDiagnostic>,
    /// The final filesystem's hard links and the bytes they hold.
    links: links::Links,
}

/// What a source knows about one layer before its blob is read.
#[derive(Clone, Debug)]
pub struct LayerMeta {
    pub diff_id: String,
    pub digest: String,
    pub created_by: String,
}

impl Image {
    /// Stacks the scanned layers, bottom first, into one tree.
    pub fn build(meta: ImageMeta, layers: Vec<(LayerMeta, LayerScan)>) -> Image {
        let mut tree = Tree::new();
        let mut diagnostics = Vec::new();
        let mut built = Vec::with_capacity(layers.len());
        for (index, (meta, scan)) in layers.into_iter().enumerate() {
            tree.apply_layer(index as u32, &scan.entries);
            diagnostics.extend(
                scan.diagnostics
                    .into_iter()
                    .map(|d: Diagnostic| ImageDiagnostic {
                        layer: Some(index),
                        path: d.path,
                        message: d.message,
                    }),
            );
            built.push(Layer {
                index,
                diff_id: meta.diff_id,
                digest: meta.digest,
                created_by: meta.created_by,
                size_bytes: scan.tar_size,
                blob_size: scan.blob_size,
                compression: scan.compression.unwrap_or(Compression::None),
                entries: scan.entries,
            });
        }
        // Sizes are what the tar headers claim; a hostile image can claim more than a u64
        // holds in all. Every total saturates rather than wraps, and the report says so.
        let claimed: u128 = built
            .iter()
            .flat_map(|l| &l.entries)
            .map(|e| u128::from(e.size))
            .sum();
        if claimed > u128::from(u64::MAX) {
            diagnostics.push(ImageDiagnostic {
                layer: None,
                path: None,
                message: format!(
                    "the file sizes this image claims add up to {claimed} bytes, more than 2^64: totals stop at {} bytes",
                    u64::MAX
                ),
            });
        }
        let last = built.len().saturating_sub(1) as u32;
        let links = links::Links::as_of(&tree, &built, last);
        Image {
            reference: meta.reference,
            digests: meta.digests,
            os: meta.os,
            architecture: meta.architecture,
            variant: meta.variant,
            env: meta.env,
            history: meta.history,
            user: meta.user,
            layers: built,
            tree,
            diagnostics,
            links,
        }
    }

    /// Sum of the layers' uncompressed tar sizes.
    pub fn size_bytes(&self) -> u64 {
        sum_bytes(self.layers.iter().map(|l| l.size_bytes))
    }

    /// The entry a change points at.
    pub fn entry(&self, change: &Change) -> Option<&Entry> {
        let i = change.entry?;
        self.layers
            .get(change.layer as usize)?
            .entries
            .get(i as usize)
    }

    /// The image's architecture, when it is one pydive knows.
    pub fn arch(&self) -> Option<&'static Arch> {
        Arch::of(&self.architecture, self.variant.as_deref())
    }

    /// The value of a variable in the container's environment.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }

    /// The entry that provides a node in the final filesystem (None for removed nodes and
    /// directories that only exist because something below them does).
    pub fn final_entry(&self, node: NodeId) -> Option<&Entry> {
        let last = self.tree.node(node).changes.last()?;
        if last.state == State::Removed {
            return None;
        }
        self.entry(last)
    }

    /// The regular-file entry whose bytes a node in the final filesystem shows: a file's own
    /// entry, or the file a hard link points at. What to read a node's content or ELF facts
    /// from, whichever of its names holds the bytes.
    pub fn file_entry(&self, node: NodeId) -> Option<&Entry> {
        let entry = self.final_entry(node)?;
        match entry.kind {
            EntryKind::File => Some(entry),
            EntryKind::Hardlink => self.stored_entry(self.links.of(node)?.0),
            _ => None,
        }
    }

    fn stored_entry(&self, stored: links::Stored) -> Option<&Entry> {
        self.layers
            .get(stored.layer as usize)?
            .entries
            .get(stored.entry as usize)
    }

    /// The one name in the final filesystem that counts the bytes a node shows: the node
    /// itself for a file, the file's own name for a hard link while that name still shows the
    /// same bytes, else the first hard link left (uv's installed files, once its cache is gone).
    pub fn holder(&self, node: NodeId) -> Option<NodeId> {
        let entry = self.final_entry(node)?;
        match entry.kind {
            EntryKind::File => Some(node),
            EntryKind::Hardlink => self.links.of(node).map(|(_, holder)| holder),
            _ => None,
        }
    }

    /// The file entry this node holds: [`Image::file_entry`] when the node is the name that
    /// counts its bytes, else `None`. Every size, category, duplicate and ELF audit asks this,
    /// so each stored file is counted and audited once.
    pub fn held_entry(&self, node: NodeId) -> Option<&Entry> {
        (self.holder(node)? == node)
            .then(|| self.file_entry(node))
            .flatten()
    }

    /// The bytes this node holds in the final filesystem (0 for directories, symlinks, devices
    /// and the names of a file whose bytes another name holds).
    pub fn held_bytes(&self, node: NodeId) -> u64 {
        self.held_entry(node).map_or(0, |e| e.size)
    }

    /// Whether the bytes a layer stored at this node live on under a hard link, after the
    /// node's own name stopped showing them.
    pub fn bytes_kept(&self, node: NodeId, layer: u32) -> bool {
        self.links.kept(node, layer)
    }
}

#[cfg(test)]
mod tests {
    use super::short_step;

    #[test]
    fn steps_read_as_written() {
        assert_eq!(
            short_step("/bin/sh -c #(nop) ADD file:abc in / "),
            "ADD file:abc in /"
        );
        assert_eq!(
            short_step("/bin/sh -c #(nop)  CMD [\"python3\"]"),
            "CMD [\"python3\"]"
        );
        assert_eq!(
            short_step("/bin/sh -c apt-get update &&     apt-get install -y gcc"),
            "RUN apt-get update && apt-get install -y gcc"
        );
        assert_eq!(
            short_step("RUN /bin/sh -c pip install numpy # buildkit"),
            "RUN pip install numpy"
        );
        assert_eq!(
            short_step("|1 PIP_INDEX=x /bin/sh -c pip install ."),
            "RUN pip install ."
        );
        assert_eq!(short_step("COPY . /app # buildkit"), "COPY . /app");
        assert_eq!(short_step(""), "");
    }
}
