//! `base-variant`: another variant of the base image (slim), or a multi-stage build, would save
//! this image bytes or compiler runs; measured on the image itself.

use super::{Context, Finding, Rule, Saving, Severity, plural, size};
use crate::analysis::Category;
use crate::analysis::base::{Base, Flavour, built_from_source};
use crate::model::NodeId;

pub const RULE: Rule = Rule {
    id: "base-variant",
    severity: Severity::Info,
    summary: "a full base at run time, an Alpine base that compiles wheels, or a slim base whose steps add compilers",
    why: "The first choice in a Python Dockerfile is the base: full (compilers, headers, many libraries), slim, or Alpine (musl: pre-built glibc wheels do not fit, so packages get compiled). The usual advice, slim unless Alpine compatibility has been verified, is measured here on this image: what a full base carries that nothing in the image loads, which distributions an Alpine base made pip compile and the compilers that took, or the toolchain a slim image's own steps install. An image that is already slim, with no compiler added, gets nothing.",
    fix: "For a full base, the slim variant with the run-time libraries the image's own compiled code loads (named in the finding) installed; for Alpine, a glibc base where manylinux wheels install as they are; for compilers in a slim image, a multi-stage build that builds wheels in one stage and installs them in the final one through a bind mount.",
    check,
};

/// At stake from this many bytes, the finding is a warning.
const WARNING_BYTES: u64 = 100_000_000;

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let base = &ctx.facts.base;
    let finding = match base.flavour {
        Flavour::Full => full(ctx, rule, base),
        Flavour::Alpine => alpine(ctx, rule, base),
        Flavour::Slim | Flavour::DistributionPython => slim_with_compilers(ctx, rule, base),
        Flavour::Distroless | Flavour::Unknown => None,
    };
    finding
        .map(|mut f| {
            if f.bytes >= WARNING_BYTES {
                f.severity = Severity::Warning;
            }
            f
        })
        .into_iter()
        .collect()
}

/// "python:3.12-slim" when the base's Python is the official images' own build.
fn slim_name(base: &Base) -> String {
    match &base.python {
        Some(p) if p.built_from_source && p.in_base => format!("`python:{}-slim`", p.version),
        _ => "the base's `-slim` variant".to_string(),
    }
}

fn base_layers(base: &Base) -> String {
    match base.layers {
        Some(1) => "layer 0".to_string(),
        Some(n) => format!("layers 0-{}", n - 1),
        None => "the base layers".to_string(),
    }
}

fn full(ctx: &Context, rule: &Rule, base: &Base) -> Option<Finding> {
    let last = base.layers?.checked_sub(1)?;
    let os = base.os.as_deref().unwrap_or("a glibc distribution");
    let Some(slim) = &base.slim else {
        // No package database: the build-only files' bytes are what is known.
        let members = ctx.facts.categories.members.get(&Category::Compilers);
        let nodes: Vec<NodeId> = members
            .into_iter()
            .flatten()
            .filter(|m| base.contains(m.layer))
            .map(|m| m.node)
            .collect();
        let message = format!(
            "the full base ({}, {os}) brings {} of compilers and build tools; nothing in the image's own layers can be told to need them",
            base_layers(base),
            size(base.compilers_bytes)
        );
        let fix = format!(
            "base the final stage on {} and build anything that needs a compiler in a separate build stage",
            slim_name(base)
        );
        let saves = visible_compilers(ctx, |l| base.contains(l));
        return Some(
            ctx.finding(rule, Some(last), &nodes, base.compilers_bytes, message, fix)
                .saving(saves),
        );
    };
    if slim.removable.is_empty() {
        return None;
    }
    let packages = &ctx.facts.os_packages.packages;
    let nodes: Vec<NodeId> = {
        let mut nodes: Vec<NodeId> = slim
            .removable
            .iter()
            .flat_map(|&i| packages[i].nodes.iter().copied())
            .collect();
        nodes.sort_by(|a, b| {
            ctx.image
                .held_bytes(*b)
                .cmp(&ctx.image.held_bytes(*a))
                .then(a.cmp(b))
        });
        nodes
    };
    let largest: Vec<String> = slim
        .removable
        .iter()
        .take(5)
        .map(|&i| format!("{} ({})", packages[i].name, size(packages[i].bytes)))
        .collect();
    let needs = if slim.to_install.is_empty() {
        "none of the image's own compiled code loads them at run time (every library it needs is in the slim set)".to_string()
    } else {
        format!(
            "of them the image's own compiled code loads only what {} {} at run time",
            slim.to_install.join(", "),
            if slim.to_install.len() == 1 {
                "provides"
            } else {
                "provide"
            }
        )
    };
    let message = format!(
        "the full base ({}, {os}) brings {} in {} that a slim base does not have: compilers and build tools {}, -dev packages {}, the rest build-only or unused libraries (largest: {}); {needs}",
        base_layers(base),
        size(slim.bytes),
        plural(slim.removable.len(), "OS package", "OS packages"),
        size(slim.toolchain_bytes),
        size(slim.dev_bytes),
        largest.join(", "),
    );
    let install = if slim.to_install.is_empty() {
        String::new()
    } else {
        format!(
            ", and install the run-time libraries the image loads: `apt-get install -y --no-install-recommends {}`",
            slim.to_install.join(" ")
        )
    };
    let fix = format!(
        "base the final stage on {}{install}; that saves about {}. Build anything that needs a compiler in a separate build stage",
        slim_name(base),
        size(slim.bytes)
    );
    let saves = nodes
        .iter()
        .map(|&node| Saving {
            layer: ctx.image.tree.node(node).last_layer(),
            node,
            bytes: ctx.image.held_bytes(node),
        })
        .collect();
    Some(
        ctx.finding(rule, Some(last), &nodes, slim.bytes, message, fix)
            .saving(saves),
    )
}

