//! `compilers`: a C compiler and build toolchain (gcc, binutils, make, their libraries) in the
//! final image.

use super::{Context, Finding, Rule, Severity, files, size};
use crate::analysis::Category;

pub const RULE: Rule = Rule {
    id: "compilers",
    severity: Severity::Warning,
    summary: "a layer leaves >= 1 MB of compilers and build tools",
    why: "A toolchain is needed to build extension modules, not to run them; it is often the biggest single item in a Python image, and it widens the attack surface.",
    fix: "A multi-stage build: compile wheels in a builder stage that has `build-essential`, and copy only the installed packages (or the wheels) into a slim runtime stage.",
    check,
};

/// Below this, a stray tool (a lone `make`, `strings`) is not worth a warning.
const MIN_BYTES: u64 = 1_000_000;

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let findings = ctx.category_findings(
        rule,
        Category::Compilers,
        MIN_BYTES,
        |_| true,
        |bytes, n| format!("compilers and build tools in the final image: {} in {}", size(bytes), files(n)),
        "use a multi-stage build: install build-essential and build wheels in a builder stage, then `COPY --from=builder` only the installed packages into a slim runtime stage",
    );
    findings
        .into_iter()
        .map(|f| ctx.fix_for_full_base(f))
        .collect()
}
