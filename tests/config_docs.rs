//! `docs/configuration.md` checked against the code, so the key reference cannot drift.
//!
//! Each key table of the page (header `| key | default | pipeline.toml | unit | meaning |`)
//! documents one key per row. For every row:
//! - a documented default `VALUE`: `--set KEY=VALUE` on the built-in defaults must be accepted
//!   and change nothing (so the key exists and its default is right);
//! - a documented `unset`, e.g. `VALUE`: the key must be absent from the built-in config, and
//!   `--set KEY=VALUE` (after the `with` overrides the row names) must be accepted and set it;
//! - the pipeline.toml column: `—` means the file leaves the key out, `same` that it spells out
//!   the default, and a value that the file sets exactly that (`--set KEY=VALUE` on the file
//!   changes nothing).
//!
//! And the other way round: every key of the built-in config (as `Config::to_toml` writes it),
//! of `pipeline.toml` and of `presets/*.toml` (commented-out `# key = value` lines included) is
//! documented, either by its own row or under a documented table key (`models.segments`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ser_pipeline::config::Config;

const HEADER: &str = "| key | default | pipeline.toml | unit | meaning |";

#[derive(Debug)]
enum Documented {
    Value(String),
    Unset { example: String, with: Vec<String> },
}

#[derive(Debug)]
enum InPipeline {
    Absent,
    Same,
    Value(String),
}

#[derive(Debug)]
struct Row {
    line: usize,
    key: String,
    default: Documented,
    pipeline: InPipeline,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The contents of a cell's `code spans`, in order.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The single code span a cell consists of, e.g. "`2048`" -> "2048".
fn only_code(cell: &str) -> Result<String, String> {
    let spans = code_spans(cell);
    match spans.as_slice() {
        [v] if cell == format!("`{v}`") => Ok(v.clone()),
        _ => Err(format!(
            "expected one `value` and nothing else, got {cell:?}"
        )),
    }
}

fn parse_row(line: usize, text: &str) -> Result<Row, String> {
    let inner = text
        .strip_prefix('|')
        .and_then(|t| t.strip_suffix('|'))
        .ok_or("a table row starts and ends with |")?;
    let cells: Vec<&str> = inner.split('|').map(str::trim).collect();
    let [key, default, pipeline, _unit, meaning] = cells.as_slice() else {
        return Err(format!(
            "expected 5 cells (key, default, pipeline.toml, unit, meaning; no | inside a cell), got {}",
            cells.len()
        ));
    };
    let key = only_code(key)?;
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
    {
        return Err(format!("{key:?} is not a dotted config key"));
    }
    if meaning.is_empty() {
        return Err(format!("{key}: the meaning is empty"));
    }
    let default = if default.starts_with("`unset`") {
        let spans = code_spans(default);
        let (example, with) = match spans.as_slice() {
            [_, example, with @ ..] if default.contains("e.g.") => (example.clone(), with.to_vec()),
            _ => {
                return Err(format!(
                    "{key}: an unset default reads \"`unset`, e.g. `VALUE`\" (then optionally \"with `KEY=VALUE`\"), got {default:?}"
                ))
            }
        };
        if let Some(w) = with.iter().find(|w| !w.contains('=')) {
            return Err(format!("{key}: {w:?} is not a KEY=VALUE override"));
        }
        Documented::Unset { example, with }
    } else {
        Documented::Value(only_code(default).map_err(|e| format!("{key}: default: {e}"))?)
    };
    let pipeline = match *pipeline {
        "—" => InPipeline::Absent,
        "same" => InPipeline::Same,
        cell => InPipeline::Value(
            only_code(cell).map_err(|e| format!("{key}: pipeline.toml (or — or same): {e}"))?,
        ),
    };
    Ok(Row {
        line,
        key,
        default,
        pipeline,
    })
}

/// Every row of every key table of the page.
fn documented_rows(text: &str) -> Result<Vec<Row>, Vec<String>> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut in_table = false;
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let line = line.trim();
        if line == HEADER {
            in_table = true;
            // The |---| separator.
            lines.next();
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        if in_table {
            match parse_row(i + 1, line) {
                Ok(row) => rows.push(row),
                Err(e) => errors.push(format!("docs/configuration.md:{}: {e}", i + 1)),
            }
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Dotted keys of a TOML table's leaves; an array (of tables too) is a leaf, and an empty table
/// (`[audio]` with its only key unset) sets nothing.
fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, toml::Value>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            _ => {
                out.insert(key, v.clone());
            }
        }
    }
}

fn leaves(toml_text: &str) -> BTreeMap<String, toml::Value> {
    let table: toml::Table = toml::from_str(toml_text).expect("valid TOML");
    let mut out = BTreeMap::new();
    flatten("", &table, &mut out);
    out
}

