//! The loader emulation (`analysis/loader.rs`), one case per row: which path a NEEDED name
//! resolves to under glibc's and musl's rules (RPATH vs RUNPATH, `LD_LIBRARY_PATH`, `$ORIGIN`,
//! `$LIB`, `$PLATFORM`, `ld.so.conf` includes, musl's built-in names and path file, siblings),
//! and hostile layouts (a symlink with thousands of `..`, an `include` fan-out and cycle) that
//! must cost time in proportion to their size.

#[path = "common/budget.rs"]
mod budget;
mod common;

use pydive::analysis::linkage::Resolution;
use pydive::analysis::loader::Loader;
use pydive::fixture::{Entry, Image, Layer};
use pydive::layer::elf::ElfInfo;
use pydive::report::Report;

/// A file the loader may find: its bytes do not matter (only ELF candidates are checked
/// for class and machine).
fn lib(path: &str) -> Entry {
    Entry::file(path, "library")
}

fn report(entries: Vec<Entry>) -> Report {
    common::report_for(&Image::new(vec![Layer::new("base", entries)]))
}

fn glibc_base() -> Vec<Entry> {
    vec![
        Entry::dir("usr/lib/x86_64-linux-gnu"),
        lib("usr/lib/x86_64-linux-gnu/libc.so.6"),
    ]
}

fn musl_base() -> Vec<Entry> {
    vec![
        Entry::file("lib/ld-musl-x86_64.so.1", "musl libc\0\x31.2.4\0"),
        Entry::symlink("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"),
    ]
}

/// A 64-bit x86-64 file's loader facts.
fn elf(interpreter: Option<&str>, rpath: &[&str], runpath: &[&str], needed: &[&str]) -> ElfInfo {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    ElfInfo {
        class: 64,
        machine: goblin::elf::header::EM_X86_64,
        kind: goblin::elf::header::ET_DYN,
        interpreter: interpreter.map(str::to_string),
        needed: strings(needed),
        rpath: strings(rpath),
        runpath: strings(runpath),
        has_dynamic: true,
        ..ElfInfo::default()
    }
}

const LD_LINUX_X86_64: Option<&str> = Some("/lib64/ld-linux-x86-64.so.2");
const ALPINE_LOADER: &str = "/lib/ld-musl-x86_64.so.1";

/// Where the loader finds each name: a path (without the leading `/`), or "missing".
fn resolved(report: &Report, info: &ElfInfo, path: &str) -> Vec<String> {
    let loader = Loader::new(&report.image, &report.facts.linkage.libc);
    loader
        .resolve_needed(info, path.as_bytes())
        .into_iter()
        .map(|(_, r)| match r {
            Resolution::Found(p) => String::from_utf8(p).unwrap(),
            Resolution::Injected => "injected".into(),
            Resolution::Missing => "missing".into(),
        })
        .collect()
}

#[test]
fn glibc_searches_rpath_only_without_runpath_and_env_between_them() {
    let mut entries = glibc_base();
    entries.extend([
        lib("opt/rpath/libfoo.so.1"),
        lib("opt/env/libfoo.so.1"),
        lib("opt/runpath/libfoo.so.1"),
        lib("opt/rpath/libonly.so.1"),
    ]);
    let mut report = report(entries);
    report.image.env = vec!["LD_LIBRARY_PATH=/opt/env".into()];
    let cases: &[(&[&str], &[&str], &str, &str)] = &[
        // (rpath, runpath, name, expected)
        (&["/opt/rpath"], &[], "libfoo.so.1", "opt/rpath/libfoo.so.1"),
        (&[], &["/opt/runpath"], "libfoo.so.1", "opt/env/libfoo.so.1"),
        // A RUNPATH switches the RPATH off.
        (
            &["/opt/rpath"],
            &["/opt/runpath"],
            "libonly.so.1",
            "missing",
        ),
        (
            &["/opt/rpath"],
            &["/opt/runpath"],
            "libfoo.so.1",
            "opt/env/libfoo.so.1",
        ),
        (&[], &[], "libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6"),
    ];
    for (rpath, runpath, name, expected) in cases {
        let info = elf(LD_LINUX_X86_64, rpath, runpath, &[name]);
        assert_eq!(
            resolved(&report, &info, "app/bin/prog"),
            [expected.to_string()],
            "rpath {rpath:?} runpath {runpath:?} {name}"
        );
    }
}

