//! `run --stage all` end to end on a generated corpus: augmentation never leaks a test file
//! into training, reports and predictions are consistent, models are saved and load back, and
//! the same config gives the same results.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{assert_exit, make_corpus, Workspace};
use polars::prelude::DataFrame;
use ser_pipeline::config::Config;
use ser_pipeline::data::parquet;
use ser_pipeline::models::load_model;

/// Small models so the test is quick; every protocol on.
const CONFIG: &str = r#"
[augment]
classes = "all"
copies = 2

[split.random]
seeds = [1, 2]
[split.actor_holdout]
test_actors = [4]
[split.actor_kfold]
k = 2

[models]
train = ["mlp", "random_forest", "logistic_regression", "svm", "knn"]
[models.knn]
k = 5
[models.mlp]
hidden_layers = [32]
max_iter = 200
[models.random_forest]
n_trees = 15
"#;

/// Segment rows of 0.1 s every 0.05 s.
const SEGMENTS: &str = "[features]\nsegment_seconds = 0.1\nsegment_hop_seconds = 0.05\n";

fn strings(df: &DataFrame, col: &str) -> Vec<String> {
    df.column(col)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect()
}

/// 4 actors, every emotion twice, but neutral once: neutral is the minority class.
fn corpus(ws: &Workspace) -> Vec<String> {
    let written = make_corpus(&ws.corpus(), &[1, 2, 3, 4], 16000, 0.3);
    let mut kept = Vec::new();
    for p in written {
        if p.contains("03-01-01-01-01-02-") {
            std::fs::remove_file(ws.corpus().join(&p)).unwrap();
        } else {
            kept.push(p);
        }
    }
    kept
}

fn run_all(ws: &Workspace) {
    assert_exit(&ws.cmd(&["run", "--stage", "all"]).output().unwrap(), 0);
}

/// `splits.parquet`'s columns: path, source_path, protocol, fold, part.
type SplitColumns = (
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
);

fn read_splits(ws: &Workspace) -> SplitColumns {
    let splits = parquet::read(&ws.out("splits.parquet")).unwrap();
    (
        strings(&splits, "path"),
        strings(&splits, "source_path"),
        strings(&splits, "protocol"),
        strings(&splits, "fold"),
        strings(&splits, "part"),
    )
}

