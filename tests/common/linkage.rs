//! The images and report helpers that the linkage tests share (`tests/linkage.rs` needs only
//! `cc`; `tests/ext_linkage.rs` needs musl, zig and a cross compiler): a Debian-like base made
//! of this machine's glibc, a pip install with its dist-info, and the report's compatibility
//! findings and ELF facts.

use pydive::fixture::{Entry, Layer};
use serde_json::Value;

use super::elf::{CC, EXTENSION, MAIN, compile, host_file};
use super::findings;

pub const SITE: &str = "usr/local/lib/python3.11/site-packages";

pub const COMPATIBILITY: &[&str] = &[
    "musl-in-glibc-image",
    "glibc-in-musl-image",
    "glibc-too-new",
    "glibcxx-too-new",
    "unresolved-library",
    "missing-symbol",
    "relr-unsupported",
    "interpreter-missing",
    "arch-mismatch",
    "abi-mismatch",
    "wheel-tag-mismatch",
];

/// A Debian-like base: this machine's glibc, libstdc++ and loader, merged /usr, a Python.
pub fn glibc_base() -> Layer {
    let lib = "usr/lib/x86_64-linux-gnu";
    Layer::new(
        "/bin/sh -c #(nop) ADD file:debian-rootfs in / ",
        vec![
            Entry::dir("etc"),
            Entry::file(
                "etc/os-release",
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
            ),
            Entry::dir("usr"),
            Entry::dir("usr/lib"),
            Entry::dir(lib),
            Entry::symlink("lib", "usr/lib"),
            Entry::exec(
                format!("{lib}/libc.so.6"),
                host_file("/lib/x86_64-linux-gnu/libc.so.6"),
            ),
            Entry::exec(
                format!("{lib}/libm.so.6"),
                host_file("/lib/x86_64-linux-gnu/libm.so.6"),
            ),
            Entry::exec(
                format!("{lib}/ld-linux-x86-64.so.2"),
                host_file("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
            ),
            Entry::exec(
                format!("{lib}/libstdc++.so.6.0.30"),
                host_file("/lib/x86_64-linux-gnu/libstdc++.so.6"),
            ),
            Entry::symlink(format!("{lib}/libstdc++.so.6"), "libstdc++.so.6.0.30"),
            Entry::exec(
                format!("{lib}/libgcc_s.so.1"),
                host_file("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
            ),
            Entry::dir("usr/lib64"),
            Entry::symlink(
                "usr/lib64/ld-linux-x86-64.so.2",
                "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            ),
            Entry::symlink("lib64", "usr/lib64"),
            Entry::dir("usr/local/bin"),
            Entry::exec("usr/local/bin/python3.11", compile(CC, MAIN, &[])),
            Entry::symlink("usr/local/bin/python3", "python3.11"),
        ],
    )
}

/// A pip install of one distribution: its files, and a dist-info naming them in RECORD.
pub fn pip_install(
    step: &str,
    name: &str,
    version: &str,
    tags: &[&str],
    files: Vec<(String, Vec<u8>)>,
) -> Layer {
    let info = format!("{SITE}/{name}-{version}.dist-info");
    let mut record = String::new();
    let mut entries = vec![Entry::dir(SITE)];
    for (path, bytes) in &files {
        record.push_str(&format!("{path},sha256=x,{}\n", bytes.len()));
        entries.push(Entry::exec(format!("{SITE}/{path}"), bytes.clone()));
    }
    let wheel: String = tags.iter().map(|t| format!("Tag: {t}\n")).collect();
    record.push_str(&format!("{name}-{version}.dist-info/METADATA,,\n"));
    entries.extend([
        Entry::dir(&info),
        Entry::file(
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        ),
        Entry::file(
            format!("{info}/WHEEL"),
            format!("Wheel-Version: 1.0\nRoot-Is-Purelib: false\n{wheel}"),
        ),
        Entry::file(format!("{info}/INSTALLER"), "pip\n"),
        Entry::file(format!("{info}/RECORD"), record),
    ]);
    Layer::new(step, entries)
}

pub fn extension(compiler: &[&str]) -> Vec<u8> {
    compile(compiler, EXTENSION, &["-shared", "-fPIC"])
}

pub fn compatibility(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| COMPATIBILITY.contains(&f["rule"].as_str().unwrap()))
        .collect()
}

pub fn one<'a>(report: &'a Value, rule: &str) -> &'a Value {
    let found = findings(report, rule);
    assert_eq!(found.len(), 1, "{rule}: {:#}", report["findings"]);
    found[0]
}

pub fn elf<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["elf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == path)
        .unwrap_or_else(|| panic!("no ELF facts for {path}"))
}
