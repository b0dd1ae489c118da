//! The one scheduler of layer walks, used by every source that can read its layers in any order
//! (a file, a directory, a registry): a few walks at once, largest layer first so that one big
//! layer does not end up running alone at the end, and results in layer order.
//!
//! Memory stays bounded by the number of walks at once: a walk holds its read buffers and its
//! entries, never a whole blob. Error policy: once a layer fails, no layer above it starts (its
//! result could not be used), and the layers below it still run, so the error reported is the
//! lowest failing layer's, whatever order the walks happened to finish in.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;

use super::Counters;

/// Runs `walk(i)` for every layer `i` (of `sizes.len()`), `workers` at a time, largest first (a
/// layer of unknown size after the known ones); returns the results in layer order, or the
/// lowest failing layer's error.
pub fn largest_first<T: Send>(
    sizes: &[Option<u64>],
    workers: usize,
    counters: Option<&Counters>,
    walk: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(sizes[i]), i));
    if let Some(counters) = counters {
        counters.layers_total.store(sizes.len(), Ordering::Relaxed);
    }
    let next = AtomicUsize::new(0);
    let lowest_failed = AtomicUsize::new(usize::MAX);
    let results: Vec<Mutex<Option<Result<T>>>> =
        (0..sizes.len()).map(|_| Mutex::new(None)).collect();
    let work = || {
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            if i > lowest_failed.load(Ordering::Relaxed) {
                continue;
            }
            let result = walk(i);
            if result.is_err() {
                lowest_failed.fetch_min(i, Ordering::Relaxed);
            }
            if let Some(counters) = counters {
                counters.layers_done.fetch_add(1, Ordering::Relaxed);
            }
            *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
        }
    };
    let workers = workers.clamp(1, sizes.len().max(1));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
        for h in handles {
            h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        }
    });
    let mut done = Vec::with_capacity(sizes.len());
    for (i, slot) in results.into_iter().enumerate() {
        match slot.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(result) => done.push(result?),
            // Skipped only above a failure, whose error was returned above.
            None => unreachable!("layer {i} was neither walked nor behind a failure"),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::bail;

    #[test]
    fn results_come_in_layer_order_and_largest_starts_first() {
        let started = Mutex::new(Vec::new());
        let sizes = [Some(1), Some(30), None, Some(20)];
        let out = largest_first(&sizes, 1, None, |i| {
            started.lock().unwrap().push(i);
            Ok(i * 10)
        })
        .unwrap();
        assert_eq!(out, [0, 10, 20, 30]);
        assert_eq!(started.into_inner().unwrap(), [1, 3, 0, 2]);
    }

    #[test]
    fn the_lowest_failure_is_reported_and_nothing_above_it_starts() {
        let counters = Counters::default();
        let started = Mutex::new(Vec::new());
        // Largest first: 3 fails first; 0 and 1 (below it) still run, 2 fails, 4 never starts.
        let sizes = [Some(1), Some(2), Some(3), Some(50), Some(0)];
        let err = largest_first(&sizes, 1, Some(&counters), |i| {
            started.lock().unwrap().push(i);
            if i == 3 || i == 2 {
                bail!("layer {i} is damaged");
            }
            Ok(i)
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "layer 2 is damaged");
        assert_eq!(started.into_inner().unwrap(), [3, 2, 1, 0]);
        assert_eq!(counters.snapshot(), (4, 5, 0));
    }

    #[test]
    fn several_workers_walk_every_layer_once() {
        let sizes: Vec<Option<u64>> = (0..40).map(|i| Some(i * 7 % 13)).collect();
        let out = largest_first(&sizes, 3, None, Ok).unwrap();
        assert_eq!(out, (0..40).collect::<Vec<_>>());
        assert!(largest_first(&[], 3, None, Ok).unwrap().is_empty());
    }
}
