//! criterion micro-benchmarks of pydive's stages, on images built in memory with the fixture
//! builder: the layer walk, the model build, ELF fact extraction (whole files and the
//! streaming capture the walk uses), the category classifier, and the explorer filtering and
//! redrawing a 100k-node tree. `cargo bench --bench micro [-- FILTER]`; the end-to-end
//! numbers are `benches/run.sh`'s. The explorer's target (16 ms per keystroke) is read back
//! by the end-to-end benchmark from criterion's estimates.

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pydive::analysis::categories::Classifier;
use pydive::fixture::{Entry, Image, Layer};
use pydive::layer::{self, LayerScan, ScanOptions, elf};
use pydive::model::{self, ImageMeta, LayerMeta};
use pydive::report::Report;
use pydive::tui::{Action, Pane, ViewState, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Real ELF files of the machine: the C library and the C++ library every gcc install has.
const ELF_FILES: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
];

fn site_packages(dirs: usize, per_dir: usize, seed: u64) -> Vec<Entry> {
    let mut entries = Vec::with_capacity(dirs * (per_dir + 1));
    for d in 0..dirs {
        let dir = format!("usr/local/lib/python3.11/site-packages/pkg{d:04}");
        entries.push(Entry::dir(&dir));
        for f in 0..per_dir {
            let i = (d * per_dir + f) as u64;
            let name = match f % 4 {
                0 => format!("{dir}/mod{f:03}.py"),
                1 => format!("{dir}/__pycache__/mod{f:03}.cpython-311.pyc"),
                2 => format!("{dir}/tests/test_{f:03}.py"),
                _ => format!("{dir}/include/h{f:03}.h"),
            };
            entries.push(Entry::text_len(name, 200 + (i * 37) % 3000, seed + i));
        }
    }
    entries
}

/// Two layers of 100k files between them, with real ELF files and deleted directories.
fn image() -> Image {
    let mut base = site_packages(500, 100, 0);
    for (i, path) in ELF_FILES.iter().enumerate() {
        if let Ok(e) = Entry::from_disk(
            format!("usr/lib/x86_64-linux-gnu/lib{i}.so"),
            Path::new(path),
        ) {
            base.push(e);
        }
    }
    let mut top = site_packages(500, 100, 1_000_000);
    for d in 0..10 {
        top.push(Entry::whiteout(format!(
            "usr/local/lib/python3.11/site-packages/pkg{:04}",
            100 + d
        )));
    }
    for e in &mut top {
        if let Entry::Dir { path, .. } | Entry::File { path, .. } = e {
            path.splice(0..3, *b"opt");
        }
    }
    Image::new(vec![
        Layer::new("ADD rootfs.tar /", base),
        Layer::new("RUN pip install -r requirements.txt", top),
    ])
}

/// The default limits, shared by every walk: what `pydive report` walks with.
fn scan_options() -> ScanOptions<'static> {
    static LIMITS: std::sync::LazyLock<pydive::limits::Limits> =
        std::sync::LazyLock::new(pydive::limits::Limits::default);
    static CONTENT: std::sync::LazyLock<layer::ContentBudget> =
        std::sync::LazyLock::new(|| layer::ContentBudget::new(&LIMITS));
    ScanOptions {
        hash_blob: false,
        hash_tar: false,
        keep_content: &pydive::analysis::wants_content,
        inspect_elf: true,
        max_tar_header: LIMITS.tar_header,
        content: &CONTENT,
    }
}

fn scan_all(tars: &[Vec<u8>]) -> Vec<(LayerMeta, LayerScan)> {
    tars.iter()
        .enumerate()
        .map(|(i, tar)| {
            let meta = LayerMeta {
                diff_id: format!("sha256:{i:064}"),
                digest: format!("sha256:{i:064}"),
                created_by: format!("layer {i}"),
            };
            (meta, layer::scan(tar.as_slice(), &scan_options()).unwrap())
        })
        .collect()
}

fn meta() -> ImageMeta {
    ImageMeta {
        reference: "bench".to_string(),
        os: "linux".to_string(),
        architecture: "amd64".to_string(),
        ..ImageMeta::default()
    }
}

