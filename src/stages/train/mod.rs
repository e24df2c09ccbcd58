//! train: for every split of every protocol, and every configured model, fit on the training
//! part only (balancing with augmented copies of *training* files, scaling fitted on training
//! rows, early stopping on a slice of the training part) and predict the test part. Then fit
//! each model once on every usable row and save it for `predict` / `serve`.
//!
//! Writes `predictions.parquet` (one row per test file, protocol, fold and model),
//! `splits.parquet` (which rows trained and tested where), the final models under
//! `models/<model>/`, and the MLP's training curves under `reports/<protocol>/mlp/`.
//!
//! One file per part: `dataset.rs` assembles the rows (and each training part's augmented
//! copies), `jobs.rs` fits and judges one model on one split, `outputs.rs` writes the tables
//! and curves, `final_models.rs` fits and saves the models `predict` and `serve` use (the
//! saving itself is `models::persist`).

mod dataset;
mod final_models;
mod jobs;
mod outputs;

use std::collections::BTreeSet;

use anyhow::{anyhow, Result};
use rayon::prelude::*;

use super::{Paths, Settings};
use crate::config::{Config, ModelKind};

use self::dataset::Datasets;
use self::final_models::save_final_models;
use self::jobs::{ensemble, run_job, JobResult};
use self::outputs::{write_classes, write_curves, write_fits, write_predictions, write_splits};

pub use self::dataset::{Dataset, Recordings};
pub use self::jobs::fit_model;

pub fn run(paths: &Paths, settings: &Settings) -> Result<()> {
    let config = &settings.config;
    let datasets = Datasets::load(paths, config)?;
    let ds = &datasets.sets[0];
    let splits = config
        .split
        .splits(&ds.files.y, &ds.files.groups)
        .map_err(|e| anyhow!("train: {e}"))?;
    let labels = ds.encoder.labels();
    log::info!(
        "train: {} recordings ({} rows), {} classes ({}), {} augmented rows available, {} splits \
         x {} models",
        ds.files.paths.len(),
        ds.y.len(),
        labels.len(),
        labels.join(", "),
        ds.augmented.as_ref().map_or(0, |(a, _)| a.paths.len()),
        splits.len(),
        config.models.train.len()
    );
    for (&kind, &at) in &datasets.of_model {
        if at > 0 {
            let other = &datasets.sets[at];
            log::info!(
                "train: {} learns from {} rows ({})",
                kind.name(),
                other.y.len(),
                config
                    .rows_of(kind)
                    .map_or("files".to_string(), |s| s.to_string())
            );
        }
    }
    write_classes(paths, &ds.class_counts)?;
    for s in &splits {
        if let Some(shared) = &s.shared_classes {
            log::info!(
                "train: {} {}: {} train, {} test recordings on the {} shared classes ({})",
                s.protocol,
                s.fold,
                s.train.len(),
                s.test.len(),
                shared.len(),
                shared
                    .iter()
                    .map(|&c| labels[c].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    if let Some(only) = config.train.only_channel() {
        log::info!("train: {only} recordings only (train.vocal_channels)");
    }
    if !config.train.exclude_classes.is_empty() {
        log::warn!(
            "train: classes excluded from training and testing: {}",
            config.train.exclude_classes.join(", ")
        );
    }

    // Which augmented copies join each training part: chosen once per split and dataset,
    // shared by every model of that dataset (and, for the first, by splits.parquet).
    let extras: Vec<Vec<Vec<usize>>> = datasets
        .sets
        .iter()
        .map(|d| {
            splits
                .iter()
                .map(|s| d.augmented_rows(&s.train, config.train.seed))
                .collect()
        })
        .collect();
    let jobs: Vec<(usize, ModelKind)> = (0..splits.len())
        .flat_map(|s| config.models.train.iter().map(move |&m| (s, m)))
        .collect();
    let mut results: Vec<JobResult> = jobs
        .par_iter()
        .map(|&(s, kind)| {
            let at = datasets.of_model[&kind];
            run_job(
                &datasets.sets[at],
                &splits[s],
                &extras[at][s],
                s,
                kind,
                config,
            )
        })
        .collect::<Result<_>>()?;
    let members = config.models.ensemble_members();
    if !members.is_empty() {
        let ensembles: Vec<JobResult> = (0..splits.len())
            .map(|s| ensemble(&results, s, &members))
            .collect();
        results.extend(ensembles);
    } else if !config.models.ensemble.is_empty() {
        log::warn!(
            "train: no ensemble: fewer than two of models.ensemble ({}) are in models.train",
            config
                .models
                .ensemble
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    write_predictions(paths, ds, &splits, &results, &labels)?;
    write_splits(paths, ds, &splits, &extras[0])?;
    write_curves(paths, &splits, &results)?;
    write_fits(paths, &splits, &results)?;
    save_final_models(paths, &datasets, config)?;
    Ok(())
}

/// Which classes (and, when only one is, which vocal channel) are in play, for reports:
/// `all`, `excluded: calm`, `all; speech only`.
pub fn classes_note(config: &Config) -> String {
    let excluded: BTreeSet<&str> = config
        .train
        .exclude_classes
        .iter()
        .map(String::as_str)
        .collect();
    let classes = if excluded.is_empty() {
        "all".into()
    } else {
        format!(
            "excluded: {}",
            excluded.into_iter().collect::<Vec<_>>().join(" ")
        )
    };
    match config.train.only_channel() {
        Some(only) => format!("{classes}; {only} only"),
        None => classes,
    }
}
