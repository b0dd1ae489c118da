//! `missing-symbol`: a symbol an ELF file needs that nothing the loader would load defines,
//! in a file built for the image's C library: an extension built against another version of
//! a library (`ImportError: ... undefined symbol`), an extension module needing a `Py*`
//! function its Python lacks, or a musl file needing what the image's musl lacks. glibc-built files in a musl image have their own rule, and so do `GLIBC_`,
//! `GLIBCXX_` and `CXXABI_` versions (`glibc-too-new`, `glibcxx-too-new`) and missing
//! libraries (`unresolved-library`).

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::linkage::{ElfFacts, Flavour, MissingSymbol};
use crate::layer::path::absolute;

pub const RULE: Rule = Rule {
    id: "missing-symbol",
    severity: Severity::Error,
    summary: "an ELF file needs a symbol that no library the loader would load defines",
    why: "The import fails with `undefined symbol: ...` (glibc) or `Error relocating ...: symbol not found` (musl), typically for an extension built against another version of a library than the image has.",
    fix: "Install the build of the package made for the libraries in this image (or the library version it was built against), or rebuild it in the image.",
    check,
};

/// The symbols this rule reports: not those of versions other rules judge.
fn reported(e: &ElfFacts) -> Vec<&MissingSymbol> {
    e.missing_symbols
        .iter()
        .filter(|s| {
            !s.version.as_deref().is_some_and(|v| {
                v.starts_with("GLIBC_") || v.starts_with("GLIBCXX_") || v.starts_with("CXXABI_")
            })
        })
        .collect()
}

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    ctx.elf_findings(
        rule,
        ctx.native_elves()
            .filter(|e| !ctx.wrong_libc(e) && e.unresolved().next().is_none()),
        |e| {
            let names: Vec<&str> = reported(e).iter().map(|s| s.name.as_str()).collect();
            (!names.is_empty()).then(|| names.join(", "))
        },
        |names, elves| {
            let e = elves[0];
            let first = reported(e)[0];
            let error = match (e.flavour, &first.version) {
                (Flavour::Musl, _) => format!(
                    "Error relocating {}: {}: symbol not found",
                    absolute(&e.path),
                    first.name
                ),
                (Flavour::Glibc, Some(v)) => {
                    format!("undefined symbol: {}, version {v}", first.name)
                }
                (Flavour::Glibc, None) => format!("undefined symbol: {}", first.name),
            };
            format!(
                "{names} needed by {} but defined by nothing the loader would load: loading fails with `{error}`",
                plural(elves.len(), "file", "files"),
            )
        },
        |_, elves| {
            format!(
                "{}: install the build made for this image's libraries (or the library version it was built against), or rebuild it in the image",
                ctx.owners(elves)
            )
        },
    )
}
