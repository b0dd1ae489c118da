//! `wheels`: `.whl` files left on disk after they were installed.

use super::{Context, Finding, Rule, Saving, Severity, files, size};
use crate::analysis::Category;

pub const RULE: Rule = Rule {
    id: "wheels",
    severity: Severity::Warning,
    summary: "`.whl` files stay on disk (not Debian's own, nor ensurepip's)",
    why: "Once installed, a wheel is a second copy of the package. Debian's own `/usr/share/python-wheels` and the interpreter's `ensurepip/_bundled` are exempt: `python3 -m venv` needs them.",
    fix: "Install straight from the wheels and delete them in the same `RUN`. A multi-stage build that copies its wheels into the final stage (`COPY --from=build /wheels /wheels`, then `pip install --find-links /wheels`) mounts them instead (`RUN --mount=type=bind,from=build,source=/wheels,target=/wheels pip install --no-index --find-links /wheels ...`), so they never land in a layer.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    // Debian's own wheels and ensurepip's (a Python built from source, as in the official
    // images) are needed by venv; wheels inside a package manager's cache are the cache
    // finding's business.
    let in_cache = |node| {
        let set = ctx.facts.categories.of(node);
        [Category::PipCache, Category::UvCache, Category::PoetryCache]
            .iter()
            .any(|c| set.contains(*c))
    };
    let left_over = |node| {
        let path = ctx.image.tree.path(node);
        !path.starts_with(b"usr/share/python-wheels/")
            && !path
                .windows(b"/ensurepip/_bundled/".len())
                .any(|w| w == b"/ensurepip/_bundled/")
            && !in_cache(node)
    };
    ctx.category_by_layer(Category::Wheels, left_over)
        .into_iter()
        .filter(|(_, bytes, _)| *bytes > 0)
        .map(|(layer, bytes, members)| {
            let step = ctx.image.layers[layer].step();
            // A multi-stage build's wheels copied into the final stage only to be installed.
            let copied = step.starts_with("COPY") && step.contains("--from");
            let fix = if copied {
                "do not COPY the wheels into the final stage: install them straight from the build stage through a bind mount, `RUN --mount=type=bind,from=build,source=/wheels,target=/wheels pip install --no-index --find-links /wheels ...`, or delete them in the same RUN that installs them"
            } else {
                "delete the wheels in the same RUN that installs them (`pip install /wheels/*.whl && rm -rf /wheels`), or install them from a build stage through a bind mount (`RUN --mount=type=bind,from=build,source=/wheels,target=/wheels pip install --no-index --find-links /wheels ...`) so they never enter a layer"
            };
            let message = format!(
                "wheel files left on disk: {} in {}",
                size(bytes),
                files(members.len())
            );
            let nodes: Vec<_> = members.iter().map(|m| m.0).collect();
            let saves = members
                .iter()
                .map(|&(node, bytes)| Saving { layer, node, bytes })
                .collect();
            ctx.finding(rule, Some(layer), &nodes, bytes, message, fix.to_string())
                .saving(saves)
        })
        .collect()
}
