//! `secret-file`: files that look like secrets (private keys, `.netrc`, `.pypirc`, `.git-
//! credentials`, `pip.conf` or `.npmrc` with a password or token, `.env` files, a Docker
//! `config.json` with registry logins, AWS credentials), in any layer, including those a later
//! layer deletes. The finding names the file and the layer, never what it holds.

use std::collections::BTreeMap;

use super::{Context, Finding, Rule, Severity, plural};
use crate::analysis::security::SecretKind;
use crate::model::NodeId;

pub const RULE: Rule = Rule {
    id: "secret-file",
    severity: Severity::Error,
    summary: "files that look like secrets (keys, credentials, .env), even when a later layer deletes them",
    why: "Every layer ships whole. A key deleted by a later `RUN rm` is still in the earlier layer's blob, and `docker save`, `docker pull` or the registry hand it to anyone who can read the image.",
    fix: "Never copy secrets into a build: use BuildKit secret mounts (`RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`) or build arguments for values that are not secret; keep them out of `COPY` with `.dockerignore`. A secret that reached a pushed image is leaked: rotate it.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let mut groups: BTreeMap<(usize, SecretKind), Vec<&crate::analysis::security::Secret>> =
        BTreeMap::new();
    for s in &ctx.facts.security.secrets {
        groups.entry((s.layer, s.kind)).or_default().push(s);
    }
    groups
        .into_iter()
        .map(|((layer, kind), secrets)| {
            let nodes: Vec<NodeId> = secrets.iter().map(|s| s.node).collect();
            let hidden: Vec<usize> = secrets.iter().filter_map(|s| s.hidden_by).collect();
            let fate = if hidden.len() == secrets.len() {
                let mut later: Vec<String> = hidden.iter().map(|l| l.to_string()).collect();
                later.sort();
                later.dedup();
                format!(
                    "; layer {} deletes or replaces {}, but this layer's blob still holds {} for anyone who pulls the image",
                    later.join(", "),
                    if secrets.len() == 1 { "it" } else { "them" },
                    if secrets.len() == 1 { "it" } else { "them" },
                )
            } else {
                String::new()
            };
            let what = if secrets.len() == 1 {
                format!("{} ({})", kind.describe(), ctx.path(nodes[0]))
            } else {
                format!(
                    "{} that look like {}",
                    plural(secrets.len(), "file", "files"),
                    kind.describe()
                )
            };
            ctx.finding(
                rule,
                Some(layer),
                &nodes,
                0,
                format!("{what} is in the image{fate}"),
                "never copy secrets into a build: use a BuildKit secret mount (`RUN --mount=type=secret,id=NAME,target=PATH ...`) and keep them out of `COPY` with `.dockerignore`; a secret that reached a pushed image is leaked, so rotate it".into(),
            )
        })
        .collect()
}
