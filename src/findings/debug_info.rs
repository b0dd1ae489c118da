//! `debug-info`: ELF files that still carry debug sections and symbol tables.

use super::{Context, Finding, Rule, Severity, files, size};
use crate::analysis::Category;

pub const RULE: Rule = Rule {
    id: "debug-info",
    severity: Severity::Info,
    summary: "a layer's ELF files hold >= 1 MB that `strip` would remove",
    why: "`.debug_*`, `.symtab` and `.strtab` are for debuggers; at run time they are dead weight, often half of an unstripped library.",
    fix: "Strip in the same `RUN` that installs (`find /venv -name '*.so' -exec strip --strip-unneeded {} +`), or build with `-s`; keep the debug files in a separate artifact.",
    check,
};

const MIN_BYTES: u64 = 1_000_000;

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    ctx.category_findings(
        rule,
        Category::DebugInfo,
        MIN_BYTES,
        |_| true,
        |bytes, n| format!("`strip` would save {} in {}", size(bytes), files(n)),
        "strip in the same RUN that installs: `find / -xdev -name '*.so*' -type f -exec strip --strip-unneeded {} +` (or build with `-s`), keeping debug files outside the image",
    )
}
