//! CLI comforts: completions and the man page generated from the clap
//! definitions, `--quiet`, and the exit codes `docs/cli.md` documents.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Cli, DomainXml};
use std::process::Command;

#[test]
fn bash_completion_parses_and_completes_verbs_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("domrun.bash");
    std::fs::write(&script, Cli::bare().ok(["generate", "completions", "bash"])).unwrap();
    let complete = |words: &str, cword: u32| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; _domrun; echo \"${{COMPREPLY[@]}}\"",
                script.display()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete("domrun memt", 1).trim(), "memtune");
    assert!(complete("domrun memtune --h", 2).contains("--hard-limit"));
    assert!(complete("domrun --root /x run --cg", 4).contains("--cgroup"));
    let zsh = Cli::bare().ok(["generate", "completions", "zsh"]);
    assert!(zsh.starts_with("#compdef domrun\n"));
}

#[test]
fn fish_completion_names_every_verb() {
    let fish = Cli::bare().ok(["generate", "completions", "fish"]);
    for verb in ["run", "setmem", "schedinfo", "generate", "template"] {
        assert!(
            fish.contains(&format!("__fish_use_subcommand -a {verb} ")),
            "{verb}"
        );
    }
    assert!(fish.contains("-l hard-limit"));
}

#[test]
fn man_page_is_written_and_renders_without_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    Cli::bare()
        .run(["generate", "man", tmp.path().to_str().unwrap()])
        .ok();
    let page = std::fs::read_to_string(tmp.path().join("domrun.1")).unwrap();
    assert!(page.starts_with(".TH DOMRUN 1"));
    assert!(page.contains("\\fBmemtune\\fR"));
    if !common::require_tool("groff") {
        return;
    }
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(tmp.path().join("domrun.1"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn quiet_drops_informational_lines_only() {
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(tmp.path().join("state"));
    let xml = DomainXml::lxc("quietdom").shell("true").write(tmp.path());
    let run = cli.run(["--quiet", "define", xml.to_str().unwrap()]);
    assert_eq!(run.ok().stdout, "");
    assert_eq!(cli.run(["autostart", "-q", "quietdom"]).ok().stdout, "");
    cli.run(["--quiet", "dumpxml", "quietdom"])
        .ok()
        .stdout_has("<name>quietdom</name>");
    cli.run(["autostart", "quietdom", "--disable"])
        .ok()
        .stdout_has("unmarked");
}

#[test]
fn exit_codes_are_the_documented_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(tmp.path());
    cli.run(["dominfo", "nosuch"]).fails_with(1);
    cli.run(["nosuchverb"]).fails_with(2);
    cli.run(["setmem", "nosuch", "12Q"])
        .fails_with(1)
        .stderr_has("is not a size");
    if !common::require_root() {
        return;
    }
    let bad_init = DomainXml::lxc("exitdom")
        .init("/nonexistent/init")
        .write(tmp.path());
    cli.run(["run", bad_init.to_str().unwrap()]).fails_with(127);
    let status = DomainXml::lxc("exitdom").shell("exit 7").write(tmp.path());
    cli.run(["run", status.to_str().unwrap()]).fails_with(7);
}
