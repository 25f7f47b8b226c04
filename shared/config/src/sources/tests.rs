//! Multi-file configuration tests: merging, file and line of each problem.

use super::*;
use crate::OncallConfig;

const COLLECTIONS: &[&str] = &[
    "people",
    "teams",
    "services",
    "schedules",
    "escalation_policies",
];

const NESTED: &str = "\
# on-call
version: 1
people:
  alice:
    name: Alice
    phone: \"+819012345678\"
  bob: {name: Bob,
        phone: \"+14155550123\"}
escalation_policies:
  default:
    levels:
      - targets: [alice, bob]
        timeout_minutes: 5
      -
        targets:
          - bob
        timeout_seconds: 30
";

#[test]
fn finds_keys_of_nested_block_maps() {
    let index = LineIndex::new(NESTED);
    assert_eq!(index.line_of("."), Some(2));
    assert_eq!(index.line_of(""), Some(2));
    assert_eq!(index.line_of("version"), Some(2));
    assert_eq!(index.line_of("people"), Some(3));
    assert_eq!(index.line_of("people.alice"), Some(4));
    assert_eq!(index.line_of("people.alice.phone"), Some(6));
    assert!(index.contains("people.alice.name"));
}

#[test]
fn finds_keys_of_flow_maps_over_several_lines() {
    let index = LineIndex::new(NESTED);
    assert_eq!(index.line_of("people.bob"), Some(7));
    assert_eq!(index.line_of("people.bob.name"), Some(7));
    assert_eq!(index.line_of("people.bob.phone"), Some(8));
}

#[test]
fn finds_items_of_sequences_of_maps() {
    let index = LineIndex::new(NESTED);
    let policy = "escalation_policies.default.levels";
    assert_eq!(index.line_of(&format!("{policy}[0]")), Some(12));
    assert_eq!(index.line_of(&format!("{policy}[0].targets")), Some(12));
    assert_eq!(
        index.line_of(&format!("{policy}[0].timeout_minutes")),
        Some(13)
    );
    // An item whose content starts below its `-` is found on that line.
    assert_eq!(index.line_of(&format!("{policy}[1]")), Some(15));
    assert_eq!(
        index.line_of(&format!("{policy}[1].timeout_seconds")),
        Some(17)
    );
}

#[test]
fn finds_sequence_items_in_flow_and_block_style() {
    let index = LineIndex::new(NESTED);
    let levels = "escalation_policies.default.levels";
    assert_eq!(index.line_of(&format!("{levels}[0].targets[1]")), Some(12));
    assert_eq!(index.line_of(&format!("{levels}[1].targets[0]")), Some(16));
    let list = LineIndex::new("- a\n-\n  b\n- [c,\n   d]\n");
    assert_eq!(list.line_of("[0]"), Some(1));
    assert_eq!(list.line_of("[1]"), Some(3));
    assert_eq!(list.line_of("[2][1]"), Some(5));
}

#[test]
fn falls_back_to_the_longest_indexed_prefix() {
    let index = LineIndex::new(NESTED);
    assert!(!index.contains("people.carol"));
    assert_eq!(index.line_of("people.carol.phone"), Some(3));
    assert_eq!(index.line_of("people.alice.emial"), Some(4));
    let levels = "escalation_policies.default.levels";
    assert!(!index.contains(&format!("{levels}[7]")));
    assert_eq!(index.line_of(&format!("{levels}[7].targets")), Some(11));
    assert_eq!(index.line_of(&format!("{levels}[0].targets[9]")), Some(12));
    assert_eq!(index.line_of("routing.default"), Some(2));
    assert_eq!(index.line_of("people[0]"), Some(3));
    assert_eq!(LineIndex::new("# nothing\n").line_of("."), None);
    assert_eq!(LineIndex::new("").line_of("people"), None);
}

#[test]
fn counts_lines_the_same_with_crlf_endings() {
    let crlf = NESTED.replace('\n', "\r\n");
    let (unix, windows) = (LineIndex::new(NESTED), LineIndex::new(&crlf));
    for path in [
        "people.alice.phone",
        "people.bob.phone",
        "escalation_policies.default.levels[1].targets[0]",
        "escalation_policies.default.levels[1].timeout_seconds",
    ] {
        assert_eq!(windows.line_of(path), unix.line_of(path), "{path}");
    }
    assert_eq!(windows.line_of("people.bob.phone"), Some(8));
}

#[test]
fn skips_multi_line_strings_and_comments() {
    let text = "\
a: |
  one
  two: not a key

  # not a comment
b: >-
  folded
  text
# comment
c:   # trailing
  \"quoted key\": 1
  d: 'multi
    line'
  e: 2
";
    let index = LineIndex::new(text);
    assert_eq!(index.line_of("b"), Some(6));
    assert_eq!(index.line_of("c"), Some(10));
    assert_eq!(index.line_of("c.quoted key"), Some(11));
    assert_eq!(index.line_of("c.d"), Some(12));
    assert_eq!(index.line_of("c.e"), Some(14));
    assert!(!index.contains("a.two"));
}

#[test]
fn resolves_paths_through_aliases_to_the_anchor() {
    let text = "\
base: &pager
  name: Pager
  phone: \"+1\"
people:
  alice: *pager
  bob:
    <<: *pager
    name: Bob
";
    let index = LineIndex::new(text);
    assert_eq!(index.line_of("people.alice"), Some(5));
    assert_eq!(index.line_of("people.alice.phone"), Some(3));
    // Merge keys are ordinary keys: the loader does not apply them.
    assert_eq!(index.line_of("people.bob.<<"), Some(7));
    assert_eq!(index.line_of("people.bob.<<.phone"), Some(3));
    assert_eq!(index.line_of("people.bob.phone"), Some(6));
    let cycle = LineIndex::new("&a [*a]");
    assert_eq!(cycle.line_of("[0][0][0][0]"), Some(1));
}

#[test]
fn prefers_the_longest_key_when_a_key_contains_dots() {
    let text = "\
m:
  a.b: 1
  a:
    b: 2
    c: 3
  x[0]: 4
";
    let index = LineIndex::new(text);
    assert_eq!(index.line_of("m.a.b"), Some(2));
    // Backtracks to the shorter key when the longer one leads nowhere.
    assert_eq!(index.line_of("m.a.c"), Some(5));
    assert_eq!(index.line_of("m.x[0]"), Some(6));
    assert!(index.contains("m.a.b"));
}

#[test]
fn keeps_what_it_indexed_before_a_syntax_error() {
    let index = LineIndex::new("a:\n  b: 1\nc: [1, 2\nd: 3\n");
    assert_eq!(index.line_of("a.b"), Some(2));
    assert_eq!(index.line_of("c"), Some(3));
    assert!(!index.contains("d"));
    // Complex keys are skipped; the entries after them are still indexed.
    let complex = LineIndex::new("? [k]\n: v\nz: 1\n");
    assert_eq!(complex.line_of("z"), Some(3));
}

/// A unique folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(files: &[(&str, &str)]) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "klaxon-sources-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        TempDir(dir)
    }

    fn name(&self, file: &str) -> String {
        self.0.join(file).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PEOPLE: &str = "\
version: 1
people:
  alice: {name: Alice, phone: \"+819012345678\"}
  bob:
    name: Bob
    phone: \"+14155550123\"
";
const POLICIES: &str = "\
# policies
escalation_policies:
  default:
    levels:
      - {targets: [alice], timeout_minutes: 5}
      - {targets: [bob, carol], timeout_minutes: 5}
";
const ROUTING: &str = "\
version: 1
routing:
  default: {service: general, severity: SEV3}
services:
  general: {escalation_policy: default}
";

fn three_files() -> Vec<(String, String)> {
    vec![
        ("people.yaml".into(), PEOPLE.into()),
        ("policies.yaml".into(), POLICIES.into()),
        ("routing.yaml".into(), ROUTING.into()),
    ]
}

#[test]
fn merges_a_folder_of_three_files_in_name_order() {
    let dir = TempDir::new(&[
        ("routing.yml", ROUTING),
        ("people.yaml", PEOPLE),
        ("policies.yaml", POLICIES),
        ("notes.txt", "not: yaml config"),
        (".hidden.yaml", "routing: {}"),
    ]);
    std::fs::create_dir(dir.0.join("sub.yaml")).unwrap();
    let sources = Sources::read(&dir.0).unwrap();
    let names: Vec<&str> = sources.files().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            dir.name("people.yaml"),
            dir.name("policies.yaml"),
            dir.name("routing.yml")
        ]
    );
    let merged = sources.merge(COLLECTIONS).unwrap();
    let keys: Vec<&str> = merged
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "version",
            "people",
            "escalation_policies",
            "routing",
            "services"
        ]
    );
    assert_eq!(merged["people"]["bob"]["name"], Value::from("Bob"));
    assert_eq!(
        merged["services"]["general"]["escalation_policy"],
        Value::from("default")
    );
}

