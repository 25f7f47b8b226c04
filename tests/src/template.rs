//! Reads `infra/template.yaml`: the one description of Klaxon's resources.
//! The local stack is provisioned from it, so local and deployed resources
//! cannot drift apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_norway::Value;

use crate::HarnessError;

/// The SAM template, parsed (CloudFormation short-form tags kept).
#[derive(Debug, Clone)]
pub struct Template {
    pub path: PathBuf,
    pub doc: Value,
}

/// What an intrinsic function may refer to.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub stack_name: String,
    pub region: String,
    pub account: String,
    /// `Ref` of a resource or parameter.
    pub refs: BTreeMap<String, String>,
    /// `GetAtt` of `Resource.Attribute`.
    pub attrs: BTreeMap<String, String>,
    /// The template's Conditions, evaluated with the parameters.
    pub conditions: BTreeMap<String, bool>,
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

    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Logical ids and bodies of resources of one type, in file order.
    /// Evaluates every condition of the template into `ctx`, in order.
    pub fn evaluate_conditions(&self, ctx: &mut Context) -> Result<(), HarnessError> {
        let conditions = self.doc.get("Conditions").and_then(Value::as_mapping);
        for (k, v) in conditions.into_iter().flatten() {
            let name = k.as_str().unwrap_or_default().to_string();
            let holds = condition(v, ctx)?;
            ctx.conditions.insert(name, holds);
        }
        Ok(())
    }

    /// Whether a resource exists with these parameters (its `Condition`).
    pub fn exists(&self, body: &Value, ctx: &Context) -> bool {
        match body.get("Condition").and_then(Value::as_str) {
            Some(c) => ctx.conditions.get(c).copied().unwrap_or(false),
            None => true,
        }
    }

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

    /// A function's timeout in seconds: its own `Timeout`, else the
    /// `Globals` one, else Lambda's default of 3.
    pub fn function_timeout(&self, id: &str) -> Result<u64, HarnessError> {
        let own = self
            .resource(id)?
            .get("Properties")
            .and_then(|p| p.get("Timeout"));
        let global = self
            .doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Timeout"));
        Ok(own.or(global).and_then(Value::as_u64).unwrap_or(3))
    }

    pub fn resource(&self, id: &str) -> Result<&Value, HarnessError> {
        self.doc
            .get("Resources")
            .and_then(|r| r.get(id))
            .ok_or_else(|| HarnessError::Template(format!("resource {id} not in template")))
    }

    /// Parameter defaults, as `Ref` values.
    pub fn parameter_defaults(&self) -> BTreeMap<String, String> {
        self.doc
            .get("Parameters")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| {
                let default = match v.get("Default")? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((k.as_str()?.to_string(), default))
            })
            .collect()
    }

    /// The environment a function gets: `Globals.Function.Environment`
    /// merged with its own, intrinsics resolved.
    pub fn function_environment(
        &self,
        function_id: &str,
        ctx: &Context,
    ) -> Result<BTreeMap<String, String>, HarnessError> {
        let mut env = BTreeMap::new();
        let global = self
            .doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"));
        let own = self
            .resource(function_id)?
            .get("Properties")
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"));
        for vars in [global, own].into_iter().flatten() {
            for (k, v) in vars.as_mapping().into_iter().flatten() {
                let key = k
                    .as_str()
                    .ok_or_else(|| HarnessError::Template("non-string env var name".into()))?;
                env.insert(key.to_string(), resolve(v, ctx)?);
            }
        }
        Ok(env)
    }
}

/// The workspace root (this crate lives in `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Resolves a scalar with `!Ref`, `!Sub` and `!GetAtt` (short or long form).
pub fn resolve(value: &Value, ctx: &Context) -> Result<String, HarnessError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            intrinsic(tag.trim_start_matches('!'), &tagged.value, ctx)
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m
                .iter()
                .next()
                .ok_or_else(|| HarnessError::Template("empty".into()))?;
            let name = k.as_str().unwrap_or_default();
            let short = name.strip_prefix("Fn::").unwrap_or(name);
            intrinsic(short, v, ctx)
        }
        other => Err(HarnessError::Template(format!(
            "cannot resolve {other:?} to a string"
        ))),
    }
}

