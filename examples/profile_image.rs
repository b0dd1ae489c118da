//! Writes a mid-size image for profiling pydive under valgrind (callgrind instruction counts,
//! massif heap peaks), where the end-to-end benchmark's 3 GB image would take hours:
//!
//! ```text
//! cargo run --release --example profile_image -- OUT.tar [THOUSANDS_OF_FILES] [BYTES_PER_FILE]
//! valgrind --tool=massif target/release/pydive report --format json OUT.tar > /dev/null
//! ```
//!
//! Two layers of site-packages-like trees (`.py`, `.pyc`, tests, headers; text-like content),
//! a few real ELF files of the machine, whiteouts of directories in the upper layer. Doubling
//! the files or the bytes per file is how docs/benchmarks.md shows what memory grows with.

use std::path::{Path, PathBuf};

use pydive::fixture::{Entry, Image, Layer, Layout};

const ELF_FILES: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
];

fn site_packages(root: &str, files: usize, bytes: u64, seed: u64) -> Vec<Entry> {
    let per_dir = 100;
    let mut entries = Vec::new();
    for d in 0..files.div_ceil(per_dir) {
        let dir = format!("{root}/lib/python3.11/site-packages/pkg{d:04}");
        entries.push(Entry::dir(&dir));
        for f in 0..per_dir.min(files - d * per_dir) {
            let i = (d * per_dir + f) as u64;
            let name = match f % 4 {
                0 => format!("{dir}/mod{f:03}.py"),
                1 => format!("{dir}/__pycache__/mod{f:03}.cpython-311.pyc"),
                2 => format!("{dir}/tests/test_{f:03}.py"),
                _ => format!("{dir}/include/h{f:03}.h"),
            };
            // Sizes spread around `bytes`, from a fifth of it to nearly twice it.
            let len = bytes / 5 + (i * 7919) % (bytes * 9 / 5).max(1);
            entries.push(Entry::text_len(name, len, seed + i));
        }
    }
    entries
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        eprintln!("usage: profile_image OUT.tar [THOUSANDS_OF_FILES] [BYTES_PER_FILE]");
        std::process::exit(2);
    };
    let thousands: usize = args
        .get(1)
        .map_or(Ok(100), |s| s.parse())
        .expect("a number");
    let bytes: u64 = args
        .get(2)
        .map_or(Ok(1600), |s| s.parse())
        .expect("a number");
    let half = thousands * 500;
    let mut base = site_packages("usr/local", half, bytes, 0);
    for (i, path) in ELF_FILES.iter().enumerate() {
        if let Ok(e) = Entry::from_disk(
            format!("usr/lib/x86_64-linux-gnu/lib{i}.so"),
            Path::new(path),
        ) {
            base.push(e);
        }
    }
    let mut top = site_packages("opt", half, bytes, 1_000_000);
    for d in 0..10 {
        top.push(Entry::whiteout(format!(
            "usr/local/lib/python3.11/site-packages/pkg{:04}",
            100 + d
        )));
    }
    let image = Image::new(vec![
        Layer::new("ADD rootfs.tar /", base),
        Layer::new("RUN pip install -r requirements.txt", top),
    ]);
    image.write_docker_archive(&out, Layout::DockerOci)?;
    println!(
        "wrote {} ({} bytes)",
        out.display(),
        std::fs::metadata(&out)?.len()
    );
    Ok(())
}