#[test]
fn merges_collection_entries_from_several_files() {
    let more = "people:\n  carol: {name: Carol, phone: \"+33612345678\"}\n";
    let mut files = three_files();
    files.push(("zz-people.yaml".into(), more.into()));
    let merged = Sources::from_texts(files).merge(COLLECTIONS).unwrap();
    let people: Vec<&str> = merged["people"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(people, ["alice", "bob", "carol"]);
}

#[test]
fn reports_a_person_defined_in_two_files_at_both_places() {
    let other = "\n\npeople:\n  dave: {name: Dave}\n  bob: {name: Robert}\n";
    let sources = Sources::from_texts(vec![
        ("people.yaml".into(), PEOPLE.into()),
        ("more.yaml".into(), other.into()),
    ]);
    let problems = sources.merge(COLLECTIONS).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        (problems[0].file.as_str(), problems[0].line),
        ("people.yaml", Some(4))
    );
    assert_eq!(
        (problems[1].file.as_str(), problems[1].line),
        ("more.yaml", Some(5))
    );
    assert!(problems.iter().all(|p| p.path == "people.bob"));
    assert!(
        problems[0].message.contains("more.yaml line 5"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].message.contains("people.yaml line 4"),
        "{}",
        problems[1]
    );
    assert_eq!(
        problems[0].to_string(),
        "people.yaml:4: people.bob: 'bob' is defined in more than one file; also in more.yaml line 5"
    );
}

