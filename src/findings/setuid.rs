//! `setuid`: setuid or setgid files other than the distributions' usual ones (`passwd`, `su`,
//! `mount`, `sudo`, `ping`... listed in `analysis::security::USUAL_SETUID`).

use super::{Context, Finding, Rule, Severity, files};
use crate::model::NodeId;

pub const RULE: Rule = Rule {
    id: "setuid",
    severity: Severity::Warning,
    summary: "setuid or setgid files beyond the distribution's usual ones",
    why: "A setuid program runs with its owner's rights (root, usually) whoever starts it, so any flaw in it is a way to root inside the container. Images rarely need more than the distribution ships, and an unexpected one is worth knowing about.",
    fix: "Remove the bits in the step that installs the file (`RUN chmod u-s,g-s PATH`), or remove the program; run the container with `--security-opt no-new-privileges` as well.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let mut by_layer: std::collections::BTreeMap<usize, Vec<NodeId>> = Default::default();
    for f in &ctx.facts.security.setuid {
        by_layer.entry(f.layer).or_default().push(f.node);
    }
    by_layer
        .into_iter()
        .map(|(layer, nodes)| {
            let paths: Vec<String> = nodes.iter().take(3).map(|&n| ctx.path(n)).collect();
            ctx.finding(
                rule,
                Some(layer),
                &nodes,
                0,
                format!(
                    "{} setuid or setgid ({}): they run with their owner's rights whoever starts them",
                    files(nodes.len()),
                    paths.join(", ")
                ),
                "remove the bits where the files are installed (`RUN chmod u-s,g-s FILE`), or remove the programs if nothing needs them".into(),
            )
        })
        .collect()
}
