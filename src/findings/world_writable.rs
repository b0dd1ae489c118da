//! `world-writable`: files anyone may write, and directories anyone may write to without the sticky
//! bit (which `/tmp` has, so that users cannot delete each other's files).

use super::{Context, Finding, Rule, Severity, plural};
use crate::model::NodeId;

pub const RULE: Rule = Rule {
    id: "world-writable",
    severity: Severity::Warning,
    summary: "world-writable files, or world-writable directories without the sticky bit",
    why: "Any process in the container, whatever its user, can change such a file (a script, a library, a configuration that root later reads) or replace the files of such a directory.",
    fix: "`chmod o-w` them where they are created; a directory shared on purpose gets the sticky bit (`chmod 1777 DIR`).",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let mut by_layer: std::collections::BTreeMap<usize, Vec<NodeId>> = Default::default();
    for f in &ctx.facts.security.world_writable {
        by_layer.entry(f.layer).or_default().push(f.node);
    }
    by_layer
        .into_iter()
        .map(|(layer, nodes)| {
            let dirs = nodes
                .iter()
                .filter(|&&n| {
                    ctx.facts
                        .security
                        .world_writable
                        .iter()
                        .any(|f| f.node == n && f.is_dir)
                })
                .count();
            let what = match (nodes.len() - dirs, dirs) {
                (0, d) => plural(d, "directory", "directories"),
                (f, 0) => plural(f, "file", "files"),
                (f, d) => format!(
                    "{} and {}",
                    plural(f, "file", "files"),
                    plural(d, "directory", "directories")
                ),
            };
            ctx.finding(
                rule,
                Some(layer),
                &nodes,
                0,
                format!("{what} anyone may write to: any user in the container can change them"),
                "`chmod o-w` them where they are created; give a directory shared on purpose the sticky bit (`chmod 1777 DIR`)".into(),
            )
        })
        .collect()
}
