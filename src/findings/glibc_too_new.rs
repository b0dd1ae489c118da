//! `glibc-too-new`: ELF files that need a newer glibc than the image has.

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::linkage::LibcFamily;

pub const RULE: Rule = Rule {
    id: "glibc-too-new",
    severity: Severity::Error,
    summary: "an ELF file needs a `GLIBC_x.y` newer than the image's glibc (names the symbols and both versions)",
    why: "A library built on a newer distribution (or a wheel tagged for a newer manylinux) fails at import with ``version `GLIBC_2.38' not found``.",
    fix: "Install a build made for this glibc or older (a manylinux wheel whose glibc version is at most the image's, or build it in the image), or move to a base image with a newer glibc.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let libc = &ctx.facts.linkage.libc;
    // Judged against the symbol versions libc.so.6 defines (glibc 2.31 defines GLIBC_2.30 at
    // most): a need is met exactly when its version is defined.
    let defined = libc.glibc_symbols.as_ref().or(libc.version.as_ref());
    let (Some(LibcFamily::Glibc), Some(have)) = (libc.family, defined) else {
        return Vec::new();
    };
    ctx.elf_findings(
        rule,
        ctx.native_elves().filter(|e| !ctx.wrong_libc(e)),
        |e| e.glibc.as_ref().filter(|f| f.version > *have).map(|f| f.version.to_string()),
        |need, elves| {
            let mut symbols: Vec<&str> = elves
                .iter()
                .filter_map(|e| e.glibc.as_ref())
                .flat_map(|f| f.symbols.iter().map(String::as_str))
                .collect();
            symbols.sort();
            symbols.dedup();
            symbols.truncate(6);
            format!(
                "{} need GLIBC_{need} ({}) but the image has {}: loading fails with ``version `GLIBC_{need}' not found``",
                plural(elves.len(), "file", "files"),
                symbols.join(", "),
                ctx.libc_name()
            )
        },
        |need, elves| {
            let have = libc.version.as_ref().unwrap_or(have);
            format!(
                "{}: install a build for glibc {have} or older (a manylinux_{} wheel, an older release, or build it in this image with `pip install --no-binary`), or use a base image with glibc {need} or newer",
                ctx.owners(elves),
                have.to_string().replace('.', "_"),
            )
        },
    )
}
