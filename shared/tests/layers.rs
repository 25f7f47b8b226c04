//! The layers' direction, checked until each layer is a crate of its own
//! (then the compiler keeps it): each top-level module of `shared/src` may
//! use only the modules below it. Test code (`tests.rs`, `*_tests.rs`,
//! an inline `mod tests`) may reach further; a few feature-gated test
//! helpers are listed by name.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each layer and the layers its production code may use.
const ALLOWED: &[(&str, &[&str])] = &[
    ("core", &[]),
    ("config", &["core"]),
    ("ports", &["core", "config"]),
    ("system", &["core", "ports"]),
    ("https", &[]),
    ("aws", &["core", "config", "ports", "https"]),
    ("http", &["core", "ports", "https", "system"]),
    ("testing", &["core", "config", "ports", "system"]),
    ("app", &["core", "config", "ports"]),
    ("runtime", &["core", "config", "ports", "app"]),
];

/// Test helpers compiled only under `test` or feature `testing`, which may
/// use the fakes: the file and the layer it reaches.
const TEST_HELPERS: &[(&str, &str)] = &[
    // The EMF log reads back what it wrote for the metric-log contract.
    ("aws/emf.rs", "testing"),
    // A whole Klaxon on fakes, for handler tests.
    ("app/world.rs", "testing"),
    // Property-based fuzzing of the parsers (a test module of its own).
    ("app/fuzz.rs", "testing"),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer a file belongs to: its first path component under `src`,
/// without `.rs`.
fn layer_of(relative: &str) -> String {
    let first = relative.split('/').next().unwrap_or(relative);
    first.trim_end_matches(".rs").to_string()
}

fn is_test_file(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    name == "tests.rs" || name.ends_with("_tests.rs") || relative.contains("/tests/")
}

/// The file's production code: up to an inline `#[cfg(test)]` module.
fn production(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// The layers a piece of code names as `crate::<layer>`, outside comments.
fn layers_used(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.insert(name);
            }
            rest = after;
        }
    }
    used
}

#[test]
fn every_layer_uses_only_the_layers_below_it() {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let layers: BTreeSet<&str> = ALLOWED.iter().map(|(l, _)| *l).collect();
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let layer = layer_of(&relative);
        if relative == "lib.rs" || is_test_file(&relative) {
            continue;
        }
        let Some((_, allowed)) = ALLOWED.iter().find(|(l, _)| *l == layer) else {
            broken.push(format!(
                "{relative}: layer `{layer}` is not in this test's table"
            ));
            continue;
        };
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap();
        for used in layers_used(production(&text)) {
            let own = used == layer;
            let below = allowed.contains(&used.as_str());
            let helper = TEST_HELPERS.contains(&(relative.as_str(), used.as_str()));
            if layers.contains(used.as_str()) && !own && !below && !helper {
                broken.push(format!("{relative} ({layer}) uses crate::{used}"));
            }
        }
    }
    assert!(checked > 100, "only {checked} files checked");
    assert!(broken.is_empty(), "layers broken:\n{}", broken.join("\n"));
}

#[test]
fn the_check_sees_a_use_of_a_layer_and_skips_comments_and_tests() {
    let code = "use crate::ports::Clock;\n// crate::app::x\nfn f() { crate::core::time::iso(t) }\n#[cfg(test)]\nmod tests { use crate::testing::World; }";
    let used = layers_used(production(code));
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        ["core".to_string(), "ports".to_string()]
    );
    assert!(is_test_file("core/voice/tests.rs"));
    assert!(is_test_file("core/channels_tests.rs"));
    assert!(!is_test_file("core/voice.rs"));
    assert_eq!(layer_of("aws/dynamo/stream.rs"), "aws");
    assert_eq!(layer_of("http.rs"), "http");
}
