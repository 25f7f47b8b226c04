//! Configuration split across files, with the file and line of every problem.
//!
//! [`LineIndex`] maps a field path (`escalation_policies.default.levels[1].targets[0]`,
//! the syntax `serde_path_to_error` prints) to the 1-based line that defines it,
//! so problems found after parsing can point at the source. [`Sources`] reads one
//! file or a folder of YAML files, merges them into one document, and locates a
//! path of the merged document in the file that defined it.
//!
//! Path syntax: map keys are joined with `.`, sequence items are `[i]`, and `.`
//! (or the empty string) is the root. A key that itself contains `.` or `[` makes
//! a path ambiguous (`a.b` may be key `a.b` or key `b` inside `a`); lookups try
//! the longest matching key first and fall back to shorter ones, keeping the
//! reading that resolves the most of the path.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use saphyr_parser::{Event, Parser};
use serde::Serialize;
use serde_norway::{Mapping, Value};

use super::ConfigError;

mod check;

pub use check::Checked;

/// One node of the indexed document.
#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    /// Entries by key; complex keys (mappings or sequences used as keys) are
    /// not kept, and of a repeated key only the first.
    Map(BTreeMap<String, Edge>),
    Seq(Vec<Edge>),
}

/// A link to a child node and the line that introduces it (the key's line for
/// a map entry, the line where the item's content starts for a sequence item).
#[derive(Debug, Clone, Copy)]
struct Edge {
    line: usize,
    node: usize,
}

/// An open container while the event stream is walked.
enum Frame {
    /// A mapping; `key` is the key read and waiting for its value.
    Map {
        node: usize,
        key: Option<(Option<String>, usize)>,
    },
    Seq {
        node: usize,
    },
}

/// Lines of the nodes of one YAML document, looked up by field path.
///
/// Built from saphyr-parser's event stream. Aliases share the anchored node,
/// so paths through an alias resolve to lines inside the anchor's definition;
/// the entry holding the alias keeps its own line. Merge keys (`<<`) are indexed
/// as ordinary keys, as the configuration loader does not apply them. Only the
/// first document of a stream is indexed.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    nodes: Vec<Node>,
    root: Option<Edge>,
}

