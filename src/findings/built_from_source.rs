//! `built-from-source`: Python distributions whose extension modules pip compiled inside the
//! image, with a compiler the image carried at that step.

use std::collections::BTreeMap;

use super::{Context, Finding, Rule, Severity, plural, size};
use crate::analysis::Category;
use crate::analysis::base::built_from_source;
use crate::analysis::linkage::LibcFamily;
use crate::analysis::python::Distribution;
use crate::model::NodeId;

pub const RULE: Rule = Rule {
    id: "built-from-source",
    severity: Severity::Info,
    summary: "a distribution's WHEEL tag is a bare platform (`linux_x86_64`) or it has no wheel tag, and a compiler was in the image at its step",
    why: "pip gives a wheel it built from an sdist a bare platform tag; `setup.py install` leaves no wheel tag. The build needs a compiler, headers and `-dev` packages in the image (or in the step's layers) and runs again on every rebuild. A manylinux or musllinux wheel installs as it is when the extension needs only the libraries such wheels may assume; otherwise the wheel carries its libraries (auditwheel repair).",
    fix: "Install the project's manylinux or musllinux wheel where it publishes one; otherwise build the wheel once in a build stage and install it in the final stage through a bind mount, so no compiler reaches the final image.",
    check,
};

/// The libraries a manylinux wheel may take from the system (auditwheel's policy), and what
/// musl's loader provides itself for a musllinux wheel.
const MANYLINUX_LIBS: &[&str] = &[
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libm.so.6",
    "libdl.so.2",
    "librt.so.1",
    "libc.so.6",
    "libnsl.so.1",
    "libutil.so.1",
    "libpthread.so.0",
    "libresolv.so.2",
    "libX11.so.6",
    "libXext.so.6",
    "libXrender.so.1",
    "libICE.so.6",
    "libSM.so.6",
    "libGL.so.1",
    "libgobject-2.0.so.0",
    "libgthread-2.0.so.0",
    "libglib-2.0.so.0",
    "libcrypt.so.1",
];

fn policy_allows(name: &str, musl: bool) -> bool {
    if name.starts_with("ld-linux") || name.starts_with("ld-musl") {
        return true;
    }
    if musl {
        return name.starts_with("libc.musl-")
            || name == "libc.so"
            || ["libgcc_s.so.1", "libstdc++.so.6"].contains(&name)
            || [
                "libm.",
                "libpthread.",
                "libdl.",
                "librt.",
                "libutil.",
                "libc.",
            ]
            .iter()
            .any(|p| name.starts_with(p));
    }
    MANYLINUX_LIBS.contains(&name)
}

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let musl = ctx.facts.linkage.libc.family == Some(LibcFamily::Musl);
    // A compiler was there when the step ran: added by that layer or one below it.
    let compilers_up_to = |layer: usize| -> u64 {
        ctx.facts
            .categories
            .added_by_layer
            .iter()
            .take(layer + 1)
            .filter_map(|c| c.get(&Category::Compilers))
            .map(|t| t.bytes)
            .sum()
    };
    let mut by_layer: BTreeMap<usize, Vec<&Distribution>> = BTreeMap::new();
    for d in &ctx.facts.python.distributions {
        if built_from_source(d) && compilers_up_to(d.layer) > 0 {
            by_layer.entry(d.layer).or_default().push(d);
        }
    }
    let tag = if musl { "musllinux" } else { "manylinux" };
    by_layer
        .into_iter()
        .map(|(layer, dists)| {
            let mut parts = Vec::new();
            let mut nodes: Vec<NodeId> = Vec::new();
            let mut bytes = 0;
            for d in &dists {
                nodes.extend(&d.extensions);
                bytes += d.size_bytes;
                let mut foreign: Vec<&str> = d
                    .extensions
                    .iter()
                    .filter_map(|&n| ctx.facts.linkage.by_node(n))
                    .flat_map(|e| e.info.needed.iter().map(String::as_str))
                    .filter(|lib| !policy_allows(lib, musl))
                    .collect();
                foreign.sort_unstable();
                foreign.dedup();
                let how = match d.wheel_tags.first() {
                    Some(t) => format!("wheel tag {t}"),
                    None => "no wheel tag".to_string(),
                };
                let serves = if foreign.is_empty() {
                    format!("its extension modules need only libraries a {tag} wheel may assume, so a {tag} wheel would serve")
                } else {
                    format!(
                        "its extension modules also load {}, which a {tag} wheel has to carry (auditwheel repair)",
                        foreign.join(", ")
                    )
                };
                parts.push(format!("{} {} ({how}, {}): {serves}", d.name, d.version, size(d.size_bytes)));
            }
            let names: Vec<&str> = dists.iter().map(|d| d.name.as_str()).collect();
            let message = format!(
                "{} compiled from source in this step: {}",
                plural(dists.len(), "distribution", "distributions"),
                parts.join("; ")
            );
            let fix = format!(
                "install a {tag} wheel where the project publishes one for this Python and platform (`pip install --only-binary=:all: {}` tells); otherwise build the wheels once in a build stage (`pip wheel --wheel-dir /wheels {}`) and install them in the final stage through a bind mount (`RUN --mount=type=bind,from=build,source=/wheels,target=/wheels pip install --no-index --find-links /wheels {}`), so no compiler reaches the final image",
                names.join(" "),
                names.join(" "),
                names.join(" ")
            );
            nodes.sort_by(|a, b| ctx.image.held_bytes(*b).cmp(&ctx.image.held_bytes(*a)).then(a.cmp(b)));
            ctx.finding(rule, Some(layer), &nodes, bytes, message, fix)
        })
        .collect()
}
