//! `arch-mismatch`: ELF files for another CPU architecture than the image's.
//!
//! Why: an aarch64 wheel in an amd64 image (or the reverse) fails at import with `cannot open
//! shared object file` or `wrong ELF class`/`Exec format error`.
//!
//! Fix: install packages inside the image (or with `--platform` matching the image), and build
//! multi-architecture images with `docker buildx build --platform`.

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::categories::triplet;
use crate::analysis::linkage::{is_foreign_place, machine_for, machine_name};

pub const RULE: Rule = Rule {
    id: "arch-mismatch",
    severity: Severity::Error,
    summary: "an ELF file built for another architecture than the image's",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let image = ctx.image;
    let Some(machine) = machine_for(&image.architecture) else {
        return Vec::new();
    };
    let own = triplet(&image.architecture, image.variant.as_deref());
    ctx.elf_findings(
        rule,
        ctx.facts.linkage.elves.iter(),
        |e| (e.info.machine != machine && !is_foreign_place(&e.path, own)).then(|| machine_name(e.info.machine)),
        |key, elves| {
            format!(
                "{} built for {key} in a {}/{} image: they cannot be loaded or run here",
                plural(elves.len(), "file", "files"),
                image.os,
                image.architecture
            )
        },
        |key, elves| {
            format!(
                "{}: install it inside the image, or download wheels with `pip download --platform` for {} rather than {key}; build multi-architecture images with `docker buildx build --platform`",
                ctx.owners(elves),
                image.architecture
            )
        },
    )
}
