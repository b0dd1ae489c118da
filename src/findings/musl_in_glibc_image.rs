//! `musl-in-glibc-image`: compiled code built against musl (Alpine's C library) in an image
//! whose C library is glibc.

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::linkage::{LibcFamily, Resolution};

pub const RULE: Rule = Rule {
    id: "musl-in-glibc-image",
    severity: Severity::Error,
    summary: "a musl-built library (or a musl program whose musl pieces are missing) in a glibc image",
    why: "A musllinux wheel installed on Debian or Ubuntu imports with `libc.musl-x86_64.so.1: cannot open shared object file` on x86-64 (or crashes, when both C libraries end up in one process).",
    fix: "Install the manylinux wheel of the same package with the image's own pip (a musllinux wheel usually arrives through `pip download --platform` or a copied site-packages), or build the image on an Alpine base.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    if ctx.facts.linkage.libc.family != Some(LibcFamily::Glibc) {
        return Vec::new();
    }
    ctx.elf_findings(
        rule,
        ctx.native_elves(),
        |e| {
            let musl = matches!(e.libc, LibcFamily::Musl | LibcFamily::Mixed);
            // A program with its own musl loader runs as a process of its own; a library is
            // loaded into glibc processes, and anything whose musl pieces are missing fails.
            let library = e.info.interpreter.is_none();
            let broken = e.interpreter_found == Some(false)
                || e.needed.iter().any(|(_, r)| *r == Resolution::Missing);
            (musl && (library || broken)).then(String::new)
        },
        |_, elves| {
            let missing = elves
                .iter()
                .flat_map(|e| &e.info.needed)
                .find(|n| n.starts_with("libc.musl") || n.starts_with("ld-musl") || *n == "libc.so")
                .map_or_else(|| ctx.arch().musl_libc(), String::clone);
            format!(
                "{} built against musl in an image whose C library is {}: loading fails with `{missing}: cannot open shared object file: No such file or directory`",
                plural(elves.len(), "file", "files"),
                ctx.libc_name()
            )
        },
        |_, elves| {
            format!(
                "{}: install the manylinux (glibc) build with the image's own pip, e.g. `pip install --force-reinstall --only-binary=:all: <package>`, instead of a musllinux wheel; or use an Alpine (musl) base image",
                ctx.owners(elves)
            )
        },
    )
}
