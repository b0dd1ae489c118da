//! `glibc-in-musl-image`: compiled code built against glibc that musl's loader cannot load in
//! an image whose C library is musl (Alpine). musl answers glibc's `libc.so.6`, `libm.so.6`
//! and the rest itself and ignores symbol versions, so a glibc-built file that needs only
//! what musl defines loads; what fails is a library that is not there (`libgcc_s.so.1`,
//! `ld-linux-x86-64.so.2`) or a glibc-only symbol (`__isnan`, `__strdup`).

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::linkage::{ElfFacts, LibcFamily};
use crate::layer::path::absolute;

pub const RULE: Rule = Rule {
    id: "glibc-in-musl-image",
    severity: Severity::Error,
    summary: "a glibc-built library or program that musl's loader cannot load (a library not there, a glibc-only symbol) in a musl image",
    why: "A manylinux wheel on Alpine fails with `Error loading shared library libgcc_s.so.1` or `Error relocating ...: __isnan: symbol not found`; gcompat covers only part of glibc.",
    fix: "Install the package's musllinux wheel (pip picks it on Alpine when one exists), build it from source on Alpine, or use a Debian-based Python image.",
    check,
};

/// What musl's loader stops at first, as a grouping key: `library NAME`, `symbol NAME` or
/// `interpreter PATH`.
fn failure(e: &ElfFacts) -> Option<String> {
    if e.interpreter_found == Some(false) {
        return e
            .info
            .interpreter
            .as_ref()
            .map(|i| format!("interpreter {i}"));
    }
    if let Some(name) = e.unresolved().next() {
        return Some(format!("library {name}"));
    }
    e.missing_symbols
        .first()
        .map(|s| format!("symbol {}", s.name))
}

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    if ctx.facts.linkage.libc.family != Some(LibcFamily::Musl) {
        return Vec::new();
    }
    ctx.elf_findings(
        rule,
        ctx.native_elves(),
        |e| {
            let glibc = matches!(e.libc, LibcFamily::Glibc | LibcFamily::Mixed);
            glibc.then(|| failure(e)).flatten()
        },
        |key, elves| {
            let file = absolute(&elves[0].path);
            let error = match key.split_once(' ') {
                Some(("interpreter", path)) => {
                    format!("cannot run: its loader {path} is not in the image")
                }
                Some(("library", name)) => format!(
                    "loading fails with `Error loading shared library {name}: No such file or directory (needed by {file})`"
                ),
                Some((_, symbol)) => format!(
                    "loading fails with `Error relocating {file}: {symbol}: symbol not found`"
                ),
                None => String::new(),
            };
            format!(
                "{} built against glibc in an image whose C library is {}: {error}",
                plural(elves.len(), "file", "files"),
                ctx.libc_name()
            )
        },
        |_, elves| {
            format!(
                "{}: install the musllinux wheel (pip picks it inside an Alpine image when one is published), build it from source on Alpine (`pip install --no-binary=<package>` with build-base), or use a Debian-based image such as python:3.x-slim",
                ctx.owners(elves)
            )
        },
    )
}
