//! `glibc-in-musl-image`: compiled code built against glibc in an image whose C library is
//! musl (Alpine).

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::linkage::LibcFamily;

pub const RULE: Rule = Rule {
    id: "glibc-in-musl-image",
    severity: Severity::Error,
    summary: "a glibc-built library or program in a musl image",
    why: "A manylinux wheel on Alpine fails with `Error loading shared library ld-linux-x86-64.so.2` on x86-64 or `Error relocating ...: symbol not found`; gcompat covers only part of glibc.",
    fix: "Install the package's musllinux wheel (pip picks it on Alpine when one exists), build it from source on Alpine, or use a Debian-based Python image.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    if ctx.facts.linkage.libc.family != Some(LibcFamily::Musl) {
        return Vec::new();
    }
    ctx.elf_findings(
        rule,
        ctx.native_elves(),
        |e| matches!(e.libc, LibcFamily::Glibc | LibcFamily::Mixed).then(String::new),
        |_, elves| {
            let missing = elves
                .iter()
                .flat_map(|e| e.unresolved())
                .next()
                .map_or_else(|| ctx.arch().glibc_loader.to_string(), str::to_string);
            format!(
                "{} built against glibc in an image whose C library is {}: loading fails with `Error loading shared library {missing}`",
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
