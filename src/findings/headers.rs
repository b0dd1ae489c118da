//! `headers`: C and C++ headers (`/usr/include`, Python's `include/python3.x`, `*.h`).

use super::{Context, Finding, Rule, Severity, files, size};
use crate::analysis::Category;

pub const RULE: Rule = Rule {
    id: "headers",
    severity: Severity::Info,
    summary: "a layer leaves >= 1 MB of C/C++ headers",
    why: "Headers are only read by a compiler; a runtime image does not need them. They usually arrive with `-dev` packages installed to build an extension module.",
    fix: "Build in a builder stage of a multi-stage build, and install only the runtime libraries (not the `-dev` packages) in the final stage.",
    check,
};

const MIN_BYTES: u64 = 1_000_000;

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let findings = ctx.category_findings(
        rule,
        Category::Headers,
        MIN_BYTES,
        |_| true,
        |bytes, n| format!("C/C++ headers in the final image: {} in {}", size(bytes), files(n)),
        "install -dev packages only in a builder stage of a multi-stage build; the runtime stage needs the libraries, not their headers",
    );
    findings
        .into_iter()
        .map(|f| ctx.fix_for_full_base(f))
        .collect()
}
