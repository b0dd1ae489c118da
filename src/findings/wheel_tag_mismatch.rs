//! `wheel-tag-mismatch`: an installed wheel whose platform tags the image cannot satisfy:
//! `manylinux_2_38` on glibc 2.36, `musllinux_*` on glibc, `manylinux*` on musl, another
//! architecture.

use super::{Context, Finding, Rule, Severity};
use crate::analysis::python::platform_fits;

pub const RULE: Rule = Rule {
    id: "wheel-tag-mismatch",
    severity: Severity::Warning,
    summary: "a `WHEEL` tag the image's libc or architecture cannot satisfy (`manylinux_2_38` on glibc 2.36, `musllinux_*` on glibc)",
    why: "The image's own pip would never have chosen that wheel; it was installed with `--platform`, copied from another image, or built elsewhere, and its compiled code is likely to fail at import.",
    fix: "Reinstall the package with the image's own pip so that it picks a compatible wheel.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let libc = &ctx.facts.linkage.libc;
    let arch = ctx.image.arch().map_or("unknown", |a| a.wheel);
    let mut out = Vec::new();
    for dist in &ctx.facts.python.distributions {
        if dist.wheel_tags.is_empty() {
            continue;
        }
        let fits = dist.wheel_tags.iter().any(|tag| {
            // A tag is python-abi-platform; the platform part may hold several, joined by dots.
            let platforms = tag.rsplit('-').next().unwrap_or("");
            platforms
                .split('.')
                .any(|p| platform_fits(p, arch, libc.family, libc.version.as_ref()))
        });
        if fits {
            continue;
        }
        let message = format!(
            "{} {} was installed from a wheel tagged {}, which an image with {} on {arch} cannot satisfy",
            dist.name,
            dist.version,
            dist.wheel_tags.join(", "),
            ctx.libc_name()
        );
        let fix = format!(
            "reinstall it with the image's own pip so it picks a compatible wheel: `pip install --force-reinstall {}=={}` (not `pip download --platform` or a site-packages copied from another image)",
            dist.name, dist.version
        );
        let metadata = ctx.image.tree.lookup(&dist.metadata);
        let nodes: Vec<_> = metadata
            .into_iter()
            .chain(dist.extensions.iter().copied())
            .collect();
        out.push(ctx.finding(
            rule,
            Some(dist.layer),
            &nodes,
            dist.size_bytes,
            message,
            fix,
        ));
    }
    out
}
