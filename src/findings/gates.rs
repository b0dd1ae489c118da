//! The gate rules of `pydive ci`: each compares one measure of the image (or of its growth over
//! a baseline) with a limit from the configuration. They find nothing in an image on their own
//! (`ci::gate` measures them); they are here so that their text sits in the same table as the
//! finding rules'.

use super::{Context, Finding, Rule, Severity};

fn measured_by_ci(_: &Context, _: &Rule) -> Vec<Finding> {
    Vec::new()
}

pub const GATES: &[Rule] = &[
    Rule {
        id: "max-size",
        severity: Severity::Error,
        summary: "the image is larger than the limit (`max-size = \"500MB\"`)",
        why: "Every byte is pulled by every node that starts the image: a large image slows deploys, autoscaling and cold starts, and costs registry storage and egress.",
        fix: "Follow the fixes of the bloat findings in the report (the projection at the top says what they save), or raise the limit if the growth is intended.",
        check: measured_by_ci,
    },
    Rule {
        id: "max-growth",
        severity: Severity::Error,
        summary: "the image grew over the baseline by more than the limit, in bytes or percent (`max-growth = \"10%\"`)",
        why: "A pull request that adds a pip cache or a compiler grows the image in one step; a growth budget catches it in review, where the cause is one diff away.",
        fix: "Read the diff's headline and largest changes: they name the layer, the Dockerfile step and the category that grew. Fix that step, or raise the limit if the growth is intended.",
        check: measured_by_ci,
    },
    Rule {
        id: "budget",
        severity: Severity::Error,
        summary: "a byte category holds more than its budget (`[budget]` `pip-cache = 0`, `apt-cache = \"1MB\"`)",
        why: "Caches, compilers and headers are never needed at run time; a budget of 0 keeps them from coming back once they are gone.",
        fix: "Remove the category's files in the step that creates them (the matching finding says how), or raise its budget.",
        check: measured_by_ci,
    },
    Rule {
        id: "max-wasted",
        severity: Severity::Error,
        summary: "bytes deleted or overwritten by later layers exceed the limit, in bytes or percent of the image (`max-wasted = \"20MB\"`)",
        why: "A layer is immutable: what a later step deletes or overwrites is still pulled and stored.",
        fix: "Create, use and delete temporary files in the same `RUN`; set modes with `COPY --chmod`; see the `wasted` findings.",
        check: measured_by_ci,
    },
    Rule {
        id: "min-efficiency",
        severity: Severity::Error,
        summary: "dive's efficiency score is below the limit (`min-efficiency = 0.95`), computed exactly as dive 0.13.1 does",
        why: "Teams that gate on dive's `lowestEfficiency` keep their threshold, and get the same verdict, when they move to pydive.",
        fix: "Remove the files that several layers store at the same path (the `wasted` findings name them), or lower the limit.",
        check: measured_by_ci,
    },
    Rule {
        id: "max-dive-wasted",
        severity: Severity::Error,
        summary: "dive's wasted bytes exceed the limit (dive's `highestWastedBytes`)",
        why: "dive counts every copy of a path that two or more layers hold as wasted; this keeps dive's `highestWastedBytes` gate, verdict for verdict.",
        fix: "Stop touching the same paths in several layers (the `wasted` findings name them), or raise the limit.",
        check: measured_by_ci,
    },
    Rule {
        id: "max-dive-user-wasted",
        severity: Severity::Error,
        summary: "dive's wasted bytes, as a fraction of the bytes of every layer but the first, exceed the limit (dive's `highestUserWastedPercent`, a ratio 0-1)",
        why: "This keeps dive's `highestUserWastedPercent` gate, verdict for verdict.",
        fix: "Stop touching the same paths in several layers (the `wasted` findings name them), or raise the limit.",
        check: measured_by_ci,
    },
    Rule {
        id: "max-layers",
        severity: Severity::Error,
        summary: "the image has more layers than the limit (`max-layers = 30`)",
        why: "Each layer is a separate download and a separate overlay mount; many small layers slow pulls and container starts.",
        fix: "Combine consecutive `RUN` steps, or copy the result of a builder stage in one `COPY`.",
        check: measured_by_ci,
    },
    Rule {
        id: "fail-on",
        severity: Severity::Error,
        summary: "a finding is at or above the severity that fails the gate (`fail-on = \"error\"`, the default); with `new-findings-only`, only findings the baseline did not have count",
        why: "Compatibility findings are imports that will fail in production; bloat findings are bytes every deploy pulls.",
        fix: "Apply each finding's fix, or accept it in `ignore` with a reason.",
        check: measured_by_ci,
    },
];
