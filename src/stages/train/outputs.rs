//! Writing the outputs of the jobs: `predictions.parquet`, `splits.parquet`, `reports/fits.csv`
//! and the MLP's training curves (`reports/<protocol>/<model>/training_curve_<fold>.{csv,svg}`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::Result;
use polars::prelude::{Column, DataFrame};

use super::dataset::{ClassCount, Dataset};
use super::jobs::JobResult;
use crate::corpus::Emotion;
use crate::data::{self, parquet};
use crate::split::Split;
use crate::stages::Paths;

/// `predictions.parquet`: `path`, `corpus`, `speaker`, `protocol`, `fold`, `model`,
/// `normalisation`, `true`, `predicted`, then `prob_<class>` per class (0 for a class a
/// cross-corpus split left out). `normalisation` is `speaker` (standardised on the test
/// speaker's own statistics), `lone` (the same recordings on the training speakers' average
/// statistics, as a lone clip; speaker-independent splits only) or `none` (no per-speaker
/// normalisation).
pub(super) fn write_predictions(
    paths: &Paths,
    ds: &Dataset,
    splits: &[Split],
    results: &[JobResult],
    labels: &[String],
) -> Result<()> {
    let mut path = Vec::new();
    let mut protocol = Vec::new();
    let mut fold = Vec::new();
    let mut model = Vec::new();
    let mut normalisation = Vec::new();
    let mut corpus = Vec::new();
    let mut speaker = Vec::new();
    let mut truth = Vec::new();
    let mut predicted = Vec::new();
    let mut probs: Vec<Vec<f64>> = vec![Vec::new(); labels.len()];
    let own = if ds.speaker_norm.is_some() {
        "speaker"
    } else {
        "none"
    };
    let judged = results.iter().flat_map(|r| {
        std::iter::once((r, own, &r.predicted, &r.proba)).chain(
            r.lone
                .as_ref()
                .map(|(predicted, proba)| (r, "lone", predicted, proba)),
        )
    });
    for (r, norm, predictions, proba) in judged {
        let split = &splits[r.split];
        for (k, &i) in split.test.iter().enumerate() {
            path.push(ds.files.paths[i].clone());
            protocol.push(split.protocol);
            fold.push(split.fold.clone());
            model.push(r.model);
            normalisation.push(norm);
            corpus.push(ds.files.groups.corpora[i].to_string());
            speaker.push(
                ds.files.groups.speakers[i]
                    .as_deref()
                    .map(|s| crate::corpus::speaker_of_key(s).to_string()),
            );
            truth.push(labels[ds.files.y[i]].clone());
            predicted.push(labels[predictions[k]].clone());
            for (c, p) in probs.iter_mut().enumerate() {
                p.push(proba[[k, c]]);
            }
        }
    }
    let n = path.len();
    let mut columns = vec![
        Column::new("path".into(), path),
        Column::new("corpus".into(), corpus),
        Column::new("speaker".into(), speaker),
        Column::new("protocol".into(), protocol),
        Column::new("fold".into(), fold),
        Column::new("model".into(), model),
        Column::new("normalisation".into(), normalisation),
        Column::new("true".into(), truth),
        Column::new("predicted".into(), predicted),
    ];
    for (label, p) in labels.iter().zip(probs) {
        columns.push(Column::new(format!("prob_{label}").into(), p));
    }
    let mut df = DataFrame::new(n, columns)?;
    parquet::write(&paths.predictions(), &mut df)?;
    log::info!("train: wrote {} ({n} rows)", paths.predictions().display());
    Ok(())
}