#[test]
fn all_stages_train_without_leakage_and_report() {
    let ws = Workspace::new(CONFIG);
    let files = corpus(&ws);
    run_all(&ws);

    // Augmented copies: two per file, each naming its source.
    let aug = parquet::read(&ws.out("augmented.parquet")).unwrap();
    assert_eq!(aug.height(), 2 * files.len());
    let sources: BTreeSet<String> = strings(&aug, "source_path").into_iter().collect();
    assert_eq!(sources, files.iter().cloned().collect());
    let kinds: BTreeSet<String> = strings(&aug, "augmentation").into_iter().collect();
    assert!(kinds.len() >= 2, "{kinds:?}");

    // No split ever trains on an augmented copy of one of its test files, and balancing did add
    // neutral copies.
    let (path, source, protocol, fold, part) = read_splits(&ws);
    // (protocol, fold) -> (training files, test files, sources of augmented training rows)
    type Parts = (BTreeSet<String>, BTreeSet<String>, Vec<String>);
    let mut by_split: BTreeMap<(String, String), Parts> = BTreeMap::new();
    for i in 0..path.len() {
        let e = by_split
            .entry((protocol[i].clone(), fold[i].clone()))
            .or_default();
        match part[i].as_str() {
            "train" => drop(e.0.insert(path[i].clone())),
            "test" => drop(e.1.insert(path[i].clone())),
            "train_augmented" => e.2.push(source[i].clone()),
            other => panic!("unknown part {other}"),
        }
    }
    assert_eq!(by_split.len(), 2 + 1 + 2);
    for ((p, f), (train, test, augmented_sources)) in &by_split {
        assert!(train.is_disjoint(test), "{p} {f}");
        assert!(!augmented_sources.is_empty(), "{p} {f}: no balancing rows");
        for s in augmented_sources {
            assert!(
                train.contains(s),
                "{p} {f}: augmented copy of non-training file {s}"
            );
            assert!(
                !test.contains(s),
                "{p} {f}: augmented copy of test file {s}"
            );
            assert!(
                s.contains("03-01-01-"),
                "{p} {f}: only neutral needs balancing, got {s}"
            );
        }
    }

    // Predictions: each test file once per model and split, probabilities summing to 1.
    let pred = parquet::read(&ws.out("predictions.parquet")).unwrap();
    let n_test: usize = by_split.values().map(|v| v.1.len()).sum();
    assert_eq!(pred.height(), 5 * n_test);
    let prob_cols: Vec<String> = pred
        .get_column_names()
        .iter()
        .filter(|c| c.starts_with("prob_"))
        .map(|c| c.to_string())
        .collect();
    assert_eq!(prob_cols.len(), 8);
    for i in 0..pred.height() {
        let s: f64 = prob_cols
            .iter()
            .map(|c| pred.column(c).unwrap().f64().unwrap().get(i).unwrap())
            .sum();
        assert!((s - 1.0).abs() < 1e-9, "row {i}: {s}");
    }

    // Reports: metrics.csv has a row per protocol/model/fold plus means; confusion matrices sum
    // to the pooled support.
    let metrics = std::fs::read_to_string(ws.path().join("reports/metrics.csv")).unwrap();
    let lines: Vec<&str> = metrics.lines().collect();
    assert!(lines[0].starts_with("protocol,model,fold,n_test,accuracy"));
    assert_eq!(lines.len(), 1 + 5 * (5 + 3), "{metrics}");
    for model in ["mlp", "random_forest", "logistic_regression", "svm", "knn"] {
        let dir = ws.path().join("reports/actor_kfold").join(model);
        let cm = std::fs::read_to_string(dir.join("confusion_matrix.csv")).unwrap();
        let total: u64 = cm
            .lines()
            .skip(1)
            .flat_map(|l| l.split(',').skip(1).map(|v| v.parse::<u64>().unwrap()))
            .sum();
        assert_eq!(
            total as usize,
            files.len(),
            "{model}: every file is tested once in k-fold"
        );
        assert!(dir.join("classification_report.csv").exists());
        let svg = std::fs::read_to_string(dir.join("confusion_matrix.svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("surprised"));
    }
    assert!(ws
        .path()
        .join("reports/random/mlp/training_curve_seed-1.csv")
        .exists());

    // The run record names every stage, the config and the outcome.
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("reports/run.json")).unwrap())
            .unwrap();
    let stages: Vec<&str> = run["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["scan", "extract", "augment", "train", "evaluate"]);
    assert_eq!(run["exit_code"], 0);
    assert_eq!(run["config"]["augment"]["copies"], 2);
    assert_eq!(run["config_sha256"].as_str().unwrap().len(), 64);

    // Saved models load and predict the classes they were trained on.
    // The forest's trees are saved as JSON, the others' tensors as safetensors.
    let forest_dir = ws.out("models").join("random_forest");
    assert!(forest_dir.join("model.forest.json").exists());
    assert!(!forest_dir.join("model.safetensors").exists());
    for model in ["mlp", "random_forest", "logistic_regression", "svm", "knn"] {
        let dir = ws.out("models").join(model);
        let (card, clf) = load_model::<Config>(&dir).unwrap();
        assert_eq!(card.labels.len(), 8);
        assert_eq!(card.feature_names.len(), 180);
        let features = parquet::read(&ws.out("features.parquet")).unwrap();
        let table = ser_pipeline::tables::feature_table(&features, &card.feature_names).unwrap();
        let x = card.scaler.transform(table.x.view());
        let p = clf.predict_proba(x.view());
        assert_eq!(p.dim(), (files.len(), 8));
    }
}

#[test]
fn the_same_config_gives_the_same_predictions() {
    let ws = Workspace::new(CONFIG);
    corpus(&ws);
    run_all(&ws);
    let first = parquet::read(&ws.out("predictions.parquet")).unwrap();
    let out = ws
        .cmd(&["run", "--stage", "all", "--force", "--threads", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let second = parquet::read(&ws.out("predictions.parquet")).unwrap();
    assert!(first.equals(&second));
}

#[test]
fn excluded_classes_are_left_out_and_reported() {
    let ws = Workspace::new(&format!(
        "{CONFIG}\n[train]\nexclude_classes = [\"calm\"]\n"
    ));
    corpus(&ws);
    let out = ws.cmd(&["run", "--stage", "all", "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("excluded"));
    let pred = parquet::read(&ws.out("predictions.parquet")).unwrap();
    assert!(pred.column("prob_calm").is_err());
    assert!(!strings(&pred, "true").iter().any(|t| t == "calm"));
    let metrics = std::fs::read_to_string(ws.path().join("reports/metrics.csv")).unwrap();
    assert!(metrics
        .lines()
        .skip(1)
        .all(|l| l.ends_with(",excluded: calm,none")));
}

/// Song clips (vocal channel 02) of actors 1-4: six emotions, twice each.
fn song_corpus(ws: &Workspace) {
    for actor in [1u8, 2, 3, 4] {
        let dir = ws.corpus().join(format!("Actor_{actor:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for emotion in 1..=6u8 {
            for repetition in 1..=2u8 {
                let name = format!("03-02-{emotion:02}-01-01-{repetition:02}-{actor:02}.wav");
                let y = common::voice(emotion, actor, repetition + 2, 16000, 0.3);
                common::write_wav16(&dir.join(name), &y, 1, 16000);
            }
        }
    }
}

/// Speech and song in the same actor folders (as `download --song` unzips them): both train
/// by default; `train.vocal_channels` keeps one.
#[test]
fn vocal_channels_choose_speech_song_or_both() {
    let ws = Workspace::new(CONFIG);
    corpus(&ws);
    song_corpus(&ws);
    let channels_in = |df: &DataFrame| -> BTreeSet<String> {
        strings(df, "path")
            .iter()
            .map(|p| p.rsplit('/').next().unwrap()[3..5].to_string())
            .collect()
    };
    run_all(&ws);
    let (paths, ..) = read_splits(&ws);
    assert!(paths.iter().any(|p| p.contains("/03-02-")));
    assert!(paths.iter().any(|p| p.contains("/03-01-")));
    let both = parquet::read(&ws.out("predictions.parquet")).unwrap();
    assert_eq!(
        channels_in(&both),
        BTreeSet::from(["01".into(), "02".into()])
    );

    let out = ws
        .cmd(&[
            "run",
            "-q",
            "--stage",
            "all",
            "--set",
            r#"train.vocal_channels=["speech"]"#,
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let (paths, ..) = read_splits(&ws);
    assert!(paths.iter().all(|p| p.contains("/03-01-")), "{paths:?}");
    let speech = parquet::read(&ws.out("predictions.parquet")).unwrap();
    assert_eq!(channels_in(&speech), BTreeSet::from(["01".into()]));
    let metrics = std::fs::read_to_string(ws.path().join("reports/metrics.csv")).unwrap();
    assert!(metrics
        .lines()
        .skip(1)
        .all(|l| l.ends_with(",all; speech only,none")));
    // Extraction is not redone for a training choice: the tables keep both channels.
    let features = parquet::read(&ws.out("features.parquet")).unwrap();
    assert_eq!(channels_in(&features).len(), 2);

    let out = ws
        .cmd(&[
            "run",
            "-q",
            "--stage",
            "train",
            "--set",
            r#"train.vocal_channels=["opera"]"#,
        ])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(common::stderr_of(&out).contains("train.vocal_channels"));
}

/// RAVDESS song clips (vocal channel 02) have six emotions: no disgust, no surprised. A corpus
/// of them trains and reports on exactly those six classes.
#[test]
fn a_song_corpus_with_six_emotions_trains_on_six_classes() {
    let ws = Workspace::new(CONFIG);
    song_corpus(&ws);
    run_all(&ws);
    let pred = parquet::read(&ws.out("predictions.parquet")).unwrap();
    let probs: Vec<String> = pred
        .get_column_names()
        .iter()
        .filter(|c| c.starts_with("prob_"))
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        probs,
        [
            "prob_neutral",
            "prob_calm",
            "prob_happy",
            "prob_sad",
            "prob_angry",
            "prob_fearful"
        ]
    );
    let features = parquet::read(&ws.out("features.parquet")).unwrap();
    assert!(strings(&features, "vocal_channel")
        .iter()
        .all(|v| v == "song"));
}

/// With `features.segment_seconds`, segments.parquet and augmented_segments.parquet hold one
/// row per segment beside the per-file tables, which keep their schema; splits are still of
/// recordings (a file's segments never straddle a split, nor do augmented copies of test files
/// train), and predictions are one row per test recording. Back without segments, the segment
/// tables are removed.
#[test]
fn segment_rows_train_per_recording_and_predict_per_recording() {
    let ws = Workspace::new(&format!("{CONFIG}\n{SEGMENTS}"));
    let files = corpus(&ws);
    run_all(&ws);

    let per_file = parquet::read(&ws.out("features.parquet")).unwrap();
    assert_eq!(per_file.height(), files.len());
    assert!(per_file.column("segment").is_err());
    let features = parquet::read(&ws.out("segments.parquet")).unwrap();
    assert!(features.height() > 2 * files.len(), "{}", features.height());
    assert_eq!(features.width(), per_file.width() + 3);
    let paths = strings(&features, "path");
    let segment = features.column("segment").unwrap().i64().unwrap();
    let start = features.column("segment_start_s").unwrap().f64().unwrap();
    let end = features.column("segment_end_s").unwrap().f64().unwrap();
    // Each file's segments are consecutive, numbered from 0, in time order, within the file.
    let mut per_file: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for i in 0..features.height() {
        per_file
            .entry(&paths[i])
            .or_default()
            .push(segment.get(i).unwrap());
        assert!(start.get(i).unwrap() < end.get(i).unwrap());
        assert!(end.get(i).unwrap() <= 0.3 + 1e-9);
        if i > 0 && paths[i] == paths[i - 1] {
            assert!(start.get(i).unwrap() > start.get(i - 1).unwrap());
        }
    }
    assert_eq!(per_file.len(), files.len());
    for ids in per_file.values() {
        assert_eq!(*ids, (0..ids.len() as i64).collect::<Vec<_>>());
        assert!(ids.len() >= 3, "{ids:?}");
    }
    let aug = parquet::read(&ws.out("augmented.parquet")).unwrap();
    assert_eq!(aug.height(), 2 * files.len());
    let aug = parquet::read(&ws.out("augmented_segments.parquet")).unwrap();
    assert!(aug.height() > 2 * files.len());
    assert!(aug.column("segment").is_ok());
    assert!(aug.column("source_path").is_ok());

    // Splits list recordings once each; no test recording or its copies train.
    let (path, source, protocol, fold, part) = read_splits(&ws);
    let mut seen = BTreeSet::new();
    let mut test_of: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for i in 0..path.len() {
        assert!(
            seen.insert((protocol[i].clone(), fold[i].clone(), path[i].clone())),
            "{} listed twice in {} {}",
            path[i],
            protocol[i],
            fold[i]
        );
        if part[i] == "test" {
            test_of
                .entry((protocol[i].clone(), fold[i].clone()))
                .or_default()
                .insert(path[i].clone());
        }
    }
    for i in 0..path.len() {
        let test = &test_of[&(protocol[i].clone(), fold[i].clone())];
        match part[i].as_str() {
            "train" => assert!(!test.contains(&path[i])),
            "train_augmented" => assert!(!test.contains(&source[i])),
            _ => {}
        }
    }

    // One prediction per test recording and model, probabilities summing to 1.
    let pred = parquet::read(&ws.out("predictions.parquet")).unwrap();
    let n_test: usize = test_of.values().map(BTreeSet::len).sum();
    assert_eq!(pred.height(), 5 * n_test);
    for i in 0..pred.height() {
        let sum: f64 = pred
            .get_column_names()
            .iter()
            .filter(|c| c.starts_with("prob_"))
            .map(|c| pred.column(c).unwrap().f64().unwrap().get(i).unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "row {i}: {sum}");
    }

    // The saved model predicts a new recording from its segments.
    let json = ws.predict_json("mlp", &[], &[ws.corpus().join(&files[0])]);
    assert!(json[0]["emotion"].is_string(), "{json:?}");

    // Without segments again: the segment tables go, the per-file ones stay.
    ws.write_config(CONFIG);
    run_all(&ws);
    assert!(!ws.out("segments.parquet").exists());
    assert!(!ws.out("augmented_segments.parquet").exists());
    assert_eq!(
        parquet::read(&ws.out("features.parquet")).unwrap().height(),
        files.len()
    );
}

/// `[models.segments]` gives one model rows of its own scale: extract and augment write a table
/// per scale (of the same recordings), that model trains and is tested on it, its saved card
/// extracts at that scale, and the ensemble averages its per-recording probabilities with the
/// other models'. Without the setting, the scale's tables go.
#[test]
fn a_model_with_its_own_segment_scale_trains_and_predicts_at_that_scale() {
    let scaled = format!(
        "{CONFIG}\n{SEGMENTS}\
         [models.segments]\nmlp = {{ seconds = 0.03, hop_seconds = 0.03 }}\n"
    );
    let ws = Workspace::new(&scaled);
    let files = corpus(&ws);
    let run = |ws: &Workspace| {
        let out = ws
            .cmd(&[
                "run",
                "--stage",
                "all",
                "--set",
                r#"models.ensemble=["mlp","svm"]"#,
            ])
            .output()
            .unwrap();
        assert_exit(&out, 0);
    };
    run(&ws);

    let own = parquet::read(&ws.out("segments.parquet")).unwrap();
    let fine = parquet::read(&ws.out("segments_0.03s_hop_0.03s.parquet")).unwrap();
    assert_eq!(fine.width(), own.width());
    assert!(fine.height() > own.height(), "{} rows", fine.height());
    let recordings = |df: &DataFrame| strings(df, "path").into_iter().collect::<BTreeSet<_>>();
    assert_eq!(recordings(&fine), recordings(&own));
    assert_eq!(recordings(&fine).len(), files.len());
    let start = fine.column("segment_start_s").unwrap().f64().unwrap();
    let end = fine.column("segment_end_s").unwrap().f64().unwrap();
    for i in 0..fine.height() {
        // 0.03 s windows of 512-sample frames at 16 kHz: one frame, 0.032 s.
        let length = end.get(i).unwrap() - start.get(i).unwrap();
        assert!(length > 0.0 && length <= 0.032 + 1e-9, "row {i}: {length}");
    }
    let aug_own = parquet::read(&ws.out("augmented_segments.parquet")).unwrap();
    let aug_fine = parquet::read(&ws.out("augmented_segments_0.03s_hop_0.03s.parquet")).unwrap();
    assert!(aug_fine.height() > aug_own.height());
    assert_eq!(recordings(&aug_fine), recordings(&aug_own));

    // The MLP trained on more rows than the SVM, on the same recordings.
    let fits = std::fs::read_to_string(ws.path().join("reports/fits.csv")).unwrap();
    let n_train = |model: &str| -> usize {
        fits.lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|c| c[0] == "random" && c[1] == "seed-1" && c[2] == model)
            .unwrap()[3]
            .parse()
            .unwrap()
    };
    assert!(n_train("mlp") > n_train("svm"), "{fits}");

    // One prediction per test recording and model; the ensemble's probabilities are the mean
    // of the MLP's and the SVM's for the same recording.
    let pred = parquet::read(&ws.out("predictions.parquet")).unwrap();
    let (path, protocol, fold, model) = (
        strings(&pred, "path"),
        strings(&pred, "protocol"),
        strings(&pred, "fold"),
        strings(&pred, "model"),
    );
    let probs: Vec<String> = pred
        .get_column_names()
        .iter()
        .filter(|c| c.starts_with("prob_"))
        .map(|c| c.to_string())
        .collect();
    let mut by_key: BTreeMap<(String, String, String, String), Vec<f64>> = BTreeMap::new();
    for i in 0..pred.height() {
        let p = probs
            .iter()
            .map(|c| pred.column(c).unwrap().f64().unwrap().get(i).unwrap())
            .collect();
        let key = (
            protocol[i].clone(),
            fold[i].clone(),
            path[i].clone(),
            model[i].clone(),
        );
        assert!(by_key.insert(key, p).is_none(), "row {i} twice");
    }
    let mut n_ensemble = 0;
    for ((protocol, fold, path, model), p) in &by_key {
        if model != "ensemble" {
            continue;
        }
        n_ensemble += 1;
        let of = |m: &str| &by_key[&(protocol.clone(), fold.clone(), path.clone(), m.to_string())];
        for (c, v) in p.iter().enumerate() {
            let mean = (of("mlp")[c] + of("svm")[c]) / 2.0;
            assert!((v - mean).abs() < 1e-12, "{path} {model}: {v} vs {mean}");
        }
    }
    assert!(n_ensemble > 0);

    // Each saved model extracts the rows it learned from.
    let card = |m: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(ws.out(&format!("models/{m}/model.json"))).unwrap(),
        )
        .unwrap()
    };
    assert_eq!(card("mlp")["config"]["features"]["segment_seconds"], 0.03);
    assert_eq!(
        card("mlp")["config"]["features"]["segment_hop_seconds"],
        0.03
    );
    assert_eq!(card("svm")["config"]["features"]["segment_seconds"], 0.1);
    // The saved ensemble predicts the mean of its members' probabilities, each member on its
    // own rows.
    let wavs: Vec<std::path::PathBuf> = files[..6].iter().map(|f| ws.corpus().join(f)).collect();
    let predict = |model: &str| ws.predict_json(model, &[], &wavs);
    let (ens, mlp, svm) = (predict("ensemble"), predict("mlp"), predict("svm"));
    assert_eq!(ens.len(), wavs.len());
    for ((e, m), v) in ens.iter().zip(&mlp).zip(&svm) {
        let probs = |r: &serde_json::Value| -> Vec<f64> {
            r["probabilities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[1].as_f64().unwrap())
                .collect()
        };
        let (pe, pm, pv) = (probs(e), probs(m), probs(v));
        for c in 0..pe.len() {
            assert!((pe[c] - (pm[c] + pv[c]) / 2.0).abs() < 1e-12, "{e} {m} {v}");
        }
        assert!(e["emotion"].is_string());
    }
    // A member saved by another run no longer belongs to the ensemble.
    let card = ws.out("models/svm/model.json");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(&card, text.replace("\"n_train\"", "\"n_train\" ")).unwrap();
    let out = ws
        .cmd(&["predict", "--model", "out/models/ensemble"])
        .arg(&wavs[0])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        common::stderr_of(&out).contains("saved by another run"),
        "{}",
        common::stderr_of(&out)
    );
    std::fs::write(&card, text).unwrap();

    // Without the model's scale, its tables go and the others stay.
    ws.write_config(&format!("{CONFIG}\n{SEGMENTS}"));
    run(&ws);
    assert!(!ws.out("segments_0.03s_hop_0.03s.parquet").exists());
    assert!(!ws
        .out("augmented_segments_0.03s_hop_0.03s.parquet")
        .exists());
    assert!(ws.out("segments.parquet").exists());
    assert!(ws.out("augmented_segments.parquet").exists());
    // The ensemble is still configured by --set: saved again, of members on the same rows.
    assert!(ws.out("models/ensemble/model.json").exists());
    // Without an ensemble, its saved card goes.
    assert_exit(&ws.cmd(&["run", "--stage", "all"]).output().unwrap(), 0);
    assert!(!ws.out("models/ensemble/model.json").exists());
}
