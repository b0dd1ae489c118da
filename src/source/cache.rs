//! Layer blobs downloaded from registries, kept by digest under the user's cache directory
//! (`$XDG_CACHE_HOME/pydive/blobs/sha256/<hex>`, or `PYDIVE_CACHE_DIR`) so that reading the same
//! image again downloads nothing. A blob enters the cache only once its digest has been checked;
//! the least recently used blobs leave it when it grows past its size limit, and downloads a
//! killed run left unfinished (`.partial-*`) once nothing has written to them for a while.
//! `pydive cache` shows it and `pydive cache clear` empties it.
//!
//! The cache may be shared, and anyone who can write to it can plant things there. So it never
//! follows a symbolic link (blobs are opened `O_NOFOLLOW`, a link at a blob's path is replaced
//! by the blob), never touches anything outside its directory, and something foreign at a
//! blob's path (a directory, a FIFO) is skipped with a warning rather than an error that would
//! poison that image until `pydive cache clear`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

use crate::printable::warn;

/// An unfinished download nothing has written to for this long belongs to a run that ended.
/// (A live download writes at least every `read-timeout`, or stops.)
pub const STALE_PARTIAL: Duration = Duration::from_secs(15 * 60);

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
        // The directories inside the cache must be its own, not links to elsewhere.
        for dir in [config.dir.join("blobs"), blobs.clone()] {
            let meta = fs::symlink_metadata(&dir)
                .with_context(|| format!("cannot read the cache directory {}", dir.display()))?;
            if !meta.is_dir() {
                bail!(
                    "the cache directory {} is a symbolic link or not a directory; remove it, or set PYDIVE_CACHE_DIR elsewhere",
                    dir.display()
                );
            }
        }
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

    /// The cached blob, marked as just used. Anything at the blob's path that is not a regular
    /// file (a link, a FIFO, a directory) is not read: a warning says so, and the download
    /// that follows replaces it if it can.
    pub fn get(&self, digest: &str) -> Option<(File, PathBuf)> {
        let path = self.path(digest)?;
        let file = match fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                warn(&format!(
                    "cache: {} is a symbolic link, not a blob; not followed, it will be replaced",
                    path.display()
                ));
                return None;
            }
            Err(e) => {
                warn(&format!("cache: cannot read {}: {e}", path.display()));
                return None;
            }
        };
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            warn(&format!(
                "cache: {} is not a regular file; not read",
                path.display()
            ));
            return None;
        }
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
        // A new file of our own: never one planted at the name, nor through a link.
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)
            .with_context(|| format!("cannot write to the cache at {}", temp.display()))?;
        Ok(Pending {
            file: Some(io::BufWriter::with_capacity(256 * 1024, file)),
            temp,
            target,
        })
    }

    /// Removes the least recently used blobs until the cache fits its limit, and unfinished
    /// downloads nothing writes to any more.
    pub fn trim(&self) -> Result<()> {
        let listing = list(&self.blobs)?;
        let now = SystemTime::now();
        for partial in &listing.partial {
            if now
                .duration_since(partial.used)
                .is_ok_and(|age| age > STALE_PARTIAL)
            {
                let _ = fs::remove_file(&partial.path);
            }
        }
        let mut blobs = listing.blobs;
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
        // rename(2) replaces a link or a file at the target, never what a link points to.
        if let Err(e) = fs::rename(&self.temp, &self.target) {
            let _ = fs::remove_file(&self.temp);
            warn(&format!(
                "cache: cannot store the blob at {} ({e}); something else is in the way, so it was not cached",
                self.target.display()
            ));
        }
        Ok(())
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

/// What the blob directory holds: blobs, and unfinished downloads.
#[derive(Default)]
struct Listing {
    blobs: Vec<CachedBlob>,
    partial: Vec<CachedBlob>,
}

/// Regular files only, by their own metadata (links are not followed, directories skipped).
fn list(blobs: &Path) -> Result<Listing> {
    let mut found = Listing::default();
    let entries = match fs::read_dir(blobs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", blobs.display())),
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let name = entry.file_name();
        let blob = CachedBlob {
            path: entry.path(),
            size: meta.len(),
            used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        };
        if name.to_string_lossy().starts_with(".partial-") {
            found.partial.push(blob);
        } else if !name.to_string_lossy().starts_with('.') {
            found.blobs.push(blob);
        }
    }
    Ok(found)
}

/// What the cache holds: blobs and their bytes, unfinished downloads and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub blobs: usize,
    pub bytes: u64,
    pub partial: usize,
    pub partial_bytes: u64,
}

