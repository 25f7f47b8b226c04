//! Runs the built `klaxon` binary from the repository root, and writes
//! scratch configurations.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root: `oncall.yaml` and `examples/` are relative to it.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// What one run of `klaxon` did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().expect("klaxon exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Panics with the whole run unless it exited with `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `klaxon args...` in the repository root, with no `KLAXON_*`
/// variables from the caller's environment.
pub fn klaxon(args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_klaxon"));
    cmd.args(args).current_dir(root());
    for var in [
        "KLAXON_TZ",
        "KLAXON_STACK",
        "KLAXON_INCIDENTS_TABLE",
        "KLAXON_CONFIG_TABLE",
    ] {
        cmd.env_remove(var);
    }
    Run::from(cmd.output().expect("klaxon runs"))
}

/// A fresh, empty folder for one test, under Cargo's scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("klaxon-cli-tests")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear the scratch folder");
    }
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir
}

/// Writes `files` (name, text) into `dir`.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write a scratch file");
    }
}

/// The 1-based number of the only line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    let found: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(found.len(), 1, "{needle:?} must be on exactly one line");
    found[0]
}
