//! `klaxon config validate|apply|show|schema`, and loading the configuration
//! for other commands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use klaxon_aws::dynamo::DynamoConfig;
use klaxon_config::OncallConfig;
use klaxon_config::sources::{Located, Sources};
use serde_json::json;

use crate::{ConfigFrom, Failure, StackArgs, print_json, say};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file or folder; every problem names the file,
    /// the line and the field.
    Validate {
        /// A YAML file, or a folder of YAML files merged into one configuration.
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Validate and store a configuration where the functions read it.
    Apply {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Print the stored configuration.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the configuration file (for editors).
    Schema,
}

pub async fn run(stack: &StackArgs, cmd: ConfigCommand) -> Result<(), Failure> {
    match cmd {
        ConfigCommand::Validate { path, json } => {
            let (config, _) = validate(&path, json)?;
            if stack.named() {
                check_secrets(&config, json).await?;
            }
            Ok(())
        }
        ConfigCommand::Apply { path, json } => {
            let (config, document) = validate(&path, false)?;
            let store = store(stack).await;
            let current = store.load().await?.map_or(0, |c| c.revision);
            let by = std::env::var("USER").unwrap_or_else(|_| "klaxon-cli".into());
            let revision = store.store(&document, &by, current).await?;
            if json {
                print_json(&json!({
                    "applied": true,
                    "revision": revision,
                    "table": stack.config(),
                    "counts": counts(&config),
                }));
            } else {
                say!(
                    "applied {} as revision {revision} to {}",
                    path.display(),
                    stack.config()
                );
            }
            Ok(())
        }
        ConfigCommand::Show { json } => {
            let stored = store(stack)
                .await
                .load()
                .await?
                .ok_or("no configuration applied yet")?;
            if json {
                print_json(&json!({
                    "revision": stored.revision,
                    "applied_at": stored.applied_at,
                    "applied_by": stored.applied_by,
                    "yaml": stored.yaml,
                }));
            } else {
                say!(
                    "# revision {} applied {} by {}",
                    stored.revision,
                    stored.applied_at,
                    stored.applied_by
                );
                say!("{}", stored.yaml.trim_end());
            }
            Ok(())
        }
        ConfigCommand::Schema => {
            let schema = sorted(klaxon_config::json_schema());
            say!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(())
        }
    }
}

/// The value with every object's keys in sorted order, so the printed
/// schema is the same whether or not serde_json preserves insertion order
/// (a feature other crates in a build can switch on).
fn sorted(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn counts(config: &OncallConfig) -> serde_json::Value {
    json!({
        "people": config.raw.people.len(),
        "teams": config.raw.teams.len(),
        "services": config.raw.services.len(),
        "schedules": config.raw.schedules.len(),
        "escalation_policies": config.raw.escalation_policies.len(),
        "routing_rules": config.raw.routing.rules.len(),
    })
}

/// Reads, merges and validates a file or folder. Returns the configuration
/// and the document to store, or every problem with its file and line.
pub fn load(path: &Path) -> Result<(OncallConfig, String, Vec<Located>), Vec<Located>> {
    let file = path.display().to_string();
    let sources = Sources::read(path).map_err(|e| {
        // Errors from reading already start with the path; say it once.
        let message = e.to_string();
        let message = match message.strip_prefix(&format!("{file}: ")) {
            Some(rest) => rest.to_string(),
            None => message,
        };
        vec![Located {
            file: file.clone(),
            line: None,
            path: String::new(),
            message,
        }]
    })?;
    let checked = sources.check(&file)?;
    Ok((checked.config, checked.document, checked.warnings))
}

fn validate(path: &Path, json: bool) -> Result<(OncallConfig, String), Failure> {
    match load(path) {
        Ok((config, document, warnings)) => {
            if json {
                print_json(&json!({
                    "valid": true,
                    "path": path,
                    "issues": [],
                    "warnings": warnings,
                    "counts": counts(&config),
                }));
            } else {
                for w in &warnings {
                    eprintln!("warning: {w}");
                }
                say!(
                    "{}: valid ({} people, {} services, {} schedules, {} escalation policies, {} routing rules)",
                    path.display(),
                    config.raw.people.len(),
                    config.raw.services.len(),
                    config.raw.schedules.len(),
                    config.raw.escalation_policies.len(),
                    config.raw.routing.rules.len()
                );
            }
            Ok((config, document))
        }
        Err(issues) => {
            if json {
                print_json(&json!({"valid": false, "path": path, "issues": issues}));
            } else {
                for issue in &issues {
                    eprintln!("{issue}");
                }
            }
            Err(Failure {
                message: format!("{}: {} problem(s)", path.display(), issues.len()),
                code: 1,
            })
        }
    }
}

/// Every secret the notifications name, checked to exist in the account
/// the AWS configuration reaches (without reading its value).
async fn check_secrets(config: &OncallConfig, json: bool) -> Result<(), Failure> {
    let sdk = klaxon_aws::sdk_config().await;
    let secrets = klaxon_secrets::AwsSecrets::from_sdk(&sdk);
    let (checked, problems) = klaxon_cli::validation::secret_problems(config, &secrets).await;
    if json {
        print_json(&json!({"secrets_checked": checked, "secret_problems": problems}));
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        if problems.is_empty() && checked > 0 {
            say!("{checked} secret(s) named by notifications exist");
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            message: format!("{} secret(s) cannot be found or read", problems.len()),
            code: 1,
        })
    }
}

async fn store(stack: &StackArgs) -> DynamoConfig {
    let sdk = klaxon_aws::sdk_config().await;
    DynamoConfig::from_sdk(&sdk, stack.config(), Duration::ZERO)
}

/// The configuration a command works on: `--config` if given, else the
/// applied one.
pub async fn current(stack: &StackArgs, from: &ConfigFrom) -> Result<OncallConfig, Failure> {
    match &from.path {
        Some(path) => match load(path) {
            Ok((config, _, _)) => Ok(config),
            Err(issues) => {
                for issue in &issues {
                    eprintln!("{issue}");
                }
                Err(Failure {
                    message: format!("{}: {} problem(s)", path.display(), issues.len()),
                    code: 1,
                })
            }
        },
        None => {
            let stored = store(stack).await.load().await?.ok_or_else(|| Failure {
                message: format!(
                    "no configuration applied to {} (run `klaxon config apply`, or pass --config)",
                    stack.config()
                ),
                code: 1,
            })?;
            Ok(OncallConfig::from_yaml(&stored.yaml)?)
        }
    }
}
