//! Builds real container images from declared layers, for tests, benchmarks and the
//! demo image. A layer is a list of tar entries written exactly as declared (raw byte
//! paths, whiteouts, long names, PAX sparse files, ...) with fixed metadata, so the
//! same declaration always gives the same bytes. Images are written as `docker save`
//! archives (before and since Docker 25), OCI layouts and OCI archives. Layers stream
//! through hashing writers into files, so a benchmark can build a multi-gigabyte
//! image without holding it in memory.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use tar::{EntryType, Header};

/// Every member of every tar gets this mtime (2023-11-14T22:13:20Z), for reproducibility.
const MTIME: u64 = 1_700_000_000;
const CREATED: &str = "2023-11-14T22:13:20Z";
/// Longest name a tar header holds; longer ones need a GNU long-name entry or PAX record.
const NAME_LEN: usize = 100;

const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `docker save` before Docker 25: `<layer-id>/layer.tar` directories, `<config>.json`,
    /// `manifest.json` and `repositories`.
    DockerClassic,
    /// `docker save` since Docker 25: an OCI layout plus `manifest.json` and `repositories`.
    DockerOci,
    /// A plain OCI image layout (an oci-archive when tarred).
    Oci,
}

#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    /// Pseudo-random bytes generated while writing, never held in memory whole; the same
    /// `(len, seed)` always gives the same bytes.
    Pattern {
        len: u64,
        seed: u64,
    },
    /// One byte repeated: a large content that compresses to almost nothing (for hostile
    /// inputs: a gigabyte-long name in a megabyte-sized layer).
    Repeat {
        byte: u8,
        len: u64,
    },
}

impl Content {
    fn len(&self) -> u64 {
        match self {
            Content::Bytes(bytes) => bytes.len() as u64,
            Content::Pattern { len, .. } | Content::Repeat { len, .. } => *len,
        }
    }

    /// The content's bytes as a stream, e.g. for a test to compare against what it reads back.
    pub fn reader(&self) -> Box<dyn Read + '_> {
        match self {
            Content::Bytes(bytes) => Box::new(bytes.as_slice()),
            Content::Pattern { len, seed } => Box::new(PatternReader {
                seed: *seed,
                pos: 0,
                len: *len,
            }),
            Content::Repeat { byte, len } => Box::new(io::repeat(*byte).take(*len)),
        }
    }
}

/// A SplitMix64 stream. Each 8-byte word is computed from its index alone, so the bytes
/// do not depend on how the reader is called.
struct PatternReader {
    seed: u64,
    pos: u64,
    len: u64,
}

impl Read for PatternReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.len - self.pos).min(buf.len() as u64) as usize;
        let mut done = 0;
        while done < n {
            let word = splitmix64(self.seed, self.pos / 8).to_le_bytes();
            let skip = (self.pos % 8) as usize;
            let take = (8 - skip).min(n - done);
            buf[done..done + take].copy_from_slice(&word[skip..skip + take]);
            done += take;
            self.pos += take as u64;
        }
        Ok(n)
    }
}

