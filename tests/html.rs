//! The HTML report without a browser: `--format html -o FILE` writes one self-contained page
//! (a Content-Security-Policy that allows no request, nothing loaded from elsewhere), whose
//! embedded JSON holds every byte of the final filesystem and of the waste in its treemap
//! tiles, escaped so that no file name can end the script; and a 40,000-file image stays under
//! 2 MB by folding small files, without losing a byte. Rendering is checked in a real browser
//! by `ext_chromium.rs`.

mod common;

use pydive::fixture::{Entry, Image, Layer};
use pydive::report::Report;
use serde_json::Value;

fn html(report: &Report) -> String {
    let mut out = Vec::new();
    pydive::report::html::write(report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The JSON document the page carries.
fn data(page: &str) -> Value {
    let start = r#"<script type="application/json" id="pydive-data">"#;
    let a = page.find(start).unwrap() + start.len();
    let b = a + page[a..].find("</script>").unwrap();
    serde_json::from_str(&page[a..b]).unwrap()
}

/// The bytes of a tile tree's leaves: `[name, bytes, files, layer, categories, dist, children?]`.
fn leaf_bytes(tile: &Value) -> u64 {
    match tile.get(6) {
        Some(children) => children.as_array().unwrap().iter().map(leaf_bytes).sum(),
        None => tile[1].as_u64().unwrap(),
    }
}

fn tiles(tile: &Value) -> usize {
    1 + tile
        .get(6)
        .map_or(0, |c| c.as_array().unwrap().iter().map(tiles).sum())
}

fn waste_bytes(d: &Value) -> u64 {
    d["waste"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| leaf_bytes(&g["tile"]))
        .sum()
}

#[test]
fn report_format_html_writes_one_self_contained_page() {
    let w = common::archive(
        &pydive::demo::image(),
        pydive::fixture::Layout::DockerClassic,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    common::pydive()
        .args(["report", "--format", "html", "-o"])
        .arg(&out)
        .arg(&w.path)
        .assert()
        .success();
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains(
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">"#
    ));
    // Nothing is loaded from anywhere: no src or href attribute, no stylesheet link.
    for outside in [" src=", " href=", "<link", "@import", "url(http"] {
        assert!(!page.contains(outside), "the page has {outside}");
    }
    // The vendored layout library comes with its license.
    assert!(page.contains("d3-hierarchy 1.1.8"));
    assert!(page.contains("Copyright 2010-2016 Mike Bostock"));
    let d = data(&page);
    let json = common::json(w.path.to_str().unwrap());
    assert_eq!(d["report"]["image"], json["image"]);
    assert_eq!(d["report"]["findings"], json["findings"]);
    assert_eq!(
        leaf_bytes(&d["tree"]),
        json["image"]["files_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        waste_bytes(&d),
        json["waste"]["wasted_bytes"].as_u64().unwrap()
    );
    // The ELF files with a problem, and why: the musl extension in a glibc image.
    let elf: Vec<&str> = d["report"]["elf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    let musl = "/usr/local/lib/python3.11/site-packages/speedups/_speedups.cpython-311-x86_64-linux-musl.so";
    assert!(elf.contains(&musl), "{elf:?}");
    assert!(
        d["elf_rules"][musl]
            .as_array()
            .unwrap()
            .contains(&"musl-in-glibc-image".into())
    );
    assert!(elf.len() < json["elf"].as_array().unwrap().len());
}

#[test]
fn a_file_name_cannot_end_the_script() {
    let name = "<script>alert(1)<!--x--></script";
    let image = Image::new(vec![Layer::new(
        "ADD . /",
        vec![Entry::file(
            format!("app/{}", name.replace('/', "_")),
            b"hi",
        )],
    )]);
    let page = html(&common::report_for(&image));
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<!--x"));
    let d = data(&page);
    let app = &d["tree"][6][0];
    assert_eq!(app[0], "app");
    assert_eq!(app[6][0][0], name.replace('/', "_"));
}

#[test]
fn a_forty_thousand_file_image_fits_in_two_megabytes_without_losing_a_byte() {
    let report = common::report_for(&common::forty_thousand_files());
    let visible = report.facts.visible;
    assert!(visible.files >= 40_000);
    let page = html(&report);
    assert!(page.len() < 2_000_000, "the page is {} bytes", page.len());
    let d = data(&page);
    assert_eq!(leaf_bytes(&d["tree"]), visible.bytes);
    assert_eq!(waste_bytes(&d), report.facts.waste.wasted_bytes());
    // Folded: fewer tiles than files, each "N small files" tile under the threshold's files.
    let threshold = d["fold_threshold"].as_u64().unwrap();
    assert!(threshold > 0);
    let n = tiles(&d["tree"]);
    assert!(n < 25_000, "{n} tiles");
    eprintln!(
        "40k files: {} bytes of HTML, {n} tiles, folded below {threshold} bytes",
        page.len()
    );
}
