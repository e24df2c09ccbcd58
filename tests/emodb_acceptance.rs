//! Acceptance on a second real corpus: EmoDB (the 2 s, 22.05 kHz copy in `../shared/data`,
//! unpacked to `data/emodb` or `$EMODB_DIR`) read by the `emodb` kind, evaluated leaving one
//! speaker out, and RAVDESS + EmoDB in one run with both cross-corpus directions. Skips loudly
//! when a corpus is absent; fails instead when `SER_REQUIRE_DATA=1` (as CI sets it).
//!
//! The accuracy floors are regression guards set under the figures measured with the
//! recommended `pipeline.toml` (docs/accuracy.md, "Other corpora"), not the targets.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{assert_exit, strings};
use ser_pipeline::data::parquet;

fn corpus(var: &str, default: &str, unpack: &str) -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(default));
    if dir.is_dir() {
        return Some(dir);
    }
    let message = format!(
        "{} not found at {} (set {var}, or run ../shared/data/{unpack} {default})",
        default,
        dir.display()
    );
    if std::env::var("SER_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("{message}, and SER_REQUIRE_DATA=1");
    }
    eprintln!("SKIPPED: {message}");
    None
}

/// The `reports/metrics.csv` rows of a run, as (protocol, model, fold) -> (accuracy, classes),
/// without the lone-clip rows (`normalisation` = `lone`).
fn metrics(reports: &std::path::Path) -> Vec<(String, String, String, f64, String)> {
    let text = std::fs::read_to_string(reports.join("metrics.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[15] != "lone")
        .map(|r| {
            (
                r[0].to_string(),
                r[1].to_string(),
                r[2].to_string(),
                r[4].parse().unwrap(),
                r[14].to_string(),
            )
        })
        .collect()
}

/// `run --stage all` with the repository's `pipeline.toml`, outputs in `ws`, these corpora
/// (`corpora=[...]` in TOML) and no protocol but the `protocol` overrides.
fn run(ws: &std::path::Path, corpora: &str, protocol: &str) -> std::process::Output {
    run_config(ws, "pipeline.toml", corpora, protocol)
}

/// [`run`] with another config of the repository (`presets/cross-corpus.toml`).
fn run_config(
    ws: &std::path::Path,
    config: &str,
    corpora: &str,
    protocol: &str,
) -> std::process::Output {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sets = [
        format!("corpora={corpora}"),
        format!("data.out_dir=\"{}\"", ws.join("out").display()),
        format!("data.reports_dir=\"{}\"", ws.join("reports").display()),
        "split.random.enabled=false".into(),
        "split.actor_holdout.enabled=false".into(),
        "split.actor_kfold.enabled=false".into(),
        protocol.into(),
    ];
    assert_cmd::Command::cargo_bin("ser-pipeline")
        .unwrap()
        .args(["run", "--stage", "all", "-q", "--config"])
        .arg(repo.join(config))
        .args(sets.iter().flat_map(|kv| ["--set", kv.as_str()]))
        .output()
        .unwrap()
}

#[test]
fn emodb_leave_one_speaker_out() {
    let Some(emodb) = corpus("EMODB_DIR", "data/emodb", "unpack-emodb.sh") else {
        return;
    };
    let ws = tempfile::tempdir().unwrap();
    let out = run(
        ws.path(),
        &format!("[{{kind=\"emodb\",root=\"{}\"}}]", emodb.display()),
        "split.leave_one_speaker_out.enabled=true",
    );
    assert_exit(&out, 0);

    // The kind reads all 535 names: 10 speakers (5 male, 5 female), 7 emotions.
    let manifest = parquet::read(&ws.path().join("out/manifest.parquet")).unwrap();
    assert_eq!(manifest.height(), 535);
    assert!(strings(&manifest, "status").iter().all(|s| s == "ok"));
    let speakers: BTreeSet<String> = strings(&manifest, "speaker").into_iter().collect();
    assert_eq!(
        speakers.into_iter().collect::<Vec<_>>(),
        ["03", "08", "09", "10", "11", "12", "13", "14", "15", "16"]
    );
    let emotion = strings(&manifest, "emotion");
    let count = |e: &str| emotion.iter().filter(|x| *x == e).count();
    assert_eq!(
        ["angry", "boredom", "neutral", "happy", "fearful", "sad", "disgust"].map(count),
        [127, 81, 79, 71, 69, 62, 46]
    );
    let male = strings(&manifest, "gender")
        .iter()
        .zip(strings(&manifest, "speaker"))
        .filter(|(g, _)| *g == "male")
        .map(|(_, s)| s)
        .collect::<BTreeSet<_>>();
    assert_eq!(
        male.into_iter().collect::<Vec<_>>(),
        ["03", "10", "11", "12", "15"]
    );

    // Ten folds, one per speaker; the figures stay where they were measured.
    let rows = metrics(&ws.path().join("reports"));
    let folds = rows
        .iter()
        .filter(|r| r.0 == "leave_one_speaker_out" && r.1 == "svm" && r.2 != "mean")
        .count();
    assert_eq!(folds, 10);
    // Each fold's speaker is also judged as lone clips, on the other nine's average statistics.
    let text = std::fs::read_to_string(ws.path().join("reports/metrics.csv")).unwrap();
    let lone = text
        .lines()
        .filter(|l| l.starts_with("leave_one_speaker_out,svm,") && l.ends_with(",lone"))
        .count();
    assert_eq!(lone, 11, "ten folds and their mean\n{text}");
    let mean = |model: &str| {
        rows.iter()
            .find(|r| r.0 == "leave_one_speaker_out" && r.1 == model && r.2 == "mean")
            .unwrap()
            .3
    };
    assert!(mean("svm") >= 0.75, "svm {}", mean("svm"));
    assert!(mean("ensemble") >= 0.75, "ensemble {}", mean("ensemble"));
}

/// Both corpora, both cross-corpus directions, with `config`: the run's output and its
/// folder; `None` when a corpus is absent (skipped loudly).
fn cross_corpus_run(config: &str) -> Option<(std::process::Output, tempfile::TempDir)> {
    let (Some(ravdess), Some(emodb)) = (
        corpus("RAVDESS_DIR", "data/ravdess", "unpack-ravdess.sh"),
        corpus("EMODB_DIR", "data/emodb", "unpack-emodb.sh"),
    ) else {
        return None;
    };
    let ws = tempfile::tempdir().unwrap();
    let out = run_config(
        ws.path(),
        config,
        &format!(
            "[{{kind=\"ravdess\",root=\"{}\"}},{{kind=\"emodb\",root=\"{}\"}}]",
            ravdess.display(),
            emodb.display()
        ),
        "split.cross_corpus.pairs=[{train_on=[\"ravdess\"],test_on=[\"emodb\"]},\
         {train_on=[\"emodb\"],test_on=[\"ravdess\"]}]",
    );
    Some((out, ws))
}

/// A cross-corpus run's accuracy of `model` in direction `name` (`ravdess->emodb`).
fn cross_accuracy(ws: &std::path::Path, name: &str, model: &str) -> f64 {
    metrics(&ws.join("reports"))
        .into_iter()
        .find(|r| r.0 == "cross_corpus" && r.1 == model && r.2 == name)
        .unwrap_or_else(|| panic!("no cross_corpus {model} {name} row"))
        .3
}

#[test]
fn ravdess_and_emodb_cross_corpus_both_ways() {
    let Some((out, ws)) = cross_corpus_run("pipeline.toml") else {
        return;
    };
    assert_exit(&out, 0);
    let log = common::stderr_of(&out);
    assert!(
        log.contains("class boredom is only in corpus emodb"),
        "{log}"
    );

    let rows = metrics(&ws.path().join("reports"));
    let shared = "shared: neutral happy sad angry fearful disgust";
    let fold = |name: &str, model: &str| {
        rows.iter()
            .find(|r| r.0 == "cross_corpus" && r.1 == model && r.2 == name)
            .unwrap_or_else(|| panic!("no cross_corpus {model} {name} row in {rows:?}"))
    };
    for name in ["ravdess->emodb", "emodb->ravdess"] {
        assert_eq!(fold(name, "svm").4, shared);
    }
    // Six shared classes: chance is 1/6. Measured: 0.2026 and 0.2989 (docs/accuracy.md).
    let r2e = fold("ravdess->emodb", "ensemble").3;
    let e2r = fold("emodb->ravdess", "ensemble").3;
    assert!(r2e > 1.0 / 6.0, "ravdess->emodb {r2e}");
    assert!(e2r > 1.0 / 6.0, "emodb->ravdess {e2r}");
}

/// The target for RAVDESS -> EmoDB on the six shared classes; the preset measured
/// 0.4163 (ensemble) and 0.4251 (SVM) (docs/accuracy.md, "Across corpora").
const R2E_FLOOR: f64 = 0.35;
/// The other direction, measured 0.3875 for both.
const E2R_FLOOR: f64 = 0.35;

#[test]
fn the_cross_corpus_preset_transfers_both_ways() {
    let Some((out, ws)) = cross_corpus_run("presets/cross-corpus.toml") else {
        return;
    };
    assert_exit(&out, 0);
    for model in ["ensemble", "svm"] {
        let r2e = cross_accuracy(ws.path(), "ravdess->emodb", model);
        assert!(r2e >= R2E_FLOOR, "{model} ravdess->emodb {r2e}");
        let e2r = cross_accuracy(ws.path(), "emodb->ravdess", model);
        assert!(e2r >= E2R_FLOOR, "{model} emodb->ravdess {e2r}");
    }
}
