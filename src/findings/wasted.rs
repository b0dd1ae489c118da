//! `wasted`: bytes a layer added that a later layer deleted or replaced.
//!
//! Why: a layer is immutable; deleting a file in a later step hides it but every byte is
//! still pulled and stored. Overwriting a file (even only changing its mode with `chmod`)
//! stores it a second time.
//!
//! Fix: create, use and delete temporary files in the same `RUN`; set modes and owners when
//! copying (`COPY --chmod=755 --chown=app:app`) rather than in a later step.

use std::collections::BTreeMap;

use super::{Context, Finding, Rule, Severity, files, size};
use crate::analysis::waste::Fate;
use crate::model::{NodeId, short_step};

pub const RULE: Rule = Rule {
    id: "wasted",
    severity: Severity::Warning,
    summary: "files are deleted or overwritten by a later layer",
    check,
};

/// Per layer.
const MIN_BYTES: u64 = 1_000_000;

/// Package databases, caches and logs that every install rewrites: counted as waste, but no
/// Dockerfile can avoid them, so they make no finding.
fn is_bookkeeping(path: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"var/lib/dpkg/",
        b"var/cache/debconf/",
        b"var/cache/ldconfig/",
        b"var/log/",
        b"var/lib/apt/extended_states",
        b"var/lib/rpm/",
        b"var/lib/dnf/",
        b"lib/apk/db/",
        b"etc/ld.so.cache",
        b"etc/passwd",
        b"etc/group",
        b"etc/shadow",
        b"etc/gshadow",
        b"etc/subuid",
        b"etc/subgid",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
}

/// What one layer added that is not visible at the end.
#[derive(Default)]
struct Added {
    bytes: u64,
    nodes: Vec<NodeId>,
    /// The later layers responsible: (deleted some, replaced some).
    later: BTreeMap<usize, (bool, bool)>,
}

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let mut by_layer: BTreeMap<usize, Added> = BTreeMap::new();
    for w in &ctx.facts.waste.files {
        if is_bookkeeping(&ctx.image.tree.path(w.node)) {
            continue;
        }
        let added = by_layer.entry(w.layer).or_default();
        added.bytes += w.bytes;
        added.nodes.push(w.node);
        match w.fate {
            Fate::Deleted { by } => added.later.entry(by).or_default().0 = true,
            Fate::Overwritten { by } => added.later.entry(by).or_default().1 = true,
        };
    }
    by_layer
        .into_iter()
        .filter(|(_, added)| added.bytes >= MIN_BYTES)
        .map(|(layer, Added { bytes, nodes, later })| {
            let later: Vec<String> = later
                .iter()
                .map(|(l, fates)| {
                    let verb = match fates {
                        (true, true) => "deleted or replaced",
                        (true, false) => "deleted",
                        _ => "replaced",
                    };
                    match ctx.created_by(*l) {
                        Some(step) => format!("{verb} in layer {l} (`{}`)", short_step(&step)),
                        None => format!("{verb} in layer {l}"),
                    }
                })
                .collect();
            let message = format!(
                "{} in {} added by this layer are not in the final image: {}",
                size(bytes),
                files(nodes.len()),
                later.join("; ")
            );
            ctx.finding(
                rule,
                Some(layer),
                &nodes,
                bytes,
                message,
                "create, use and delete temporary files in the same RUN (e.g. download, install and `rm` in one command); set modes and owners with `COPY --chmod/--chown` instead of a later `RUN chmod/chown`".into(),
            )
        })
        .collect()
}
