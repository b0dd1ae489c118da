//! The layer walks of one scan, kept by blob digest so that a layer several images share (a
//! base image, a common dependency layer) is downloaded and walked once: the source asks here
//! before it reads a layer. Two images that need the same layer at the same time wait for one
//! walk. Walks are kept while they fit a bound on entries (memory grows with entries, not
//! bytes), the least recently used leaving first, and only as many walks run at once as the
//! scan allows downloads. Layers are immutable, so a walk is valid for as long as this pydive
//! runs; the cache lives for one scan.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use anyhow::Result;

use crate::layer::LayerScan;
use crate::source::LayerCache;

/// What the cache saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerStats {
    /// Layers downloaded (or read) and walked.
    pub walked: u64,
    /// Their stored bytes.
    pub walked_bytes: u64,
    /// Layers an image needed that an earlier walk served.
    pub reused: u64,
    /// Walks dropped to stay within the bound.
    pub evicted: u64,
}

struct Slot {
    scan: Mutex<Option<Arc<LayerScan>>>,
    used: AtomicU64,
}

pub struct Layers {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// Entries held, and the bound.
    held: Mutex<usize>,
    max_entries: usize,
    clock: AtomicU64,
    walking: Mutex<usize>,
    walk_done: Condvar,
    max_walks: usize,
    stats: Mutex<LayerStats>,
}

impl Layers {
    /// At most `max_walks` walks (downloads) at once; at most `max_entries` entries kept.
    pub fn new(max_walks: usize, max_entries: usize) -> Layers {
        Layers {
            slots: Mutex::default(),
            held: Mutex::new(0),
            max_entries,
            clock: AtomicU64::new(0),
            walking: Mutex::new(0),
            walk_done: Condvar::new(),
            max_walks: max_walks.max(1),
            stats: Mutex::default(),
        }
    }

    pub fn stats(&self) -> LayerStats {
        *lock(&self.stats)
    }

    fn slot(&self, digest: &str) -> Arc<Slot> {
        let mut slots = lock(&self.slots);
        Arc::clone(slots.entry(digest.to_string()).or_insert_with(|| {
            Arc::new(Slot {
                scan: Mutex::new(None),
                used: AtomicU64::new(0),
            })
        }))
    }

    /// Waits for a free walk, runs it, frees it.
    fn walk(&self, walk: &mut dyn FnMut() -> Result<LayerScan>) -> Result<LayerScan> {
        {
            let mut walking = lock(&self.walking);
            while *walking >= self.max_walks {
                walking = self
                    .walk_done
                    .wait(walking)
                    .unwrap_or_else(|p| p.into_inner());
            }
            *walking += 1;
        }
        let result = walk();
        *lock(&self.walking) -= 1;
        self.walk_done.notify_one();
        result
    }

    /// Drops the least recently used walks until the bound holds, never `keep`.
    fn evict(&self, keep: &str) {
        let mut held = lock(&self.held);
        if *held <= self.max_entries {
            return;
        }
        let mut slots = lock(&self.slots);
        let mut by_age: Vec<(u64, String)> = slots
            .iter()
            .filter(|(digest, _)| digest.as_str() != keep)
            .map(|(digest, slot)| (slot.used.load(Ordering::Relaxed), digest.clone()))
            .collect();
        by_age.sort();
        for (_, digest) in by_age {
            if *held <= self.max_entries {
                break;
            }
            // A slot another thread is filling is left alone.
            let Some(slot) = slots.get(&digest) else {
                continue;
            };
            let Ok(mut scan) = slot.scan.try_lock() else {
                continue;
            };
            if let Some(dropped) = scan.take() {
                *held = held.saturating_sub(dropped.entries.len());
                lock(&self.stats).evicted += 1;
            }
            drop(scan);
            slots.remove(&digest);
        }
    }
}