/// `splits.parquet`: `path`, `protocol`, `fold`, `part` (`train`, `test`, or
/// `train_augmented` for augmented rows, whose `source_path` is then set).
pub(super) fn write_splits(
    paths: &Paths,
    ds: &Dataset,
    splits: &[Split],
    extras: &[Vec<usize>],
) -> Result<()> {
    let (mut path, mut source, mut protocol, mut fold, mut part) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (s, extra) in splits.iter().zip(extras) {
        for (rows, name) in [(&s.train, "train"), (&s.test, "test")] {
            for &i in rows {
                path.push(ds.files.paths[i].clone());
                source.push(None::<String>);
                protocol.push(s.protocol);
                fold.push(s.fold.clone());
                part.push(name);
            }
        }
        if let Some((aug, _)) = &ds.augmented {
            let sources = aug
                .source_paths
                .as_ref()
                .expect("augmented rows have sources");
            // One line per augmented recording, however many segment rows it gave.
            let mut listed = HashSet::new();
            for &j in extra {
                if !listed.insert(aug.paths[j].as_str()) {
                    continue;
                }
                path.push(aug.paths[j].clone());
                source.push(Some(sources[j].clone()));
                protocol.push(s.protocol);
                fold.push(s.fold.clone());
                part.push("train_augmented");
            }
        }
    }
    let n = path.len();
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new("path".into(), path),
            Column::new("source_path".into(), source),
            Column::new("protocol".into(), protocol),
            Column::new("fold".into(), fold),
            Column::new("part".into(), part),
        ],
    )?;
    parquet::write(&paths.splits(), &mut df)
}

/// `reports/fits.csv`: one row per fit with its size, epochs and wall time (single-threaded
/// fits; several run at once, one per worker thread).
pub(super) fn write_fits(paths: &Paths, splits: &[Split], results: &[JobResult]) -> Result<()> {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let s = &splits[r.split];
            vec![
                s.protocol.to_string(),
                s.fold.clone(),
                r.model.to_string(),
                r.n_train.to_string(),
                r.n_augmented.to_string(),
                r.history.len().to_string(),
                format!("{:.3}", r.fit_seconds),
            ]
        })
        .collect();
    data::csv::write(
        &paths.reports_dir.join("fits.csv"),
        &[
            "protocol",
            "fold",
            "model",
            "n_train",
            "n_augmented",
            "epochs",
            "fit_seconds",
        ],
        &rows,
    )
}

pub(super) fn write_curves(paths: &Paths, splits: &[Split], results: &[JobResult]) -> Result<()> {
    for r in results.iter().filter(|r| !r.history.is_empty()) {
        let split = &splits[r.split];
        let dir = paths.reports_dir.join(split.protocol).join(r.model);
        let points: Vec<crate::report::EpochPoint> = r
            .history
            .iter()
            .map(|e| (e.epoch, e.loss, e.validation_accuracy))
            .collect();
        crate::report::training_curve_csv(
            &dir.join(format!("training_curve_{}.csv", split.fold)),
            &points,
        )?;
        crate::report::training_curve_svg(
            &dir.join(format!("training_curve_{}.svg", split.fold)),
            &points,
            &format!(
                "{} {} {} (+{} augmented rows)",
                r.model, split.protocol, split.fold, r.n_augmented
            ),
        )?;
    }
    Ok(())
}

/// `reports/classes.csv` (`corpus`, `emotion`, `recordings`, `used`), and a warning for each
/// class that some corpora have and others do not.
pub(super) fn write_classes(paths: &Paths, counts: &[ClassCount]) -> Result<()> {
    let corpora: BTreeSet<&str> = counts.iter().map(|c| &*c.corpus).collect();
    if corpora.len() > 1 {
        let mut by_class: BTreeMap<&Emotion, Vec<&str>> = BTreeMap::new();
        for c in counts {
            by_class.entry(&c.emotion).or_default().push(&c.corpus);
        }
        for (emotion, has) in by_class {
            if has.len() < corpora.len() {
                log::warn!(
                    "train: class {emotion} is only in corpus {} (not in {}); cross-corpus \
                     splits leave it out, the others learn it from those corpora",
                    has.join(", "),
                    corpora
                        .iter()
                        .filter(|c| !has.contains(c))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
    }
    let rows = counts.iter().map(|c| {
        vec![
            c.corpus.to_string(),
            c.emotion.to_string(),
            c.recordings.to_string(),
            c.used.to_string(),
        ]
    });
    data::csv::write(
        &paths.reports_dir.join("classes.csv"),
        &["corpus", "emotion", "recordings", "used"],
        rows,
    )
}
