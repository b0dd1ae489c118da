//! `interpreter-missing`: a program whose program loader (PT_INTERP, e.g.
//! `/lib64/ld-linux-x86-64.so.2`) is not in the image.

use super::{Context, Finding, Rule, Severity, plural};

pub const RULE: Rule = Rule {
    id: "interpreter-missing",
    severity: Severity::Error,
    summary: "a program's PT_INTERP loader is not in the image",
    why: "Running it fails with a confusing `no such file or directory`, though the file is there: the kernel cannot find its loader.",
    fix: "Install the C library the program was built for, or rebuild it for this image (or statically).",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    ctx.elf_findings(
        rule,
        ctx.native_elves().filter(|e| !ctx.wrong_libc(e)),
        |e| (e.interpreter_found == Some(false)).then(|| e.info.interpreter.clone().unwrap_or_default()),
        |loader, elves| {
            format!(
                "{} need the program loader {loader}, which is not in the image: running them fails with `no such file or directory`",
                plural(elves.len(), "program", "programs")
            )
        },
        |loader, elves| {
            format!(
                "{}: install the C library that provides {loader} (glibc: libc6; musl: musl), or rebuild the program for this image or statically",
                ctx.owners(elves)
            )
        },
    )
}
