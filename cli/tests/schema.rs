//! The published JSON Schema (`schema/oncall.schema.json`): up to date with
//! the binary, and in agreement with the example configurations.

mod common;

use std::path::Path;

use common::{klaxon, root};
use serde_json::Value;

const SCHEMA: &str = "schema/oncall.schema.json";

fn committed_schema() -> Value {
    let text = std::fs::read_to_string(root().join(SCHEMA)).expect("read the committed schema");
    serde_json::from_str(&text).expect("the committed schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&committed_schema()).expect("the schema compiles")
}

/// A YAML document as the JSON value the schema is about.
fn yaml_to_json(text: &str) -> Value {
    serde_norway::from_str(text).expect("YAML reads as JSON-compatible data")
}

fn read_yaml(path: &str) -> Value {
    yaml_to_json(&std::fs::read_to_string(root().join(path)).expect("read the example"))
}

/// Every schema error for `instance`, one per line.
fn schema_errors(instance: &Value) -> Vec<String> {
    validator()
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn committed_schema_matches_what_the_binary_prints() {
    let run = klaxon(&["config", "schema"]).expect_code(0);
    let committed =
        std::fs::read_to_string(root().join(SCHEMA)).expect("read the committed schema");
    assert!(
        committed == run.stdout,
        "{SCHEMA} is out of date with the configuration types; regenerate it from the \
         repository root with\n    cargo run -p klaxon-cli -- config schema > {SCHEMA}"
    );
}

#[test]
fn schema_names_its_draft_and_describes_the_top_level_sections() {
    let schema = committed_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required is a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for section in [
        "version",
        "people",
        "services",
        "escalation_policies",
        "routing",
    ] {
        assert!(required.contains(&section), "{section} is required");
    }
}

#[test]
fn the_example_configurations_satisfy_the_schema() {
    for path in ["oncall.yaml", "examples/local-oncall.yaml"] {
        let errors = schema_errors(&read_yaml(path));
        assert!(errors.is_empty(), "{path}:\n{}", errors.join("\n"));
    }
}

#[test]
fn an_unknown_field_fails_the_schema() {
    let mut config = read_yaml("oncall.yaml");
    config["people"]["aiko"]["emial"] = "aiko@example.com".into();
    let errors = schema_errors(&config);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/people/aiko") && e.contains("emial")),
        "{errors:?}"
    );
}

#[test]
fn an_unknown_top_level_section_fails_the_schema() {
    let mut config = read_yaml("examples/local-oncall.yaml");
    config["escalation"] = serde_json::json!({});
    assert!(!validator().is_valid(&config));
}

#[test]
fn a_value_of_the_wrong_type_fails_the_schema() {
    type Break = fn(&mut Value);
    let cases: [(&str, Break); 4] = [
        ("/version", |c| c["version"] = "one".into()),
        (
            "/escalation_policies/platform/levels/0/timeout_minutes",
            |c| c["escalation_policies"]["platform"]["levels"][0]["timeout_minutes"] = "5".into(),
        ),
        ("/schedules/primary/layers/0/rotation", |c| {
            c["schedules"]["primary"]["layers"][0]["rotation"] = "fortnightly".into()
        }),
        ("/routing/rules/0/severity", |c| {
            c["routing"]["rules"][0]["severity"] = "CRITICAL".into()
        }),
    ];
    for (path, break_it) in cases {
        let mut config = read_yaml("oncall.yaml");
        break_it(&mut config);
        let errors = schema_errors(&config);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{path}:"))),
            "{path}: {errors:?}"
        );
    }
}

#[test]
fn a_missing_required_section_fails_the_schema() {
    let mut config = read_yaml("oncall.yaml");
    config.as_object_mut().expect("a mapping").remove("routing");
    let errors = schema_errors(&config);
    assert!(errors.iter().any(|e| e.contains("routing")), "{errors:?}");
}

/// The `# yaml-language-server: $schema=...` line of a YAML file, resolved
/// against the file's folder.
fn declared_schema(path: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join(path)).expect("read the example");
    let first = text.lines().next().unwrap_or_default();
    let relative = first
        .strip_prefix("# yaml-language-server: $schema=")
        .unwrap_or_else(|| panic!("{path}: the first line does not declare a schema: {first}"));
    root()
        .join(path)
        .parent()
        .expect("a file has a folder")
        .join(relative.trim())
}

#[test]
fn the_examples_point_editors_at_the_published_schema() {
    let published = root()
        .join(SCHEMA)
        .canonicalize()
        .expect("the schema exists");
    for path in ["oncall.yaml", "examples/local-oncall.yaml"] {
        let declared = declared_schema(path);
        let resolved = declared
            .canonicalize()
            .unwrap_or_else(|e| panic!("{path} names {}: {e}", declared.display()));
        assert_eq!(resolved, published, "{path}");
        assert!(Path::new(&resolved).is_file());
    }
}
