//! `tests-in-site-packages`: test suites installed with Python packages.

use super::{Context, Finding, Rule, Severity, files, size};
use crate::analysis::Category;

pub const RULE: Rule = Rule {
    id: "tests-in-site-packages",
    severity: Severity::Info,
    summary: "a layer leaves >= 1 MB of packages' test suites",
    why: "`numpy/core/tests`, `pandas/tests` and the like are tens of MB that no application imports.",
    fix: "Delete them in the same `RUN` as the install (`find /venv -type d -name tests -path '*site-packages*' -prune -exec rm -rf {} +`).",
    check,
};

const MIN_BYTES: u64 = 1_000_000;

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    ctx.category_findings(
        rule,
        Category::Tests,
        MIN_BYTES,
        |_| true,
        |bytes, n| format!("packages' test suites: {} in {}", size(bytes), files(n)),
        "remove them in the same RUN as the install: `find / -xdev -type d \\( -name tests -o -name test \\) -path '*-packages/*' -prune -exec rm -rf {} +`",
    )
}