/// Keys of commented-out assignments (`# max_depth = 20`) under their `[section]`: the keys a
/// config file mentions without setting.
fn commented_keys(toml_text: &str) -> Vec<String> {
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in toml_text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        let Some(comment) = line.strip_prefix('#') else {
            continue;
        };
        let comment = comment.trim_start();
        let ident: String = comment
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !ident.is_empty() && comment[ident.len()..].trim_start().starts_with("= ") {
            keys.push(if section.is_empty() {
                ident
            } else {
                format!("{section}.{ident}")
            });
        }
    }
    keys
}

fn toml_value(text: &str) -> Result<toml::Value, String> {
    let mut t: toml::Table =
        toml::from_str(&format!("v = {text}")).map_err(|e| format!("{text:?}: {e}"))?;
    Ok(t.remove("v").expect("the key just parsed"))
}

fn is_table(value: &str) -> bool {
    matches!(toml_value(value), Ok(toml::Value::Table(_)))
}

/// Is `key` (a leaf of some config) documented: a row of its own, or under a documented table?
fn covered(key: &str, rows: &[Row]) -> bool {
    rows.iter().any(|r| {
        r.key == key
            || (key.starts_with(&format!("{}.", r.key))
                && matches!(&r.default, Documented::Value(v) if is_table(v)))
    })
}

/// Does a config (its leaves) set `key`, itself or under it (a table key)?
fn sets(leaves: &BTreeMap<String, toml::Value>, key: &str) -> bool {
    let below = format!("{key}.");
    leaves
        .keys()
        .any(|k| k == key || k.starts_with(below.as_str()))
}

fn load(path: Option<&Path>, overrides: &[String]) -> Result<Config, String> {
    Config::load_with_overrides(path, overrides).map_err(|e| e.to_string())
}

