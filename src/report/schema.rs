//! The JSON Schemas of pydive's JSON documents, generated from their output types. The
//! committed copies in `docs/schema/` are checked against these by `tests/schema.rs`, which
//! rewrites them when run with `UPDATE_SCHEMAS=1`.

use schemars::JsonSchema;

use super::json::JsonReport;

/// (file name under `docs/schema/`, schema) for every JSON document pydive writes.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("report.schema.json", schema::<JsonReport>("pydive report")),
        (
            "diff.schema.json",
            schema::<crate::diff::JsonDiff>("pydive diff"),
        ),
        ("ci.schema.json", schema::<crate::ci::JsonCi>("pydive ci")),
    ]
}

/// The schema of what pydive writes: every field it always writes is required (reading is
/// laxer: fields added within a schema version are optional to `json::load`).
fn schema<T: JsonSchema>(title: &str) -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    schema["title"] = title.into();
    schema
}
