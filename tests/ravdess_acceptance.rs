//! Acceptance over the real RAVDESS speech subset (actors 01-20, 1200 files), when unpacked at
//! `data/ravdess` or `$RAVDESS_DIR`. Skips loudly when absent; fails instead when
//! `SER_REQUIRE_DATA=1` (as CI sets it), so a missing corpus cannot pass silently there.

mod common;

use std::path::PathBuf;

use common::{assert_exit, Workspace};
use ser_pipeline::data::parquet;
use ser_pipeline::features::FeatureParams;

pub fn ravdess_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RAVDESS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/ravdess"));
    if dir.join("Actor_01").is_dir() {
        return Some(dir);
    }
    let message = format!(
        "RAVDESS not found at {} (set RAVDESS_DIR, or run ../shared/data/unpack-ravdess.sh data/ravdess)",
        dir.display()
    );
    if std::env::var("SER_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("{message}, and SER_REQUIRE_DATA=1");
    }
    eprintln!("\n*** SKIPPED: {message} ***\n");
    None
}

#[test]
fn extract_over_the_real_subset() {
    let Some(root) = ravdess_dir() else { return };
    let ws = Workspace::new("");
    let out = ws
        .cmd(&["run", "--stage", "extract", "--data-root"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let df = parquet::read(&ws.out("features.parquet")).unwrap();
    assert_eq!(df.height(), 1200);
    let distinct = |col: &str| df.column(col).unwrap().n_unique().unwrap();
    assert_eq!(distinct("emotion"), 8);
    assert_eq!(distinct("actor"), 20);
    assert_eq!(distinct("gender"), 2);
    assert_eq!(distinct("sample_rate"), 1);
    for name in FeatureParams::default().feature_names() {
        let col = df.column(&name).unwrap().f64().unwrap();
        assert_eq!(col.null_count(), 0, "{name}");
        assert!(col.iter().all(|v| v.unwrap().is_finite()), "{name}");
    }
    // Per actor: 4 neutral files and 8 of every other emotion (the corpus as published).
    let manifest = parquet::read(&ws.out("manifest.parquet")).unwrap();
    assert_eq!(manifest.height(), 1200);
    let neutral = df
        .column("emotion")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .filter(|e| *e == Some("neutral"))
        .count();
    assert_eq!(neutral, 4 * 20);
}

/// The recommended `pipeline.toml`, every stage, over the real subset: segment rows, per-speaker
/// normalisation, all three protocols, and the SVM at the level docs/accuracy.md's ablation table
/// reports (random 0.7861, actor-kfold 0.6350 when measured), less a margin of a few points, so
/// a regression in features, segments, normalisation, calibration or splitting shows here.
#[test]
fn recommended_config_trains_on_segments_to_its_documented_accuracy() {
    let Some(root) = ravdess_dir() else { return };
    let ws = Workspace::new("");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = |key: &str, dir: &str| format!("{key}=\"{}\"", ws.path().join(dir).display());
    let out = ws
        .cmd(&["run", "--stage", "all", "-q", "--config"])
        .arg(repo.join("pipeline.toml"))
        .arg("--data-root")
        .arg(&root)
        .args(["--set", &set("data.out_dir", "out")])
        .args(["--set", &set("data.reports_dir", "reports")])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    // One row per recording, and several segment rows per recording.
    assert_eq!(
        parquet::read(&ws.out("features.parquet")).unwrap().height(),
        1200
    );
    let segments = parquet::read(&ws.out("segments.parquet")).unwrap();
    assert!(segments.height() > 3 * 1200, "{}", segments.height());
    assert_eq!(segments.column("path").unwrap().n_unique().unwrap(), 1200);
    // The MLP's own 0.2 s rows, of the same recordings: about 11 per recording.
    let fine = parquet::read(&ws.out("segments_0.2s_hop_0.2s.parquet")).unwrap();
    assert!(fine.height() > 2 * segments.height(), "{}", fine.height());
    assert_eq!(fine.column("path").unwrap().n_unique().unwrap(), 1200);
    // One prediction per test recording: 3 random splits of 240, the holdout's 240, 5 folds
    // covering all 1200, the speaker-independent two also as lone clips; for the MLP, the
    // SVM, smartcore's k-NN and the ensemble.
    let pred = parquet::read(&ws.out("predictions.parquet")).unwrap();
    assert_eq!(pred.height(), 4 * (3 * 240 + 2 * (240 + 1200)));
    let metrics = std::fs::read_to_string(ws.path().join("reports/metrics.csv")).unwrap();
    let mean_accuracy = |protocol: &str, model: &str| -> f64 {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&format!("{protocol},{model},mean,")))
            .unwrap_or_else(|| panic!("no {protocol} {model} mean row in\n{metrics}"));
        line.split(',').nth(4).unwrap().parse().unwrap()
    };
    // The ensemble judged one clip at a time (the training speakers' average statistics), as
    // `predict` and the page judge a new speaker's clip: a row of its own, below the batch one.
    let lone = metrics
        .lines()
        .find(|l| l.starts_with("actor_kfold,ensemble,mean,") && l.ends_with(",lone"))
        .unwrap_or_else(|| panic!("no lone-clip actor_kfold row in\n{metrics}"));
    let lone: f64 = lone.split(',').nth(4).unwrap().parse().unwrap();
    eprintln!("recommended config, ensemble, actor-kfold as lone clips: {lone:.4}");
    assert!(
        lone > 0.4 && lone < mean_accuracy("actor_kfold", "ensemble"),
        "{lone}"
    );
    assert!(!metrics
        .lines()
        .any(|l| l.starts_with("random,") && l.ends_with(",lone")));
    let random = mean_accuracy("random", "svm");
    let kfold = mean_accuracy("actor_kfold", "svm");
    eprintln!("recommended config, svm: random {random:.4}, actor-kfold {kfold:.4}");
    assert!(random >= 0.75, "random {random}");
    assert!(kfold >= 0.60, "actor-kfold {kfold}");
    // The ensemble with the MLP on 0.2 s rows: 0.7986 / 0.6508 (docs/accuracy.md); it must
    // not fall behind the SVM alone for new speakers.
    let (random_ens, kfold_ens) = (
        mean_accuracy("random", "ensemble"),
        mean_accuracy("actor_kfold", "ensemble"),
    );
    eprintln!("recommended config, ensemble: random {random_ens:.4}, actor-kfold {kfold_ens:.4}");
    assert!(random_ens >= 0.77, "random {random_ens}");
    assert!(
        kfold_ens >= 0.63 && kfold_ens >= kfold,
        "actor-kfold {kfold_ens} vs {kfold}"
    );
    // smartcore's k-NN on whole recordings, beside them: 0.5139 / 0.4800 (random / actor-kfold)
    // when measured, well behind, and not in the ensemble.
    let (random_knn, kfold_knn) = (
        mean_accuracy("random", "knn"),
        mean_accuracy("actor_kfold", "knn"),
    );
    eprintln!("recommended config, knn: random {random_knn:.4}, actor-kfold {kfold_knn:.4}");
    assert!(random_knn >= 0.47, "random {random_knn}");
    assert!(kfold_knn >= 0.44, "actor-kfold {kfold_knn}");
    assert!(metrics
        .lines()
        .any(|l| l.starts_with("actor_holdout,knn,holdout,")));
    // Its saved model learned from one row per recording, loads and predicts.
    let knn: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.out("models/knn/model.json")).unwrap())
            .unwrap();
    assert_eq!(knn["config"]["features"]["segment_seconds"], 30.0);
    let files: Vec<PathBuf> = ["03-01-05-01-01-01-01.wav", "03-01-03-02-02-01-01.wav"]
        .iter()
        .map(|name| root.join("Actor_01").join(name))
        .collect();
    let rows = ws.predict_json("knn", &[], &files);
    assert_eq!(rows.len(), 2);
    for row in &rows {
        // [[label, probability], ...]
        let probs = row["probabilities"].as_array().unwrap();
        assert_eq!(probs.len(), 8, "{row}");
        let sum: f64 = probs.iter().map(|p| p[1].as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{row}");
        let best = probs
            .iter()
            .max_by(|a, b| a[1].as_f64().unwrap().total_cmp(&b[1].as_f64().unwrap()))
            .unwrap();
        assert_eq!(best[0], row["emotion"], "{row}");
    }
    // The saved MLP extracts the rows it learned from.
    let mlp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.out("models/mlp/model.json")).unwrap())
            .unwrap();
    assert_eq!(mlp["config"]["features"]["segment_seconds"], 0.2);
    // The saved SVM keeps the statistics a lone clip's speaker is standardised with.
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.out("models/svm/model.json")).unwrap())
            .unwrap();
    assert_eq!(
        card["speaker_population"]["mean"].as_array().unwrap().len(),
        546
    );
}

