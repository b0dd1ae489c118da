//! Seekable image layouts: a directory (OCI layout), or a tar file (`docker save`, OCI archive)
//! indexed once by member name so that each blob can then be read on its own, in parallel,
//! without unpacking anything.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};

use super::manifest::MetaFiles;
use crate::layer::blob::{Backing, Section};
use crate::layer::path::{join, normalize, split_last};

/// Manifests, configs and indexes are small; anything bigger is not one.
const META_LIMIT: u64 = 64 * 1024 * 1024;

pub enum Store {
    Dir(PathBuf),
    Tar {
        origin: String,
        backing: Backing,
        members: HashMap<Vec<u8>, Member>,
    },
}

#[derive(Clone, Debug)]
pub enum Member {
    File {
        offset: u64,
        size: u64,
    },
    /// Podman writes layers once and links the others to them.
    Link {
        target: Vec<u8>,
    },
}

impl Store {
    pub fn open_dir(dir: &Path) -> Result<Store> {
        if !dir.is_dir() {
            bail!("{}: no such directory", dir.display());
        }
        if !dir.join("oci-layout").exists() && !dir.join("index.json").exists() {
            bail!(
                "{}: not an OCI image layout (no oci-layout or index.json)",
                dir.display()
            );
        }
        Ok(Store::Dir(dir.to_path_buf()))
    }

    pub fn open_tar(path: &Path) -> Result<Store> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        if file.metadata()?.is_dir() {
            bail!(
                "{}: is a directory; for an OCI layout use oci:{}",
                path.display(),
                path.display()
            );
        }
        let len = file.metadata()?.len();
        Self::index(
            path.display().to_string(),
            Backing::File(Arc::new(file)),
            len,
        )
    }

    pub fn embedded(bytes: &'static [u8]) -> Result<Store> {
        Self::index(
            "built-in demo image".into(),
            Backing::Memory(bytes),
            bytes.len() as u64,
        )
    }

    /// Reads every member header once, seeking past contents.
    fn index(origin: String, backing: Backing, len: u64) -> Result<Store> {
        let mut archive = tar::Archive::new(Section::new(backing.clone(), 0, len));
        let mut members = HashMap::new();
        let bad = |e: std::io::Error, seen: usize| {
            if seen == 0 {
                anyhow!("{origin}: not a tar archive ({e})")
            } else {
                anyhow!("{origin}: truncated or corrupt archive after {seen} members ({e})")
            }
        };
        for entry in archive.entries_with_seek().map_err(|e| bad(e, 0))? {
            let entry = entry.map_err(|e| bad(e, members.len()))?;
            let Some(name) = normalize(&entry.path_bytes()) else {
                continue;
            };
            let member = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let end = entry.raw_file_position() + entry.size();
                    if end > len {
                        bail!(
                            "{origin}: truncated archive: {} ends past the end of the file",
                            String::from_utf8_lossy(&name)
                        );
                    }
                    Member::File {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    }
                }
                tar::EntryType::Symlink => {
                    let target = entry.link_name_bytes().unwrap_or_default();
                    let (dir, _) = split_last(&name);
                    let resolved = if target.starts_with(b"/") {
                        normalize(&target)
                    } else {
                        normalize(&join(dir, &target))
                    };
                    match resolved {
                        Some(target) => Member::Link {
                            target: target.into_vec(),
                        },
                        None => continue,
                    }
                }
                tar::EntryType::Link => match entry.link_name_bytes().and_then(|t| normalize(&t)) {
                    Some(target) => Member::Link {
                        target: target.into_vec(),
                    },
                    None => continue,
                },
                _ => continue,
            };
            members.insert(name.into_vec(), member);
        }
        if members.is_empty() {
            bail!("{origin}: empty or not a tar archive");
        }
        Ok(Store::Tar {
            origin,
            backing,
            members,
        })
    }

    /// Follows links between members (at most a few hops) to the file that holds the bytes.
    fn find(members: &HashMap<Vec<u8>, Member>, name: &str) -> Option<(u64, u64)> {
        let mut at = normalize(name.as_bytes())?.into_vec();
        for _ in 0..8 {
            match members.get(&at)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Link { target } => at = target.clone(),
            }
        }
        None
    }

    /// Opens a blob for reading.
    pub fn open(&self, name: &str) -> Result<Section> {
        match self {
            Store::Dir(dir) => {
                let path = safe_join(dir, name)?;
                let file =
                    File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
                let len = file.metadata()?.len();
                Ok(Section::new(Backing::File(Arc::new(file)), 0, len))
            }
            Store::Tar {
                origin,
                backing,
                members,
            } => {
                let (offset, size) = Self::find(members, name).ok_or_else(|| {
                    anyhow!("{origin}: the blob {name} is missing from the archive")
                })?;
                Ok(Section::new(backing.clone(), offset, size))
            }
        }
    }
}

/// Joins a layout-relative name to the layout directory, refusing to leave it.
fn safe_join(dir: &Path, name: &str) -> Result<PathBuf> {
    if name.split('/').any(|part| part == "..") || name.starts_with('/') {
        bail!(
            "{}: refusing blob name {name:?} outside the layout",
            dir.display()
        );
    }
    Ok(dir.join(name))
}

impl MetaFiles for Store {
    fn read_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let exists = match self {
            Store::Dir(dir) => safe_join(dir, name)?.is_file(),
            Store::Tar { members, .. } => Self::find(members, name).is_some(),
        };
        if !exists {
            return Ok(None);
        }
        let mut section = self.open(name)?;
        let len = section.seek(std::io::SeekFrom::End(0))?;
        if len > META_LIMIT {
            bail!(
                "{}: {name} is {len} bytes, too big for a manifest or config",
                self.origin()
            );
        }
        section.rewind()?;
        let mut bytes = Vec::with_capacity(len as usize);
        section
            .read_to_end(&mut bytes)
            .with_context(|| format!("{}: cannot read {name}", self.origin()))?;
        Ok(Some(bytes))
    }

    fn origin(&self) -> String {
        match self {
            Store::Dir(dir) => dir.display().to_string(),
            Store::Tar { origin, .. } => origin.clone(),
        }
    }
}