impl LineIndex {
    /// Indexes `text`. Never fails: on a syntax error it keeps what it indexed
    /// before the error.
    pub fn new(text: &str) -> LineIndex {
        let mut index = LineIndex::default();
        let mut frames: Vec<Frame> = Vec::new();
        let mut anchors: BTreeMap<usize, usize> = BTreeMap::new();
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else { break };
            let line = span.start.line();
            let (node, anchor, container) = match event {
                Event::Scalar(value, _, anchor, _) => {
                    (index.push(Node::Scalar(value.into_owned())), anchor, None)
                }
                Event::MappingStart(anchor, _) => {
                    let node = index.push(Node::Map(BTreeMap::new()));
                    (node, anchor, Some(Frame::Map { node, key: None }))
                }
                Event::SequenceStart(anchor, _) => {
                    let node = index.push(Node::Seq(Vec::new()));
                    (node, anchor, Some(Frame::Seq { node }))
                }
                Event::Alias(id) => {
                    let node = match anchors.get(&id) {
                        Some(&node) => node,
                        None => index.push(Node::Scalar(String::new())),
                    };
                    (node, 0, None)
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    frames.pop();
                    continue;
                }
                Event::DocumentEnd | Event::StreamEnd => break,
                Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => continue,
            };
            if anchor != 0 {
                anchors.insert(anchor, node);
            }
            index.attach(frames.last_mut(), Edge { line, node });
            if let Some(frame) = container {
                frames.push(frame);
            }
        }
        index
    }

    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Links a node that starts at `edge.line` to the container it appears in.
    fn attach(&mut self, parent: Option<&mut Frame>, edge: Edge) {
        match parent {
            None => {
                if self.root.is_none() {
                    self.root = Some(edge);
                }
            }
            Some(Frame::Seq { node }) => {
                if let Some(Node::Seq(items)) = self.nodes.get_mut(*node) {
                    items.push(edge);
                }
            }
            Some(Frame::Map { node, key }) => match key.take() {
                None => {
                    let text = match self.nodes.get(edge.node) {
                        Some(Node::Scalar(s)) => Some(s.clone()),
                        _ => None,
                    };
                    *key = Some((text, edge.line));
                }
                Some((Some(key), line)) => {
                    if let Some(Node::Map(entries)) = self.nodes.get_mut(*node) {
                        entries.entry(key).or_insert(Edge {
                            line,
                            node: edge.node,
                        });
                    }
                }
                Some((None, _)) => {}
            },
        }
    }

    /// 1-based line of the node at `path`: the key's line for a map entry, the
    /// line where the item's content starts for a sequence item, the document's first line for the
    /// root (`.` or empty). A path that is not in the document falls back to its
    /// longest indexed prefix. `None` only for a document with no content.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        self.resolve(path).map(|(line, _)| line)
    }

    /// Whether the document holds exactly `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.resolve(path)
            .is_some_and(|(_, unresolved)| unresolved == 0)
    }

    /// The line of the longest indexed prefix of `path`, and how many bytes of
    /// the path are left unresolved (0 for an exact match).
    fn resolve(&self, path: &str) -> Option<(usize, usize)> {
        let root = self.root?;
        let path = if path == "." { "" } else { path };
        if path.is_empty() {
            return Some((root.line, 0));
        }
        Some(
            self.descend(root.node, path)
                .unwrap_or((root.line, path.len())),
        )
    }

    /// The deepest match of `rest` below `node`: its line and the unresolved
    /// length; `None` when not even the first segment matches.
    fn descend(&self, node: usize, rest: &str) -> Option<(usize, usize)> {
        let steps: Vec<(Edge, &str)> = match self.nodes.get(node)? {
            Node::Scalar(_) => return None,
            Node::Map(entries) => {
                // A key ends where a segment may end: before `.`, `[` or the
                // end of the path. Longest candidate first.
                let mut ends: Vec<usize> = rest.match_indices(['.', '[']).map(|(i, _)| i).collect();
                ends.push(rest.len());
                ends.iter()
                    .rev()
                    .filter_map(|&end| {
                        let edge = *entries.get(&rest[..end])?;
                        let after = &rest[end..];
                        Some((edge, after.strip_prefix('.').unwrap_or(after)))
                    })
                    .collect()
            }
            Node::Seq(items) => {
                let inner = rest.strip_prefix('[')?;
                let close = inner.find(']')?;
                let i: usize = inner[..close].parse().ok()?;
                let edge = *items.get(i)?;
                let after = &inner[close + 1..];
                vec![(edge, after.strip_prefix('.').unwrap_or(after))]
            }
        };
        let mut best: Option<(usize, usize)> = None;
        for (edge, after) in steps {
            let found = if after.is_empty() {
                (edge.line, 0)
            } else {
                self.descend(edge.node, after)
                    .unwrap_or((edge.line, after.len()))
            };
            if found.1 == 0 {
                return Some(found);
            }
            if best.is_none_or(|b| found.1 < b.1) {
                best = Some(found);
            }
        }
        best
    }
}

/// A problem tied to a file and, where known, a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    /// The file name as read (`config/people.yaml`).
    pub file: String,
    /// 1-based line, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Field path in the merged document; empty for the whole file.
    pub path: String,
    /// What is wrong, without the location.
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// One file of a configuration.
#[derive(Debug, Clone)]
struct SourceFile {
    name: String,
    text: String,
    index: LineIndex,
}

