//! Every check `klaxon config validate` makes, on [`Sources`]: merge,
//! parse, validate and, built with `numbering-plan`, numbering plans; each
//! problem located in its file and line.

use super::{Located, Sources};
use crate::{COLLECTIONS, ConfigError, OncallConfig, RawConfig};

/// A configuration that passed every check.
#[derive(Debug, Clone)]
pub struct Checked {
    pub config: OncallConfig,
    /// The merged document, as `klaxon config apply` stores it.
    pub document: String,
    /// Problems that do not stop it from loading, in reading order.
    pub warnings: Vec<Located>,
}

impl Sources {
    /// Merges, parses and validates these sources as `klaxon config
    /// validate` does (with `numbering-plan`, every phone number against its
    /// numbering plan too); every problem comes back at once, in reading
    /// order. `origin`
    /// (the file or folder given) names problems of the whole configuration.
    pub fn check(&self, origin: &str) -> Result<Checked, Vec<Located>> {
        let whole = |message: String| {
            vec![Located {
                file: origin.to_string(),
                line: None,
                path: String::new(),
                message,
            }]
        };
        let merged = self.merge(COLLECTIONS)?;
        let document = self.document(&merged).map_err(|e| whole(e.to_string()))?;
        let located = |e: ConfigError| in_file_order(self.locate_issues(&e));
        let raw = RawConfig::from_yaml(&document).map_err(located)?;
        // Numbers checked against numbering plans are reported with every
        // other problem, so one run lists them all.
        #[cfg(feature = "numbering-plan")]
        let plan = raw.numbering_plan_issues();
        #[cfg(not(feature = "numbering-plan"))]
        let plan = Vec::new();
        let config = match OncallConfig::from_raw(raw) {
            Ok(config) if plan.is_empty() => config,
            Ok(_) => return Err(located(ConfigError { issues: plan })),
            Err(mut e) => {
                e.issues.extend(plan);
                return Err(located(e));
            }
        };
        let warnings = located(ConfigError {
            issues: config.warnings.clone(),
        });
        Ok(Checked {
            config,
            document,
            warnings,
        })
    }
}

/// Problems in reading order: by file, then line (stable otherwise).
fn in_file_order(mut found: Vec<Located>) -> Vec<Located> {
    found.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEOPLE: &str = "\
version: 1
people:
  alice: {name: Alice, phone: \"+819012345678\", time_zone: Mars/Olympus}
";
    const REST: &str = "\
services:
  web: {escalation_policy: default}
escalation_policies:
  default:
    levels:
      - {targets: [alice, nobody], timeout_minutes: 5}
routing:
  default: {service: web, severity: SEV2}
";

    #[test]
    fn every_problem_of_every_file_comes_back_with_its_file_and_line() {
        // GIVEN a folder of two files, each with a problem validation finds
        let sources = Sources::from_texts(vec![
            ("b.yaml".into(), REST.into()),
            ("a.yaml".into(), PEOPLE.into()),
        ]);
        // WHEN checked as `klaxon config validate` checks it
        let problems = sources.check("config/").unwrap_err();
        // THEN both come back, in reading order, each where it was written
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{shown:?}");
        assert!(
            shown[0].starts_with("a.yaml:3: people.alice.time_zone: "),
            "{shown:?}"
        );
        assert!(
            shown[1].starts_with("b.yaml:6: escalation_policies.default.levels[0].targets[1]: "),
            "{shown:?}"
        );
    }

    #[test]
    fn a_valid_configuration_comes_back_with_the_document_to_store() {
        let fixed = PEOPLE.replace("Mars/Olympus", "Asia/Tokyo");
        let rest = REST.replace(", nobody", "");
        let sources = Sources::from_texts(vec![("a.yaml".into(), fixed), ("b.yaml".into(), rest)]);
        let checked = sources.check("config/").unwrap();
        assert!(checked.config.person("alice").is_some());
        let reread = OncallConfig::from_yaml(&checked.document).unwrap();
        assert_eq!(reread.raw, checked.config.raw);
    }

    #[test]
    fn a_byte_order_mark_is_dropped_and_a_control_character_located() {
        let fixed = PEOPLE.replace("Mars/Olympus", "Asia/Tokyo");
        let rest = REST.replace(", nobody", "");
        let with_bom = format!("\u{FEFF}{fixed}");
        let sources = Sources::from_texts(vec![
            ("a.yaml".into(), with_bom),
            ("b.yaml".into(), rest.clone()),
        ]);
        assert!(sources.check("config/").is_ok());

        let bell = rest.replace("service: web", "service: w\u{7}eb");
        let sources = Sources::from_texts(vec![("a.yaml".into(), fixed), ("b.yaml".into(), bell)]);
        let problems = sources.check("config/").unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            (problems[0].file.as_str(), problems[0].line),
            ("b.yaml", Some(8))
        );
        assert!(
            problems[0].message.contains("control character U+0007"),
            "{problems:?}"
        );
    }
}