/// Distributions compiled in the image, with the nodes of their extension modules.
fn compiled(ctx: &Context, base: &Base) -> Vec<(String, usize, Vec<NodeId>)> {
    ctx.facts
        .python
        .distributions
        .iter()
        .filter(|d| d.layer >= base.first_app_layer() && built_from_source(d))
        .map(|d| {
            (
                format!("{} {}", d.name, d.version),
                d.layer,
                d.extensions.clone(),
            )
        })
        .collect()
}

/// Bytes of compilers each layer after the base added, visible or not, and the layer that
/// added the most.
fn app_compilers(ctx: &Context, base: &Base) -> Option<(usize, u64)> {
    ctx.facts
        .categories
        .added_by_layer
        .iter()
        .enumerate()
        .skip(base.first_app_layer())
        .filter_map(|(l, c)| Some((l, c.get(&Category::Compilers)?.bytes)))
        .filter(|(_, b)| *b > 0)
        .max_by_key(|&(l, b)| (b, std::cmp::Reverse(l)))
}

fn alpine(ctx: &Context, rule: &Rule, base: &Base) -> Option<Finding> {
    let compiled = compiled(ctx, base);
    let compilers = app_compilers(ctx, base);
    if compiled.is_empty() && compilers.is_none() {
        return None;
    }
    let names: Vec<&str> = compiled.iter().map(|(n, _, _)| n.as_str()).collect();
    let nodes: Vec<NodeId> = compiled
        .iter()
        .flat_map(|(_, _, n)| n.iter().copied())
        .collect();
    let layer = compilers
        .map(|(l, _)| l)
        .or_else(|| compiled.first().map(|(_, l, _)| *l));
    let mut message = format!(
        "on this Alpine (musl) base, {} compiled in the image because no musllinux wheel was installed{}",
        plural(
            compiled.len(),
            "Python distribution was",
            "Python distributions were"
        ),
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        }
    );
    if let Some((l, _)) = compilers {
        message.push_str(&format!(
            "; the build needed {} of compilers and build tools (layer {l}, {} of them still in the image)",
            size(base.app_compilers_added),
            size(
                ctx.facts
                    .categories
                    .visible
                    .get(&Category::Compilers)
                    .map_or(0, |t| t.bytes)
            )
        ));
    }
    let fix = format!(
        "on a glibc base such as {} pip installs the manylinux wheels these projects publish, with no compiler and no build step; if the image must stay on Alpine, build the wheels in a separate stage (`pip wheel --wheel-dir /wheels ...`) and install them in the final stage through a bind mount, so the compilers never reach it",
        slim_name(base)
    );
    let saves = visible_compilers(ctx, |_| true);
    Some(
        ctx.finding(rule, layer, &nodes, base.app_compilers_added, message, fix)
            .saving(saves),
    )
}

fn slim_with_compilers(ctx: &Context, rule: &Rule, base: &Base) -> Option<Finding> {
    // Which steps are the image's own must be known to say they added the compilers.
    base.layers?;
    let (layer, _) = app_compilers(ctx, base)?;
    let compiled = compiled(ctx, base);
    let names: Vec<String> = compiled
        .iter()
        .map(|(n, _, _)| n.split(' ').next().unwrap_or(n).to_string())
        .collect();
    let visible = ctx
        .facts
        .categories
        .visible
        .get(&Category::Compilers)
        .map_or(0, |t| t.bytes);
    let message = format!(
        "the base has no compiler, but the image's own steps install {} of compilers and build tools ({} still in the image){}",
        size(base.app_compilers_added),
        size(visible),
        if names.is_empty() {
            String::new()
        } else {
            format!(" to build {} from source", names.join(", "))
        }
    );
    let what = if names.is_empty() {
        "what needs a compiler".to_string()
    } else {
        names.join(" ")
    };
    let fix = format!(
        "a multi-stage build: `FROM {slim} AS build` + `RUN apt-get update && apt-get install -y --no-install-recommends build-essential && pip wheel --wheel-dir /wheels {what}`, then in the final `FROM {slim}` stage `RUN --mount=type=bind,from=build,source=/wheels,target=/wheels pip install --no-index --find-links /wheels {what}`",
        slim = slim_name(base).trim_matches('`'),
    );
    let nodes: Vec<NodeId> = ctx
        .facts
        .categories
        .members
        .get(&Category::Compilers)
        .into_iter()
        .flatten()
        .map(|m| m.node)
        .collect();
    let saves = visible_compilers(ctx, |l| l >= base.first_app_layer());
    Some(
        ctx.finding(
            rule,
            Some(layer),
            &nodes,
            base.app_compilers_added,
            message,
            fix,
        )
        .saving(saves),
    )
}

/// What removing the visible compilers and build tools of the layers `which` accepts saves.
fn visible_compilers(ctx: &Context, which: impl Fn(usize) -> bool) -> Vec<Saving> {
    ctx.facts
        .categories
        .members
        .get(&Category::Compilers)
        .into_iter()
        .flatten()
        .filter(|m| which(m.layer))
        .map(|m| Saving {
            layer: m.layer,
            node: m.node,
            bytes: m.bytes,
        })
        .collect()
}