/// The recommended config's speaker-normalised SVM, trained on actors 01-16, on every recording
/// of actors 17-20 (unseen): with those speakers' own statistics (15 recordings each at least,
/// so `predict` uses them), one clip at a time on the training speakers' average
/// (`--population-statistics`), and against the same SVM trained without normalisation. As
/// `tools/lone_clip_eval.sh` measured: 0.5792, 0.5083 and 0.5125. A lone clip must stay about as
/// good as with a model trained without normalisation, and a speaker's own statistics better.
#[test]
fn lone_clips_of_new_speakers_score_about_what_a_plain_model_does() {
    let Some(root) = ravdess_dir() else { return };
    let ws = Workspace::new("");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (train, test) = (ws.path().join("train16"), ws.path().join("test4"));
    for (dir, actors) in [(&train, 1..=16), (&test, 17..=20)] {
        std::fs::create_dir_all(dir).unwrap();
        for a in actors {
            let name = format!("Actor_{a:02}");
            std::os::unix::fs::symlink(root.join(&name), dir.join(&name)).unwrap();
        }
    }
    let accuracy = |model: &str, flags: &[&str]| -> f64 {
        let out = ws
            .cmd(&["predict", "-q", "--json", "--model"])
            .arg(ws.path().join(model))
            .args(flags)
            .arg("--out")
            .arg(ws.path().join("p.csv"))
            .arg(&test)
            .output()
            .unwrap();
        assert_exit(&out, 0);
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(rows.len(), 240);
        let right = rows
            .iter()
            .filter(|r| {
                let name = std::path::Path::new(r["path"].as_str().unwrap());
                let labels = ser_pipeline::corpus::ravdess::RavdessName::parse(
                    name.file_name().unwrap().to_str().unwrap(),
                )
                .unwrap();
                labels.emotion.label() == r["emotion"].as_str().unwrap()
            })
            .count();
        right as f64 / rows.len() as f64
    };
    // Absolute output folders: relative ones would be relative to the repository's config.
    let set = |key: &str, dir: String| format!("{key}=\"{}\"", ws.path().join(dir).display());
    for (norm, out_dir) in [("true", "spk"), ("false", "plain")] {
        let out = ws
            .cmd(&["run", "--stage", "all", "-q", "--config"])
            .arg(repo.join("pipeline.toml"))
            .arg("--data-root")
            .arg(&train)
            .args(["--set", "split.random.enabled=false"])
            .args(["--set", "split.actor_kfold.enabled=false"])
            .args(["--set", "split.actor_holdout.test_actors=[13,14,15,16]"])
            .args(["--set", "models.train=[\"svm\"]"])
            .args(["--set", &format!("train.speaker_normalization={norm}")])
            .args(["--set", &set("data.out_dir", format!("{out_dir}/data"))])
            .args([
                "--set",
                &set("data.reports_dir", format!("{out_dir}/reports")),
            ])
            .output()
            .unwrap();
        assert_exit(&out, 0);
    }
    let own = accuracy("spk/data/models/svm", &[]);
    let lone = accuracy("spk/data/models/svm", &["--population-statistics"]);
    let plain = accuracy("plain/data/models/svm", &[]);
    eprintln!(
        "actors 17-20: own statistics {own:.4}, lone clips {lone:.4}, plain model {plain:.4}"
    );
    assert!(lone >= plain - 0.03, "lone {lone} vs plain {plain}");
    assert!(own >= lone + 0.03, "own {own} vs lone {lone}");
}
