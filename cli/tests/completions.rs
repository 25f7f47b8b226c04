//! `klaxon completions <shell>`: a script generated from the CLI's own
//! definition, which the shell itself loads and completes with.

mod common;

use common::klaxon;

#[test]
fn bash_loads_the_script_and_completes_commands_and_their_subcommands() {
    // GIVEN the bash script
    let run = klaxon(&["completions", "bash"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dir = common::scratch("completions-bash");
    let script = dir.join("klaxon.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    // WHEN bash sources it and completes `klaxon inc` and `klaxon incidents `
    let complete = |words: &str, current: usize| {
        let program = format!(
            r#"source "{}"
complete -p klaxon >/dev/null || exit 3
COMP_WORDS=({words}); COMP_CWORD={current}; COMP_LINE="{words}"; COMP_POINT=${{#COMP_LINE}}
_klaxon klaxon "${{COMP_WORDS[$COMP_CWORD]}}" "${{COMP_WORDS[$COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
            script.display()
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "bash: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // THEN the commands starting with `inc`, then the incidents commands, are offered
    assert_eq!(complete("klaxon inc", 1), ["incidents"]);
    let sub = complete("klaxon incidents ''", 2);
    for expected in ["list", "show", "ack", "resolve"] {
        assert!(sub.iter().any(|w| w == expected), "{expected} in {sub:?}");
    }
}

#[test]
fn zsh_and_fish_scripts_name_every_command() {
    for shell in ["zsh", "fish"] {
        let run = klaxon(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for command in [
            "config",
            "oncall",
            "schedule",
            "incidents",
            "doctor",
            "dlq",
            "test-notify",
            "events",
            "completions",
        ] {
            assert!(run.stdout.contains(command), "{shell} lacks {command}");
        }
    }
    assert!(
        klaxon(&["completions", "zsh"])
            .stdout
            .starts_with("#compdef klaxon")
    );
}

#[test]
fn an_unknown_shell_is_refused_naming_the_ones_known() {
    let run = klaxon(&["completions", "tcsh"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bash"), "{}", run.stderr);
}
