//! The corpus files (`tests/corpus/*.yaml`, format in
//! `tests/corpus/README.md`) and how each case becomes a real input.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};
use serde_norway::Mapping;

/// A string as written, or generated: `prefix`, then `repeat` × `times` or
/// `nest[0]` × `depth` + `inner` + `nest[1]` × `depth`, then `suffix`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Literal(String),
    Generated(Generator),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    #[serde(default)]
    prefix: String,
    repeat: Option<String>,
    times: Option<usize>,
    nest: Option<(String, String)>,
    depth: Option<usize>,
    #[serde(default)]
    inner: String,
    #[serde(default)]
    suffix: String,
}

impl Text {
    pub fn render(&self) -> Result<String, String> {
        let g = match self {
            Self::Literal(s) => return Ok(s.clone()),
            Self::Generated(g) => g,
        };
        let body = match (&g.repeat, g.times, &g.nest, g.depth) {
            (Some(unit), Some(times), None, None) => unit.repeat(times),
            (None, None, Some((open, close)), Some(depth)) => {
                format!("{}{}{}", open.repeat(depth), g.inner, close.repeat(depth))
            }
            _ => return Err("a generator has either repeat + times or nest + depth".into()),
        };
        Ok(format!("{}{body}{}", g.prefix, g.suffix))
    }
}

/// One alarm event or SMS reply, and what must come of it.
///
/// Built in this order: the event (`base`, a file of `events/`; or `json`;
/// or `text`, raw bytes); for SNS events the `Message` of record 0:
/// `message_text` replaces it, `message_set`, `message_remove` and `body`
/// (a reply's `messageBody`) edit it as JSON; then `set` and `remove`
/// (JSON pointers into the event).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventCase {
    pub name: String,
    base: Option<String>,
    json: Option<Value>,
    text: Option<Text>,
    #[serde(default)]
    set: Mapping,
    #[serde(default)]
    remove: Vec<String>,
    message_text: Option<Text>,
    #[serde(default)]
    message_set: Mapping,
    #[serde(default)]
    message_remove: Vec<String>,
    body: Option<Text>,
    pub expect: EventExpect,
}

/// Either an error whose message contains every `error` substring, or
/// outcomes of these kinds (`reason`, `keyword`, `on_incident` narrow them).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventExpect {
    pub error: Option<Vec<String>>,
    pub outcome: Option<String>,
    pub outcomes: Option<Vec<String>>,
    pub reason: Option<String>,
    pub keyword: Option<String>,
    pub on_incident: Option<bool>,
}

impl EventExpect {
    /// The outcome kinds expected, or `None` for an error.
    pub fn kinds(&self) -> Result<Option<Vec<String>>, String> {
        match (&self.error, &self.outcome, &self.outcomes) {
            (Some(_), None, None) => Ok(None),
            (None, Some(one), None) => Ok(Some(vec![one.clone()])),
            (None, None, Some(many)) if !many.is_empty() => Ok(Some(many.clone())),
            _ => Err("expect has exactly one of error, outcome, outcomes".into()),
        }
    }
}

/// What a case delivers: an event value, or raw bytes that may not be JSON.
pub enum Input {
    Event(Value),
    Bytes(String),
}

