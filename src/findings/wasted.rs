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
use crate::model::NodeId;

pub const RULE: Rule = Rule {
    id: "wasted",
    severity: Severity::Warning,
    summary: "files are deleted or overwritten by a later layer",
    check,
};

/// Per layer; below this the churn of package databases and logs is normal.
const MIN_BYTES: u64 = 1_000_000;

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    // (layer that added the bytes) -> (bytes, nodes, later layers responsible)
    let mut by_layer: BTreeMap<usize, (u64, Vec<NodeId>, BTreeMap<usize, bool>)> = BTreeMap::new();
    for w in &ctx.facts.waste.files {
        let slot = by_layer.entry(w.layer).or_default();
        slot.0 += w.bytes;
        slot.1.push(w.node);
        match w.fate {
            Fate::Deleted { by } => slot.2.insert(by, true),
            Fate::Overwritten { by } => slot.2.insert(by, false),
        };
    }
    by_layer
        .into_iter()
        .filter(|(_, (bytes, _, _))| *bytes >= MIN_BYTES)
        .map(|(layer, (bytes, nodes, later))| {
            let later: Vec<String> = later
                .iter()
                .map(|(l, deleted)| {
                    let verb = if *deleted { "deleted" } else { "replaced" };
                    match ctx.created_by(*l) {
                        Some(step) => format!("{verb} in layer {l} ({})", short(&step)),
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

fn short(step: &str) -> String {
    let step = step.trim();
    let step = step.strip_prefix("/bin/sh -c ").unwrap_or(step);
    let step = step.strip_prefix("#(nop) ").unwrap_or(step).trim();
    if step.chars().count() > 60 {
        format!("{}...", step.chars().take(57).collect::<String>())
    } else {
        step.to_string()
    }
}