/// The files of one configuration: a single file, or every YAML file of a folder.
#[derive(Debug, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Reads a file, or a directory: every `*.yaml` and `*.yml` file directly
    /// inside it (not in subfolders, not hidden), in name order. File names are
    /// the directory joined with the file name. An empty directory is an error.
    pub fn read(path: &Path) -> io::Result<Sources> {
        let context =
            |p: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", p.display()));
        let meta = std::fs::metadata(path).map_err(|e| context(path, e))?;
        if !meta.is_dir() {
            let text = std::fs::read_to_string(path).map_err(|e| context(path, e))?;
            return Ok(Sources::from_texts(vec![(
                path.display().to_string(),
                text,
            )]));
        }
        let mut paths: Vec<PathBuf> = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| context(path, e))? {
            let entry = entry.map_err(|e| context(path, e))?;
            let file = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let yaml = file
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml");
            // `metadata` follows symbolic links, so a link to a file counts.
            if yaml && !hidden && std::fs::metadata(&file).is_ok_and(|m| m.is_file()) {
                paths.push(file);
            }
        }
        if paths.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{}: no *.yaml or *.yml files in this folder",
                    path.display()
                ),
            ));
        }
        paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        let mut files = Vec::with_capacity(paths.len());
        for file in paths {
            let text = std::fs::read_to_string(&file).map_err(|e| context(&file, e))?;
            files.push((file.display().to_string(), text));
        }
        Ok(Sources::from_texts(files))
    }

    /// Sources from (file name, text) pairs, kept in the given order; a
    /// byte order mark at the start of a text is dropped.
    pub fn from_texts(files: Vec<(String, String)>) -> Sources {
        let files = files
            .into_iter()
            .map(|(name, text)| {
                let text = match text.strip_prefix('\u{FEFF}') {
                    Some(rest) => rest.to_string(),
                    None => text,
                };
                let index = LineIndex::new(&text);
                SourceFile { name, text, index }
            })
            .collect();
        Sources { files }
    }

    /// The (file name, text) pairs, in order.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .map(|f| (f.name.as_str(), f.text.as_str()))
    }

    /// Parses every file and merges them into one document.
    ///
    /// Top-level keys named in `collections` (people, escalation_policies, ...)
    /// must be mappings and are merged by child key; a child key defined in two
    /// files is reported at each place. `version` may appear in several files
    /// if it is equal everywhere; any other top-level key may appear in one file
    /// only. An empty file contributes nothing. Every problem of every file is
    /// returned, ordered by file and line.
    pub fn merge(&self, collections: &[&str]) -> Result<Value, Vec<Located>> {
        let mut problems: Vec<(usize, Located)> = Vec::new();
        // Each top-level key with its definitions: (file, value).
        let mut keys: Vec<(Value, Vec<(usize, Value)>)> = Vec::new();
        for (fi, file) in self.files.iter().enumerate() {
            if let Some(issue) = super::forbidden_character(&file.text) {
                let (line, message) = (issue.line, issue.message);
                let (file, path) = (file.name.clone(), String::new());
                problems.push((
                    fi,
                    Located {
                        file,
                        line,
                        path,
                        message,
                    },
                ));
                continue;
            }
            match serde_norway::from_str::<Value>(&file.text) {
                Ok(Value::Mapping(top)) => {
                    for (key, value) in top {
                        match keys.iter_mut().find(|(k, _)| *k == key) {
                            Some((_, defs)) => defs.push((fi, value)),
                            None => keys.push((key, vec![(fi, value)])),
                        }
                    }
                }
                Ok(Value::Null) => {}
                Ok(other) => problems.push((
                    fi,
                    self.at(
                        fi,
                        "",
                        format!(
                            "the top level must be a mapping (version, people, ...), found {}",
                            kind(&other)
                        ),
                    ),
                )),
                Err(e) => problems.push((fi, parse_error(&file.name, &e))),
            }
        }

        let mut merged = Mapping::new();
        for (key, defs) in keys {
            let name = key_text(&key);
            if key.is_string() && collections.contains(&name.as_str()) {
                let entries = self.merge_collection(&name, &defs, &mut problems);
                merged.insert(key, Value::Mapping(entries));
            } else if name == "version" && key.is_string() {
                for (fi, value) in &defs {
                    let others: Vec<String> = defs
                        .iter()
                        .filter(|(_, other)| other != value)
                        .map(|(oi, other)| {
                            format!("{} in {}", scalar_text(other), self.place(*oi, &name))
                        })
                        .collect();
                    if !others.is_empty() {
                        let message = format!(
                            "version {} differs from version {}",
                            scalar_text(value),
                            others.join(", ")
                        );
                        problems.push((*fi, self.at(*fi, &name, message)));
                    }
                }
                if let Some((_, value)) = defs.into_iter().next() {
                    merged.insert(key, value);
                }
            } else if defs.len() > 1 {
                for (fi, _) in &defs {
                    let message = format!(
                        "'{name}' may be defined in one file only; also defined in {}",
                        self.places_except(&defs, *fi, &name)
                    );
                    problems.push((*fi, self.at(*fi, &name, message)));
                }
            } else if let Some((_, value)) = defs.into_iter().next() {
                merged.insert(key, value);
            }
        }

        if problems.is_empty() {
            return Ok(Value::Mapping(merged));
        }
        problems.sort_by_key(|(fi, p)| (*fi, p.line));
        Err(problems.into_iter().map(|(_, p)| p).collect())
    }

    /// Merges the definitions of one collection, reporting non-mappings and
    /// entries defined in more than one file.
    fn merge_collection(
        &self,
        name: &str,
        defs: &[(usize, Value)],
        problems: &mut Vec<(usize, Located)>,
    ) -> Mapping {
        // Each entry with the files that define it; the first definition is kept.
        let mut entries: Vec<(Value, Value, Vec<usize>)> = Vec::new();
        for (fi, value) in defs {
            match value {
                Value::Mapping(children) => {
                    for (id, child) in children {
                        match entries.iter_mut().find(|(k, _, _)| k == id) {
                            Some((_, _, files)) => files.push(*fi),
                            None => entries.push((id.clone(), child.clone(), vec![*fi])),
                        }
                    }
                }
                Value::Null => {}
                other => {
                    let message =
                        format!("must be a mapping from id to entry, found {}", kind(other));
                    problems.push((*fi, self.at(*fi, name, message)));
                }
            }
        }
        let mut merged = Mapping::new();
        for (id, child, files) in entries {
            let path = format!("{name}.{}", key_text(&id));
            if files.len() > 1 {
                for (n, fi) in files.iter().enumerate() {
                    let others: Vec<String> = files
                        .iter()
                        .enumerate()
                        .filter(|(m, _)| *m != n)
                        .map(|(_, oi)| self.place(*oi, &path))
                        .collect();
                    let message = format!(
                        "'{}' is defined in more than one file; also in {}",
                        key_text(&id),
                        others.join(", ")
                    );
                    problems.push((*fi, self.at(*fi, &path, message)));
                }
            }
            merged.insert(id, child);
        }
        merged
    }

    /// A problem at `path` of file `fi`.
    fn at(&self, fi: usize, path: &str, message: String) -> Located {
        let file = &self.files[fi];
        Located {
            file: file.name.clone(),
            line: file.index.line_of(path),
            path: path.to_string(),
            message,
        }
    }

    /// `people.yaml line 3`: where file `fi` defines `path`.
    fn place(&self, fi: usize, path: &str) -> String {
        let file = &self.files[fi];
        match file.index.line_of(path) {
            Some(line) => format!("{} line {line}", file.name),
            None => file.name.clone(),
        }
    }

    fn places_except(&self, defs: &[(usize, Value)], except: usize, path: &str) -> String {
        let places: Vec<String> = defs
            .iter()
            .filter(|(fi, _)| *fi != except)
            .map(|(fi, _)| self.place(*fi, path))
            .collect();
        places.join(", ")
    }

    /// The file and line that define `path` of the merged document: the file
    /// holding the longest prefix of the path (the first such file on a tie),
    /// so a collection entry is found in the file that defines it. `None` when
    /// no file has content.
    pub fn locate(&self, path: &str) -> Option<(&str, usize)> {
        let mut best: Option<(&str, usize, usize)> = None;
        for file in &self.files {
            if let Some((line, unresolved)) = file.index.resolve(path)
                && best.is_none_or(|(_, _, b)| unresolved < b)
            {
                best = Some((file.name.as_str(), line, unresolved));
            }
        }
        best.map(|(name, line, _)| (name, line))
    }

    /// Attaches a file and line to every issue of a configuration error raised
    /// on [`Sources::document`]'s text. For a single file the issue's own line
    /// (from the YAML parser) is kept when it has one; otherwise the line comes
    /// from [`Sources::locate`].
    pub fn locate_issues(&self, error: &ConfigError) -> Vec<Located> {
        error
            .issues
            .iter()
            .map(|issue| {
                let located = self.locate(&issue.path);
                let (file, line) = match (&self.files[..], issue.line) {
                    ([only], Some(line)) => (only.name.clone(), Some(line)),
                    _ => match located {
                        Some((file, line)) => (file.to_string(), Some(line)),
                        None => (
                            self.files
                                .first()
                                .map(|f| f.name.clone())
                                .unwrap_or_default(),
                            None,
                        ),
                    },
                };
                Located {
                    file,
                    line,
                    path: issue.path.clone(),
                    message: issue.message.clone(),
                }
            })
            .collect()
    }

    /// The merged document as one YAML text, the text that gets stored. For a
    /// single file this is its original text, comments included; several files
    /// are serialized from `merged` under a comment naming them.
    pub fn document(&self, merged: &Value) -> Result<String, serde_norway::Error> {
        if let [only] = &self.files[..] {
            return Ok(only.text.clone());
        }
        let names: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        let body = serde_norway::to_string(merged)?;
        Ok(format!("# Merged from {}\n{body}", names.join(", ")))
    }
}

/// A YAML parse error of one file, with the line the parser gives.
fn parse_error(file: &str, error: &serde_norway::Error) -> Located {
    let text = error.to_string();
    let message = match (text.find(" at line "), error.location()) {
        (Some(i), Some(loc)) => format!("{} (column {})", &text[..i], loc.column()),
        _ => text,
    };
    Located {
        file: file.to_string(),
        line: error.location().map(|l| l.line()),
        path: String::new(),
        message,
    }
}

/// A key as it appears in a field path.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => scalar_text(other),
    }
}

/// A value in one line of YAML, for messages.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        other => serde_norway::to_string(other)
            .map(|s| s.trim_end().replace('\n', " "))
            .unwrap_or_else(|_| kind(other).to_string()),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests;
