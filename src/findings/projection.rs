//! The projected size after the fixes: what the image would weigh with every bloat finding's
//! fix applied. Each stored byte is counted once, whichever findings claim it (a pip cache that
//! is also a duplicate is saved once); a byte goes to the first finding that claims it, in the
//! report's order (most severe, then largest), so the fixes' savings add up to the total.

use std::collections::HashMap;

use super::Finding;
use crate::model::NodeId;

/// One fix's share of the savings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub rule: &'static str,
    pub layer: Option<usize>,
    /// Bytes this fix saves that no finding before it saves already.
    pub saved: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Projection {
    /// The image's size with every fix applied.
    pub bytes: u64,
    pub saved: u64,
    /// The fixes that save bytes, in the report's order.
    pub fixes: Vec<Fix>,
}

/// Projects an image of `size` bytes with the fixes of these findings applied.
pub fn project(size: u64, findings: &[Finding]) -> Projection {
    // The bytes already saved for each stored copy; a finding that saves more of the same
    // copy (a whole file where another only strips it) saves the difference.
    let mut claimed: HashMap<(usize, NodeId), u64> = HashMap::new();
    let mut fixes = Vec::new();
    for f in findings {
        let mut saved = 0;
        for s in &f.saves {
            let before = claimed.entry((s.layer, s.node)).or_default();
            if s.bytes > *before {
                saved += s.bytes - *before;
                *before = s.bytes;
            }
        }
        if saved > 0 {
            fixes.push(Fix {
                rule: f.rule,
                layer: f.layer,
                saved,
            });
        }
    }
    let saved: u64 = fixes.iter().map(|f| f.saved).sum::<u64>().min(size);
    Projection {
        bytes: size - saved,
        saved,
        fixes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Saving, Severity};

    fn finding(rule: &'static str, saves: &[(usize, NodeId, u64)]) -> Finding {
        Finding {
            rule,
            severity: Severity::Warning,
            message: String::new(),
            fix: String::new(),
            layer: Some(1),
            created_by: None,
            paths: Vec::new(),
            path_count: 0,
            bytes: saves.iter().map(|s| s.2).sum(),
            saves: saves
                .iter()
                .map(|&(layer, node, bytes)| Saving { layer, node, bytes })
                .collect(),
        }
    }

    #[test]
    fn a_byte_two_findings_claim_is_saved_once() {
        let findings = [
            finding("pip-cache", &[(1, 10, 500), (1, 11, 300)]),
            // One of the cache's files is also a duplicate: already saved.
            finding("duplicates", &[(1, 11, 300), (2, 12, 100)]),
            // Stripping a file the cache fix removes whole saves nothing more.
            finding("debug-info", &[(1, 10, 200)]),
            // Removing a file whole after it was only stripped saves the rest.
            finding("debug-info", &[(3, 13, 50)]),
            finding("tests-in-site-packages", &[(3, 13, 80)]),
            finding("glibc-too-new", &[]),
        ];
        let p = project(10_000, &findings);
        assert_eq!(p.saved, 800 + 100 + 50 + 30);
        assert_eq!(p.bytes, 10_000 - p.saved);
        let per: Vec<(&str, u64)> = p.fixes.iter().map(|f| (f.rule, f.saved)).collect();
        assert_eq!(
            per,
            [
                ("pip-cache", 800),
                ("duplicates", 100),
                ("debug-info", 50),
                ("tests-in-site-packages", 30)
            ]
        );
    }
}