#[test]
fn rejects_routing_defined_in_two_files() {
    let mut files = three_files();
    files.push((
        "extra.yaml".into(),
        "# more\nrouting:\n  rules: []\n".into(),
    ));
    let problems = Sources::from_texts(files).merge(COLLECTIONS).unwrap_err();
    let places: Vec<(&str, Option<usize>, &str)> = problems
        .iter()
        .map(|p| (p.file.as_str(), p.line, p.path.as_str()))
        .collect();
    assert_eq!(
        places,
        [
            ("routing.yaml", Some(2), "routing"),
            ("extra.yaml", Some(2), "routing")
        ]
    );
    assert!(
        problems[0].message.contains("one file only"),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].message.contains("extra.yaml line 2"),
        "{}",
        problems[0]
    );
}

#[test]
fn accepts_an_equal_version_and_rejects_a_differing_one() {
    assert!(
        Sources::from_texts(three_files())
            .merge(COLLECTIONS)
            .is_ok()
    );
    let mut files = three_files();
    files[2].1 = ROUTING.replace("version: 1", "version: 2");
    let problems = Sources::from_texts(files).merge(COLLECTIONS).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        (
            problems[0].file.as_str(),
            problems[0].line,
            problems[0].path.as_str()
        ),
        ("people.yaml", Some(1), "version")
    );
    assert_eq!(
        problems[0].message,
        "version 1 differs from version 2 in routing.yaml line 1"
    );
    assert_eq!(problems[1].file, "routing.yaml");
}

#[test]
fn reports_a_syntax_error_in_the_second_file_with_its_line() {
    let mut files = three_files();
    files[1].1 = "escalation_policies:\n  default:\n    levels: [\n".into();
    files[2].1 = "routing: {\n".into();
    let problems = Sources::from_texts(files).merge(COLLECTIONS).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].file, "policies.yaml");
    assert_eq!(problems[0].line, Some(4));
    assert!(problems[0].path.is_empty());
    assert!(
        !problems[0].message.contains(" at line "),
        "{}",
        problems[0]
    );
    assert_eq!(problems[1].file, "routing.yaml");
}