/// Every disagreement between the page and the code, one line each.
fn check(doc: &str) -> Vec<String> {
    let rows = match documented_rows(doc) {
        Ok(rows) => rows,
        Err(errors) => return errors,
    };
    let mut errors = Vec::new();
    if rows.len() < 10 {
        errors.push(format!(
            "docs/configuration.md: only {} key rows found under {HEADER:?}",
            rows.len()
        ));
    }
    let at = |r: &Row| format!("docs/configuration.md:{} `{}`", r.line, r.key);
    let mut seen = BTreeSet::new();
    for r in &rows {
        if !seen.insert(r.key.as_str()) {
            errors.push(format!("{}: documented twice", at(r)));
        }
    }

    let builtin = Config::default();
    let builtin_leaves = leaves(&builtin.to_toml());
    let pipeline_path = root().join("pipeline.toml");
    let pipeline_text = std::fs::read_to_string(&pipeline_path).expect("pipeline.toml");
    let pipeline = Config::load(&pipeline_path).expect("pipeline.toml loads");
    let pipeline_leaves = leaves(&pipeline_text);

    for r in &rows {
        // The built-in default.
        match &r.default {
            Documented::Value(v) => match load(None, &[format!("{}={v}", r.key)]) {
                Ok(c) if c == builtin => {}
                Ok(_) => errors.push(format!(
                    "{}: documented default {v} is not the built-in default ({})",
                    at(r),
                    builtin_leaves
                        .get(&r.key)
                        .map_or("unset, or an empty table".to_string(), |v| v.to_string())
                )),
                Err(e) => errors.push(format!("{}: --set {}={v}: {e}", at(r), r.key)),
            },
            Documented::Unset { example, with } => {
                if sets(&builtin_leaves, &r.key) {
                    errors.push(format!(
                        "{}: documented as unset, but the built-in config sets it to {}",
                        at(r),
                        builtin_leaves
                            .get(&r.key)
                            .map_or("a table".to_string(), |v| v.to_string())
                    ));
                }
                let mut overrides = with.clone();
                overrides.push(format!("{}={example}", r.key));
                match load(None, &overrides) {
                    Ok(c) => {
                        let set = leaves(&c.to_toml());
                        if set.get(&r.key) != toml_value(example).ok().as_ref() {
                            errors.push(format!(
                                "{}: --set {}={example} did not set it (the config reads {:?})",
                                at(r),
                                r.key,
                                set.get(&r.key)
                            ));
                        }
                    }
                    Err(e) => errors.push(format!("{}: --set {overrides:?}: {e}", at(r))),
                }
            }
        }
        // The pipeline.toml column.
        let in_file = sets(&pipeline_leaves, &r.key);
        let value = match (&r.pipeline, &r.default) {
            (InPipeline::Absent, _) => {
                if in_file {
                    errors.push(format!(
                        "{}: pipeline.toml sets it, but the page says it does not (—)",
                        at(r)
                    ));
                }
                continue;
            }
            (InPipeline::Same, Documented::Value(v)) => v,
            (InPipeline::Same, Documented::Unset { .. }) => {
                errors.push(format!(
                    "{}: `same` as an unset default: write — or the file's value",
                    at(r)
                ));
                continue;
            }
            (InPipeline::Value(v), _) => v,
        };
        if !in_file {
            errors.push(format!(
                "{}: pipeline.toml does not set it (write —), the page says {value}",
                at(r)
            ));
            continue;
        }
        match load(Some(&pipeline_path), &[format!("{}={value}", r.key)]) {
            Ok(c) if c == pipeline => {}
            Ok(_) => errors.push(format!(
                "{}: pipeline.toml's value is not {value} but {}",
                at(r),
                pipeline_leaves
                    .get(&r.key)
                    .map_or("a table".to_string(), |v| v.to_string())
            )),
            Err(e) => errors.push(format!(
                "{}: --set {}={value} on pipeline.toml: {e}",
                at(r),
                r.key
            )),
        }
    }

    // Every key the code and the shipped files know is on the page.
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    for key in builtin_leaves.keys() {
        known.insert(key.clone(), "the built-in config".into());
    }
    let mut files = vec![pipeline_path];
    let mut presets: Vec<PathBuf> = std::fs::read_dir(root().join("presets"))
        .expect("presets/")
        .map(|e| e.expect("presets/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    presets.sort();
    files.extend(presets);
    for file in &files {
        let text = std::fs::read_to_string(file).expect("config file");
        let name = file
            .strip_prefix(root())
            .unwrap_or(file)
            .display()
            .to_string();
        for key in leaves(&text).into_keys().chain(commented_keys(&text)) {
            known.entry(key).or_insert_with(|| name.clone());
        }
    }
    for (key, source) in &known {
        if !covered(key, &rows) {
            errors.push(format!(
                "docs/configuration.md: `{key}` (in {source}) is not documented"
            ));
        }
    }
    errors
}

fn doc_text() -> String {
    std::fs::read_to_string(root().join("docs/configuration.md")).expect("docs/configuration.md")
}

#[test]
fn configuration_page_matches_the_code() {
    let errors = check(&doc_text());
    assert!(
        errors.is_empty(),
        "docs/configuration.md disagrees with the code:\n{}",
        errors.join("\n")
    );
}

/// The check itself can fail: a wrong default, a wrong pipeline.toml value, a missing row, a
/// key that does not exist and an unset key documented with a value are each caught.
#[test]
fn the_check_catches_a_drifting_page() {
    let doc = doc_text();
    let edit = |from: &str, to: &str| {
        assert!(doc.contains(from), "the page no longer contains {from:?}");
        doc.replacen(from, to, 1)
    };
    let cases = [
        (
            "a wrong default",
            edit(
                "| `features.n_mfcc` | `40` |",
                "| `features.n_mfcc` | `20` |",
            ),
            "`features.n_mfcc`: documented default 20 is not the built-in default (40)",
        ),
        (
            "a wrong pipeline.toml value",
            edit(
                "| `models.mlp.alpha` | `0.0001` | `0.01` |",
                "| `models.mlp.alpha` | `0.0001` | `0.001` |",
            ),
            "`models.mlp.alpha`: pipeline.toml's value is not 0.001 but 0.01",
        ),
        (
            "a missing row",
            doc.lines()
                .filter(|l| !l.starts_with("| `run.threads` |"))
                .collect::<Vec<_>>()
                .join("\n"),
            "`run.threads` (in the built-in config) is not documented",
        ),
        (
            "a key that does not exist",
            edit("| `run.threads` |", "| `run.thread` |"),
            "`run.thread`: --set run.thread=0:",
        ),
        (
            "an unset key with a value",
            edit(
                "| `audio.sample_rate` | `unset`, e.g. `22050` |",
                "| `audio.sample_rate` | `22050` |",
            ),
            "`audio.sample_rate`: documented default 22050 is not the built-in default (unset",
        ),
        (
            "a set key documented as unset",
            edit(
                "| `data.row_group_rows` | `2048` |",
                "| `data.row_group_rows` | `unset`, e.g. `2048` |",
            ),
            "`data.row_group_rows`: documented as unset, but the built-in config sets it to 2048",
        ),
    ];
    for (what, text, needle) in cases {
        let errors = check(&text);
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "{what} went unnoticed (looked for {needle:?}); errors: {errors:#?}"
        );
    }
}
