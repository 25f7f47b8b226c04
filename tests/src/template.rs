//! `infra/template.yaml` as data, for tests that check what it declares
//! (a policy's actions, a resource's condition). Nothing here evaluates
//! it: the local stack is the template deployed by the emulator's
//! CloudFormation ([`crate::stack`]).

use std::path::{Path, PathBuf};

use serde_norway::Value;

use crate::HarnessError;

/// The SAM template, parsed (CloudFormation short-form tags kept).
#[derive(Debug, Clone)]
pub struct Template {
    pub path: PathBuf,
    pub doc: Value,
}

impl Template {
    /// The repository's template (`infra/template.yaml`).
    pub fn repo() -> Result<Self, HarnessError> {
        Self::load(&repo_root().join("infra").join("template.yaml"))
    }

    pub fn load(path: &Path) -> Result<Self, HarnessError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| HarnessError::Template(format!("{}: {e}", path.display())))?;
        let doc: Value = serde_norway::from_str(&text)
            .map_err(|e| HarnessError::Template(format!("{}: {e}", path.display())))?;
        Ok(Self {
            path: path.to_path_buf(),
            doc,
        })
    }

    /// Logical ids and bodies of resources of one type, in file order.
    pub fn resources_of(&self, kind: &str) -> Vec<(String, &Value)> {
        self.doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter(|(_, body)| body.get("Type").and_then(Value::as_str) == Some(kind))
            .filter_map(|(id, body)| id.as_str().map(|id| (id.to_string(), body)))
            .collect()
    }

    /// A parameter's default, as CloudFormation takes it when no value is
    /// given.
    pub fn parameter_default(&self, name: &str) -> Result<String, HarnessError> {
        let default = self
            .doc
            .get("Parameters")
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("Default"))
            .ok_or_else(|| HarnessError::Template(format!("parameter {name} has no default")))?;
        match default {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(HarnessError::Template(format!(
                "parameter {name}: unexpected default {other:?}"
            ))),
        }
    }

    pub fn resource(&self, id: &str) -> Result<&Value, HarnessError> {
        self.doc
            .get("Resources")
            .and_then(|r| r.get(id))
            .ok_or_else(|| HarnessError::Template(format!("resource {id} not in template")))
    }
}

/// The workspace root (this crate lives in `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
