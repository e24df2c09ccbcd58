//! `ser-pipeline predict` on a model trained by the pipeline: a table, JSON, a predictions
//! table for a folder, and a clear error for a file that is not audio.

mod common;

use common::{make_corpus, Workspace};
use ser_pipeline::data::parquet;

fn config() -> String {
    format!(
        "{}\n[models]\ntrain = [\"mlp\", \"logistic_regression\"]\n",
        common::TINY_TRAINING
    )
}

#[test]
fn predict_reports_each_file_and_skips_bad_ones() {
    let ws = Workspace::new(&config());
    let written = make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    let out = ws.cmd(&["run", "-q"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(ws.path().join("notes.wav"), b"not audio at all").unwrap();
    let one = ws.corpus().join(&written[0]);
    let out = ws
        .cmd(&["predict", "--model", "out/models/mlp", "--json"])
        .arg(&one)
        .arg(ws.path().join("notes.wav"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let emotion = rows[0]["emotion"].as_str().unwrap();
    assert!(ser_pipeline::corpus::vocabulary::CANONICAL[..8].contains(&emotion));
    let probs = rows[0]["probabilities"].as_array().unwrap();
    assert_eq!(probs.len(), 8);
    let total: f64 = probs.iter().map(|p| p[1].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-9);
    assert!((rows[0]["duration_s"].as_f64().unwrap() - 0.3).abs() < 1e-3);
    assert!(rows[1]["error"]
        .as_str()
        .unwrap()
        .contains("not a readable audio file"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.wav"));

    // A folder: a table on stdout and predictions.parquet with one row per file.
    let out = ws
        .cmd(&[
            "predict",
            "--model",
            "out/models/logistic_regression",
            "corpus",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1 + written.len());
    let df = parquet::read(&ws.path().join("predictions.parquet")).unwrap();
    assert_eq!(df.height(), written.len());
    assert!(df.column("prob_surprised").is_ok());

    // Without --model: the first trained of ensemble, svm, mlp, ... in the config's out_dir.
    let default_run = |ws: &Workspace| ws.cmd(&["predict", "--json"]).arg(&one).output().unwrap();
    let out = default_run(&ws);
    common::assert_exit(&out, 0);
    assert!(common::stderr_of(&out).contains("using the model in out/models/mlp"));
    std::fs::rename(ws.out("models/mlp"), ws.out("models/mlp.old")).unwrap();
    let out = default_run(&ws);
    common::assert_exit(&out, 0);
    assert!(common::stderr_of(&out).contains("out/models/logistic_regression"));
    std::fs::rename(
        ws.out("models/logistic_regression"),
        ws.out("models/lr.old"),
    )
    .unwrap();
    let out = default_run(&ws);
    common::assert_exit(&out, 1);
    let err = common::stderr_of(&out);
    assert!(
        err.contains("no trained model in out/models") && err.contains("--model"),
        "{err}"
    );
    std::fs::rename(ws.out("models/mlp.old"), ws.out("models/mlp")).unwrap();

    // A missing model folder is an error naming it.
    let out = ws
        .cmd(&["predict", "--model", "out/models/nothing"])
        .arg(&one)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("out/models/nothing"));
}

/// Trains only the MLP, with per-speaker normalisation, on the workspace's corpus.
fn train_speaker_normalised_mlp(ws: &Workspace) {
    let out = ws
        .cmd(&[
            "run",
            "-q",
            "--stage",
            "train",
            "--set",
            "train.speaker_normalization=true",
            "--set",
            "models.train=[\"mlp\"]",
        ])
        .output()
        .unwrap();
    common::assert_exit(&out, 0);
}

#[test]
fn a_speaker_normalised_model_uses_own_statistics_only_for_speakers_with_enough_recordings() {
    let ws = Workspace::new(&config());
    let written = make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    train_speaker_normalised_mlp(&ws);
    let predict_with =
        |flags: &[&str], files: &[std::path::PathBuf]| ws.predict_json("mlp", flags, files);
    let predict = |files: &[std::path::PathBuf]| predict_with(&[], files);
    // Actor 1's 16 recordings (at least MIN_SPEAKER_RECORDINGS): their own statistics.
    let actor1: Vec<std::path::PathBuf> = written
        .iter()
        .filter(|p| p.starts_with("Actor_01/"))
        .map(|p| ws.corpus().join(p))
        .collect();
    assert!(actor1.len() >= ser_pipeline::predict::MIN_SPEAKER_RECORDINGS);
    let rows = predict(&actor1);
    assert_eq!(rows.len(), actor1.len());
    assert!(
        rows.iter().all(|r| r["speaker_statistics"] == "own"),
        "{rows:?}"
    );
    // Fewer than that: the training speakers' average, and the same answer as alone.
    let few = &actor1[..ser_pipeline::predict::MIN_SPEAKER_RECORDINGS - 1];
    let rows = predict(few);
    assert!(rows.iter().all(|r| r["speaker_statistics"] == "population"));
    let alone = predict(&actor1[..1]);
    assert_eq!(alone[0]["speaker_statistics"], "population");
    assert_eq!(alone[0]["probabilities"], rows[0]["probabilities"]);
    // Own statistics change the answer (the rows are standardised differently).
    let own = predict(&actor1);
    assert_ne!(own[0]["probabilities"], alone[0]["probabilities"]);
    // --population-statistics: every file as if alone.
    let forced = predict_with(&["--population-statistics"], &actor1);
    assert!(forced
        .iter()
        .all(|r| r["speaker_statistics"] == "population"));
    assert_eq!(forced[0]["probabilities"], alone[0]["probabilities"]);
}

#[test]
fn predict_config_reads_speakers_from_folder_trees_and_manifests() {
    let ws = Workspace::new(&config());
    let written = make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    train_speaker_normalised_mlp(&ws);
    // Actor 1's recordings, as a folder-per-class tree with the speaker in the file name
    // (`mine/<emotion>/alice_NN.wav`), and as a manifest naming the speaker.
    let actor1: Vec<std::path::PathBuf> = written
        .iter()
        .filter(|p| p.starts_with("Actor_01/"))
        .map(|p| ws.corpus().join(p))
        .collect();
    let mut tree = Vec::new();
    let mut rows = String::from("path,emotion,speaker\n");
    for (i, src) in actor1.iter().enumerate() {
        let rel = format!("neutral/alice_{i:02}.wav");
        let dst = ws.path().join("mine").join(&rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(src, &dst).unwrap();
        tree.push(dst);
        rows.push_str(&format!("{rel},neutral,alice\n"));
    }
    std::fs::write(ws.path().join("mine/list.csv"), rows).unwrap();
    std::fs::write(
        ws.path().join("folders.toml"),
        "[[corpora]]\nkind = \"folders\"\nroot = \"mine\"\nlabel_level = 1\n\
         speaker_pattern = '(?P<speaker>[a-z]+)_\\d+'\n",
    )
    .unwrap();
    std::fs::write(
        ws.path().join("manifest.toml"),
        "[[corpora]]\nkind = \"manifest\"\nmanifest = \"mine/list.csv\"\n",
    )
    .unwrap();
    let by_name = ws.predict_json("mlp", &[], &actor1);
    assert!(by_name.iter().all(|r| r["speaker_statistics"] == "own"));
    // No convention reads `alice_00.wav`: every file is a lone clip.
    let unknown = ws.predict_json("mlp", &[], &tree);
    assert!(
        unknown
            .iter()
            .all(|r| r["speaker_statistics"] == "population"),
        "{unknown:?}"
    );
    for config in ["folders.toml", "manifest.toml"] {
        let rows = ws.predict_json("mlp", &["--config", config], &tree);
        assert_eq!(rows.len(), tree.len());
        for (got, want) in rows.iter().zip(&by_name) {
            assert_eq!(got["speaker_statistics"], "own", "{config}: {got:?}");
            // One speaker's recordings, standardised on their own statistics: the same
            // answers as the RAVDESS-named copies grouped by actor.
            assert_eq!(got["probabilities"], want["probabilities"], "{config}");
        }
    }
    // --corpus and --config together are refused.
    let out = ws
        .cmd(&["predict", "--corpus", "emodb", "--config", "folders.toml"])
        .args(&tree[..1])
        .output()
        .unwrap();
    common::assert_exit(&out, 2);
}
