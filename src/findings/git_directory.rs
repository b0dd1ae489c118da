//! `git-directory`: a `.git` directory copied into the image, usually by `COPY . .` without a
//! `.dockerignore`.

use super::{Context, Finding, Rule, Severity, size};
use crate::layer::path::absolute;

pub const RULE: Rule = Rule {
    id: "git-directory",
    severity: Severity::Warning,
    summary: "a .git directory was copied into the image",
    why: "It holds the project's whole history, which may include secrets removed from the working tree long ago, and the remote URL with any token in it; it is rarely small.",
    fix: "Add `.git` to `.dockerignore`; build from `git archive` or a clean checkout if the image needs the commit, and pass it as a build argument instead.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    ctx.facts
        .security
        .git_dirs
        .iter()
        .map(|g| {
            let node = ctx.image.tree.lookup(&g.path);
            let mut finding = ctx.finding(
                rule,
                Some(g.layer),
                &node.into_iter().collect::<Vec<_>>(),
                g.bytes,
                format!(
                    "a .git directory ({}, {} files, {}) is in the image: the project's whole history, and the remote's URL",
                    absolute(&g.path),
                    g.files,
                    size(g.bytes)
                ),
                "add `.git` to `.dockerignore`; if the image needs the commit, pass it as a build argument".into(),
            );
            if finding.paths.is_empty() {
                finding.paths = vec![absolute(&g.path)];
                finding.path_count = 1;
            }
            finding
        })
        .collect()
}