/// Values substituted in the strings of a reply (`$ALICE`, ...).
pub struct Placeholders(pub Vec<(&'static str, String)>);

impl Placeholders {
    fn apply(&self, s: &str) -> String {
        // Longest first, so `$ALICE_DIGITS` is not read as `$ALICE`.
        let mut pairs: Vec<_> = self.0.iter().collect();
        pairs.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        pairs
            .into_iter()
            .fold(s.to_string(), |acc, (k, v)| acc.replace(k, v))
    }
}

impl EventCase {
    /// The input of this case; `defaults` are set on the SNS message before
    /// the case's own edits.
    pub fn build(
        &self,
        events: &Path,
        defaults: &[(&str, Value)],
        placeholders: &Placeholders,
    ) -> Result<Input, String> {
        let mut event = match (&self.base, &self.json, &self.text) {
            (Some(file), None, None) => {
                let path = events.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            (None, Some(v), None) => v.clone(),
            (None, None, Some(text)) => {
                let edited = !self.set.is_empty()
                    || !self.remove.is_empty()
                    || self.message_text.is_some()
                    || !self.message_set.is_empty()
                    || !self.message_remove.is_empty()
                    || self.body.is_some();
                if edited {
                    return Err("a text case has no edits".into());
                }
                return Ok(Input::Bytes(text.render()?));
            }
            _ => return Err("a case has exactly one of base, json, text".into()),
        };
        self.edit_message(&mut event, defaults, placeholders)?;
        for (pointer, value) in ordered(&self.set)? {
            let value = materialise(&event, value)?;
            put(&mut event, &pointer, value)?;
        }
        for pointer in &self.remove {
            take(&mut event, pointer)?;
        }
        Ok(Input::Event(event))
    }

    /// Applies `defaults` and the case's message edits to the `Message` of
    /// record 0.
    fn edit_message(
        &self,
        event: &mut Value,
        defaults: &[(&str, Value)],
        placeholders: &Placeholders,
    ) -> Result<(), String> {
        let slot = "/Records/0/Sns/Message";
        // Defaults go into a message there is; a case without one is about
        // the envelope.
        let defaults = match event.pointer(slot) {
            Some(Value::String(_)) => defaults,
            _ => &[],
        };
        let edits_json = !self.message_set.is_empty()
            || !self.message_remove.is_empty()
            || self.body.is_some()
            || (self.message_text.is_none() && !defaults.is_empty());
        if self.message_text.is_none() && !edits_json {
            return Ok(());
        }
        let mut message_text = match &self.message_text {
            Some(text) => placeholders.apply(&text.render()?),
            None => event
                .pointer(slot)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("no string at {slot} to edit"))?
                .to_string(),
        };
        if edits_json {
            let mut message: Value = serde_json::from_str(&message_text)
                .map_err(|e| format!("{slot} is not JSON to edit: {e}"))?;
            if !message.is_object() {
                return Err(format!("{slot} is not a JSON object to edit"));
            }
            if self.message_text.is_none() {
                for (key, value) in defaults {
                    message[*key] = value.clone();
                }
            }
            if let Some(body) = &self.body {
                message["messageBody"] = json!(placeholders.apply(&body.render()?));
            }
            for (pointer, value) in ordered(&self.message_set)? {
                let value = substitute(materialise(&message, value)?, placeholders);
                put(&mut message, &pointer, value)?;
            }
            for pointer in &self.message_remove {
                take(&mut message, pointer)?;
            }
            message_text = message.to_string();
        }
        put(event, slot, Value::String(message_text))
    }
}

/// An on-call configuration file, and what `klaxon config validate` and
/// the loader must say of it.
///
/// The text is `text`, or the named entry of `bases` with each `replace`
/// (text → text, applied in order; the text replaced must occur exactly
/// once) and `append`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigCase {
    pub name: String,
    text: Option<Text>,
    base: Option<String>,
    #[serde(default)]
    replace: Mapping,
    append: Option<Text>,
    pub expect: ConfigExpect,
}

/// `error`: both the loader (`OncallConfig::from_yaml`) and the CLI's
/// validation reject it, each message containing every substring (the
/// CLI's those of `cli_error` if given, and naming `line` if given);
/// `cli_error` alone: only the CLI's numbering-plan check rejects it;
/// `valid` (with `warnings`, substrings of warnings): both accept it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigExpect {
    pub error: Option<Vec<String>>,
    pub line: Option<usize>,
    pub cli_error: Option<Vec<String>>,
    pub valid: Option<bool>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl ConfigCase {
    pub fn build(&self, bases: &Mapping) -> Result<String, String> {
        let mut text = match (&self.text, &self.base) {
            (Some(text), None) => text.render()?,
            (None, Some(base)) => bases
                .get(base.as_str())
                .and_then(serde_norway::Value::as_str)
                .ok_or_else(|| format!("no base '{base}'"))?
                .to_string(),
            _ => return Err("a case has exactly one of text, base".into()),
        };
        for (find, with) in &self.replace {
            let find = find.as_str().ok_or("replace keys are text")?;
            let with: Text = serde_norway::from_value(with.clone())
                .map_err(|e| format!("replace '{find}': {e}"))?;
            let found = text.matches(find).count();
            if found != 1 {
                return Err(format!("replace: '{find}' occurs {found} times, not once"));
            }
            text = text.replacen(find, &with.render()?, 1);
        }
        if let Some(more) = &self.append {
            text.push_str(&more.render()?);
        }
        Ok(text)
    }
}

/// A corpus file: cases, and for configurations the texts they start from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest<C> {
    #[serde(default)]
    pub bases: Mapping,
    pub cases: Vec<C>,
}