#[test]
fn rejects_a_collection_or_top_level_that_is_not_a_mapping() {
    let sources = Sources::from_texts(vec![
        ("a.yaml".into(), "version: 1\npeople: [alice]\n".into()),
        ("b.yaml".into(), "- just\n- a list\n".into()),
        ("c.yaml".into(), "# only a comment\n".into()),
    ]);
    let problems = sources.merge(COLLECTIONS).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        (problems[0].line, problems[0].path.as_str()),
        (Some(2), "people")
    );
    assert!(problems[0].message.contains("found a sequence"));
    assert_eq!(
        (problems[1].file.as_str(), problems[1].line),
        ("b.yaml", Some(1))
    );
}

#[test]
fn locates_a_path_defined_in_the_second_file() {
    let sources = Sources::from_texts(three_files());
    assert_eq!(
        sources.locate("escalation_policies.default.levels[1].targets[1]"),
        Some(("policies.yaml", 6))
    );
    assert_eq!(sources.locate("people.bob.phone"), Some(("people.yaml", 6)));
    assert_eq!(
        sources.locate("routing.default.policy"),
        Some(("routing.yaml", 3))
    );
    assert_eq!(sources.locate("people.zed"), Some(("people.yaml", 2)));
    assert_eq!(sources.locate("."), Some(("people.yaml", 1)));
    assert_eq!(Sources::from_texts(vec![]).locate("people"), None);
}

#[test]
fn names_file_and_line_of_problems_found_after_parsing() {
    let sources = Sources::from_texts(three_files());
    let merged = sources.merge(COLLECTIONS).unwrap();
    let document = sources.document(&merged).unwrap();
    assert!(document.starts_with("# Merged from people.yaml, policies.yaml, routing.yaml\n"));
    let error = OncallConfig::from_yaml(&document).unwrap_err();
    let located = sources.locate_issues(&error);
    assert_eq!(located.len(), 1, "{located:?}");
    assert_eq!(
        located[0].to_string(),
        "policies.yaml:6: escalation_policies.default.levels[1].targets[1]: unknown person 'carol'"
    );
}

#[test]
fn keeps_a_single_file_unchanged_and_its_parser_lines() {
    let text = format!("{PEOPLE}{}{}", &POLICIES, &ROUTING[11..]);
    let text = text.replace("phone: \"+14155550123\"", "phnoe: \"+14155550123\"");
    let dir = TempDir::new(&[("oncall.yaml", &text)]);
    let sources = Sources::read(&dir.0.join("oncall.yaml")).unwrap();
    let merged = sources.merge(COLLECTIONS).unwrap();
    assert_eq!(sources.document(&merged).unwrap(), text);
    let error = OncallConfig::from_yaml(&text).unwrap_err();
    let located = sources.locate_issues(&error);
    assert_eq!(located[0].file, dir.name("oncall.yaml"));
    assert_eq!(located[0].path, "people.bob.phnoe");
    assert_eq!(located[0].line, Some(6));
}

#[test]
fn refuses_an_empty_folder_and_a_missing_path() {
    let dir = TempDir::new(&[("readme.md", "# hi")]);
    let err = Sources::read(&dir.0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains("no *.yaml or *.yml files"),
        "{err}"
    );
    let missing = dir.0.join("nope.yaml");
    let err = Sources::read(&missing).unwrap_err();
    assert!(err.to_string().contains("nope.yaml"), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    #[test]
    fn never_panics_on_arbitrary_yaml_like_text(
        text in "([a-z&*!|>?:,#'\"{}\\[\\]\\-. ]|\r?\n){0,80}",
        path in "[a-z.\\[\\]0-9]{0,12}",
    ) {
        let index = LineIndex::new(&text);
        let _ = index.line_of(&path);
        let sources = Sources::from_texts(vec![
            ("a.yaml".into(), text.clone()),
            ("b.yaml".into(), text),
        ]);
        let _ = sources.merge(COLLECTIONS);
        let _ = sources.locate(&path);
    }
}
