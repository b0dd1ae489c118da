//! Python distributions as pip installs them, and as packages vendor them: setuptools ships
//! its dependencies inside itself with their dist-info (`setuptools/_vendor/*.dist-info`), which
//! `importlib.metadata` does not see on `sys.path` and pip does not list.

mod common;

use common::linkage::{SITE, pip_install};
use common::{json_of, report_for};
use pydive::fixture::{Image, Layer};
use serde_json::Value;

#[test]
fn a_distribution_vendored_inside_another_is_marked_and_its_files_belong_to_the_installed_one() {
    let py = |text: &str| text.as_bytes().to_vec();
    let vendored = "setuptools/_vendor/packaging-24.2.dist-info";
    let setuptools = pip_install(
        "RUN pip install setuptools",
        "setuptools",
        "80.0.0",
        &["py3-none-any"],
        vec![
            ("setuptools/__init__.py".into(), py("import os\n")),
            (
                "setuptools/_vendor/packaging/__init__.py".into(),
                py("__version__ = '24.2'\n"),
            ),
            (
                "setuptools/_vendor/packaging/version.py".into(),
                vec![b'#'; 5000],
            ),
            (
                format!("{vendored}/METADATA"),
                py("Metadata-Version: 2.1\nName: packaging\nVersion: 24.2\n"),
            ),
            (
                format!("{vendored}/RECORD"),
                py(
                    "packaging/__init__.py,,\npackaging/version.py,,\npackaging-24.2.dist-info/METADATA,,\n",
                ),
            ),
        ],
    );
    let packaging = pip_install(
        "RUN pip install packaging",
        "packaging",
        "25.0",
        &["py3-none-any"],
        vec![("packaging/__init__.py".into(), vec![b'#'; 700])],
    );
    let image = Image::new(vec![
        Layer::new("ADD rootfs /", vec![]),
        setuptools,
        packaging,
    ]);
    let report = report_for(&image);
    let json = json_of(&report);
    let dists = json["python"]["distributions"].as_array().unwrap();
    let row = |name: &str, version: &str| -> &Value {
        dists
            .iter()
            .find(|d| d["name"] == name && d["version"] == version)
            .unwrap_or_else(|| panic!("no {name} {version}: {dists:#?}"))
    };
    assert_eq!(row("setuptools", "80.0.0")["vendored_by"], Value::Null);
    assert_eq!(row("packaging", "25.0")["vendored_by"], Value::Null);
    let copy = row("packaging", "24.2");
    assert_eq!(copy["vendored_by"], "setuptools");
    assert_eq!(copy["location"], format!("/{SITE}/setuptools/_vendor"));

    // Its files are setuptools' (whose RECORD lists them too), not the copy's.
    let tree = &report.image.tree;
    let version_py = tree
        .lookup(format!("{SITE}/setuptools/_vendor/packaging/version.py").as_bytes())
        .unwrap();
    let owner = report.facts.python.owner_of(version_py).unwrap();
    assert_eq!(
        (owner.name.as_str(), owner.vendored_by.as_deref()),
        ("setuptools", None)
    );
    // Both count them: each distribution is what its RECORD lists.
    assert!(copy["size_bytes"].as_u64().unwrap() >= 5000);
    assert!(row("setuptools", "80.0.0")["size_bytes"].as_u64().unwrap() >= 5000);
}