#[test]
fn glibc_expands_origin_lib_and_platform() {
    let mut entries = glibc_base();
    entries.extend([
        lib("app/bin/prog"),
        lib("app/lib/liborigin.so"),
        lib("opt/lib/x86_64-linux-gnu/libmulti.so"),
        lib("opt/lib64/lib64only.so"),
        lib("opt/x86_64/libplat.so"),
    ]);
    let report = report(entries);
    let cases: &[(&str, &str, &str)] = &[
        ("$ORIGIN/../lib", "liborigin.so", "app/lib/liborigin.so"),
        ("${ORIGIN}/../lib", "liborigin.so", "app/lib/liborigin.so"),
        (
            "/opt/$LIB",
            "libmulti.so",
            "opt/lib/x86_64-linux-gnu/libmulti.so",
        ),
        ("/opt/${LIB}", "lib64only.so", "opt/lib64/lib64only.so"),
        ("/opt/$PLATFORM", "libplat.so", "opt/x86_64/libplat.so"),
    ];
    for (runpath, name, expected) in cases {
        let info = elf(LD_LINUX_X86_64, &[], &[runpath], &[name]);
        assert_eq!(
            resolved(&report, &info, "app/bin/prog"),
            [expected.to_string()],
            "{runpath} {name}"
        );
    }
}

#[test]
fn glibc_reads_ld_so_conf_and_its_includes() {
    let mut entries = glibc_base();
    entries.extend([
        Entry::file("etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n"),
        Entry::file("etc/ld.so.conf.d/a.conf", "/opt/a # comment\n"),
        Entry::file(
            "etc/ld.so.conf.d/b.conf",
            "include /etc/ld.so.conf\n/opt/b\n",
        ),
        Entry::file("etc/ld.so.conf.d/c.conf.off", "/opt/c\n"),
        lib("opt/a/liba.so"),
        lib("opt/b/libb.so"),
        lib("opt/c/libc_off.so"),
    ]);
    let report = report(entries);
    let info = elf(
        LD_LINUX_X86_64,
        &[],
        &[],
        &["liba.so", "libb.so", "libc_off.so"],
    );
    assert_eq!(
        resolved(&report, &info, "usr/bin/prog"),
        ["opt/a/liba.so", "opt/b/libb.so", "missing"]
    );
    assert!(report.facts.linkage.notes.is_empty());
}

#[test]
fn musl_answers_its_names_itself_and_reads_its_path_file() {
    let mut entries = musl_base();
    entries.extend([
        Entry::file("etc/ld-musl-x86_64.path", "/opt/musl\n/usr/lib\n"),
        lib("opt/musl/libz.so.1"),
        lib("opt/lib/x86_64-linux-gnu/libmulti.so"),
        lib("usr/local/lib/libdefault.so"),
        lib("app/bin/prog"),
        lib("app/lib/libr.so"),
        lib("app/rp/libr.so"),
    ]);
    let report = report(entries);
    let loader = "lib/ld-musl-x86_64.so.1";
    // glibc's names for musl's pieces, in a glibc-built library loaded by musl.
    let info = elf(
        None,
        &[],
        &[],
        &[
            "libc.so.6",
            "libm.so.6",
            "libpthread.so.0",
            "libdl.so.2",
            "libc.so",
        ],
    );
    assert_eq!(resolved(&report, &info, "app/x.so"), [loader; 5]);
    // The path file replaces the defaults; `$LIB` is glibc's only.
    let info = elf(
        Some(ALPINE_LOADER),
        &[],
        &["/opt/$LIB"],
        &["libz.so.1", "libmulti.so", "libdefault.so", "libgcc_s.so.1"],
    );
    assert_eq!(
        resolved(&report, &info, "app/bin/prog"),
        ["opt/musl/libz.so.1", "missing", "missing", "missing"]
    );
    // musl takes the RUNPATH, or else the RPATH.
    let info = elf(
        Some(ALPINE_LOADER),
        &["/app/rp"],
        &["/app/lib"],
        &["libr.so"],
    );
    assert_eq!(
        resolved(&report, &info, "app/bin/prog"),
        ["app/lib/libr.so"]
    );
    let info = elf(Some(ALPINE_LOADER), &["$ORIGIN/../rp"], &[], &["libr.so"]);
    assert_eq!(resolved(&report, &info, "app/bin/prog"), ["app/rp/libr.so"]);
}

