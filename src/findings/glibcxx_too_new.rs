//! `glibcxx-too-new`: ELF files that need a newer libstdc++ (`GLIBCXX_`, `CXXABI_`) than the
//! image has.

use super::{Context, Finding, Rule, Severity, plural};

pub const RULE: Rule = Rule {
    id: "glibcxx-too-new",
    severity: Severity::Error,
    summary: "an ELF file needs a `GLIBCXX_`/`CXXABI_` newer than the image's libstdc++",
    why: "C++ extensions built with a newer GCC fail at import with ``version `GLIBCXX_3.4.30' not found``.",
    fix: "Install a build made with this image's compiler (or a wheel that vendors its own libstdc++), or a newer libstdc++6 / base image.",
    check,
};

fn check(ctx: &Context, rule: &Rule) -> Vec<Finding> {
    let libc = &ctx.facts.linkage.libc;
    // Without a libstdc++ in the image, `unresolved-library` says so.
    let Some(have) = &libc.glibcxx else {
        return Vec::new();
    };
    let have_abi = libc.cxxabi.as_ref();
    ctx.elf_findings(
        rule,
        ctx.native_elves().filter(|e| !ctx.wrong_libc(e)),
        |e| {
            let cxx = e.glibcxx.as_ref().filter(|f| f.version > *have).map(|f| format!("GLIBCXX_{}", f.version));
            let abi = e
                .cxxabi
                .as_ref()
                .filter(|f| have_abi.is_some_and(|h| f.version > *h))
                .map(|f| format!("CXXABI_{}", f.version));
            cxx.or(abi)
        },
        |need, elves| {
            // A CXXABI need is compared with the CXXABI version the image provides.
            let abi = need.starts_with("CXXABI_");
            let provides = match (abi, have_abi) {
                (true, Some(h)) => format!("CXXABI_{h}"),
                _ => format!("GLIBCXX_{have}"),
            };
            let mut symbols: Vec<&str> = elves
                .iter()
                .flat_map(|e| if abi { e.cxxabi.iter() } else { e.glibcxx.iter() })
                .flat_map(|f| f.symbols.iter().map(String::as_str))
                .collect();
            symbols.sort();
            symbols.dedup();
            symbols.truncate(4);
            format!(
                "{} need {need} ({}) but the image's libstdc++ provides {provides}: loading fails with ``version `{need}' not found``",
                plural(elves.len(), "file", "files"),
                symbols.join(", ")
            )
        },
        |_, elves| {
            format!(
                "{}: install a build made with this image's GCC (or a wheel that vendors libstdc++), or upgrade libstdc++6 / the base image",
                ctx.owners(elves)
            )
        },
    )
}