/// Reads `tests/corpus/<file>`; case names must be unique.
pub fn load<C: for<'de> Deserialize<'de>>(
    dir: &Path,
    file: &str,
    name: impl Fn(&C) -> &str,
) -> Manifest<C> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let manifest: Manifest<C> =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut seen = BTreeSet::new();
    for case in &manifest.cases {
        assert!(
            seen.insert(name(case).to_string()),
            "{}: case name '{}' is used twice",
            path.display(),
            name(case)
        );
    }
    manifest
}

/// The entries of a YAML mapping of JSON pointers, in file order.
fn ordered(map: &Mapping) -> Result<Vec<(String, &serde_norway::Value)>, String> {
    map.iter()
        .map(|(k, v)| {
            k.as_str()
                .map(|k| (k.to_string(), v))
                .ok_or_else(|| format!("'{k:?}' is not a JSON pointer"))
        })
        .collect()
}

/// A YAML value as JSON. A mapping with the single key `$gen` (a [`Text`])
/// is that text; `$array` (`{of: value | copy: pointer, times: N}`) is an
/// array of N copies; `$nest` (`{depth: N, inner: value}`) is `inner` in N
/// nested arrays.
fn materialise(root: &Value, value: &serde_norway::Value) -> Result<Value, String> {
    let as_json = |v: &serde_norway::Value| -> Result<Value, String> {
        serde_json::to_value(v).map_err(|e| format!("{v:?}: {e}"))
    };
    let Some(map) = value.as_mapping().filter(|m| m.len() == 1) else {
        return as_json(value);
    };
    let Some((key, spec)) = map.iter().next() else {
        return as_json(value);
    };
    match key.as_str() {
        Some("$gen") => {
            let text: Text = serde_norway::from_value(spec.clone()).map_err(|e| e.to_string())?;
            Ok(Value::String(text.render()?))
        }
        Some("$array") => {
            let times = usize_field(spec, "times")?;
            let item = match (spec.get("of"), spec.get("copy").and_then(|c| c.as_str())) {
                (Some(of), None) => materialise(root, of)?,
                (None, Some(pointer)) => root
                    .pointer(pointer)
                    .cloned()
                    .ok_or_else(|| format!("$array: nothing at {pointer}"))?,
                _ => return Err("$array has either of or copy".into()),
            };
            Ok(Value::Array(vec![item; times]))
        }
        Some("$nest") => {
            let depth = usize_field(spec, "depth")?;
            let inner = spec.get("inner").map_or(Ok(Value::Null), as_json)?;
            Ok((0..depth).fold(inner, |v, _| Value::Array(vec![v])))
        }
        _ => as_json(value),
    }
}

fn usize_field(spec: &serde_norway::Value, key: &str) -> Result<usize, String> {
    spec.get(key)
        .and_then(serde_norway::Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("'{key}' must be a count"))
}

/// `$ALICE` and the like in every string of a value.
fn substitute(value: Value, placeholders: &Placeholders) -> Value {
    match value {
        Value::String(s) => Value::String(placeholders.apply(&s)),
        other => other,
    }
}

/// Sets the value at a JSON pointer; the parent must exist (an array
/// index may be one past the end, to append).
fn put(root: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    if pointer.is_empty() {
        *root = value;
        return Ok(());
    }
    let (parent, last) = split(pointer)?;
    match root.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("{pointer}: not an index"))?;
            match i.cmp(&items.len()) {
                std::cmp::Ordering::Less => items[i] = value,
                std::cmp::Ordering::Equal => items.push(value),
                std::cmp::Ordering::Greater => return Err(format!("{pointer}: past the end")),
            }
            Ok(())
        }
        _ => Err(format!("{pointer}: no object or array at {parent}")),
    }
}

/// Removes the value at a JSON pointer, which must exist.
fn take(root: &mut Value, pointer: &str) -> Result<(), String> {
    let (parent, last) = split(pointer)?;
    let removed = match root.pointer_mut(parent) {
        Some(Value::Object(map)) => map.remove(&last).is_some(),
        Some(Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    };
    if removed {
        Ok(())
    } else {
        Err(format!("remove: nothing at {pointer}"))
    }
}

fn split(pointer: &str) -> Result<(&str, String), String> {
    let (parent, last) = pointer
        .rsplit_once('/')
        .ok_or_else(|| format!("'{pointer}' is not a JSON pointer"))?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}