pub fn usage(config: &CacheConfig) -> Result<Usage> {
    let listing = list(&config.dir.join("blobs/sha256"))?;
    Ok(Usage {
        blobs: listing.blobs.len(),
        bytes: listing.blobs.iter().map(|b| b.size).sum(),
        partial: listing.partial.len(),
        partial_bytes: listing.partial.iter().map(|b| b.size).sum(),
    })
}

/// Empties the cache; returns what it held.
pub fn clear(config: &CacheConfig) -> Result<Usage> {
    let held = usage(config)?;
    let blobs = config.dir.join("blobs");
    // remove_dir_all removes a link it meets, not what the link points to.
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
        assert_eq!(usage(&config).unwrap(), Usage::default());
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
        let one = Usage {
            blobs: 1,
            bytes: 100,
            ..Usage::default()
        };
        assert_eq!(usage(&config).unwrap(), one);
        assert_eq!(clear(&config).unwrap(), one);
        assert_eq!(usage(&config).unwrap(), Usage::default());
    }

    fn config(dir: &Path) -> CacheConfig {
        CacheConfig {
            dir: dir.into(),
            max_bytes: 1 << 20,
        }
    }

    #[test]
    fn a_link_planted_at_a_blob_is_neither_read_nor_touched_but_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, b"not the cache's").unwrap();
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        File::options()
            .write(true)
            .open(&outside)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let config = config(&dir.path().join("cache"));
        let cache = BlobCache::open(&config).unwrap();
        std::os::unix::fs::symlink(&outside, cache.path(A).unwrap()).unwrap();
        assert!(cache.get(A).is_none());
        put(&cache, A, b"the blob");
        assert_eq!(fs::read(cache.path(A).unwrap()).unwrap(), b"the blob");
        assert_eq!(fs::read(&outside).unwrap(), b"not the cache's");
        assert_eq!(fs::metadata(&outside).unwrap().modified().unwrap(), old);
        // Trimming and clearing do not reach through links either.
        let linked = dir.path().join("linked");
        fs::write(&linked, b"keep me").unwrap();
        std::os::unix::fs::symlink(&linked, cache.path(B).unwrap()).unwrap();
        cache.trim().unwrap();
        clear(&config).unwrap();
        assert_eq!(fs::read(&linked).unwrap(), b"keep me");
    }

    #[test]
    fn a_directory_at_a_blob_path_is_skipped_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let cache = BlobCache::open(&config).unwrap();
        fs::create_dir_all(cache.path(A).unwrap().join("inside")).unwrap();
        assert!(cache.get(A).is_none());
        put(&cache, A, b"the blob");
        assert!(cache.path(A).unwrap().join("inside").is_dir());
        // No temporary file is left behind.
        assert_eq!(usage(&config).unwrap(), Usage::default());
    }

    #[test]
    fn a_linked_blob_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        let cache_dir = dir.path().join("cache");
        fs::create_dir_all(cache_dir.join("blobs")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, cache_dir.join("blobs/sha256")).unwrap();
        let e = BlobCache::open(&config(&cache_dir)).err().unwrap();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
    }

    #[test]
    fn unfinished_downloads_are_counted_and_trimmed_once_stale() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let cache = BlobCache::open(&config).unwrap();
        // A run killed mid-download leaves its partial file behind (named as `pending` names
        // them), beside a download in progress.
        let stale = cache.blobs.join(".partial-aaaaaaaaaaaa-99999-0");
        fs::write(&stale, [1; 300]).unwrap();
        let fresh = cache.pending(B).unwrap();
        let held = usage(&config).unwrap();
        assert_eq!((held.partial, held.partial_bytes), (2, 300));
        File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(SystemTime::now() - STALE_PARTIAL - Duration::from_secs(60))
            .unwrap();
        cache.trim().unwrap();
        assert!(!stale.exists());
        assert_eq!(
            usage(&config).unwrap().partial,
            1,
            "the live download stays"
        );
        drop(fresh);
    }
}
