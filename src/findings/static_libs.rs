//! `static-libs`: static libraries (`*.a`) in the final image.

use super::{Context, Finding, Rule, Severity, files, size};
use crate::analysis::Category;

pub const RULE: Rule = Rule {
    id: "static-libs",
    severity: Severity::Info,
    summary: "a layer leaves >= 1 MB of `*.a`",
    why: "They are only read by a linker; they arrive with `-dev` packages and Python's own `libpython3.x.a`.",
    fix: "Build in a builder stage, or delete `*.a` in the same `RUN` that installs them.",
    check,
};

const MIN_BYTES: u64 = 1_000_000;

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    ctx.category_findings(
        rule,
        Category::StaticLibs,
        MIN_BYTES,
        |_| true,
        |bytes, n| format!("static libraries in the final image: {} in {}", size(bytes), files(n)),
        "link in a builder stage of a multi-stage build, or `find / -xdev -name '*.a' -delete` in the same RUN that installs them",
    )
}
