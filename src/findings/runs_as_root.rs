//! `runs-as-root`: the image's config runs its container as root (no `USER`, or `USER root` or
//! `USER 0`).

use super::{Context, Finding, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "runs-as-root",
    severity: Severity::Warning,
    summary: "the container runs as root (no USER, or USER root or 0)",
    why: "A process that breaks out of, or is broken into inside, a root container has root's rights over everything the container can reach (mounted volumes, a shared network, the kernel's attack surface). Most Python services need none of them.",
    fix: "Create a user and switch to it after the steps that need root: `RUN useradd --uid 10001 --no-create-home app` (Alpine: `adduser -D -u 10001 app`) then `USER 10001`.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let security = &ctx.facts.security;
    if !security.runs_as_root() {
        return Vec::new();
    }
    let how = match security.user.as_deref().map(str::trim) {
        None | Some("") => "the image sets no USER".to_string(),
        Some(user) => format!("the image sets USER {user}"),
    };
    vec![ctx.finding(
        rule,
        None,
        &[],
        0,
        format!("the container runs as root: {how}"),
        "create a user and switch to it after the steps that need root: `RUN useradd --uid 10001 --no-create-home app` (Alpine: `adduser -D -u 10001 app`), then `USER 10001`".into(),
    )]
}
