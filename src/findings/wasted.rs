//! `wasted`: bytes a layer added that a later layer deleted or replaced.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, Finding, Rule, Saving, Severity, files, size};
use crate::analysis::waste::Fate;
use crate::model::{NodeId, short_step};

pub const RULE: Rule = Rule {
    id: "wasted",
    severity: Severity::Warning,
    summary: "a later step deletes, replaces or stores again (a `chmod`) >= 1 MB that earlier layers added; the finding is that step's, and says which it did (package databases and logs do not count)",
    why: "A layer is immutable; deleting a file in a later step hides it but every byte is still pulled and stored. Overwriting a file (even only changing its mode with `chmod`) stores it a second time.",
    fix: "Create, use and delete temporary files in the same `RUN`; set modes and owners when copying (`COPY --chmod=755 --chown=app:app`) rather than in a later step; install the final version of a package in the first place.",
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

/// How a later step made bytes of earlier layers invisible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cause {
    /// Stored the same content again: a chmod, chown or touch.
    Restored,
    /// Stored new content at the same paths: an upgrade or a rebuild.
    Replaced,
    Deleted,
}

/// What one later step did to the bytes of earlier layers.
#[derive(Default)]
struct Effect {
    bytes: u64,
    /// (bytes, node, the layer that added them), to list the largest first.
    files: Vec<(u64, NodeId, usize)>,
    /// The layers that had added them.
    from: BTreeSet<usize>,
}

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let mut by_cause: BTreeMap<(usize, Cause), Effect> = BTreeMap::new();
    for w in &ctx.facts.waste.files {
        if is_bookkeeping(&ctx.image.tree.path(w.node)) {
            continue;
        }
        let (by, cause) = match w.fate {
            Fate::Deleted { by } => (by, Cause::Deleted),
            Fate::Overwritten {
                by,
                same_content: true,
            } => (by, Cause::Restored),
            Fate::Overwritten {
                by,
                same_content: false,
            } => (by, Cause::Replaced),
        };
        let effect = by_cause.entry((by, cause)).or_default();
        effect.bytes = effect.bytes.saturating_add(w.bytes);
        effect.files.push((w.bytes, w.node, w.layer));
        effect.from.insert(w.layer);
    }
    by_cause
        .into_iter()
        .filter(|(_, effect)| effect.bytes >= MIN_BYTES)
        .map(|((layer, cause), mut effect)| {
            effect.files.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let nodes: Vec<NodeId> = effect.files.iter().map(|f| f.1).collect();
            let from: Vec<String> = effect
                .from
                .iter()
                .map(|l| match ctx.created_by(*l) {
                    Some(step) => format!("layer {l} (`{}`)", short_step(&step)),
                    None => format!("layer {l}"),
                })
                .collect();
            let what = format!("{} in {}", size(effect.bytes), files(nodes.len()));
            let from = from.join(", ");
            let (message, fix) = match cause {
                Cause::Restored => (
                    format!("this step stores {what} again with the same content (a chmod, chown or touch re-stores every byte), first added by {from}"),
                    "set modes and owners when the files are created: `COPY --chmod=... --chown=...`, or chmod/chown in the same RUN that creates them".to_string(),
                ),
                Cause::Replaced => (
                    format!("this step replaces {what} added by {from} with new content (an upgrade or rebuild of something installed earlier): both versions are stored"),
                    "install the final version in the first place: pin it in the earlier step, or combine both steps in one RUN".to_string(),
                ),
                Cause::Deleted => (
                    format!("this step deletes {what} added by {from}: a later step only hides them, the bytes stay in the earlier layers"),
                    "create, use and delete temporary files in the same RUN (e.g. `... && rm -rf /tmp/build`), or keep them out of the image with a BuildKit cache mount or a multi-stage build".to_string(),
                ),
            };
            let saves = effect
                .files
                .iter()
                .map(|&(bytes, node, layer)| Saving { layer, node, bytes })
                .collect();
            ctx.finding(rule, Some(layer), &nodes, effect.bytes, message, fix)
                .saving(saves)
        })
        .collect()
}
