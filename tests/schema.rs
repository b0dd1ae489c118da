//! The published JSON Schemas (`docs/schema/`) match the output types they are generated from,
//! and real reports of test images validate against them.
//! `UPDATE_SCHEMAS=1 cargo nextest run --test schema` rewrites the committed schemas.

mod common;

use std::path::PathBuf;

use pydive::fixture::{Entry, Image, Layer};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/schema")
}

#[test]
fn committed_schemas_match_the_types() {
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in pydive::report::schema::all() {
        let path = schema_dir().join(name);
        let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != generated {
            if update {
                std::fs::write(&path, generated).unwrap();
            } else {
                stale.push(name);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} in docs/schema/ differ from the types; run `UPDATE_SCHEMAS=1 cargo nextest run --test schema`, and add a CHANGELOG entry"
    );
}

fn sample_image() -> Image {
    Image::new(vec![
        Layer::new(
            "ADD rootfs /",
            vec![
                Entry::dir("usr/lib/x86_64-linux-gnu"),
                Entry::exec(
                    "usr/lib/x86_64-linux-gnu/libc.so.6",
                    common::elf::host_file("/lib/x86_64-linux-gnu/libc.so.6"),
                ),
                Entry::file("etc/os-release", "PRETTY_NAME=\"Test\"\n"),
            ],
        ),
        Layer::new(
            "RUN pip install thing",
            vec![
                Entry::file_len("root/.cache/pip/http/a", 2_000_000, 1),
                Entry::file_len("tmp/build.o", 1_500_000, 2),
            ],
        ),
        Layer::new(
            "RUN rm -rf /tmp/build.o",
            vec![Entry::whiteout("tmp/build.o")],
        ),
    ])
}

#[test]
fn a_real_report_validates() {
    let report = common::json_for(&sample_image());
    assert!(!report["findings"].as_array().unwrap().is_empty());
    common::validate("report.schema.json", &report);
}

/// A report written by the first pydive of schema 1 (`pydive demo --format json`, kept as it
/// was): every field added since must be optional to the reader, so it still loads as a
/// baseline.
#[test]
fn a_report_from_an_older_pydive_still_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/report-schema1-pydive0.1.0.json");
    let report = pydive::report::json::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(report.schema_version, 1);
    assert_eq!(report.image.reference, "pydive demo image");
    assert!(!report.findings.is_empty());
}

#[test]
fn what_is_not_a_report_says_so() {
    let load = |text: &str| {
        pydive::report::json::from_slice(text.as_bytes())
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    };
    assert!(load("PK\u{3}\u{4}").unwrap_err().contains("not JSON"));
    assert!(
        load("{\"a\": 1}")
            .unwrap_err()
            .contains("no schema_version")
    );
    let newer = load("{\"schema_version\": 99, \"image\": {}}").unwrap_err();
    assert!(
        newer.contains("written with report schema 99, newer than this pydive's (1)"),
        "{newer}"
    );
    let broken = load("{\"schema_version\": 1, \"image\": {\"reference\": 3}}").unwrap_err();
    assert!(
        broken.contains("not a pydive JSON report of this schema"),
        "{broken}"
    );
}
