//! The HTML report of the benchmarks' large image (`common::image_path`: 44k files, 1.23 GB):
//! how big the page is (target < 2 MB), how long `pydive report --format html` takes, and how
//! soon headless Chromium paints the page and finishes drawing its treemap (target: first
//! contentful paint < 1 s). Run with `cargo bench --bench html_report` on a quiet machine;
//! needs Debian's `chromium`.

#[path = "../tests/common/chromium.rs"]
#[allow(dead_code)] // the tests use the rest
mod chromium;
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn main() {
    let image = common::image_path();
    let page = image.with_file_name("big-classic.html");
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_pydive"))
        .args(["report", "--format", "html", "-o"])
        .arg(&page)
        .arg(&image)
        .status()
        .expect("run pydive");
    assert!(status.success());
    let written = start.elapsed();
    let bytes = std::fs::metadata(&page).unwrap().len();
    println!(
        "pydive report --format html: {:.2} s, {:.2} MB (target < 2 MB) {}",
        written.as_secs_f64(),
        bytes as f64 / 1e6,
        if bytes < 2_000_000 { "ok" } else { "MISSED" }
    );
    if let Err(why) = chromium::program() {
        println!("{why}: no paint times");
        return;
    }
    let mut paints = Vec::new();
    let mut drawn = Vec::new();
    for _ in 0..RUNS {
        let mut b = chromium::Browser::start(1280, 800).expect("chromium");
        b.open(&page).unwrap();
        b.wait_for(
            "document.documentElement.dataset.renderedMs !== undefined",
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(b.errors(), Vec::<String>::new());
        let paint = b
            .eval(
                "new Promise(done => {
                    new PerformanceObserver(list => {
                        const e = list.getEntriesByName('first-contentful-paint')[0];
                        if (e) done(e.startTime);
                    }).observe({type: 'paint', buffered: true});
                    setTimeout(() => done(-1), 5000);
                })",
            )
            .unwrap()
            .as_f64()
            .unwrap();
        paints.push(paint);
        drawn.push(
            b.eval("Number(document.documentElement.dataset.renderedMs)")
                .unwrap()
                .as_f64()
                .unwrap(),
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let paint = median(&mut paints);
    println!(
        "first contentful paint: median {paint:.0} ms of {RUNS} (target < 1000 ms) {}",
        if (0.0..1000.0).contains(&paint) {
            "ok"
        } else {
            "MISSED"
        }
    );
    println!("treemap drawn: median {:.0} ms", median(&mut drawn));
}
