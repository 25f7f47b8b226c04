//! `klaxon events schema`: the JSON Schema of every incident event Klaxon
//! publishes on its bus, one file per detail-type (committed in
//! `schema/events/`).

use std::path::PathBuf;

use clap::Subcommand;
use klaxon_core::events::{DetailType, SCHEMA_VERSION, SOURCE, json_schema};

use crate::{Failure, say};

#[derive(Subcommand)]
pub enum EventsCommand {
    /// The detail-types of incident events; with --out, writes the JSON
    /// Schema of each one's detail as <slug>.v<version>.json into DIR.
    Schema {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// The file name of a detail-type's schema.
pub fn schema_file(d: DetailType) -> String {
    format!("{}.v{SCHEMA_VERSION}.json", d.slug())
}

pub fn run(cmd: EventsCommand) -> Result<(), Failure> {
    match cmd {
        EventsCommand::Schema { out: None } => {
            say!("source \"{SOURCE}\", detail version {SCHEMA_VERSION}");
            for d in DetailType::ALL {
                say!(
                    "{:<26} {:<38} timeline kind {}",
                    d.as_str(),
                    schema_file(d),
                    d.kind()
                );
            }
            Ok(())
        }
        EventsCommand::Schema { out: Some(dir) } => {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for d in DetailType::ALL {
                let path = dir.join(schema_file(d));
                let text = serde_json::to_string_pretty(&json_schema(d))?;
                std::fs::write(&path, format!("{text}\n"))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            say!(
                "wrote {} schemas to {}",
                DetailType::ALL.len(),
                dir.display()
            );
            Ok(())
        }
    }
}
