//! Shared test helpers: write a fixture image somewhere temporary, read it back with pydive,
//! and look at the result as the JSON report users get.
#![allow(dead_code)] // each test binary uses its own subset

pub mod apps;
pub mod chromium;
pub mod debian;
pub mod elf;
pub mod fleet;
pub mod linkage;
pub mod services;

use std::path::{Path, PathBuf};

use pydive::cli::ReadConfig;
use pydive::fixture::{Entry, Image, Layer, Layout};
use pydive::report::Report;
use pydive::report::json::JsonReport;
use pydive::source::{Platform, Transport};
use serde_json::Value;

pub struct Written {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// Writes the image as a `docker save` tarball in the given layout.
pub fn archive(image: &Image, layout: Layout) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    image.write_docker_archive(&path, layout).unwrap();
    Written { dir, path }
}

pub fn read_config() -> ReadConfig {
    ReadConfig {
        verify: true,
        platform: Platform::host(),
        ..ReadConfig::default()
    }
}

/// Reads an image through pydive's library, as `pydive report` would.
pub fn load(arg: &str) -> Report {
    load_with(arg, &read_config())
}

pub fn load_with(arg: &str, read: &ReadConfig) -> Report {
    let transport = Transport::parse(arg).unwrap();
    pydive::app::load(&transport, read).unwrap_or_else(|e| panic!("loading {arg}: {e:#}"))
}

/// The JSON report for an image argument.
pub fn json(arg: &str) -> Value {
    json_of(&load(arg))
}

pub fn json_of(report: &Report) -> Value {
    serde_json::to_value(JsonReport::new(report)).unwrap()
}

/// The JSON report of an image written as a classic `docker save` tarball.
pub fn json_for(image: &Image) -> Value {
    let w = archive(image, Layout::DockerClassic);
    json(w.path.to_str().unwrap())
}

pub fn report_for(image: &Image) -> Report {
    let w = archive(image, Layout::DockerClassic);
    load(w.path.to_str().unwrap())
}

pub fn path_arg(prefix: &str, path: &Path) -> String {
    format!("{prefix}{}", path.display())
}

/// The pydive binary.
pub fn pydive() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("pydive").unwrap()
}

/// A category's visible bytes and files from a JSON report.
pub fn category(report: &Value, id: &str) -> (u64, u64) {
    let c = &report["categories"][id];
    (c["bytes"].as_u64().unwrap(), c["files"].as_u64().unwrap())
}

/// The findings of one rule.
pub fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

/// The report without what legitimately depends on how the layers were stored: the
/// reference, each layer's stored digest, compression and stored size.
pub fn storage_independent(mut v: Value) -> Value {
    v["image"]["reference"] = Value::Null;
    // A `docker save` tarball has no manifest; compression changes layer digests.
    v["image"]["manifest_digest"] = Value::Null;
    v["image"]["index_digest"] = Value::Null;
    for finding in v["findings"].as_array_mut().into_iter().flatten() {
        finding["layer_digest"] = Value::Null;
    }
    for layer in v["image"]["layers"].as_array_mut().unwrap() {
        let obj = layer.as_object_mut().unwrap();
        obj.remove("digest");
        obj.remove("compression");
        obj.remove("blob_size_bytes");
    }
    v
}

/// Validates a document against a committed schema in `docs/schema/`, listing every error.
pub fn validate(schema_name: &str, document: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schema")
        .join(schema_name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema_name}: {errors:#?}");
}

/// The size of the benchmark's image (tens of thousands of files in a few layers, a cache
/// deleted later, an overwrite), with smaller files so the test builds it quickly.
pub fn forty_thousand_files() -> Image {
    let base: Vec<Entry> = (0..30_000u64)
        .map(|i| {
            Entry::file_len(
                format!("usr/lib/pkg{}/mod{}.py", i / 100, i),
                20 + (i * 37) % 1_200,
                i,
            )
        })
        .collect();
    let mut site: Vec<Entry> = (0..12_000u64)
        .map(|i| {
            Entry::file_len(
                format!(
                    "usr/local/lib/python3.12/site-packages/p{}/f{}.py",
                    i / 50,
                    i
                ),
                10 + (i * 91) % 2_000,
                100_000 + i,
            )
        })
        .collect();
    for i in 0..12u64 {
        site.push(Entry::file_len(
            format!("usr/local/lib/python3.12/site-packages/big/lib{i}.so"),
            500_000,
            200_000 + i,
        ));
    }
    let build: Vec<Entry> = (0..2_000u64)
        .map(|i| Entry::file_len(format!("tmp/build/obj{i}.o"), 300, 400_000 + i))
        .collect();
    Image::new(vec![
        Layer::new("ADD rootfs.tar /", base),
        Layer::new("RUN pip install -r requirements.txt", site),
        Layer::new("RUN make build", build),
        Layer::new(
            "RUN rm -rf /tmp/build",
            vec![Entry::dir("tmp"), Entry::whiteout("tmp/build")],
        ),
    ])
}
