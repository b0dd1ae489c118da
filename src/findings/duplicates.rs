//! `duplicates`: the same content stored at several paths.

use std::collections::BTreeMap;

use super::{Context, Finding, Rule, Saving, Severity, files, size};
use crate::model::NodeId;

pub const RULE: Rule = Rule {
    id: "duplicates",
    severity: Severity::Info,
    summary: "a layer holds >= 1 MB of extra copies of content stored elsewhere (documentation excepted)",
    why: "Each copy costs its full size; often a library vendored by two packages, or files copied where a link would do.",
    fix: "Keep one copy and symlink or hard-link the others in the same `RUN`, or stop one of the packages from vendoring it.",
    check,
};

/// Per layer holding the extra copies.
const MIN_BYTES: u64 = 1_000_000;

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    // The layer that holds each extra copy: (bytes, extra copies, the copies they duplicate).
    let mut by_layer: BTreeMap<usize, (u64, Vec<(u64, NodeId)>)> = BTreeMap::new();
    for group in &ctx.facts.duplicates.groups {
        for &(node, layer) in &group.copies[1..] {
            // Distributions install the same changelog and licence text per package.
            let path = ctx.image.tree.path(node);
            if [
                &b"usr/share/doc/"[..],
                b"usr/share/man/",
                b"usr/share/info/",
                b"usr/share/common-licenses/",
            ]
            .iter()
            .any(|p| path.starts_with(p))
            {
                continue;
            }
            let slot = by_layer.entry(layer).or_default();
            slot.0 = slot.0.saturating_add(group.size);
            slot.1.push((group.size, node));
        }
    }
    by_layer
        .into_iter()
        .filter(|(_, (bytes, _))| *bytes >= MIN_BYTES)
        .map(|(layer, (bytes, mut copies))| {
            copies.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let nodes: Vec<NodeId> = copies.iter().map(|c| c.1).collect();
            let saves = copies
                .iter()
                .map(|&(bytes, node)| Saving { layer, node, bytes })
                .collect();
            let message = format!(
                "{} with the same content as files elsewhere in the image: {} reclaimable",
                files(nodes.len()),
                size(bytes)
            );
            ctx.finding(
                rule,
                Some(layer),
                &nodes,
                bytes,
                message,
                "keep one copy and replace the others with symlinks or hard links in the same RUN, or stop a package from vendoring its own copy".into(),
            )
            .saving(saves)
        })
        .collect()
}