fn benches(c: &mut Criterion) {
    let image = image();
    let tars: Vec<Vec<u8>> = (0..image.layers.len())
        .map(|i| image.layer_tar(i).unwrap())
        .collect();

    let mut walk = c.benchmark_group("layer_walk");
    walk.throughput(Throughput::Bytes(tars[0].len() as u64));
    walk.bench_function("plain_50k_files", |b| {
        b.iter(|| layer::scan(black_box(tars[0].as_slice()), &scan_options()).unwrap())
    });
    let digests = ScanOptions {
        hash_blob: true,
        hash_tar: true,
        ..scan_options()
    };
    walk.bench_function("plain_50k_files_with_digest", |b| {
        b.iter(|| layer::scan(black_box(tars[0].as_slice()), &digests).unwrap())
    });
    walk.finish();

    let mut model = c.benchmark_group("model_build");
    let scans = scan_all(&tars);
    model.throughput(Throughput::Elements(
        scans.iter().map(|(_, s)| s.entries.len() as u64).sum(),
    ));
    model.bench_function("two_layers_100k_entries", |b| {
        b.iter_batched(
            || scans.clone(),
            |scans| model::Image::build(meta(), scans),
            BatchSize::LargeInput,
        )
    });
    model.bench_function("report_new_100k_entries", |b| {
        b.iter_batched(
            || model::Image::build(meta(), scans.clone()),
            Report::new,
            BatchSize::LargeInput,
        )
    });
    model.finish();

    let mut elf_group = c.benchmark_group("elf_facts");
    for path in ELF_FILES {
        let Ok(bytes) = std::fs::read(path) else {
            eprintln!("note: {path} is missing; its ELF benchmark is skipped");
            continue;
        };
        let name = Path::new(path).file_name().unwrap().to_string_lossy();
        elf_group.throughput(Throughput::Bytes(bytes.len() as u64));
        elf_group.bench_function(format!("parse_{name}"), |b| {
            b.iter(|| elf::parse(black_box(&bytes)).unwrap())
        });
        elf_group.bench_function(format!("capture_stream_{name}"), |b| {
            b.iter(|| {
                let limit = pydive::limits::Limits::default().elf_capture;
                let mut capture = elf::Capture::new(bytes.len() as u64, limit);
                for chunk in bytes.chunks(64 * 1024) {
                    if !capture.wants_stream() {
                        break;
                    }
                    capture.push(chunk);
                }
                capture.parse().unwrap()
            })
        });
    }
    elf_group.finish();

    let mut classify = c.benchmark_group("categories");
    let classifier = Classifier::new("amd64", None);
    let paths: Vec<Vec<u8>> = scans
        .iter()
        .flat_map(|(_, s)| s.entries.iter().map(|e| e.path.to_vec()))
        .collect();
    classify.throughput(Throughput::Elements(paths.len() as u64));
    classify.bench_function("classify_100k_paths", |b| {
        b.iter(|| {
            paths
                .iter()
                .map(|p| classifier.classify(black_box(p)))
                .filter(|set| !set.is_empty())
                .count()
        })
    });
    classify.finish();

    // The explorer: one keystroke in the path filter (typing a character, then erasing it,
    // alternately) and the frame drawn after it, on the 100k-node tree.
    let report = Report::new(model::Image::build(meta(), scans));
    let mut state = ViewState::new(&report, 160, 48, false);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    for action in [
        Action::Focus(Pane::Files),
        Action::StartFilter,
        Action::FilterChar('p'),
        Action::FilterChar('k'),
        Action::FilterChar('g'),
    ] {
        update(&mut state, &report, action);
    }
    let mut explorer = c.benchmark_group("explorer");
    let mut typed = false;
    explorer.bench_function("filter_keystroke_100k", |b| {
        b.iter(|| {
            typed = !typed;
            let key = if typed {
                Action::FilterChar('0')
            } else {
                Action::FilterBackspace
            };
            update(&mut state, &report, key);
            terminal
                .draw(|f| pydive::tui::draw(&report, &state, f.area(), f.buffer_mut()))
                .unwrap();
        })
    });
    // The same, with a keystroke that changes what matches: "pkg0" lists every package
    // directory of the layer, "pkg01" a fifth of them.
    let mut narrowing = ViewState::new(&report, 160, 48, false);
    for action in [
        Action::Focus(Pane::Files),
        Action::StartFilter,
        Action::FilterChar('p'),
        Action::FilterChar('k'),
        Action::FilterChar('g'),
        Action::FilterChar('0'),
    ] {
        update(&mut narrowing, &report, action);
    }
    let mut typed = false;
    explorer.bench_function("filter_keystroke_narrowing_100k", |b| {
        b.iter(|| {
            typed = !typed;
            let key = if typed {
                Action::FilterChar('1')
            } else {
                Action::FilterBackspace
            };
            update(&mut narrowing, &report, key);
            terminal
                .draw(|f| pydive::tui::draw(&report, &narrowing, f.area(), f.buffer_mut()))
                .unwrap();
        })
    });
    explorer.bench_function("redraw_100k", |b| {
        b.iter(|| {
            terminal
                .draw(|f| pydive::tui::draw(&report, &state, f.area(), f.buffer_mut()))
                .unwrap();
        })
    });
    explorer.finish();
}

criterion_group! {
    name = micro;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(micro);