fn splitmix64(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[derive(Debug, Clone)]
pub enum Entry {
    Dir {
        path: Vec<u8>,
        mode: u32,
    },
    File {
        path: Vec<u8>,
        content: Content,
        mode: u32,
    },
    Symlink {
        path: Vec<u8>,
        target: Vec<u8>,
    },
    Hardlink {
        path: Vec<u8>,
        target: Vec<u8>,
    },
    Fifo {
        path: Vec<u8>,
    },
    CharDevice {
        path: Vec<u8>,
        major: u32,
        minor: u32,
    },
    /// Written as `<parent>/.wh.<name>`, an empty regular file.
    Whiteout {
        path: Vec<u8>,
    },
    /// Written as `<dir>/.wh..wh..opq`.
    Opaque {
        dir: Vec<u8>,
    },
    /// A PAX 1.0 sparse file the way GNU tar writes it: header name
    /// `<parent>/GNUSparseFile.0/<name>`, PAX records `GNU.sparse.major=1`,
    /// `GNU.sparse.minor=0`, `GNU.sparse.name=<path>`, `GNU.sparse.realsize=<real_size>`;
    /// the data is the sparse map (count, then offset/length pairs, one number a line,
    /// NUL-padded to a 512-byte boundary) followed by the segments' bytes, back to back.
    /// GNU tar reads each segment from a fresh 512-byte block (its own segments are whole
    /// filesystem blocks, bar the last), so for an archive GNU tar can extract, make every
    /// segment but the last a multiple of 512 bytes long, and end a file that ends in a
    /// hole with an empty segment at `real_size`, as GNU tar does.
    Sparse {
        path: Vec<u8>,
        real_size: u64,
        segments: Vec<(u64, Vec<u8>)>,
    },
    /// A member written as given: one 512-byte header block (its checksum set by the builder
    /// unless `keep_checksum`), then the content, padded to a block. For inputs no honest tool
    /// writes: a size field that lies, a long name of a gigabyte, an old GNU sparse header.
    Raw {
        header: Vec<u8>,
        content: Content,
        keep_checksum: bool,
    },
}

impl Entry {
    pub fn dir(path: impl AsRef<[u8]>) -> Entry {
        Entry::Dir {
            path: path.as_ref().to_vec(),
            mode: 0o755,
        }
    }

    pub fn file(path: impl AsRef<[u8]>, bytes: impl AsRef<[u8]>) -> Entry {
        Entry::File {
            path: path.as_ref().to_vec(),
            content: Content::Bytes(bytes.as_ref().to_vec()),
            mode: 0o644,
        }
    }

    /// A file of `len` pseudo-random bytes, generated while writing.
    pub fn file_len(path: impl AsRef<[u8]>, len: u64, seed: u64) -> Entry {
        Entry::File {
            path: path.as_ref().to_vec(),
            content: Content::Pattern { len, seed },
            mode: 0o644,
        }
    }

    pub fn exec(path: impl AsRef<[u8]>, bytes: impl AsRef<[u8]>) -> Entry {
        Entry::File {
            path: path.as_ref().to_vec(),
            content: Content::Bytes(bytes.as_ref().to_vec()),
            mode: 0o755,
        }
    }

    pub fn symlink(path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Entry {
        Entry::Symlink {
            path: path.as_ref().to_vec(),
            target: target.as_ref().to_vec(),
        }
    }

    pub fn hardlink(path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Entry {
        Entry::Hardlink {
            path: path.as_ref().to_vec(),
            target: target.as_ref().to_vec(),
        }
    }

    pub fn fifo(path: impl AsRef<[u8]>) -> Entry {
        Entry::Fifo {
            path: path.as_ref().to_vec(),
        }
    }

    pub fn char_device(path: impl AsRef<[u8]>, major: u32, minor: u32) -> Entry {
        Entry::CharDevice {
            path: path.as_ref().to_vec(),
            major,
            minor,
        }
    }

    pub fn whiteout(path: impl AsRef<[u8]>) -> Entry {
        Entry::Whiteout {
            path: path.as_ref().to_vec(),
        }
    }

    pub fn opaque(dir: impl AsRef<[u8]>) -> Entry {
        Entry::Opaque {
            dir: dir.as_ref().to_vec(),
        }
    }

    /// A member from a raw header block and its data; see [`Entry::Raw`].
    pub fn raw(header: [u8; 512], content: Content) -> Entry {
        Entry::Raw {
            header: header.to_vec(),
            content,
            keep_checksum: false,
        }
    }

    /// The same entry with other permission bits (setuid, world-writable...): for files and
    /// directories.
    pub fn with_mode(mut self, new: u32) -> Entry {
        if let Entry::File { mode, .. } | Entry::Dir { mode, .. } = &mut self {
            *mode = new;
        }
        self
    }

    pub fn sparse(path: impl AsRef<[u8]>, real_size: u64, segments: Vec<(u64, Vec<u8>)>) -> Entry {
        Entry::Sparse {
            path: path.as_ref().to_vec(),
            real_size,
            segments,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Layer {
    pub created_by: String,
    pub entries: Vec<Entry>,
    pub compression: Compression,
    /// Write every name as `./name`, as some tools do; directories then also end in `/`.
    pub dot_prefix: bool,
    /// Put every path and link target in a PAX record instead of GNU long-name entries.
    pub pax_paths: bool,
}

impl Layer {
    pub fn new(created_by: &str, entries: Vec<Entry>) -> Layer {
        Layer {
            created_by: created_by.to_string(),
            entries,
            compression: Compression::None,
            dot_prefix: false,
            pax_paths: false,
        }
    }

    pub fn gzip(mut self) -> Layer {
        self.compression = Compression::Gzip;
        self
    }

    pub fn zstd(mut self) -> Layer {
        self.compression = Compression::Zstd;
        self
    }

    pub fn dot_prefix(mut self) -> Layer {
        self.dot_prefix = true;
        self
    }

    pub fn pax(mut self) -> Layer {
        self.pax_paths = true;
        self
    }

    fn media_type(&self) -> &'static str {
        match self.compression {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }

    /// The name a path is stored under in this layer's tar.
    fn stored_name(&self, path: &[u8], is_dir: bool) -> Vec<u8> {
        if !self.dot_prefix {
            return path.to_vec();
        }
        let mut name = [b"./", path].concat();
        if is_dir && !name.ends_with(b"/") {
            name.push(b'/');
        }
        name
    }
}

#[derive(Debug, Clone)]
pub struct Image {
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
    /// `repo:tag`, as in `manifest.json`'s RepoTags.
    pub tag: Option<String>,
    pub layers: Vec<Layer>,
    /// `(i, created_by)`: a history step that made no layer (ENV, CMD, ...), placed before
    /// layer `i`; `i == layers.len()` places it after the last layer.
    pub empty_steps: Vec<(usize, String)>,
    /// The config's `User` (`USER` in the Dockerfile); `None` leaves it out.
    pub user: Option<String>,
}

/// What was written, with digests as `sha256:<hex>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub diff_ids: Vec<String>,
    pub layer_digests: Vec<String>,
    /// Size of each layer's uncompressed tar.
    pub layer_sizes: Vec<u64>,
    pub config_digest: String,
    /// The OCI manifest's digest. DockerClassic archives store no manifest blob, but
    /// the digest is the one the same image has in the other layouts.
    pub manifest_digest: String,
}

impl Image {
    pub fn new(layers: Vec<Layer>) -> Image {
        Image {
            architecture: "amd64".to_string(),
            os: "linux".to_string(),
            variant: None,
            tag: None,
            layers,
            empty_steps: Vec::new(),
            user: None,
        }
    }

    /// The uncompressed tar of layer `i`.
    pub fn layer_tar(&self, i: usize) -> io::Result<Vec<u8>> {
        write_tar(&self.layers[i], Vec::new())
    }

    pub fn write_oci_dir(&self, dir: &Path) -> io::Result<Written> {
        let (written, manifest) = self.write_blobs(dir)?;
        write_index(dir, vec![self.index_entry(manifest, false)])?;
        Ok(written)
    }

    /// Writes the image as one tar file; `Layout::Oci` gives an oci-archive.
    pub fn write_docker_archive(&self, path: &Path, layout: Layout) -> io::Result<Written> {
        let staging = Staging::beside(path)?;
        let dir = staging.0.as_path();
        let (written, manifest) = self.write_blobs(dir)?;
        match layout {
            Layout::DockerClassic => self.write_classic(path, dir, &written)?,
            Layout::DockerOci => {
                write_index(dir, vec![self.index_entry(manifest, true)])?;
                let blob = |digest: &str| format!("blobs/sha256/{}", hex_of(digest));
                let layers = written.layer_digests.iter().map(|d| blob(d)).collect();
                let manifest_json = self.docker_manifest(blob(&written.config_digest), layers)?;
                fs::write(dir.join("manifest.json"), manifest_json)?;
                let top = written.layer_digests.last().map(|d| hex_of(d));
                if let Some(repositories) = self.repositories(top)? {
                    fs::write(dir.join("repositories"), repositories)?;
                }
                tar_dir(path, dir)?;
            }
            Layout::Oci => {
                write_index(dir, vec![self.index_entry(manifest, false)])?;
                tar_dir(path, dir)?;
            }
        }
        Ok(written)
    }

    /// Writes the layers, config and manifest into `dir/blobs/sha256`, returning what was
    /// written and the manifest's descriptor for an index.
    fn write_blobs(&self, dir: &Path) -> io::Result<(Written, Value)> {
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs)?;
        let mut diff_ids = Vec::new();
        let mut layer_digests = Vec::new();
        let mut layer_sizes = Vec::new();
        let mut layer_descriptors = Vec::new();
        for layer in &self.layers {
            // The blob's name is its digest, known only once it is written.
            let tmp = blobs.join("layer.tmp");
            let blob = write_layer(layer, BufWriter::new(File::create(&tmp)?))?;
            fs::rename(&tmp, blobs.join(hex_of(&blob.digest)))?;
            layer_descriptors.push(descriptor(
                layer.media_type(),
                &blob.digest,
                blob.stored_size,
            ));
            diff_ids.push(blob.diff_id);
            layer_digests.push(blob.digest);
            layer_sizes.push(blob.tar_size);
        }
        let config = self.config_json(&diff_ids)?;
        let config_digest = put_blob(&blobs, &config)?;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": descriptor(CONFIG_TYPE, &config_digest, config.len() as u64),
            "layers": layer_descriptors,
        }))?;
        let manifest_digest = put_blob(&blobs, &manifest)?;
        let written = Written {
            diff_ids,
            layer_digests,
            layer_sizes,
            config_digest,
            manifest_digest,
        };
        let manifest = descriptor(
            MANIFEST_TYPE,
            &written.manifest_digest,
            manifest.len() as u64,
        );
        Ok((written, manifest))
    }

    fn config_json(&self, diff_ids: &[String]) -> io::Result<Vec<u8>> {
        let n = self.layers.len();
        let mut history = Vec::new();
        for i in 0..=n {
            for (_, created_by) in self.empty_steps.iter().filter(|(at, _)| (*at).min(n) == i) {
                history.push(
                    json!({"created": CREATED, "created_by": created_by, "empty_layer": true}),
                );
            }
            if let Some(layer) = self.layers.get(i) {
                history.push(json!({"created": CREATED, "created_by": layer.created_by}));
            }
        }
        let mut config = json!({
            "architecture": self.architecture,
            "os": self.os,
            "created": CREATED,
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["/bin/sh"],
            },
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        });
        if let Some(variant) = &self.variant {
            config["variant"] = json!(variant);
        }
        if let Some(user) = &self.user {
            config["config"]["User"] = json!(user);
        }
        Ok(serde_json::to_vec(&config)?)
    }

    fn platform(&self) -> Value {
        let mut platform = json!({"architecture": self.architecture, "os": self.os});
        if let Some(variant) = &self.variant {
            platform["variant"] = json!(variant);
        }
        platform
    }

    /// The index.json entry for this image's manifest. Docker 25+ also records the full
    /// image name, for containerd.
    fn index_entry(&self, mut manifest: Value, docker: bool) -> Value {
        if let Some(tag) = &self.tag {
            let mut annotations = json!({"org.opencontainers.image.ref.name": split_tag(tag).1});
            if docker {
                annotations["io.containerd.image.name"] = json!(tag);
            }
            manifest["annotations"] = annotations;
        }
        manifest
    }

    fn docker_manifest(&self, config: String, layers: Vec<String>) -> io::Result<Vec<u8>> {
        // docker save writes `null` for an untagged image.
        let tags = self.tag.as_ref().map(|tag| vec![tag]);
        Ok(serde_json::to_vec(
            &json!([{"Config": config, "RepoTags": tags, "Layers": layers}]),
        )?)
    }

    /// The legacy `repositories` file, which docker save writes only for a tagged image.
    fn repositories(&self, top_layer: Option<&str>) -> io::Result<Option<Vec<u8>>> {
        let (Some(tag), Some(top)) = (&self.tag, top_layer) else {
            return Ok(None);
        };
        let (repo, tag) = split_tag(tag);
        Ok(Some(serde_json::to_vec(&json!({repo: {tag: top}}))?))
    }

    /// Tars the staged blobs as `docker save` did before Docker 25.
    fn write_classic(&self, path: &Path, staging: &Path, written: &Written) -> io::Result<()> {
        let blob = |digest: &str| staging.join("blobs/sha256").join(hex_of(digest));
        let mut tar = tar::Builder::new(BufWriter::new(File::create(path)?));
        let mut ids: Vec<String> = Vec::new();
        for (diff_id, digest) in written.diff_ids.iter().zip(&written.layer_digests) {
            // Docker's v1 ids follow the parent chain, so the same layer at two positions
            // still gets two directories.
            let parent = ids.last().map_or("", String::as_str);
            let id = sha256_hex(format!("{parent}\n{diff_id}").as_bytes());
            let mut json = json!({"id": id, "created": CREATED, "os": self.os});
            if !parent.is_empty() {
                json["parent"] = json!(parent);
            }
            outer_dir(&mut tar, &format!("{id}/"))?;
            outer_bytes(&mut tar, &format!("{id}/VERSION"), b"1.0")?;
            outer_bytes(&mut tar, &format!("{id}/json"), &serde_json::to_vec(&json)?)?;
            outer_file(&mut tar, &format!("{id}/layer.tar"), &blob(digest))?;
            ids.push(id);
        }
        let config = format!("{}.json", hex_of(&written.config_digest));
        outer_file(&mut tar, &config, &blob(&written.config_digest))?;
        let layers = ids.iter().map(|id| format!("{id}/layer.tar")).collect();
        let manifest = self.docker_manifest(config, layers)?;
        outer_bytes(&mut tar, "manifest.json", &manifest)?;
        if let Some(repositories) = self.repositories(ids.last().map(String::as_str))? {
            outer_bytes(&mut tar, "repositories", &repositories)?;
        }
        tar.into_inner()?.flush()
    }
}