impl LayerCache for Layers {
    fn scan(&self, digest: &str, walk: &mut dyn FnMut() -> Result<LayerScan>) -> Result<LayerScan> {
        let slot = self.slot(digest);
        slot.used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        // Held while walking, so that a second image needing this layer waits for the walk.
        let mut kept = lock(&slot.scan);
        if let Some(scan) = kept.as_ref() {
            lock(&self.stats).reused += 1;
            return Ok(LayerScan::clone(scan));
        }
        let scan = self.walk(walk)?;
        {
            let mut stats = lock(&self.stats);
            stats.walked += 1;
            stats.walked_bytes += scan.blob_size;
        }
        *lock(&self.held) += scan.entries.len();
        *kept = Some(Arc::new(scan.clone()));
        drop(kept);
        self.evict(digest);
        Ok(scan)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Entry;

    fn scan_of(entries: usize, size: u64) -> LayerScan {
        let entry = Entry {
            path: b"x".to_vec().into_boxed_slice(),
            kind: crate::layer::EntryKind::File,
            size: 1,
            header_size: 1,
            mode: 0o644,
            uid: 0,
            gid: 0,
            link: None,
            content_hash: None,
            content: None,
            elf: None,
        };
        LayerScan {
            entries: vec![entry; entries],
            blob_size: size,
            ..LayerScan::default()
        }
    }

    #[test]
    fn a_layer_is_walked_once_and_served_after() {
        let layers = Layers::new(2, 1000);
        let mut walks = 0;
        for _ in 0..3 {
            let scan = layers
                .scan("sha256:a", &mut || {
                    walks += 1;
                    Ok(scan_of(10, 100))
                })
                .unwrap();
            assert_eq!(scan.entries.len(), 10);
        }
        assert_eq!(walks, 1);
        let stats = layers.stats();
        assert_eq!(
            (stats.walked, stats.walked_bytes, stats.reused),
            (1, 100, 2)
        );
    }

    #[test]
    fn a_failed_walk_is_tried_again_by_the_next_image() {
        let layers = Layers::new(1, 1000);
        assert!(
            layers
                .scan("d", &mut || anyhow::bail!("no network"))
                .is_err()
        );
        assert!(layers.scan("d", &mut || Ok(scan_of(1, 1))).is_ok());
        assert_eq!(layers.stats().walked, 1);
    }

    #[test]
    fn the_least_recently_used_walks_leave_past_the_bound() {
        let layers = Layers::new(1, 25);
        for d in ["a", "b", "c"] {
            layers.scan(d, &mut || Ok(scan_of(10, 1))).unwrap();
        }
        // 30 entries > 25: "a" went; "b" and "c" are still served.
        assert_eq!(layers.stats().evicted, 1);
        let mut walked = Vec::new();
        for d in ["c", "b", "a"] {
            layers
                .scan(d, &mut || {
                    walked.push(d);
                    Ok(scan_of(10, 1))
                })
                .unwrap();
        }
        assert_eq!(walked, ["a"]);
    }

    #[test]
    fn concurrent_images_share_one_walk_and_walks_are_capped() {
        let layers = Arc::new(Layers::new(2, 10_000));
        let running = Arc::new(Mutex::new((0usize, 0usize)));
        std::thread::scope(|s| {
            for i in 0..8 {
                let layers = Arc::clone(&layers);
                let running = Arc::clone(&running);
                s.spawn(move || {
                    let digest = format!("d{}", i % 4);
                    layers
                        .scan(&digest, &mut || {
                            {
                                let mut r = running.lock().unwrap();
                                r.0 += 1;
                                r.1 = r.1.max(r.0);
                            }
                            std::thread::sleep(std::time::Duration::from_millis(30));
                            running.lock().unwrap().0 -= 1;
                            Ok(scan_of(1, 1))
                        })
                        .unwrap();
                });
            }
        });
        let stats = layers.stats();
        assert_eq!(stats.walked, 4, "{stats:?}");
        assert_eq!(stats.reused, 4, "{stats:?}");
        assert!(running.lock().unwrap().1 <= 2);
    }
}