fn intrinsic(name: &str, arg: &Value, ctx: &Context) -> Result<String, HarnessError> {
    match name {
        "Ref" => {
            let target = arg
                .as_str()
                .ok_or_else(|| HarnessError::Template("!Ref needs a name".into()))?;
            pseudo(target, ctx)
                .or_else(|| ctx.refs.get(target).cloned())
                .ok_or_else(|| HarnessError::Template(format!("!Ref {target}: unknown locally")))
        }
        "GetAtt" => {
            let path = match arg {
                Value::String(s) => s.clone(),
                Value::Sequence(parts) => parts
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("."),
                _ => return Err(HarnessError::Template("bad !GetAtt".into())),
            };
            ctx.attrs
                .get(&path)
                .cloned()
                .ok_or_else(|| HarnessError::Template(format!("!GetAtt {path}: unknown locally")))
        }
        "Sub" => {
            let text = arg.as_str().ok_or_else(|| {
                HarnessError::Template("only the string form of !Sub is supported locally".into())
            })?;
            substitute(text, ctx)
        }
        "If" => {
            let parts = arg.as_sequence().filter(|p| p.len() == 3).ok_or_else(|| {
                HarnessError::Template("!If needs [condition, then, else]".into())
            })?;
            let name = parts[0]
                .as_str()
                .ok_or_else(|| HarnessError::Template("!If needs a condition name".into()))?;
            let holds =
                ctx.conditions.get(name).copied().ok_or_else(|| {
                    HarnessError::Template(format!("!If {name}: no such condition"))
                })?;
            resolve(&parts[if holds { 1 } else { 2 }], ctx)
        }
        other => Err(HarnessError::Template(format!(
            "intrinsic {other} is not supported locally"
        ))),
    }
}

/// Evaluates a condition (`Equals`, `Not`, `And`, `Or`, `Condition`) with
/// the parameters in `ctx` and the conditions evaluated so far.
pub fn condition(value: &Value, ctx: &Context) -> Result<bool, HarnessError> {
    let (name, arg) = match value {
        Value::Tagged(t) => (
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        ),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m
                .iter()
                .next()
                .ok_or_else(|| HarnessError::Template("empty condition".into()))?;
            let k = k.as_str().unwrap_or_default();
            (k.strip_prefix("Fn::").unwrap_or(k).to_string(), v)
        }
        other => {
            return Err(HarnessError::Template(format!(
                "cannot evaluate condition {other:?}"
            )));
        }
    };
    let list = || {
        arg.as_sequence()
            .ok_or_else(|| HarnessError::Template(format!("{name} needs a list")))
    };
    match name.as_str() {
        "Equals" => {
            let l = list()?;
            match l.as_slice() {
                [a, b] => Ok(resolve(a, ctx)? == resolve(b, ctx)?),
                _ => Err(HarnessError::Template("Equals needs two values".into())),
            }
        }
        "Not" => match list()?.as_slice() {
            [c] => Ok(!condition(c, ctx)?),
            _ => Err(HarnessError::Template("Not needs one condition".into())),
        },
        "And" => list()?
            .iter()
            .try_fold(true, |acc, c| Ok(acc && condition(c, ctx)?)),
        "Or" => list()?
            .iter()
            .try_fold(false, |acc, c| Ok(acc || condition(c, ctx)?)),
        "Condition" => {
            let n = arg.as_str().unwrap_or_default();
            ctx.conditions
                .get(n)
                .copied()
                .ok_or_else(|| HarnessError::Template(format!("condition {n} not evaluated yet")))
        }
        other => Err(HarnessError::Template(format!(
            "condition function {other} is not supported locally"
        ))),
    }
}

fn pseudo(name: &str, ctx: &Context) -> Option<String> {
    match name {
        "AWS::StackName" => Some(ctx.stack_name.clone()),
        "AWS::Region" => Some(ctx.region.clone()),
        "AWS::AccountId" => Some(ctx.account.clone()),
        "AWS::Partition" => Some("aws".into()),
        "AWS::URLSuffix" => Some("amazonaws.com".into()),
        _ => None,
    }
}

/// `${Name}` and `${Resource.Attr}` substitution, as `Fn::Sub` does.
pub fn substitute(text: &str, ctx: &Context) -> Result<String, HarnessError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| HarnessError::Template(format!("unclosed ${{ in {text}")))?;
        let name = &after[..end];
        let value = if let Some(literal) = name.strip_prefix('!') {
            // `${!Literal}` escapes to `${Literal}`.
            format!("${{{literal}}}")
        } else if let Some(v) = pseudo(name, ctx).or_else(|| ctx.refs.get(name).cloned()) {
            v
        } else if let Some(v) = ctx.attrs.get(name) {
            v.clone()
        } else {
            return Err(HarnessError::Template(format!(
                "${{{name}}}: unknown locally"
            )));
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