/// A multi-platform OCI layout: one index listing each image's manifest with its
/// platform and, for a tagged image, the ref.name annotation.
pub fn write_oci_index_dir(dir: &Path, images: &[Image]) -> io::Result<Vec<Written>> {
    let mut all = Vec::new();
    let mut manifests = Vec::new();
    for image in images {
        let (written, mut manifest) = image.write_blobs(dir)?;
        manifest["platform"] = image.platform();
        manifests.push(image.index_entry(manifest, false));
        all.push(written);
    }
    write_index(dir, manifests)?;
    Ok(all)
}

/// [`write_oci_index_dir`], as an oci-archive.
pub fn write_oci_index_archive(path: &Path, images: &[Image]) -> io::Result<Vec<Written>> {
    let staging = Staging::beside(path)?;
    let all = write_oci_index_dir(&staging.0, images)?;
    tar_dir(path, &staging.0)?;
    Ok(all)
}

/// `repo:tag` split at the last `:`; a name without one means `latest`, as in Docker.
fn split_tag(tag: &str) -> (&str, &str) {
    tag.rsplit_once(':').unwrap_or((tag, "latest"))
}

fn descriptor(media_type: &str, digest: &str, size: u64) -> Value {
    json!({"mediaType": media_type, "digest": digest, "size": size})
}

