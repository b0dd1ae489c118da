//! Seekable image layouts: a directory (OCI layout), or a tar file (`docker save`, OCI archive)
//! indexed once by member name so that each blob can then be read on its own, in parallel,
//! without unpacking anything.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};

use super::manifest::MetaFiles;
use crate::layer::blob::{Backing, Section};
use crate::layer::path::{join, normalize, split_last};
use crate::layer::tar;
use crate::limits::{Limits, named_bytes};

pub enum Store {
    Dir {
        /// The layout's directory as given, for messages.
        shown: PathBuf,
        /// Its canonical path: every blob must resolve to a file under it.
        root: PathBuf,
        max_meta: u64,
    },
    Tar {
        origin: String,
        backing: Backing,
        members: HashMap<Vec<u8>, Member>,
        max_meta: u64,
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
    pub fn open_dir(dir: &Path, limits: &Limits) -> Result<Store> {
        if !dir.is_dir() {
            bail!("{}: no such directory", dir.display());
        }
        let root =
            fs::canonicalize(dir).with_context(|| format!("cannot open {}", dir.display()))?;
        let store = Store::Dir {
            shown: dir.to_path_buf(),
            root,
            max_meta: limits.metadata,
        };
        if !store.exists("oci-layout")? && !store.exists("index.json")? {
            bail!(
                "{}: not an OCI image layout (no oci-layout or index.json)",
                dir.display()
            );
        }
        Ok(store)
    }

    /// A tar file (`docker save`, an OCI archive): a regular file on disk.
    pub fn open_tar(path: &Path, limits: &Limits) -> Result<Store> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            bail!(
                "{}: is a directory; for an OCI layout use oci:{}",
                path.display(),
                path.display()
            );
        }
        Self::index(
            path.display().to_string(),
            Backing::File(Arc::new(file)),
            meta.len(),
            limits,
        )
    }

    pub fn embedded(bytes: &'static [u8], limits: &Limits) -> Result<Store> {
        Self::index(
            "built-in demo image".into(),
            Backing::Memory(bytes),
            bytes.len() as u64,
            limits,
        )
    }

    /// Reads every member header once, seeking past contents.
    fn index(origin: String, backing: Backing, len: u64, limits: &Limits) -> Result<Store> {
        let mut archive =
            tar::Reader::seekable(Section::new(backing.clone(), 0, len), limits.tar_header);
        let mut members = HashMap::new();
        let bad = |e: std::io::Error, seen: usize| {
            if seen == 0 {
                anyhow!("{origin}: not a tar archive ({e})")
            } else {
                anyhow!("{origin}: truncated or corrupt archive after {seen} members ({e})")
            }
        };
        loop {
            let header = match archive.next_header() {
                Ok(Some(header)) => header,
                Ok(None) => break,
                Err(e) => return Err(bad(e, members.len())),
            };
            let Some(name) = normalize(&header.path) else {
                continue;
            };
            let member = match header.typeflag {
                b'0' | b'\0' | b'7' => {
                    if header.data_at.saturating_add(header.size) > len {
                        bail!(
                            "{origin}: truncated archive: {} ends past the end of the file",
                            crate::printable::Printable(&name)
                        );
                    }
                    Member::File {
                        offset: header.data_at,
                        size: header.size,
                    }
                }
                b'2' => {
                    let (dir, _) = split_last(&name);
                    let resolved = if header.link.starts_with(b"/") {
                        normalize(&header.link)
                    } else {
                        normalize(&join(dir, &header.link))
                    };
                    match resolved {
                        Some(target) => Member::Link {
                            target: target.into_vec(),
                        },
                        None => continue,
                    }
                }
                b'1' => match normalize(&header.link) {
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
            max_meta: limits.metadata,
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
            Store::Dir { shown, root, .. } => {
                let file = open_in_layout(root, shown, name)?.ok_or_else(|| {
                    anyhow!("cannot open {}: no such file", shown.join(name).display())
                })?;
                let len = file.metadata()?.len();
                Ok(Section::new(Backing::File(Arc::new(file)), 0, len))
            }
            Store::Tar {
                origin,
                backing,
                members,
                ..
            } => {
                let (offset, size) = Self::find(members, name).ok_or_else(|| {
                    anyhow!("{origin}: the blob {name} is missing from the archive")
                })?;
                Ok(Section::new(backing.clone(), offset, size))
            }
        }
    }

    fn exists(&self, name: &str) -> Result<bool> {
        Ok(match self {
            Store::Dir { shown, root, .. } => open_in_layout(root, shown, name)?.is_some(),
            Store::Tar { members, .. } => Self::find(members, name).is_some(),
        })
    }
}

/// Opens a file of an OCI layout: a regular file inside the layout's directory, whatever
/// symbolic links lead to it. A link out of the layout, a device, a FIFO or a socket is refused
/// (a layout is untrusted input: a blob linked to `~/.docker/config.json` must not be read).
/// `None` when nothing is there.
fn open_in_layout(root: &Path, shown: &Path, name: &str) -> Result<Option<File>> {
    if name.split('/').any(|part| part == "..") || name.starts_with('/') {
        bail!(
            "{}: refusing blob name {:?} outside the layout",
            shown.display(),
            name
        );
    }
    let real = match fs::canonicalize(root.join(name)) {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot open {}", shown.join(name).display()));
        }
    };
    if !real.starts_with(root) {
        bail!(
            "{}: {name} is a symbolic link that leads out of the layout; refusing to read it",
            shown.display()
        );
    }
    // Not following a link swapped in since, not blocking on a FIFO, not taking a terminal.
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&real)
        .with_context(|| format!("cannot open {}", shown.join(name).display()))?;
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() {
        return Ok(Some(file));
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    };
    bail!(
        "{}: {name} is {what}, not a regular file; refusing to read it",
        shown.display()
    )
}

impl MetaFiles for Store {
    fn read_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        if !self.exists(name)? {
            return Ok(None);
        }
        let max = match self {
            Store::Dir { max_meta, .. } | Store::Tar { max_meta, .. } => *max_meta,
        };
        let section = self.open(name)?;
        let len = section.len();
        if len > max {
            bail!(
                "{}: {name} is {len} bytes, over {}",
                self.origin(),
                named_bytes("metadata", max)
            );
        }
        let mut bytes = Vec::with_capacity(len as usize);
        section
            .take(max)
            .read_to_end(&mut bytes)
            .with_context(|| format!("{}: cannot read {name}", self.origin()))?;
        Ok(Some(bytes))
    }

    fn origin(&self) -> String {
        match self {
            Store::Dir { shown, .. } => shown.display().to_string(),
            Store::Tar { origin, .. } => origin.clone(),
        }
    }
}
