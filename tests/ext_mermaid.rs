//! The Mermaid charts of the Markdown report and audit, parsed and drawn by Mermaid itself
//! (the v11 line that GitHub and GitLab embed) in headless Chromium: every block is a `pie` or
//! an `xychart-beta` that Mermaid accepts and turns into an SVG, and a broken block is refused,
//! so the check can fail. Mermaid's bundle comes from PyPI's `mmdc` 0.7.0 wheel (mermaid.js
//! 11.12.0), downloaded once into `target/test-downloads/`.
//!
//! Needs chromium (Debian's `chromium`), python3 with pip, and PyPI for the first run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::chromium::Browser;
use common::services::need;
use pydive::fixture::{Entry, Image, Layer};
use pydive::report::{self, Format, Report};

/// mermaid.js from the mmdc wheel, cached.
fn mermaid_js() -> Result<PathBuf, String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-downloads/mmdc-0.7.0");
    let js = dir.join("mermaid.js");
    if js.exists() {
        return Ok(js);
    }
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "mmdc==0.7.0",
            "-d",
        ])
        .arg(&dir)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pip download mmdc: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let unzip = "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
                 open(sys.argv[2], 'wb').write(z.read('mmdc/assets/mermaid.js'))";
    let wheel = dir.join("mmdc-0.7.0-py3-none-any.whl");
    let partial = dir.join("mermaid.js.partial");
    let status = Command::new("python3")
        .args(["-c", unzip])
        .arg(&wheel)
        .arg(&partial)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("cannot take mermaid.js out of the mmdc wheel".into());
    }
    std::fs::rename(&partial, &js).map_err(|e| e.to_string())?;
    Ok(js)
}

fn markdown(report: &Report, audit: bool) -> String {
    let mut out = Vec::new();
    if audit {
        report::write_audit(report, report::AuditFormat::Markdown, &mut out).unwrap();
    } else {
        report::write(report, Format::Markdown, &mut out).unwrap();
    }
    String::from_utf8(out).unwrap()
}

/// The ```mermaid blocks of a Markdown document.
fn blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = md;
    while let Some(start) = rest.find("```mermaid\n") {
        let body = &rest[start + "```mermaid\n".len()..];
        let end = body.find("```").expect("a closed fence");
        out.push(body[..end].to_string());
        rest = &body[end + 3..];
    }
    out
}

/// Mermaid's verdict on each text: the diagram type it parsed and whether it drew an SVG, or
/// its error.
fn verdicts(texts: &[String]) -> Option<Vec<Result<String, String>>> {
    let js = need("mermaid.js (PyPI's mmdc wheel)", mermaid_js())?;
    let mut b = need("headless Chromium", Browser::start(1000, 800))?;
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("mermaid.html");
    std::fs::copy(&js, dir.path().join("mermaid.js")).unwrap();
    std::fs::write(
        &page,
        "<!doctype html><meta charset=utf-8><body><script src=\"mermaid.js\"></script>",
    )
    .unwrap();
    b.open(&page).unwrap();
    b.eval(
        "window.M = __esbuild_esm_mermaid_nm.mermaid.default; \
         M.initialize({startOnLoad: false, securityLevel: 'strict'}); true",
    )
    .unwrap();
    let mut out = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let expr = format!(
            "(async () => {{
                const text = {};
                try {{
                    const parsed = await M.parse(text);
                    const drawn = await M.render('chart{i}', text);
                    return {{ok: parsed.diagramType + (drawn.svg.startsWith('<svg') ? ' svg' : ' no-svg')}};
                }} catch (e) {{ return {{err: String(e && e.message || e)}}; }}
            }})()",
            serde_json::to_string(text).unwrap()
        );
        let v = b.eval(&expr).unwrap();
        out.push(match v.get("ok") {
            Some(ok) => Ok(ok.as_str().unwrap().to_string()),
            None => Err(v["err"].to_string()),
        });
    }
    Some(out)
}

#[test]
fn the_markdown_charts_are_mermaid_that_parses_and_draws() {
    let demo = common::report_for(&pydive::demo::image());
    // An image with no category at all and a single layer: a one-slice pie, a one-bar chart.
    let plain = common::report_for(&Image::new(vec![Layer::new(
        "ADD app /app",
        vec![Entry::file("app/main.py", b"print('hi')\n")],
    )]));
    let mut texts = Vec::new();
    for report in [&demo, &plain] {
        for audit in [false, true] {
            let found = blocks(&markdown(report, audit));
            assert_eq!(found.len(), 2, "a pie and a bar chart");
            assert!(found[0].starts_with("pie title "), "{}", found[0]);
            assert!(found[1].starts_with("xychart-beta\n"), "{}", found[1]);
            texts.extend(found);
        }
    }
    // A broken chart, which Mermaid must refuse.
    texts.push("xychart-beta\n    x-axis [\"L0\"]\n    bar [1, oops]\n".into());
    let Some(verdicts) = verdicts(&texts) else {
        return;
    };
    eprintln!("Mermaid says: {verdicts:?}");
    let (broken, charts) = verdicts.split_last().unwrap();
    assert!(
        broken.is_err(),
        "Mermaid refuses a broken chart: {broken:?}"
    );
    for (text, verdict) in texts.iter().zip(charts) {
        let want = if text.starts_with("pie") {
            "pie svg"
        } else {
            "xychart svg"
        };
        assert_eq!(verdict.as_deref(), Ok(want), "{text}");
    }
}
