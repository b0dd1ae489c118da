//! Finds an image's config and ordered layers: from Docker's `manifest.json` (what `docker save`
//! writes, in both its classic and its Docker >= 25 layout) or from an OCI `index.json`, with tag
//! and platform selection. Works on any backend that can hand over small blobs by name.

use std::fmt;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::layer::{LayerScan, blob::hex};
use crate::model::ImageDigests;

/// Small files (manifests, configs, indexes) of an image, by their path in the layout.
pub trait MetaFiles {
    /// The file's bytes, or `None` when there is no such file.
    fn read_meta(&self, name: &str) -> Result<Option<Vec<u8>>>;
    /// Where the files are, for error messages.
    fn origin(&self) -> String;
}

/// The image config fields pydive uses.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<History>,
    #[serde(default)]
    pub config: Option<RunConfig>,
}

/// How a container of the image runs.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RunConfig {
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
    /// `USER`: a name or uid, optionally `:group`; empty or absent is root.
    #[serde(rename = "User", default)]
    pub user: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct History {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

/// Which digest a layer blob is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The stored bytes (an OCI descriptor's digest, a `blobs/sha256/<hex>` name).
    Blob,
    /// The uncompressed tar (the config's diff_id, for a classic `<id>/layer.tar`).
    Tar,
}

#[derive(Clone, Debug)]
pub struct LayerRef {
    pub index: usize,
    /// The blob's path inside the layout.
    pub member: String,
    pub digest: String,
    pub diff_id: String,
    pub created_by: String,
    pub expect: Expect,
}

impl LayerRef {
    pub fn describe(&self) -> String {
        format!("layer {} ({})", self.index, self.member)
    }

