//! `relr-unsupported`: a file that uses packed relative relocations (DT_RELR, from
//! `-z pack-relative-relocs`), or loads a library that does, in an image whose loader predates
//! them (musl before 1.2.4, glibc before 2.36). musl applies no DT_RELR relocation and the
//! process crashes at import; glibc refuses the file (``version `GLIBC_ABI_DT_RELR' not
//! found``).

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::linkage::{Flavour, LibcFamily, Version};
use crate::layer::path::absolute;

pub const RULE: Rule = Rule {
    id: "relr-unsupported",
    severity: Severity::Error,
    summary: "a file uses (or loads a library that uses) DT_RELR relocations, which the image's loader predates (musl < 1.2.4, glibc < 2.36)",
    why: "numpy's musllinux_1_2 wheels bundle libraries linked with packed relative relocations; under musl 1.2.3 (Alpine 3.17) they segfault at import, with no error message.",
    fix: "Install an older build made for older loaders (such as a musllinux_1_1 wheel), or move to a base image whose loader supports DT_RELR (musl 1.2.4: Alpine 3.18; glibc 2.36: Debian bookworm).",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let libc = &ctx.facts.linkage.libc;
    let (flavour, needs) = match libc.family {
        Some(LibcFamily::Musl) => (Flavour::Musl, "1.2.4"),
        Some(LibcFamily::Glibc) => (Flavour::Glibc, "2.36"),
        _ => return Vec::new(),
    };
    let (Some(have), Some(needs)) = (&libc.version, Version::parse(needs)) else {
        return Vec::new();
    };
    if *have >= needs {
        return Vec::new();
    }
    let linkage = &ctx.facts.linkage;
    ctx.elf_findings(
        rule,
        ctx.native_elves()
            .filter(|e| e.flavour == flavour && !ctx.wrong_libc(e)),
        |e| {
            let user = e.relr?;
            Some(if user == e.node {
                String::new()
            } else {
                linkage
                    .by_node(user)
                    .map_or_else(String::new, |l| absolute(&l.path))
            })
        },
        |user, elves| {
            let what = if user.is_empty() {
                format!(
                    "{} use packed relative relocations (DT_RELR)",
                    plural(elves.len(), "file", "files")
                )
            } else {
                format!(
                    "{} load {user}, which uses packed relative relocations (DT_RELR)",
                    plural(elves.len(), "file", "files")
                )
            };
            let effect = match flavour {
                Flavour::Musl => "musl applies none of them and the process crashes at load",
                Flavour::Glibc => {
                    "loading fails with ``version `GLIBC_ABI_DT_RELR' not found``"
                }
            };
            format!(
                "{what}, which the image's {} predates (DT_RELR needs musl 1.2.4 or glibc 2.36): {effect}",
                ctx.libc_name()
            )
        },
        |_, elves| {
            format!(
                "{}: install an older build made for older loaders (such as a musllinux_1_1 wheel, or an earlier release), or use a base image whose loader supports DT_RELR (musl 1.2.4 or newer: Alpine 3.18+; glibc 2.36 or newer: Debian bookworm+)",
                ctx.owners(elves)
            )
        },
    )
}
