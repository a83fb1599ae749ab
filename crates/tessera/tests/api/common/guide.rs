//! The guides in `docs/guide/`, read at run time so that their commands and
//! config blocks are what the tests run (issue 20).

/// The text of `docs/guide/{guide}`.
pub fn text(guide: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/guide/");
    std::fs::read_to_string(format!("{path}{guide}"))
        .unwrap_or_else(|e| panic!("reading docs/guide/{guide}: {e}"))
}

/// Every fenced block of `lang` (`sh`, `toml`, …) in a guide, as written.
pub fn blocks(guide: &str, lang: &str) -> Vec<String> {
    text(guide)
        .split(&format!("```{lang}\n"))
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap().to_owned())
        .collect()
}

/// The fenced `lang` block of a guide that contains `needle`, as written.
pub fn block(guide: &str, lang: &str, needle: &str) -> String {
    blocks(guide, lang)
        .into_iter()
        .find(|b| b.contains(needle))
        .unwrap_or_else(|| panic!("no {lang} block with {needle:?} in {guide}"))
}

/// The line of a guide's `lang` block that runs `command`.
pub fn line(guide: &str, lang: &str, command: &str) -> String {
    block(guide, lang, command)
        .lines()
        .find(|l| l.trim_start().starts_with(command))
        .unwrap_or_else(|| panic!("no line starting {command:?} in {guide}"))
        .to_owned()
}

/// `text` with the guide's placeholder `from` replaced by `to`; fails when
/// the guide no longer has it, so the guide and its test cannot drift
/// apart silently.
pub fn replace(guide: &str, text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "docs/guide/{guide} no longer has {from:?}, which its test replaces; update the test with the guide:\n{text}"
    );
    text.replace(from, to)
}

/// `bash -euo pipefail -c script` with the `tessera` under test first on
/// the PATH and nothing else from the test's environment: a reader's shell
/// running a guide's block.
pub fn shell(script: &str) -> std::process::Command {
    let bin_dir = std::path::Path::new(super::process::BIN).parent().unwrap();
    let mut c = std::process::Command::new("bash");
    c.args(["-euo", "pipefail", "-c", script]).env_clear().env(
        "PATH",
        format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    c
}
