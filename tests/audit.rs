//! `pydive audit`: findings grouped by severity then by Dockerfile step, each with its fix;
//! text, Markdown or JSON; exit code 1 when a finding is at or above `--fail-on`.

mod common;

use common::elf::{CC, EXTENSION, compile};
use common::{archive, pydive};
use pydive::fixture::{Entry, Image, Layer, Layout};

/// An image with one error (a library nobody provides) and one warning (a pip cache).
fn image_with_findings() -> Image {
    let dir = tempfile::tempdir().unwrap();
    common::elf::compile_in(
        dir.path(),
        CC,
        "void f(void) {}\n",
        &["-shared", "-fPIC", "-Wl,-soname,libmissing.so.3"],
        "libmissing.so.3",
    );
    let ext = common::elf::compile_in(
        dir.path(),
        CC,
        EXTENSION,
        &["-shared", "-fPIC", "./libmissing.so.3"],
        "ext.so",
    );
    Image::new(vec![
        Layer::new(
            "ADD rootfs /",
            vec![
                Entry::dir("usr/lib/x86_64-linux-gnu"),
                Entry::exec(
                    "usr/lib/x86_64-linux-gnu/libc.so.6",
                    common::elf::host_file("/lib/x86_64-linux-gnu/libc.so.6"),
                ),
                Entry::exec(
                    "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                    common::elf::host_file("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
                ),
            ],
        ),
        Layer::new(
            "RUN pip install thing",
            vec![
                Entry::file_len("root/.cache/pip/http/a", 2_000_000, 1),
                Entry::exec("opt/app/_thing.so", ext),
            ],
        ),
    ])
}

fn clean_image() -> Image {
    let mut image = Image::new(vec![Layer::new(
        "ADD rootfs /",
        vec![
            Entry::file("etc/hostname", "clean\n"),
            Entry::exec(
                "opt/libok.so",
                compile(
                    CC,
                    "int ok(void) { return 1; }\n",
                    &["-shared", "-fPIC", "-nostdlib"],
                ),
            ),
        ],
    )]);
    // A clean image runs as a user of its own.
    image.user = Some("10001".into());
    image
}

#[test]
fn exit_codes_follow_fail_on() {
    let w = archive(&image_with_findings(), Layout::DockerClassic);
    let code = |fail_on: &str| {
        pydive()
            .args(["audit", "--fail-on", fail_on])
            .arg(&w.path)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code("error"), Some(1));
    assert_eq!(code("warning"), Some(1));
    assert_eq!(code("never"), Some(0));
    // The default is error.
    assert_eq!(
        pydive()
            .arg("audit")
            .arg(&w.path)
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );

    let clean = archive(&clean_image(), Layout::DockerClassic);
    let out = pydive()
        .args(["audit", "--fail-on", "warning"])
        .arg(&clean.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        2,
        "a clean image says so in one line after the headline:\n{text}"
    );
    assert!(text.contains("No findings"));
}

#[test]
fn findings_are_grouped_by_severity_then_step() {
    let w = archive(&image_with_findings(), Layout::DockerClassic);
    let out = pydive()
        .args(["audit", "--fail-on", "never"])
        .arg(&w.path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let errors = text.find("\nErrors").expect("an Errors section");
    let warnings = text.find("\nWarnings").expect("a Warnings section");
    assert!(errors < warnings, "{text}");
    let section = &text[errors..warnings];
    assert!(section.contains("layer 1: RUN pip install thing"), "{text}");
    assert!(
        section.contains("[unresolved-library] libmissing.so.3"),
        "{text}"
    );
    assert!(section.contains("fix: "), "{text}");
    assert!(text[warnings..].contains("[pip-cache]"), "{text}");

    let md = pydive()
        .args(["audit", "--fail-on", "never", "--format", "markdown"])
        .arg(&w.path)
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.starts_with("## pydive: `docker-archive:"), "{md}");
    assert!(
        md.contains("### Errors") && md.contains("#### layer 1: `RUN pip install thing`"),
        "{md}"
    );
    assert!(md.contains("- **`unresolved-library`**"), "{md}");

    let json = pydive()
        .args(["audit", "--fail-on", "never", "--format", "json"])
        .arg(&w.path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let unresolved = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "unresolved-library")
        .unwrap();
    assert_eq!(unresolved["severity"], "error");
}

/// An ELF file whose facts cannot be read leaves the linkage audit incomplete: the audit says
/// so in every format, counting only files of the final filesystem.
#[test]
fn unreadable_elf_files_make_the_audit_say_it_is_incomplete() {
    let real = compile(CC, EXTENSION, &["-shared", "-fPIC"]);
    let truncated = real[..real.len() / 3].to_vec();
    let mut garbage = b"\x7fELF".to_vec();
    garbage.extend(std::iter::repeat_n(0xa5u8, 3000));
    let mut image = clean_image();
    image.layers.push(Layer::new(
        "COPY junk /opt/",
        vec![
            Entry::exec("opt/truncated.so", truncated),
            Entry::exec("opt/garbage.so", garbage.clone()),
            Entry::exec("opt/deleted.so", garbage),
        ],
    ));
    image.layers.push(Layer::new(
        "RUN rm /opt/deleted.so",
        vec![Entry::whiteout("opt/deleted.so")],
    ));
    let w = archive(&image, Layout::DockerClassic);
    let line = "2 ELF files could not be read: the audit is incomplete";
    for format in ["text", "markdown"] {
        let out = pydive()
            .args(["audit", "--format", format])
            .arg(&w.path)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(line), "{format}:\n{text}");
        // Each file is named with its layer and why, not only counted.
        for name in ["truncated", "garbage"] {
            let named = format!("layer 1: /opt/{name}.so: unreadable ELF file");
            assert!(text.contains(&named), "{format}: {named}\n{text}");
        }
    }
    // The CI gate says it too, in every format: its verdict has not seen those files.
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "markdown", "json", "junit"] {
        let out = pydive()
            .current_dir(dir.path())
            .env_remove("GITHUB_STEP_SUMMARY")
            .args(["ci", "--format", format])
            .arg(&w.path)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(line), "ci {format}:\n{text}");
    }
    let report = common::json(w.path.to_str().unwrap());
    assert_eq!(report["unreadable_elf"], 2);
    let clean = archive(&clean_image(), Layout::DockerClassic);
    assert_eq!(
        common::json(clean.path.to_str().unwrap())["unreadable_elf"],
        0
    );
}

/// `--no-verify` seeks past file contents, so identical files cannot be found: the audit says
/// so rather than reporting no duplicates.
#[test]
fn an_audit_without_file_contents_says_duplicates_were_not_looked_for() {
    let mut image = clean_image();
    image.layers.push(Layer::new(
        "COPY twice /opt/",
        vec![
            Entry::file_len("opt/a.bin", 2_000_000, 7),
            Entry::file_len("opt/b.bin", 2_000_000, 7),
        ],
    ));
    let w = archive(&image, Layout::DockerClassic);
    let line = "duplicate files were not looked for";
    let audit = |extra: &[&str]| {
        let out = pydive()
            .arg("audit")
            .args(extra)
            .arg(&w.path)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let verified = audit(&[]);
    assert!(verified.contains("[duplicates]"), "{verified}");
    assert!(!verified.contains(line), "{verified}");
    let unverified = audit(&["--no-verify"]);
    assert!(!unverified.contains("[duplicates]"), "{unverified}");
    assert!(unverified.contains(line), "{unverified}");
}
