//! The architecture's direction (ARCHITECTURE.md), read from the
//! workspace's own manifests through `cargo metadata`: each layer crate
//! depends only on the layers below it, the pure core on nothing that does
//! I/O, and no function on the fakes. The compiler then keeps the code to
//! what the manifests allow.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each layer crate and the Klaxon crates its normal (non-dev) dependencies
/// may name.
const ALLOWED: &[(&str, &[&str])] = &[
    ("klaxon-core", &[]),
    ("klaxon-config", &["klaxon-core"]),
    ("klaxon-ports", &["klaxon-core", "klaxon-config"]),
    ("klaxon-system", &["klaxon-core", "klaxon-ports"]),
    ("klaxon-https", &[]),
    (
        "klaxon-aws",
        &[
            "klaxon-core",
            "klaxon-config",
            "klaxon-ports",
            "klaxon-https",
            // Optional, feature `testing`: the EMF log reads back what it
            // wrote for the metric-log contract.
            "klaxon-testing",
        ],
    ),
    ("klaxon-incident-manager", ADAPTER),
    ("klaxon-sqs", ADAPTER),
    ("klaxon-secrets", ADAPTER),
    ("klaxon-s3", ADAPTER),
    ("klaxon-lambda", ADAPTER),
    (
        "klaxon-http",
        &[
            "klaxon-core",
            "klaxon-ports",
            "klaxon-https",
            "klaxon-system",
        ],
    ),
    (
        "klaxon-testing",
        &[
            "klaxon-core",
            "klaxon-config",
            "klaxon-ports",
            "klaxon-system",
        ],
    ),
    (
        "klaxon-app",
        // `klaxon-testing` is optional (feature `testing`): a whole Klaxon
        // on fakes for handler tests.
        &[
            "klaxon-core",
            "klaxon-config",
            "klaxon-ports",
            "klaxon-testing",
        ],
    ),
    (
        "klaxon-runtime",
        &["klaxon-core", "klaxon-config", "klaxon-ports", "klaxon-app"],
    ),
];

/// What an adapter crate split from `klaxon-aws` may use.
const ADAPTER: &[&str] = &["klaxon-core", "klaxon-config", "klaxon-ports", "klaxon-aws"];

/// The adapters only some functions link: a paging function must not.
const OPTIONAL_ADAPTERS: &[&str] = &[
    "klaxon-incident-manager",
    "klaxon-sqs",
    "klaxon-secrets",
    "klaxon-s3",
    "klaxon-lambda",
    "klaxon-http",
];

const PAGING_FUNCTIONS: &[&str] = &["alarm-intake", "sms-reply", "escalator", "voice-call"];

/// Every workspace package and its normal dependencies.
fn workspace() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
    let mut packages = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let deps = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().expect("name").to_string())
            .collect();
        let name = package["name"].as_str().expect("name").to_string();
        packages.insert(name, deps);
    }
    packages
}

#[test]
fn each_layer_crate_depends_only_on_the_layers_below_it() {
    let packages = workspace();
    for (krate, allowed) in ALLOWED {
        let deps = packages
            .get(*krate)
            .unwrap_or_else(|| panic!("{krate} is a workspace member"));
        let klaxon: Vec<_> = deps.iter().filter(|d| d.starts_with("klaxon-")).collect();
        for dep in klaxon {
            assert!(
                allowed.contains(&dep.as_str()),
                "{krate} depends on {dep}, which is not below it"
            );
        }
    }
    let layers: BTreeSet<_> = ALLOWED.iter().map(|(k, _)| *k).collect();
    let unlisted: Vec<_> = packages
        .keys()
        .filter(|p| p.starts_with("klaxon-") && !layers.contains(p.as_str()))
        .filter(|p| !matches!(p.as_str(), "klaxon-cli" | "klaxon-tests"))
        .collect();
    assert!(
        unlisted.is_empty(),
        "layer crates without a place: {unlisted:?}"
    );
}

#[test]
fn the_core_does_no_io_reads_no_clock_and_draws_no_randomness() {
    let packages = workspace();
    let core = &packages["klaxon-core"];
    for dep in core {
        assert!(
            !(dep.starts_with("aws")
                || dep.starts_with("klaxon-")
                || ["tokio", "rand", "lambda_runtime", "hyper", "tracing"].contains(&dep.as_str())),
            "klaxon-core depends on {dep}"
        );
    }
}

#[test]
fn functions_never_link_the_fakes_and_paging_functions_only_the_paging_adapters() {
    let packages = workspace();
    let functions: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
        .expect("functions/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(functions.len() >= 9, "{functions:?}");
    for function in &functions {
        let deps = &packages[function.as_str()];
        assert!(
            !deps.contains("klaxon-testing"),
            "{function} links the fakes"
        );
        if PAGING_FUNCTIONS.contains(&function.as_str()) {
            for adapter in OPTIONAL_ADAPTERS {
                assert!(!deps.contains(*adapter), "{function} links {adapter}");
            }
        }
    }
}