fn write_index(dir: &Path, manifests: Vec<Value>) -> io::Result<()> {
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let index = json!({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": manifests});
    fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)
}

/// Stores `bytes` under their digest in `blobs` and returns the digest.
fn put_blob(blobs: &Path, bytes: &[u8]) -> io::Result<String> {
    let hex = sha256_hex(bytes);
    fs::write(blobs.join(&hex), bytes)?;
    Ok(format!("sha256:{hex}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// A scratch directory beside an archive being written, removed when dropped (also on
/// error). Blobs are staged there so their sizes are known before their tar headers are
/// written, without holding them in memory.
struct Staging(PathBuf);

impl Staging {
    fn beside(path: &Path) -> io::Result<Staging> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let dir = path.with_file_name(format!(".{name}.{}.staging", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(Staging(dir))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Tars `dir` into `path` as `docker save` and skopeo do: members in lexical order,
/// each directory just before its contents.
fn tar_dir(path: &Path, dir: &Path) -> io::Result<()> {
    let mut tar = tar::Builder::new(BufWriter::new(File::create(path)?));
    append_tree(&mut tar, dir, "")?;
    tar.into_inner()?.flush()
}

fn append_tree<W: Write>(tar: &mut tar::Builder<W>, dir: &Path, prefix: &str) -> io::Result<()> {
    let mut names = fs::read_dir(dir)?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<Vec<String>>>()?;
    names.sort();
    for name in names {
        let path = dir.join(&name);
        if path.is_dir() {
            let member = format!("{prefix}{name}/");
            outer_dir(tar, &member)?;
            append_tree(tar, &path, &member)?;
        } else {
            outer_file(tar, &format!("{prefix}{name}"), &path)?;
        }
    }
    Ok(())
}

fn outer_dir<W: Write>(tar: &mut tar::Builder<W>, name: &str) -> io::Result<()> {
    tar.append_data(
        &mut header(Header::new_gnu(), EntryType::Directory, 0o755, 0),
        name,
        io::empty(),
    )
}

fn outer_bytes<W: Write>(tar: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut header = header(
        Header::new_gnu(),
        EntryType::Regular,
        0o644,
        bytes.len() as u64,
    );
    tar.append_data(&mut header, name, bytes)
}

fn outer_file<W: Write>(tar: &mut tar::Builder<W>, name: &str, source: &Path) -> io::Result<()> {
    let file = File::open(source)?;
    let mut header = header(
        Header::new_gnu(),
        EntryType::Regular,
        0o644,
        file.metadata()?.len(),
    );
    tar.append_data(&mut header, name, file)
}

/// `format` (a new GNU or POSIX header) with the fixed metadata every member gets; the
/// caller sets the name.
fn header(mut header: Header, kind: EntryType, mode: u32, size: u64) -> Header {
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header
}

struct LayerBlob {
    diff_id: String,
    digest: String,
    tar_size: u64,
    stored_size: u64,
}

/// Writes a layer's tar, compressed as the layer asks, hashing the tar (its diff_id)
/// and the stored bytes (its digest) on the way.
fn write_layer(layer: &Layer, out: impl Write) -> io::Result<LayerBlob> {
    let stored = Hashing::new(out);
    let plain = Hashing::new(Encoder::new(&layer.compression, stored)?);
    let (encoder, diff_id, tar_size) = write_tar(layer, plain)?.finish();
    let (mut out, digest, stored_size) = encoder.finish()?.finish();
    out.flush()?;
    Ok(LayerBlob {
        diff_id,
        digest,
        tar_size,
        stored_size,
    })
}

fn write_tar<W: Write>(layer: &Layer, out: W) -> io::Result<W> {
    let mut tar = tar::Builder::new(out);
    for entry in &layer.entries {
        append_entry(&mut tar, layer, entry)?;
    }
    tar.into_inner()
}

fn append_entry<W: Write>(
    tar: &mut tar::Builder<W>,
    layer: &Layer,
    entry: &Entry,
) -> io::Result<()> {
    let name = |path: &[u8]| layer.stored_name(path, false);
    let member = match entry {
        Entry::Raw {
            header,
            content,
            keep_checksum,
        } => {
            let mut block = Header::new_old();
            let n = header.len().min(512);
            block.as_mut_bytes()[..n].copy_from_slice(&header[..n]);
            if !keep_checksum {
                block.set_cksum();
            }
            // Written as is: the builder's `append` would trust the header's size field.
            let out = tar.get_mut();
            out.write_all(block.as_bytes())?;
            let written = io::copy(&mut content.reader(), out)?;
            out.write_all(&vec![0; ((512 - written % 512) % 512) as usize])?;
            return Ok(());
        }
        Entry::Dir { path, mode } => {
            Member::new(EntryType::Directory, *mode, layer.stored_name(path, true))
        }
        Entry::File {
            path,
            content,
            mode,
        } => Member {
            size: content.len(),
            data: content.reader(),
            ..Member::new(EntryType::Regular, *mode, name(path))
        },
        Entry::Symlink { path, target } => Member {
            link: Some(target.clone()),
            ..Member::new(EntryType::Symlink, 0o777, name(path))
        },
        // A hard link's target is another member, so it is named the same way.
        Entry::Hardlink { path, target } => Member {
            link: Some(name(target)),
            ..Member::new(EntryType::Link, 0o644, name(path))
        },
        Entry::Fifo { path } => Member::new(EntryType::Fifo, 0o644, name(path)),
        Entry::CharDevice { path, major, minor } => Member {
            device: Some((*major, *minor)),
            ..Member::new(EntryType::Char, 0o666, name(path))
        },
        Entry::Whiteout { path } => {
            let (parent, file) = split_parent(path);
            Member::new(
                EntryType::Regular,
                0o644,
                name(&[parent, b".wh.", file].concat()),
            )
        }
        Entry::Opaque { dir } => {
            let dir = dir.strip_suffix(b"/").unwrap_or(dir);
            Member::new(
                EntryType::Regular,
                0o644,
                name(&[dir, b"/.wh..wh..opq"].concat()),
            )
        }
        Entry::Sparse {
            path,
            real_size,
            segments,
        } => {
            let mut data = format!("{}\n", segments.len());
            for (offset, bytes) in segments {
                data += &format!("{offset}\n{}\n", bytes.len());
            }
            let mut data = data.into_bytes();
            data.resize(data.len().next_multiple_of(512), 0);
            for (_, bytes) in segments {
                data.extend_from_slice(bytes);
            }
            let (parent, file) = split_parent(path);
            Member {
                size: data.len() as u64,
                data: Box::new(io::Cursor::new(data)),
                records: vec![
                    ("GNU.sparse.major", b"1".to_vec()),
                    ("GNU.sparse.minor", b"0".to_vec()),
                    ("GNU.sparse.name", name(path)),
                    ("GNU.sparse.realsize", real_size.to_string().into_bytes()),
                ],
                ..Member::new(
                    EntryType::Regular,
                    0o644,
                    name(&[parent, b"GNUSparseFile.0/", file].concat()),
                )
            }
        }
    };
    member.append_to(tar, layer.pax_paths)
}

/// `a/b/c` -> (`a/b/`, `c`).
fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => path.split_at(i + 1),
        None => (b"", path),
    }
}

/// One member of a layer's tar, its name and link target raw bytes of any length.
struct Member<'a> {
    kind: EntryType,
    mode: u32,
    name: Vec<u8>,
    size: u64,
    data: Box<dyn Read + 'a>,
    link: Option<Vec<u8>>,
    device: Option<(u32, u32)>,
    records: Vec<(&'static str, Vec<u8>)>,
}

impl<'a> Member<'a> {
    fn new(kind: EntryType, mode: u32, name: Vec<u8>) -> Member<'a> {
        Member {
            kind,
            mode,
            name,
            size: 0,
            data: Box::new(io::empty()),
            link: None,
            device: None,
            records: Vec::new(),
        }
    }

    /// A name that does not fit the header goes in a PAX record when the layer asks for
    /// PAX paths or the member has PAX records anyway, else in a GNU long-name entry, as
    /// GNU tar does.
    fn append_to<W: Write>(mut self, tar: &mut tar::Builder<W>, pax_paths: bool) -> io::Result<()> {
        let name = self.name.as_slice();
        if pax_paths || (!self.records.is_empty() && name.len() > NAME_LEN) {
            self.records.push(("path", name.to_vec()));
        } else if name.len() > NAME_LEN {
            append_long(tar, EntryType::GNULongName, name)?;
        }
        if let Some(link) = &self.link {
            if pax_paths {
                self.records.push(("linkpath", link.clone()));
            } else if link.len() > NAME_LEN {
                append_long(tar, EntryType::GNULongLink, link)?;
            }
        }
        // GNU tar honours PAX records (sparse ones above all) only before a POSIX header,
        // which is what it writes itself.
        let format = if self.records.is_empty() {
            Header::new_gnu()
        } else {
            append_pax(tar, name, &self.records)?;
            Header::new_ustar()
        };
        let mut header = header(format, self.kind, self.mode, self.size);
        if let Some((major, minor)) = self.device {
            header.set_device_major(major)?;
            header.set_device_minor(minor)?;
        }
        // Set the fields directly: the tar crate's setters would drop a `./` prefix and
        // refuse names that are not valid paths, and a fixture must write them as given.
        set_field(&mut header.as_old_mut().name, name);
        if let Some(link) = &self.link {
            set_field(&mut header.as_old_mut().linkname, link);
        }
        header.set_cksum();
        tar.append(&header, self.data)
    }
}

/// Fills a fixed-size header field, truncating a value that is too long for it (the
/// full value is then in a long-name entry or PAX record).
fn set_field(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

fn append_long<W: Write>(
    tar: &mut tar::Builder<W>,
    kind: EntryType,
    value: &[u8],
) -> io::Result<()> {
    // GNU tar NUL-terminates the value and counts the NUL in the size.
    let mut header = header(Header::new_gnu(), kind, 0o644, value.len() as u64 + 1);
    set_field(&mut header.as_old_mut().name, b"././@LongLink");
    header.set_cksum();
    tar.append(&header, [value, b"\0"].concat().as_slice())
}

fn append_pax<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &[u8],
    records: &[(&str, Vec<u8>)],
) -> io::Result<()> {
    let data: Vec<u8> = records
        .iter()
        .flat_map(|(key, value)| pax_record(key, value))
        .collect();
    let mut header = header(
        Header::new_ustar(),
        EntryType::XHeader,
        0o644,
        data.len() as u64,
    );
    let base = name
        .rsplit(|&b| b == b'/')
        .find(|part| !part.is_empty())
        .unwrap_or_default();
    set_field(
        &mut header.as_old_mut().name,
        &[b"PaxHeaders.0/", base].concat(),
    );
    header.set_cksum();
    tar.append(&header, data.as_slice())
}

/// One `"<len> <key>=<value>\n"` record, where `<len>` counts the whole record, its own
/// digits included.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3;
    let mut len = rest;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    [format!("{len} {key}=").as_bytes(), value, b"\n"].concat()
}

/// Passes bytes through while hashing and counting them.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The inner writer, the `sha256:<hex>` digest and the byte count.
    fn finish(self) -> (W, String, u64) {
        let digest = format!("sha256:{}", to_hex(&self.hasher.finalize()));
        (self.inner, digest, self.len)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The compressor a layer's tar goes through on its way to storage.
enum Encoder<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    fn new(compression: &Compression, out: W) -> io::Result<Encoder<W>> {
        Ok(match compression {
            Compression::None => Encoder::Plain(out),
            Compression::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::default(),
            )),
            Compression::Zstd => Encoder::Zstd(zstd::Encoder::new(out, 3)?),
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(out) => Ok(out),
            Encoder::Gzip(encoder) => encoder.finish(),
            Encoder::Zstd(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(out) => out.write(buf),
            Encoder::Gzip(encoder) => encoder.write(buf),
            Encoder::Zstd(encoder) => encoder.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(out) => out.flush(),
            Encoder::Gzip(encoder) => encoder.flush(),
            Encoder::Zstd(encoder) => encoder.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    /// Every member of a tar as (name, data), long names and PAX paths resolved.
    fn read_tar(bytes: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut archive = tar::Archive::new(bytes);
        let entries = archive.entries().unwrap();
        entries
            .map(|entry| {
                let mut entry = entry.unwrap();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                (entry.path_bytes().into_owned(), data)
            })
            .collect()
    }

    fn names(members: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
        members
            .iter()
            .map(|(name, _)| String::from_utf8_lossy(name).into_owned())
            .collect()
    }

    fn member<'a>(members: &'a [(Vec<u8>, Vec<u8>)], name: &str) -> &'a [u8] {
        let found = members.iter().find(|(n, _)| n == name.as_bytes());
        &found.unwrap_or_else(|| panic!("no member {name}")).1
    }

    /// The type flag of each raw header, GNU long-name and PAX headers included.
    fn raw_types(tar: &[u8]) -> Vec<u8> {
        let mut types = Vec::new();
        let mut at = 0;
        while tar[at..at + 512].iter().any(|&b| b != 0) {
            let header = Header::from_byte_slice(&tar[at..at + 512]);
            types.push(header.as_bytes()[156]);
            at += 512 + header.entry_size().unwrap().next_multiple_of(512) as usize;
        }
        types
    }

    fn digest(bytes: &[u8]) -> String {
        format!("sha256:{}", sha256_hex(bytes))
    }

    fn decompress(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match bytes {
            [0x1f, 0x8b, ..] => flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap(),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => zstd::Decoder::new(bytes)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap(),
            _ => return bytes.to_vec(),
        };
        out
    }

    fn json(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    fn sample() -> Image {
        let mut image = Image::new(vec![
            Layer::new(
                "ADD rootfs.tar /",
                vec![
                    Entry::dir("etc"),
                    Entry::file("etc/os-release", "ID=debian\n"),
                    Entry::exec("bin/sh", b"\x7fELF"),
                ],
            ),
            Layer::new(
                "RUN pip install numpy",
                vec![
                    Entry::dir("usr/lib/python3"),
                    Entry::file_len("usr/lib/python3/big.so", 100_000, 7),
                    Entry::whiteout("etc/os-release"),
                ],
            )
            .gzip(),
            Layer::new(
                "RUN rm -rf /usr/lib/python3",
                vec![Entry::opaque("usr/lib/python3")],
            )
            .zstd(),
        ]);
        image.tag = Some("demo:1.0".to_string());
        image.empty_steps = vec![
            (0, "ARG X=1".to_string()),
            (3, r#"CMD ["python3"]"#.to_string()),
        ];
        image
    }

    /// Checks every digest and size in `written` against the blobs that `blob` returns.
    fn check_blobs(image: &Image, written: &Written, blob: impl Fn(&str) -> Vec<u8>) {
        for (i, layer_digest) in written.layer_digests.iter().enumerate() {
            let stored = blob(layer_digest);
            assert_eq!(&digest(&stored), layer_digest);
            let tar = decompress(&stored);
            assert_eq!(digest(&tar), written.diff_ids[i]);
            assert_eq!(tar.len() as u64, written.layer_sizes[i]);
            assert_eq!(tar, image.layer_tar(i).unwrap());
        }
        let config = blob(&written.config_digest);
        assert_eq!(digest(&config), written.config_digest);
        assert_eq!(json(&config)["rootfs"]["diff_ids"], json!(written.diff_ids));
    }

    #[test]
    fn docker_classic_archive() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("image.tar");
        let image = sample();
        let written = image
            .write_docker_archive(&path, Layout::DockerClassic)
            .unwrap();
        let members = read_tar(&fs::read(&path).unwrap());

        let manifest = json(member(&members, "manifest.json"));
        let config_name = format!("{}.json", hex_of(&written.config_digest));
        assert_eq!(manifest[0]["Config"], json!(config_name));
        assert_eq!(manifest[0]["RepoTags"], json!(["demo:1.0"]));
        let layers: Vec<String> = serde_json::from_value(manifest[0]["Layers"].clone()).unwrap();
        let ids: Vec<&str> = layers
            .iter()
            .map(|l| l.strip_suffix("/layer.tar").unwrap())
            .collect();
        let mut expected = Vec::new();
        for id in &ids {
            expected.extend([
                format!("{id}/"),
                format!("{id}/VERSION"),
                format!("{id}/json"),
                format!("{id}/layer.tar"),
            ]);
        }
        expected.extend([
            config_name.clone(),
            "manifest.json".into(),
            "repositories".into(),
        ]);
        assert_eq!(names(&members), expected);

        assert_eq!(
            json(member(&members, "repositories")),
            json!({"demo": {"1.0": ids[2]}})
        );
        assert_eq!(
            json(member(&members, &format!("{}/json", ids[1])))["parent"],
            json!(ids[0])
        );
        check_blobs(&image, &written, |digest| {
            let i = written.layer_digests.iter().position(|d| d == digest);
            let name = i.map_or(config_name.clone(), |i| layers[i].clone());
            member(&members, &name).to_vec()
        });
    }

    #[test]
    fn docker_oci_archive() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("image.tar");
        let image = sample();
        let written = image
            .write_docker_archive(&path, Layout::DockerOci)
            .unwrap();
        let members = read_tar(&fs::read(&path).unwrap());

        let mut blobs: Vec<String> = written.layer_digests.clone();
        blobs.extend([
            written.config_digest.clone(),
            written.manifest_digest.clone(),
        ]);
        let mut blobs: Vec<String> = blobs
            .iter()
            .map(|d| format!("blobs/sha256/{}", hex_of(d)))
            .collect();
        blobs.sort();
        let mut expected = vec!["blobs/".to_string(), "blobs/sha256/".to_string()];
        expected.extend(blobs.iter().cloned());
        expected.extend(
            ["index.json", "manifest.json", "oci-layout", "repositories"].map(String::from),
        );
        assert_eq!(names(&members), expected);

        let blob =
            |digest: &str| member(&members, &format!("blobs/sha256/{}", hex_of(digest))).to_vec();
        check_blobs(&image, &written, blob);
        let manifest = json(member(&members, "manifest.json"));
        assert_eq!(
            manifest[0]["Config"],
            json!(format!("blobs/sha256/{}", hex_of(&written.config_digest)))
        );
        assert_eq!(
            manifest[0]["Layers"][1],
            json!(format!(
                "blobs/sha256/{}",
                hex_of(&written.layer_digests[1])
            ))
        );
        let top = hex_of(&written.layer_digests[2]);
        assert_eq!(
            json(member(&members, "repositories")),
            json!({"demo": {"1.0": top}})
        );

        let index = json(member(&members, "index.json"));
        let entry = &index["manifests"][0];
        assert_eq!(entry["digest"], json!(written.manifest_digest));
        assert_eq!(
            entry["annotations"]["org.opencontainers.image.ref.name"],
            "1.0"
        );
        assert_eq!(entry["annotations"]["io.containerd.image.name"], "demo:1.0");
        let oci_manifest = blob(&written.manifest_digest);
        assert_eq!(digest(&oci_manifest), written.manifest_digest);
        assert_eq!(entry["size"], json!(oci_manifest.len()));
        let oci_manifest = json(&oci_manifest);
        assert_eq!(oci_manifest["config"]["mediaType"], CONFIG_TYPE);
        let types: Vec<&Value> = (0..3)
            .map(|i| &oci_manifest["layers"][i]["mediaType"])
            .collect();
        assert_eq!(
            types,
            [
                "application/vnd.oci.image.layer.v1.tar",
                "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/vnd.oci.image.layer.v1.tar+zstd"
            ]
        );
        assert_eq!(
            oci_manifest["layers"][1]["size"],
            json!(blob(&written.layer_digests[1]).len())
        );
    }

    #[test]
    fn oci_dir_and_archive() {
        let tmp = tempfile::tempdir().unwrap();
        let image = sample();
        let dir = tmp.path().join("layout");
        let written = image.write_oci_dir(&dir).unwrap();
        let mut top: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        assert_eq!(top, ["blobs", "index.json", "oci-layout"]);
        assert_eq!(fs::read_dir(dir.join("blobs/sha256")).unwrap().count(), 5);
        check_blobs(&image, &written, |d| {
            fs::read(dir.join("blobs/sha256").join(hex_of(d))).unwrap()
        });
        let index = json(&fs::read(dir.join("index.json")).unwrap());
        assert_eq!(index["mediaType"], INDEX_TYPE);
        assert_eq!(
            index["manifests"][0]["annotations"],
            json!({"org.opencontainers.image.ref.name": "1.0"})
        );

        let path = tmp.path().join("oci.tar");
        assert_eq!(
            image.write_docker_archive(&path, Layout::Oci).unwrap(),
            written
        );
        let members = read_tar(&fs::read(&path).unwrap());
        let names = names(&members);
        assert_eq!(names[..2], ["blobs/", "blobs/sha256/"]);
        assert_eq!(names[7..], ["index.json", "oci-layout"]);
        assert_eq!(
            member(&members, "index.json"),
            fs::read(dir.join("index.json")).unwrap()
        );
        // Nothing is left behind but what was asked for.
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 2);
    }

    #[test]
    fn history_and_platform_in_config() {
        let tmp = tempfile::tempdir().unwrap();
        let mut image = sample();
        image.variant = Some("v8".to_string());
        image.architecture = "arm64".to_string();
        let written = image.write_oci_dir(tmp.path()).unwrap();
        let config = json(
            &fs::read(
                tmp.path()
                    .join("blobs/sha256")
                    .join(hex_of(&written.config_digest)),
            )
            .unwrap(),
        );
        assert_eq!(
            (&config["architecture"], &config["os"], &config["variant"]),
            (&json!("arm64"), &json!("linux"), &json!("v8"))
        );
        let history: Vec<(&Value, bool)> = config["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (&h["created_by"], h["empty_layer"] == json!(true)))
            .collect();
        assert_eq!(
            history,
            [
                (&json!("ARG X=1"), true),
                (&json!("ADD rootfs.tar /"), false),
                (&json!("RUN pip install numpy"), false),
                (&json!("RUN rm -rf /usr/lib/python3"), false),
                (&json!(r#"CMD ["python3"]"#), true),
            ]
        );
    }

    #[test]
    fn special_names_and_entry_types() {
        let long: String = "d/".repeat(50) + "file.txt"; // 108 bytes
        let long_target = "t".repeat(200);
        let non_utf8 = b"caf\xe9/na\xefve".to_vec();
        let entries = || {
            vec![
                Entry::whiteout("etc/old.conf"),
                Entry::opaque("var/cache/"),
                Entry::file(&long, "x"),
                Entry::symlink("link", &long_target),
                Entry::hardlink("hard", &long),
                Entry::file(&non_utf8, "bytes"),
                Entry::fifo("run/pipe"),
                Entry::char_device("dev/null", 1, 3),
            ]
        };
        let image = Image::new(vec![
            Layer::new("gnu", entries()),
            Layer::new("pax", entries()).pax(),
        ]);
        let expected_names = [
            b"etc/.wh.old.conf".to_vec(),
            b"var/cache/.wh..wh..opq".to_vec(),
            long.clone().into_bytes(),
            b"link".to_vec(),
            b"hard".to_vec(),
            non_utf8.clone(),
            b"run/pipe".to_vec(),
            b"dev/null".to_vec(),
        ];
        for i in 0..2 {
            let tar = image.layer_tar(i).unwrap();
            let mut archive = tar::Archive::new(tar.as_slice());
            let mut names = Vec::new();
            for entry in archive.entries().unwrap() {
                let entry = entry.unwrap();
                let header = entry.header();
                match entry.path_bytes().as_ref() {
                    b"link" => assert_eq!(
                        entry.link_name_bytes().unwrap().as_ref(),
                        long_target.as_bytes()
                    ),
                    b"hard" => {
                        assert_eq!(header.entry_type(), EntryType::Link);
                        assert_eq!(entry.link_name_bytes().unwrap().as_ref(), long.as_bytes());
                    }
                    b"run/pipe" => assert_eq!(header.entry_type(), EntryType::Fifo),
                    b"dev/null" => {
                        assert_eq!(header.entry_type(), EntryType::Char);
                        assert_eq!(
                            (
                                header.device_major().unwrap(),
                                header.device_minor().unwrap()
                            ),
                            (Some(1), Some(3))
                        );
                    }
                    _ => assert_eq!(header.entry_type(), EntryType::Regular),
                }
                assert_eq!(
                    (
                        header.mtime().unwrap(),
                        header.uid().unwrap(),
                        header.gid().unwrap()
                    ),
                    (MTIME, 0, 0)
                );
                names.push(entry.path_bytes().into_owned());
            }
            assert_eq!(names, expected_names);
            let path = Path::new(OsStr::from_bytes(&names[5]));
            assert_eq!(path.as_os_str().as_bytes(), b"caf\xe9/na\xefve");
        }
        // GNU long-name ('L') and long-link ('K') entries by default; a PAX header ('x')
        // before every member with pax().
        assert_eq!(
            raw_types(&image.layer_tar(0).unwrap()),
            b"00L0K2K1063".to_vec()
        );
        assert_eq!(
            raw_types(&image.layer_tar(1).unwrap()),
            b"x0x0x0x2x1x0x6x3".to_vec()
        );
    }

    #[test]
    fn dot_prefix_names() {
        let layer = Layer::new(
            "dots",
            vec![
                Entry::dir("usr"),
                Entry::dir("usr/lib/"),
                Entry::file("usr/a", "a"),
                Entry::hardlink("usr/b", "usr/a"),
                Entry::whiteout("usr/c"),
            ],
        );
        let tar = Image::new(vec![layer.dot_prefix()]).layer_tar(0).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            if let Some(link) = entry.link_name_bytes() {
                assert_eq!(link.as_ref(), b"./usr/a");
            }
            names.push(String::from_utf8(entry.path_bytes().into_owned()).unwrap());
        }
        assert_eq!(
            names,
            ["./usr/", "./usr/lib/", "./usr/a", "./usr/b", "./usr/.wh.c"]
        );
    }

    #[test]
    fn compressions_hold_the_same_tar() {
        let entries = || vec![Entry::dir("data"), Entry::file_len("data/blob", 300_000, 1)];
        let image = Image::new(vec![
            Layer::new("plain", entries()),
            Layer::new("gzip", entries()).gzip(),
            Layer::new("zstd", entries()).zstd(),
        ]);
        let tmp = tempfile::tempdir().unwrap();
        let written = image.write_oci_dir(tmp.path()).unwrap();
        let blob = |d: &str| fs::read(tmp.path().join("blobs/sha256").join(hex_of(d))).unwrap();
        let plain = blob(&written.layer_digests[0]);
        assert_eq!(&blob(&written.layer_digests[1])[..2], [0x1f, 0x8b]);
        assert_eq!(
            &blob(&written.layer_digests[2])[..4],
            [0x28, 0xb5, 0x2f, 0xfd]
        );
        for i in 1..3 {
            assert_eq!(decompress(&blob(&written.layer_digests[i])), plain);
            assert_eq!(written.diff_ids[i], written.diff_ids[0]);
            assert_ne!(written.layer_digests[i], written.layer_digests[0]);
        }
        assert_eq!(written.diff_ids[0], written.layer_digests[0]);
        check_blobs(&image, &written, blob);
    }

    #[test]
    fn sparse_entry() {
        let segments = vec![(0, vec![b'h'; 512]), (8192, b"tail".to_vec())];
        let long_dir = "p/".repeat(60);
        let image = Image::new(vec![Layer::new(
            "sparse",
            vec![
                Entry::sparse("usr/lib/big.bin", 10_000, segments.clone()),
                Entry::sparse(format!("{long_dir}big.bin"), 10_000, segments),
            ],
        )]);
        let tar = image.layer_tar(0).unwrap();
        // The long name goes in the PAX header the entry has anyway, not a GNU long name.
        assert_eq!(raw_types(&tar), b"x0x0".to_vec());
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut entries = archive.entries().unwrap();

        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(
            entry.path_bytes().as_ref(),
            b"usr/lib/GNUSparseFile.0/big.bin"
        );
        let records: Vec<(String, String)> = entry
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (r.key().unwrap().to_string(), r.value().unwrap().to_string())
            })
            .collect();
        let expected = [
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.name", "usr/lib/big.bin"),
            ("GNU.sparse.realsize", "10000"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(records, expected);
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        let mut map = b"2\n0\n512\n8192\n4\n".to_vec();
        map.resize(512, 0);
        assert_eq!(data, [map, vec![b'h'; 512], b"tail".to_vec()].concat());

        let entry = entries.next().unwrap().unwrap();
        assert_eq!(
            entry.path_bytes().into_owned(),
            format!("{long_dir}GNUSparseFile.0/big.bin").into_bytes()
        );
    }

    #[test]
    fn pattern_content_is_deterministic() {
        let read_all = |content: &Content, chunk: usize| {
            let mut reader = content.reader();
            let mut out = Vec::new();
            let mut buf = vec![0; chunk];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    return out;
                }
                out.extend_from_slice(&buf[..n]);
            }
        };
        let content = Content::Pattern {
            len: 10_001,
            seed: 42,
        };
        let bytes = read_all(&content, 8192);
        assert_eq!(bytes.len(), 10_001);
        assert_eq!(read_all(&content, 3), bytes);
        assert_ne!(
            read_all(
                &Content::Pattern {
                    len: 10_001,
                    seed: 43
                },
                8192
            ),
            bytes
        );

        let image = Image::new(vec![Layer::new(
            "pattern",
            vec![Entry::file_len("f", 10_001, 42)],
        )]);
        assert_eq!(read_tar(&image.layer_tar(0).unwrap())[0].1, bytes);
    }

    #[test]
    fn writing_twice_gives_identical_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let image = sample();
        for layout in [Layout::DockerClassic, Layout::DockerOci, Layout::Oci] {
            let (a, b) = (tmp.path().join("a.tar"), tmp.path().join("b.tar"));
            image.write_docker_archive(&a, layout).unwrap();
            image.write_docker_archive(&b, layout).unwrap();
            assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap(), "{layout:?}");
        }
        let a = image.write_oci_dir(&tmp.path().join("a")).unwrap();
        let b = image.write_oci_dir(&tmp.path().join("b")).unwrap();
        assert_eq!(a, b);
        let index = |dir: &str| fs::read(tmp.path().join(dir).join("index.json")).unwrap();
        assert_eq!(index("a"), index("b"));
    }

    #[test]
    fn multi_platform_index() {
        let image = |arch: &str, variant: Option<&str>, seed| {
            let mut image = Image::new(vec![Layer::new(
                "base",
                vec![Entry::file_len("lib.so", 1000, seed)],
            )]);
            image.architecture = arch.to_string();
            image.variant = variant.map(String::from);
            image.tag = Some(format!("demo:{arch}"));
            image
        };
        let images = [image("amd64", None, 1), image("arm64", Some("v8"), 2)];
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("layout");
        let written = write_oci_index_dir(&dir, &images).unwrap();
        let index = json(&fs::read(dir.join("index.json")).unwrap());
        let manifests = index["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 2);
        assert_eq!(
            manifests[0]["platform"],
            json!({"architecture": "amd64", "os": "linux"})
        );
        assert_eq!(
            manifests[1]["platform"],
            json!({"architecture": "arm64", "os": "linux", "variant": "v8"})
        );
        assert_eq!(
            manifests[1]["annotations"]["org.opencontainers.image.ref.name"],
            "arm64"
        );
        for (image, (entry, written)) in images.iter().zip(manifests.iter().zip(&written)) {
            assert_eq!(entry["digest"], json!(written.manifest_digest));
            check_blobs(image, written, |d| {
                fs::read(dir.join("blobs/sha256").join(hex_of(d))).unwrap()
            });
        }

        let path = tmp.path().join("multi.tar");
        assert_eq!(write_oci_index_archive(&path, &images).unwrap(), written);
        let members = read_tar(&fs::read(&path).unwrap());
        assert_eq!(
            member(&members, "index.json"),
            fs::read(dir.join("index.json")).unwrap()
        );
        // Two directories, three blobs per image, index.json and oci-layout.
        assert_eq!(names(&members).len(), 2 + 6 + 2);
    }
}
