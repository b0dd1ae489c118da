//! `wheels`: `.whl` files left on disk after they were installed.

use super::{Context, Finding, Rule, Severity, files, size};
use crate::analysis::Category;

pub const RULE: Rule = Rule {
    id: "wheels",
    severity: Severity::Warning,
    summary: "`.whl` files stay on disk (not Debian's own)",
    why: "Once installed, a wheel is a second copy of the package. Debian's own `/usr/share/python-wheels` are exempt: `python3 -m venv` needs them.",
    fix: "Install straight from the wheels and delete them in the same `RUN`, or mount them from a builder stage (`RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels pip install /wheels/*.whl`) so they never land in a layer.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    // Debian's own wheels are needed by venv; wheels inside a package manager's cache are
    // the cache finding's business.
    let in_cache = |node| {
        let set = ctx.facts.categories.of(node);
        [Category::PipCache, Category::UvCache, Category::PoetryCache]
            .iter()
            .any(|c| set.contains(*c))
    };
    let debian_wheels = |node| {
        !ctx.image
            .tree
            .path(node)
            .starts_with(b"usr/share/python-wheels/")
            && !in_cache(node)
    };
    ctx.category_findings(
        rule,
        Category::Wheels,
        1,
        debian_wheels,
        |bytes, n| format!("wheel files left on disk: {} in {}", size(bytes), files(n)),
        "delete the wheels in the same RUN that installs them (`pip install /wheels/*.whl && rm -rf /wheels`), or bind-mount them from a builder stage with `RUN --mount=type=bind,from=builder,...` so they never enter a layer",
    )
}
