//! `arch-mismatch`: ELF files for another CPU architecture than the image's.

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::linkage::is_foreign_place;
use crate::model::machine_name;

pub const RULE: Rule = Rule {
    id: "arch-mismatch",
    severity: Severity::Error,
    summary: "an ELF file's machine is not the image's architecture (32-bit x86 or arm files in amd64 or arm64 images excepted)",
    why: "An aarch64 wheel in an amd64 image (or the reverse) fails at import with `cannot open shared object file` or `wrong ELF class`/`Exec format error`.",
    fix: "Install packages inside the image (or with `--platform` matching the image), and build multi-architecture images with `docker buildx build --platform`.",
    check,
};

/// The 32-bit code a 64-bit machine also runs: packages such as debugpy ship both and pick
/// one at run time, so an i386 file in an amd64 image is not a mistake.
fn is_32_bit_sibling(image_machine: u16, file_machine: u16) -> bool {
    use goblin::elf::header::{EM_386, EM_AARCH64, EM_ARM, EM_X86_64};
    matches!(
        (image_machine, file_machine),
        (EM_X86_64, EM_386) | (EM_AARCH64, EM_ARM)
    )
}

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let image = ctx.image;
    let Some(arch) = image.arch() else {
        return Vec::new();
    };
    let (machine, own) = (arch.machine, Some(arch.triplet));
    ctx.elf_findings(
        rule,
        ctx.facts.linkage.elves.iter(),
        |e| {
            let foreign = e.info.machine != machine
                && !is_32_bit_sibling(machine, e.info.machine)
                && !is_foreign_place(&e.path, own);
            foreign.then(|| machine_name(e.info.machine))
        },
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
