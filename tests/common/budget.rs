//! Memory measured in the test process, for the hostile-input tests: a counting global
//! allocator (current and peak bytes on the heap) and a helper that runs a closure and checks
//! its peak heap stayed within a generous budget (hundreds of MiB), which catches runaway cost
//! (gigabytes), not efficiency. Time is not measured against a budget (the contract has no
//! timed tests, and this machine's load varies): a minute-long safety net only turns a hang,
//! or the minutes a runaway input used to cost, into a failure instead of a stuck test.
//!
//! Include it with `#[path = "common/budget.rs"] mod budget;` in a test binary that wants it:
//! it installs the binary's global allocator.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What running something cost.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub elapsed: Duration,
    /// The most heap in use at once beyond what was in use at the start.
    pub peak_bytes: usize,
}

/// Runs `f` and measures its time and peak heap.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Cost) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let out = f();
    let cost = Cost {
        elapsed: start.elapsed(),
        peak_bytes: PEAK.load(Ordering::Relaxed).saturating_sub(base),
    };
    (out, cost)
}

/// The memory one hostile input may never cost.
pub const MEMORY: usize = 256 << 20;

/// Not a budget but a safety net against a hang: the hostile inputs cost a fraction of a second
/// once fixed, and cost minutes (or forever) before; a minute separates the two on any load.
pub const HANG: Duration = Duration::from_secs(60);

/// Runs `f`, and fails the test if its peak heap went over the budget, or if it hung.
pub fn within_budget<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let (out, cost) = measure(f);
    assert!(
        cost.peak_bytes <= MEMORY,
        "{what}: used {} MiB of heap, more than {} MiB",
        cost.peak_bytes >> 20,
        MEMORY >> 20
    );
    assert!(
        cost.elapsed <= HANG,
        "{what}: still running after {:?}: a hang",
        cost.elapsed
    );
    out
}