    /// Compares the computed digest with the expected one.
    pub fn check(&self, scan: &LayerScan) -> Result<()> {
        let (want, got, what) = match self.expect {
            Expect::Blob => (&self.digest, &scan.blob_digest, "digest"),
            Expect::Tar => (&self.diff_id, &scan.tar_digest, "diff_id"),
        };
        match got {
            Some(got) if got == want => Ok(()),
            Some(got) => bail!(
                "{}: {what} mismatch: expected {want}, the blob hashes to {got}",
                self.describe()
            ),
            None => bail!("{}: {what} was not computed", self.describe()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Resolved {
    pub config: ImageConfig,
    pub layers: Vec<LayerRef>,
    pub digests: ImageDigests,
}

/// `os/arch[/variant]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this binary runs on, in OCI's names.
    pub fn host() -> Platform {
        let architecture = crate::model::Arch::host().map_or(std::env::consts::ARCH, |a| a.goarch);
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: (architecture == "arm64").then(|| "v8".to_string()),
        }
    }

    pub fn parse(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => bail!("--platform {s}: expected os/arch[/variant], for example linux/amd64"),
        }
    }

    /// A descriptor's platform matches when os and architecture agree and, where both name
    /// one, the variant too (arm64's "v8" is its only variant, so a missing one matches).
    fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        self.os == os
            && self.architecture == architecture
            && match (self.variant.as_deref(), variant) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// A tarball from `docker save` (or an OCI archive given as a bare path): `manifest.json` when
/// there is one, else `index.json`.
pub fn resolve_archive(
    files: &impl MetaFiles,
    reference: Option<&str>,
    platform: &Platform,
) -> Result<Resolved> {
    let Some(bytes) = files.read_meta("manifest.json")? else {
        if files.read_meta("index.json")?.is_some() {
            return resolve_oci(files, reference, platform);
        }
        bail!(
            "{}: neither manifest.json nor index.json found: not a `docker save` tarball or an OCI archive",
            files.origin()
        );
    };
    let entries: Vec<DockerManifestEntry> = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: malformed manifest.json", files.origin()))?;
    let entry = match (reference, entries.as_slice()) {
        (_, []) => bail!("{}: manifest.json lists no image", files.origin()),
        (None, [only]) => only,
        (Some(wanted), _) => entries
            .iter()
            .find(|e| {
                e.repo_tags
                    .iter()
                    .flatten()
                    .any(|t| t == wanted || t.strip_prefix("docker.io/library/") == Some(wanted))
            })
            .ok_or_else(|| {
                anyhow!(
                    "{}: no image tagged {wanted}; it has {}",
                    files.origin(),
                    list_tags(&entries)
                )
            })?,
        (None, _) => bail!(
            "{}: it holds {} images; name one with docker-archive:PATH:NAME:TAG ({})",
            files.origin(),
            entries.len(),
            list_tags(&entries)
        ),
    };
    let (config, config_digest): (ImageConfig, String) =
        read_json_digest(files, &entry.config, "config")?;
    if config.rootfs.diff_ids.len() != entry.layers.len() {
        bail!(
            "{}: manifest.json lists {} layers but the config has {} diff_ids",
            files.origin(),
            entry.layers.len(),
            config.rootfs.diff_ids.len()
        );
    }
    let steps = layer_steps(&config);
    let layers = entry
        .layers
        .iter()
        .enumerate()
        .map(|(index, member)| {
            let diff_id = config.rootfs.diff_ids[index].clone();
            let (digest, expect) = match blob_digest_from_name(member) {
                Some(d) => (d, Expect::Blob),
                None => (diff_id.clone(), Expect::Tar),
            };
            LayerRef {
                index,
                member: member.clone(),
                digest,
                diff_id,
                created_by: steps.get(index).cloned().unwrap_or_default(),
                expect,
            }
        })
        .collect();
    let digests = ImageDigests {
        config: Some(config_digest),
        ..ImageDigests::default()
    };
    Ok(Resolved {
        config,
        layers,
        digests,
    })
}

fn list_tags(entries: &[DockerManifestEntry]) -> String {
    let tags: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.repo_tags.iter().flatten().map(String::as_str))
        .collect();
    if tags.is_empty() {
        "no tags".into()
    } else {
        tags.join(", ")
    }
}

/// `blobs/sha256/<hex>` names its own digest.
fn blob_digest_from_name(member: &str) -> Option<String> {
    let hex = member.strip_prefix("blobs/sha256/")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

/// Each layer's Dockerfile step: the history entries that made a layer, in order.
fn layer_steps(config: &ImageConfig) -> Vec<String> {
    config
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone().unwrap_or_default())
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    platform: Option<DescriptorPlatform>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct DescriptorPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    media_type: Option<String>,
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

const LAYER_TYPES: [&str; 10] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

/// One image manifest found through the index, with what selects it.
struct Candidate {
    descriptor: Descriptor,
    /// The digest of the image index that lists it (not `index.json`, which has none).
    index: Option<String>,
}

impl Candidate {
    fn tag(&self) -> Option<&str> {
        self.descriptor
            .annotations
            .get("org.opencontainers.image.ref.name")
            .map(String::as_str)
    }

    fn full_name(&self) -> Option<&str> {
        self.descriptor
            .annotations
            .get("io.containerd.image.name")
            .map(String::as_str)
    }

    fn platform(&self) -> Option<String> {
        self.descriptor.platform.as_ref().map(|p| {
            let mut s = format!("{}/{}", p.os, p.architecture);
            if let Some(v) = &p.variant {
                s.push('/');
                s.push_str(v);
            }
            s
        })
    }

    /// Build attestations sit in indexes beside the images, with platform unknown/unknown.
    fn is_attestation(&self) -> bool {
        self.descriptor
            .annotations
            .contains_key("vnd.docker.reference.type")
            || self
                .descriptor
                .platform
                .as_ref()
                .is_some_and(|p| p.os == "unknown")
    }
}

/// An OCI image layout: `index.json`, possibly nested indexes, a manifest, a config.
pub fn resolve_oci(
    files: &impl MetaFiles,
    tag: Option<&str>,
    platform: &Platform,
) -> Result<Resolved> {
    let bytes = files
        .read_meta("index.json")?
        .ok_or_else(|| anyhow!("{}: no index.json: not an OCI image layout", files.origin()))?;
    let index: Index = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: malformed index.json", files.origin()))?;
    let mut candidates = Vec::new();
    collect_manifests(files, index, None, None, 0, &mut candidates)?;
    candidates.retain(|c| !c.is_attestation());

    if let Some(tag) = tag {
        let all_tags: Vec<String> = candidates
            .iter()
            .filter_map(|c| c.tag())
            .map(String::from)
            .collect();
        candidates.retain(|c| c.tag() == Some(tag) || c.full_name() == Some(tag));
        if candidates.is_empty() {
            bail!(
                "{}: unknown tag {tag}; the layout has {}",
                files.origin(),
                if all_tags.is_empty() {
                    "no tags".into()
                } else {
                    all_tags.join(", ")
                }
            );
        }
    }
    let chosen = match candidates.len() {
        0 => bail!("{}: index.json lists no image manifest", files.origin()),
        1 => candidates.remove(0),
        _ => {
            let available: Vec<String> = candidates.iter().filter_map(|c| c.platform()).collect();
            let position = candidates.iter().position(|c| {
                c.descriptor
                    .platform
                    .as_ref()
                    .is_some_and(|p| platform.matches(&p.os, &p.architecture, p.variant.as_deref()))
            });
            match position {
                Some(i) => candidates.remove(i),
                None if available.is_empty() => bail!(
                    "{}: it holds {} images; name one by tag ({})",
                    files.origin(),
                    candidates.len(),
                    candidates
                        .iter()
                        .filter_map(|c| c.tag())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => bail!(
                    "{}: no image for platform {platform}; available: {} (choose with --platform)",
                    files.origin(),
                    available.join(", ")
                ),
            }
        }
    };

    let manifest: Manifest = read_blob_json(files, &chosen.descriptor.digest, "manifest")?;
    if let Some(t) = &manifest.media_type {
        if INDEX_TYPES.contains(&t.as_str()) {
            bail!(
                "{}: manifest {} is an index, not an image",
                files.origin(),
                chosen.descriptor.digest
            );
        }
    }
    let config: ImageConfig = read_blob_json(files, &manifest.config.digest, "config")?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        bail!(
            "{}: the manifest lists {} layers but the config has {} diff_ids",
            files.origin(),
            manifest.layers.len(),
            config.rootfs.diff_ids.len()
        );
    }
    let steps = layer_steps(&config);
    let layers = manifest
        .layers
        .iter()
        .enumerate()
        .map(|(index, d)| {
            if !LAYER_TYPES.contains(&d.media_type.as_str()) {
                bail!(
                    "{}: layer {index} ({}) has unknown media type {:?}",
                    files.origin(),
                    d.digest,
                    d.media_type
                );
            }
            Ok(LayerRef {
                index,
                member: blob_path(&d.digest)?,
                digest: d.digest.clone(),
                diff_id: config.rootfs.diff_ids[index].clone(),
                created_by: steps.get(index).cloned().unwrap_or_default(),
                expect: Expect::Blob,
            })
        })
        .collect::<Result<_>>()?;
    let digests = ImageDigests {
        manifest: Some(chosen.descriptor.digest.clone()),
        config: Some(manifest.config.digest.clone()),
        index: chosen.index.clone(),
    };
    Ok(Resolved {
        config,
        layers,
        digests,
    })
}

/// Flattens nested indexes into the image manifests they list.
fn collect_manifests(
    files: &impl MetaFiles,
    index: Index,
    index_digest: Option<&str>,
    inherited_tag: Option<&str>,
    depth: usize,
    out: &mut Vec<Candidate>,
) -> Result<()> {
    if depth > 4 {
        bail!("{}: indexes nested too deeply", files.origin());
    }
    for mut descriptor in index.manifests {
        if let Some(tag) = inherited_tag {
            descriptor
                .annotations
                .entry("org.opencontainers.image.ref.name".into())
                .or_insert_with(|| tag.to_string());
        }
        if INDEX_TYPES.contains(&descriptor.media_type.as_str()) {
            let nested: Index = read_blob_json(files, &descriptor.digest, "index")?;
            let tag = descriptor
                .annotations
                .get("org.opencontainers.image.ref.name")
                .cloned();
            let digest = descriptor.digest.clone();
            collect_manifests(files, nested, Some(&digest), tag.as_deref(), depth + 1, out)?;
        } else {
            out.push(Candidate {
                descriptor,
                index: index_digest.map(String::from),
            });
        }
    }
    Ok(())
}

fn blob_path(digest: &str) -> Result<String> {
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or_else(|| anyhow!("malformed digest {digest:?}"))?;
    if algorithm != "sha256" || hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("unsupported or malformed digest {digest:?}");
    }
    Ok(format!("blobs/sha256/{hex}"))
}

/// Reads a small JSON file by name, with the sha256 digest of its bytes.
fn read_json_digest<T: serde::de::DeserializeOwned>(
    files: &impl MetaFiles,
    name: &str,
    what: &str,
) -> Result<(T, String)> {
    let bytes = files
        .read_meta(name)?
        .ok_or_else(|| anyhow!("{}: the {what} {name} is missing", files.origin()))?;
    let value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: malformed {what} {name}", files.origin()))?;
    Ok((value, format!("sha256:{}", hex(&Sha256::digest(&bytes)))))
}

/// Reads a small blob by digest and checks that it hashes to its name.
fn read_blob_json<T: serde::de::DeserializeOwned>(
    files: &impl MetaFiles,
    digest: &str,
    what: &str,
) -> Result<T> {
    let name = blob_path(digest).with_context(|| format!("{}: {what}", files.origin()))?;
    let bytes = files
        .read_meta(&name)?
        .ok_or_else(|| anyhow!("{}: the {what} blob {digest} is missing", files.origin()))?;
    let got = format!("sha256:{}", hex(&Sha256::digest(&bytes)));
    if got != digest {
        bail!("{}: {what} blob {digest} hashes to {got}", files.origin());
    }
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: malformed {what} {digest}", files.origin()))
}