#[test]
fn a_library_finds_its_siblings_a_program_does_not() {
    let mut entries = glibc_base();
    entries.extend([
        lib("app/vendored/libdep.so"),
        lib("app/vendored/libmain.so"),
    ]);
    let report = report(entries);
    let library = elf(None, &[], &[], &["libdep.so"]);
    assert_eq!(
        resolved(&report, &library, "app/vendored/libmain.so"),
        ["app/vendored/libdep.so"]
    );
    let program = elf(LD_LINUX_X86_64, &[], &[], &["libdep.so"]);
    assert_eq!(
        resolved(&report, &program, "app/vendored/prog"),
        ["missing"]
    );
}

#[test]
fn gpu_driver_libraries_are_injected_at_run_time() {
    let report = report(glibc_base());
    let info = elf(LD_LINUX_X86_64, &[], &[], &["libcuda.so.1", "libfoo.so"]);
    assert_eq!(
        resolved(&report, &info, "usr/bin/prog"),
        ["injected", "missing"]
    );
}

/// Issue 11: a library directory reached through a symlink whose target climbs 20,000 `..`,
/// and 2,000 NEEDED names to look up through it, from 20 files.
#[test]
fn lookups_through_a_symlink_with_twenty_thousand_dot_dots_are_walked_once() {
    let target = format!("{}usr/lib/real", "../".repeat(20_000));
    let mut entries = glibc_base();
    entries.extend([
        Entry::dir("usr/lib/real"),
        lib("usr/lib/real/libfound.so"),
        Entry::symlink("opt/libs", &target),
    ]);
    let report = report(entries);
    let names: Vec<String> = (0..2_000).map(|i| format!("libmissing{i}.so")).collect();
    let mut needed: Vec<&str> = names.iter().map(String::as_str).collect();
    needed.push("libfound.so");
    let info = elf(LD_LINUX_X86_64, &[], &["/opt/libs"], &needed);
    let out = budget::within_budget("2,000 names through a long symlink", || {
        let loader = Loader::new(&report.image, &report.facts.linkage.libc);
        (0..20)
            .map(|i| loader.resolve_needed(&info, format!("usr/bin/prog{i}").as_bytes()))
            .last()
            .unwrap()
    });
    assert_eq!(
        out.last().unwrap().1,
        Resolution::Found(b"opt/libs/libfound.so".to_vec())
    );
    assert_eq!(
        out.iter()
            .filter(|(_, r)| *r == Resolution::Missing)
            .count(),
        2_000
    );
}

/// Issue 11: `include` lines that fan out (every file includes every file) and cycle.
#[test]
fn ld_so_conf_include_fan_out_and_cycles_are_bounded() {
    let mut entries = glibc_base();
    entries.push(Entry::file(
        "etc/ld.so.conf",
        "include /etc/ld.so.conf.d/*\n",
    ));
    for i in 0..300 {
        entries.push(Entry::file(
            format!("etc/ld.so.conf.d/{i:03}.conf"),
            format!("include /etc/ld.so.conf.d/*\ninclude /etc/ld.so.conf\n/opt/d{i}\n"),
        ));
    }
    entries.push(lib("opt/d0/libfirst.so"));
    let report = budget::within_budget("ld.so.conf fan-out", || report(entries));
    let info = elf(LD_LINUX_X86_64, &[], &[], &["libfirst.so"]);
    assert_eq!(
        resolved(&report, &info, "usr/bin/prog"),
        ["opt/d0/libfirst.so"]
    );
    // 301 files, more than the bound: said, not silently dropped.
    let notes = &report.facts.linkage.notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("ld.so.conf: more than 256 files")),
        "{notes:?}"
    );
    let json = common::json_of(&report);
    assert!(
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["message"].as_str().unwrap().contains("ld.so.conf"))
    );
}
