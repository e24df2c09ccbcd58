//! The layout's rules, checked on the source text (no build of the graph by the compiler, no
//! extra dependency):
//!
//! - no module outside `src/stages/`, `src/main.rs` and `src/cli.rs` reaches a stage
//!   (`crate::stages`, or `super::` up to the crate root and then `stages`);
//! - the top-level modules (`audio`, `config`, `features`, `models`, `predict`, ...) import each
//!   other without a circle: an edge A -> B when a file of A mentions `crate::B`;
//! - `features`, the numeric core, knows nothing of files, tables or the command line: no
//!   `polars`, `parquet`, `clap` or `std::fs`, and no other module of the crate.
//!
//! A "mention" is any occurrence in the file, comments included: a doc link is a dependency too.
//! Every failure names the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file: its path relative to the crate root, its module path (`["serve", "api"]`)
/// and its text.
struct Source {
    path: String,
    module: Vec<String>,
    text: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    files.sort();
    assert!(!files.is_empty(), "no sources under {}", root.display());
    files
        .into_iter()
        .map(|file| {
            let rel = file.strip_prefix(root).expect("under the root");
            let path = rel.to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            Source {
                module: module_path(&path),
                path,
                text,
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/serve/api.rs` -> `["serve", "api"]`; `src/serve/mod.rs` -> `["serve"]`; `src/lib.rs`
/// and `src/main.rs` -> `[]` (a crate root).
fn module_path(path: &str) -> Vec<String> {
    let inner = path.strip_prefix("src/").expect("a file under src/");
    let inner = inner.strip_suffix(".rs").expect("a .rs file");
    let mut parts: Vec<String> = inner.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Every module of the crate root a file names, with the line: `crate::X`, the members of
/// `crate::{X, Y::Z}`, and `super::` chains that climb to the crate root (`super::super::X`
/// from `src/a/b.rs`). An inline `mod` block is not tracked: a `super::` inside one is read as
/// from its file's module, which can only report a stage use that is not there, never miss one.
fn root_mentions(source: &Source) -> Vec<(String, usize)> {
    let text = &source.text;
    let bytes = text.as_bytes();
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        if at > 0 && is_ident(bytes[at - 1]) {
            continue; // `my_crate::`
        }
        let rest = &text[at + "crate::".len()..];
        for name in leading_names(rest) {
            found.push((name, line_of(at)));
        }
    }
    let mut at = 0;
    while let Some(found_at) = text[at..].find("super::") {
        let start = at + found_at;
        at = start + "super::".len();
        if start > 0 && (is_ident(bytes[start - 1]) || bytes[start - 1] == b':') {
            continue; // the middle of a chain, counted from its first `super`
        }
        let mut rest = &text[start..];
        let mut up = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            up += 1;
            rest = r;
        }
        // From a file's module, `super` climbs one level; at the crate root it names the root
        // (more climbs than the file is deep can only come from inside an inline `mod`).
        if up >= source.module.len() {
            for name in leading_names(rest) {
                found.push((name, line_of(start)));
            }
        }
    }
    found
}

/// `stages::Paths` -> `["stages"]`; `{config::Config, stages}` -> `["config", "stages"]`.
fn leading_names(rest: &str) -> Vec<String> {
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut names = Vec::new();
        let mut item_start = true;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                c if item_start && !c.is_whitespace() => {
                    item_start = false;
                    let name = ident(&group[i..]);
                    if !name.is_empty() && name != "self" {
                        names.push(name);
                    }
                }
                _ => {}
            }
        }
        names
    } else {
        let name = ident(rest);
        if name.is_empty() {
            Vec::new()
        } else {
            vec![name]
        }
    }
}

fn ident(s: &str) -> String {
    s.bytes()
        .take_while(|&b| is_ident(b))
        .map(char::from)
        .collect()
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The modules declared in `src/lib.rs` (`pub mod x;` / `mod x;`).
fn top_level_modules(sources: &[Source]) -> BTreeSet<String> {
    let lib = sources
        .iter()
        .find(|s| s.path == "src/lib.rs")
        .expect("src/lib.rs");
    let modules: BTreeSet<String> = lib
        .text
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_string)
        })
        .collect();
    assert!(
        modules.contains("stages") && modules.contains("features"),
        "src/lib.rs declares {modules:?}"
    );
    modules
}

#[test]
fn only_main_cli_and_the_stages_reach_a_stage() {
    let mut offences = Vec::new();
    for source in sources() {
        let allowed = source.path.starts_with("src/stages/")
            || source.path == "src/main.rs"
            || source.path == "src/cli.rs";
        if allowed {
            continue;
        }
        for (name, line) in root_mentions(&source) {
            if name == "stages" {
                offences.push(format!("{}:{line}", source.path));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "only src/stages/, src/main.rs and src/cli.rs may use a stage; these do: {}",
        offences.join(", ")
    );
}

/// `A -> B` edges between top-level modules, each with the first `file:line` that makes it.
fn module_graph(sources: &[Source]) -> BTreeMap<String, BTreeMap<String, String>> {
    let modules = top_level_modules(sources);
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for source in sources {
        // The crate roots (`lib.rs`, `main.rs`) declare and drive the modules; they are no node.
        let Some(from) = source.module.first() else {
            continue;
        };
        assert!(
            modules.contains(from),
            "{} is not under a module declared in src/lib.rs",
            source.path
        );
        for (to, line) in root_mentions(source) {
            if &to != from && modules.contains(&to) {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| format!("{}:{line}", source.path));
            }
        }
    }
    graph
}

/// A circle of the graph, as its nodes in order (the first repeated at the end), if any.
fn find_cycle(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut done, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn top_level_modules_import_each_other_without_a_circle() {
    let sources = sources();
    let graph = module_graph(&sources);
    if let Some(cycle) = find_cycle(&graph) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} -> {} ({})", w[0], w[1], graph[&w[0]][&w[1]]))
            .collect();
        panic!(
            "modules import each other in a circle: {}",
            steps.join(", ")
        );
    }
    // The graph is not empty by accident: the stages do use the configuration and the models.
    assert!(graph["stages"].contains_key("config") && graph["stages"].contains_key("models"));
}

#[test]
fn the_numeric_core_knows_nothing_of_files_tables_or_the_cli() {
    let mut offences = Vec::new();
    let mut files = 0;
    for source in sources()
        .iter()
        .filter(|s| s.path.starts_with("src/features/"))
    {
        files += 1;
        for (n, line) in source.text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            for word in ["polars", "parquet", "clap", "std::fs"] {
                if lower.contains(word) {
                    offences.push(format!("{}:{}: {word}", source.path, n + 1));
                }
            }
        }
        for (name, line) in root_mentions(source) {
            if name != "features" {
                offences.push(format!("{}:{line}: crate::{name}", source.path));
            }
        }
    }
    assert!(files > 1, "no files under src/features/");
    assert!(
        offences.is_empty(),
        "src/features/ must stay pure numerics (no files, tables, CLI or other modules): {}",
        offences.join(", ")
    );
}

#[test]
fn the_rules_see_what_they_look_for() {
    let source = |path: &str, text: &str| Source {
        module: module_path(path),
        path: path.to_string(),
        text: text.to_string(),
    };
    let names = |s: &Source| -> Vec<String> { root_mentions(s).into_iter().map(|m| m.0).collect() };
    assert_eq!(
        names(&source("src/serve/api.rs", "use crate::stages::Paths;")),
        ["stages"]
    );
    assert_eq!(
        names(&source(
            "src/predict.rs",
            "\n\nuse crate::{config::Config, stages::{self, Paths}};"
        )),
        ["config", "stages"]
    );
    assert_eq!(root_mentions(&source("src/x.rs", "\n\ncrate::a"))[0].1, 3);
    // `super` from src/serve/api.rs is `serve`; twice, the crate root.
    assert!(names(&source("src/serve/api.rs", "use super::stages;")).is_empty());
    assert_eq!(
        names(&source("src/serve/api.rs", "use super::super::stages::X;")),
        ["stages"]
    );
    assert_eq!(
        names(&source("src/serve/mod.rs", "super::stages::run()")),
        ["stages"]
    );
    assert_eq!(
        names(&source(
            "src/serve/mod.rs",
            "mod t { use super::super::stages; }"
        )),
        ["stages"]
    );
    assert!(names(&source("src/x.rs", "use my_crate::stages;")).is_empty());
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a")] {
        graph
            .entry(a.into())
            .or_default()
            .insert(b.into(), String::new());
    }
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&graph), None);
}
