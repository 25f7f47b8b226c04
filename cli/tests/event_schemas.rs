//! The published schemas of incident events (`schema/events/`): up to date
//! with the binary, one per detail-type, and they accept what Klaxon
//! publishes and reject what it does not.

mod common;

use std::collections::BTreeSet;

use common::{klaxon, root};
use klaxon_core::events::{DetailType, bus_event};
use klaxon_testing::contract::{incident, t0};
use klaxon_testing::events::sample_entries;
use serde_json::Value;

const DIR: &str = "schema/events";

fn committed(d: DetailType) -> Value {
    let path = root().join(DIR).join(format!("{}.v1.json", d.slug()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate with `klaxon events schema --out {DIR}`",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("a schema is JSON")
}

#[test]
fn committed_schemas_match_what_the_binary_writes() {
    let out = std::env::temp_dir().join(format!("klaxon-event-schemas-{}", std::process::id()));
    let dir = out.to_string_lossy().to_string();
    klaxon(&["events", "schema", "--out", &dir]).expect_code(0);
    let names = |d: &std::path::Path| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect()
    };
    assert_eq!(
        names(&out),
        names(&root().join(DIR)),
        "one committed schema per detail-type, and no other"
    );
    for name in names(&out) {
        let fresh = std::fs::read_to_string(out.join(&name)).unwrap();
        let kept = std::fs::read_to_string(root().join(DIR).join(&name)).unwrap();
        assert!(
            fresh == kept,
            "{DIR}/{name} is out of date; regenerate with\n    cargo run -p klaxon-cli -- events schema --out {DIR}"
        );
    }
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn every_detail_klaxon_publishes_validates_against_its_schema_and_no_other() {
    let i = incident("abcdef", "A", t0());
    let details: Vec<(DetailType, Value)> = sample_entries(t0())
        .iter()
        .map(|e| {
            let event = bus_event(&i.id, Some(&i), e).unwrap();
            (
                event.detail_type,
                serde_json::to_value(&event.detail).unwrap(),
            )
        })
        .collect();
    for d in DetailType::ALL {
        let validator = jsonschema::validator_for(&committed(d)).expect("the schema compiles");
        for (of, detail) in &details {
            let errors: Vec<String> = validator
                .iter_errors(detail)
                .map(|e| e.to_string())
                .collect();
            if *of == d {
                assert!(errors.is_empty(), "{}: {errors:?}\n{detail:#}", d.as_str());
            } else {
                assert!(
                    !errors.is_empty(),
                    "the {} schema accepts a {} event",
                    d.as_str(),
                    of.as_str()
                );
            }
        }
    }
}

#[test]
fn the_list_names_every_detail_type_with_its_file() {
    let run = klaxon(&["events", "schema"]).expect_code(0);
    for d in DetailType::ALL {
        assert!(run.stdout.contains(d.as_str()), "{}", run.stdout);
        assert!(run.stdout.contains(&format!("{}.v1.json", d.slug())));
    }
}
