//! Layer blobs downloaded from registries, kept by digest under the user's cache directory
//! (`$XDG_CACHE_HOME/pydive/blobs/sha256/<hex>`, or `PYDIVE_CACHE_DIR`) so that reading the same
//! image again downloads nothing. A blob enters the cache only once its digest has been checked;
//! the least recently used blobs leave it when it grows past its size limit. `pydive cache`
//! shows it and `pydive cache clear` empties it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use anyhow::{Context, Result};

/// The default limit: past it, the least recently used blobs are removed.
pub const DEFAULT_MAX_BYTES: u64 = 10 << 30;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    pub dir: PathBuf,
    pub max_bytes: u64,
}

impl CacheConfig {
    /// `PYDIVE_CACHE_DIR`, else `pydive` under the user's cache directory.
    pub fn default_dir() -> Option<PathBuf> {
        std::env::var_os("PYDIVE_CACHE_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| dirs::cache_dir().map(|d| d.join("pydive")))
    }
}

/// The blob store inside a cache directory.
pub struct BlobCache {
    blobs: PathBuf,
    max_bytes: u64,
}

static TEMP_SERIAL: AtomicU64 = AtomicU64::new(0);

impl BlobCache {
    pub fn open(config: &CacheConfig) -> Result<BlobCache> {
        let blobs = config.dir.join("blobs/sha256");
        fs::create_dir_all(&blobs)
            .with_context(|| format!("cannot create the cache directory {}", blobs.display()))?;
        Ok(BlobCache {
            blobs,
            max_bytes: config.max_bytes,
        })
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.blobs.join(hex))
    }

    /// The cached blob, marked as just used.
    pub fn get(&self, digest: &str) -> Option<(File, PathBuf)> {
        let path = self.path(digest)?;
        let file = File::open(&path).ok()?;
        let _ = file.set_modified(SystemTime::now());
        Some((file, path))
    }

    /// Removes a blob that turned out to be damaged.
    pub fn remove(&self, digest: &str) {
        if let Some(path) = self.path(digest) {
            let _ = fs::remove_file(path);
        }
    }

    /// A file to download a blob into; it becomes the cached blob on [`Pending::commit`].
    pub fn pending(&self, digest: &str) -> Result<Pending> {
        let target = self
            .path(digest)
            .with_context(|| format!("cannot cache a blob with digest {digest:?}"))?;
        let temp = self.blobs.join(format!(
            ".partial-{}-{}-{}",
            &digest[7..19],
            std::process::id(),
            TEMP_SERIAL.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::create(&temp)
            .with_context(|| format!("cannot write to the cache at {}", temp.display()))?;
        Ok(Pending {
            file: Some(io::BufWriter::with_capacity(256 * 1024, file)),
            temp,
            target,
        })
    }

    /// Removes the least recently used blobs until the cache fits its limit.
    pub fn trim(&self) -> Result<()> {
        let mut blobs = list(&self.blobs)?;
        let mut total: u64 = blobs.iter().map(|b| b.size).sum();
        blobs.sort_by_key(|b| b.used);
        for blob in blobs {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&blob.path).is_ok() {
                total -= blob.size;
            }
        }
        Ok(())
    }
}

/// A blob being downloaded; removed unless committed.
pub struct Pending {
    file: Option<io::BufWriter<File>>,
    temp: PathBuf,
    target: PathBuf,
}

impl Pending {
    pub fn commit(mut self) -> Result<()> {
        if let Some(file) = self.file.take() {
            file.into_inner()
                .map_err(|e| e.into_error())
                .and_then(|f| f.sync_all())
                .with_context(|| format!("cannot write {}", self.temp.display()))?;
        }
        fs::rename(&self.temp, &self.target)
            .with_context(|| format!("cannot write {}", self.target.display()))
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("cache file already closed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.file.is_some() {
            self.file = None;
            let _ = fs::remove_file(&self.temp);
        }
    }
}

struct CachedBlob {
    path: PathBuf,
    size: u64,
    used: SystemTime,
}

fn list(blobs: &Path) -> Result<Vec<CachedBlob>> {
    let mut found = Vec::new();
    let entries = match fs::read_dir(blobs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", blobs.display())),
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        found.push(CachedBlob {
            path: entry.path(),
            size: meta.len(),
            used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        });
    }
    Ok(found)
}

/// How many blobs the cache holds and their bytes.
pub fn usage(config: &CacheConfig) -> Result<(usize, u64)> {
    let blobs = list(&config.dir.join("blobs/sha256"))?;
    Ok((blobs.len(), blobs.iter().map(|b| b.size).sum()))
}

/// Empties the cache; returns what it held.
pub fn clear(config: &CacheConfig) -> Result<(usize, u64)> {
    let held = usage(config)?;
    let blobs = config.dir.join("blobs");
    match fs::remove_dir_all(&blobs) {
        Ok(()) => Ok(held),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(held),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", blobs.display())),
    }
}

/// Parses a size such as `500M`, `10G`, `10GiB` or a number of bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    number.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn put(cache: &BlobCache, digest: &str, bytes: &[u8]) {
        let mut p = cache.pending(digest).unwrap();
        p.write_all(bytes).unwrap();
        p.commit().unwrap();
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("500M"), Some(500 << 20));
        assert_eq!(parse_size("10GiB"), Some(10 << 30));
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("12X"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn uncommitted_blobs_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let config = CacheConfig {
            dir: dir.path().into(),
            max_bytes: 1 << 20,
        };
        let cache = BlobCache::open(&config).unwrap();
        let mut p = cache.pending(A).unwrap();
        p.write_all(b"half a blob").unwrap();
        drop(p);
        assert_eq!(usage(&config).unwrap(), (0, 0));
        assert!(cache.get(A).is_none());
        assert!(
            fs::read_dir(dir.path().join("blobs/sha256"))
                .unwrap()
                .next()
                .is_none()
        );
    }

    #[test]
    fn trim_removes_the_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        let config = CacheConfig {
            dir: dir.path().into(),
            max_bytes: 150,
        };
        let cache = BlobCache::open(&config).unwrap();
        put(&cache, A, &[1; 100]);
        put(&cache, B, &[2; 100]);
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(cache.path(B).unwrap())
            .unwrap()
            .set_modified(old)
            .unwrap();
        cache.trim().unwrap();
        assert!(cache.get(A).is_some());
        assert!(cache.get(B).is_none());
        assert_eq!(usage(&config).unwrap(), (1, 100));
        assert_eq!(clear(&config).unwrap(), (1, 100));
        assert_eq!(usage(&config).unwrap(), (0, 0));
    }
}
