//! `pip-cache`: pip's, uv's or poetry's download and wheel cache left in the image.

use super::{Context, Finding, Rule, Severity, files, size};
use crate::analysis::Category;

pub const RULE: Rule = Rule {
    id: "pip-cache",
    severity: Severity::Warning,
    summary: "a pip, uv or poetry cache of >= 64 kB is left in a layer",
    why: "The cache only speeds up the next install on the same machine; in an image it is dead weight, often as large as the packages themselves.",
    fix: "`pip install --no-cache-dir`, or `ENV PIP_NO_CACHE_DIR=1`, or keep the cache out of the layer with a BuildKit cache mount (`RUN --mount=type=cache,target=/root/.cache/pip ...`). The same for uv (`UV_NO_CACHE=1`, or a cache mount on `/root/.cache/uv`) and poetry.",
    check,
};

/// Below this a cache holds only pip's self-check state, not downloads.
const MIN_BYTES: u64 = 64 * 1024;

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let caches = [
        (
            Category::PipCache,
            "pip",
            "use `pip install --no-cache-dir` (or `ENV PIP_NO_CACHE_DIR=1`), or a BuildKit cache mount: `RUN --mount=type=cache,target=/root/.cache/pip pip install ...`",
        ),
        (
            Category::UvCache,
            "uv",
            "set `ENV UV_NO_CACHE=1`, or use a BuildKit cache mount: `RUN --mount=type=cache,target=/root/.cache/uv uv pip install ...`",
        ),
        (
            Category::PoetryCache,
            "poetry",
            "run `poetry install` with `--no-cache` or remove `~/.cache/pypoetry` in the same RUN, or use a BuildKit cache mount on it",
        ),
    ];
    caches
        .iter()
        .flat_map(|(category, tool, fix)| {
            ctx.category_findings(
                rule,
                *category,
                MIN_BYTES,
                |_| true,
                |bytes, n| {
                    format!(
                        "{tool} cache left in the image: {} in {}",
                        size(bytes),
                        files(n)
                    )
                },
                fix,
            )
        })
        .collect()
}
