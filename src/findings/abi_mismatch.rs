//! `abi-mismatch`: an extension module whose ABI tag (`cpython-310-x86_64-linux-gnu`,
//! `...-linux-musl`) no Python interpreter in the image loads.

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::python::{extension_tag, interpreter_loads};

pub const RULE: Rule = Rule {
    id: "abi-mismatch",
    severity: Severity::Error,
    summary: "an extension module's tag (`cpython-310-...`, `...-linux-musl`) fits no interpreter in the image",
    why: "CPython only imports extension modules tagged for its own version and platform; the module is dead weight, and `import` fails with `ModuleNotFoundError` or falls back to something slower.",
    fix: "Install the package with the image's own interpreter (`python3.X -m pip install`) rather than copying a site-packages built for another Python.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let interpreters = &ctx.facts.python.interpreters;
    // Without a recognised interpreter there is nothing to judge the tags against.
    if interpreters.is_empty() {
        return Vec::new();
    }
    let arch = ctx.image.arch().map_or("unknown", |a| a.wheel);
    let have: Vec<String> = interpreters
        .iter()
        .map(|i| format!("{} ({:?})", i.version, i.libc).to_lowercase())
        .collect();
    ctx.elf_findings(
        rule,
        ctx.native_elves(),
        |e| {
            let tag = extension_tag(&ctx.image.tree.node(e.node).name)?;
            (!interpreters.iter().any(|i| interpreter_loads(i, &tag, arch))).then_some(tag)
        },
        |tag, elves| {
            format!(
                "{} tagged {tag}, but the image's Python is {}: no interpreter here imports them",
                plural(elves.len(), "extension module", "extension modules"),
                have.join(", ")
            )
        },
        |_, elves| {
            format!(
                "{}: install it with the image's own interpreter (`python3 -m pip install ...` in the final stage) rather than copying site-packages built for another Python",
                ctx.owners(elves)
            )
        },
    )
}
