//! `apt-cache`: apt's package lists (`/var/lib/apt/lists`) or downloaded archives
//! (`/var/cache/apt`) left in the image.

use super::{Context, Finding, Rule, Severity, files, size};
use crate::analysis::Category;

pub const RULE: Rule = Rule {
    id: "apt-cache",
    severity: Severity::Warning,
    summary: "apt lists or archives are left in a layer",
    why: "They are only needed to install more packages, and are tens of MB.",
    fix: "Remove them in the same `RUN` that runs `apt-get update`: `apt-get update && apt-get install -y --no-install-recommends ... && rm -rf /var/lib/apt/lists/*`. Removing them in a later `RUN` does not shrink the image.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    ctx.category_findings(
        rule,
        Category::AptCache,
        1,
        |_| true,
        |bytes, n| format!("apt lists and archives left in the image: {} in {}", size(bytes), files(n)),
        "in the same RUN as `apt-get update`, end with `&& apt-get clean && rm -rf /var/lib/apt/lists/*`; removing them in a later step does not shrink the image",
    )
}
