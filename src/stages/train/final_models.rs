//! The final models: each model fitted once on every usable row (plus balancing copies) and
//! saved under `models/<model>/` for `predict` and `serve`, and the ensemble's card.

use anyhow::Result;
use rayon::prelude::*;

use super::dataset::{Dataset, Datasets};
use super::jobs::fit_model;
use crate::config::{Config, ModelKind};
use crate::models::{persist, Fitted, ModelCard};
use crate::preprocess::Scaler;
use crate::stages::Paths;

/// Fits each model on every usable row (plus balancing copies) and saves it under
/// `models/<model>/` ([`persist::save_model`]: `model.json`, the [`ModelCard`], beside
/// `model.safetensors`, the weights or the SVM's support vectors and coefficients, or, for the
/// random forest, `model.forest.json`).
pub(super) fn save_final_models(paths: &Paths, datasets: &Datasets, config: &Config) -> Result<()> {
    // Each dataset's training matrix is made and scaled once, for the models that learn from it.
    let mut fitted: Vec<(ModelKind, Fitted, &Dataset, Scaler, usize, usize)> = Vec::new();
    for (at, ds) in datasets.sets.iter().enumerate() {
        let kinds: Vec<ModelKind> = config
            .models
            .train
            .iter()
            .copied()
            .filter(|k| datasets.of_model[k] == at)
            .collect();
        if kinds.is_empty() {
            continue;
        }
        let all: Vec<usize> = (0..ds.files.paths.len()).collect();
        let extra = ds.augmented_rows(&all, config.train.seed);
        let (x, y) = ds.training_set(&all, &extra);
        let groups = ds.training_groups(&all, &extra);
        let scaler = Scaler::fit(x.view());
        let mut xs = x;
        scaler.transform_in_place(&mut xs);
        let n_classes = ds.encoder.len();
        let models: Vec<(ModelKind, Fitted)> = match kinds[..] {
            // The only model of these rows may free them (the MLP does, once copied).
            [kind] => {
                let (m, _) = fit_model(kind, &config.models, xs, &y, n_classes, groups.as_deref())?;
                vec![(kind, m)]
            }
            _ => kinds
                .par_iter()
                .map(|&kind| {
                    fit_model(
                        kind,
                        &config.models,
                        xs.view(),
                        &y,
                        n_classes,
                        groups.as_deref(),
                    )
                    .map(|(m, _)| (kind, m))
                })
                .collect::<Result<_>>()?,
        };
        for (kind, model) in models {
            fitted.push((
                kind,
                model,
                ds,
                scaler.clone(),
                y.len() - extra.len(),
                extra.len(),
            ));
        }
    }
    for (kind, model, ds, scaler, n_train, n_augmented) in fitted {
        let dir = paths.models_dir().join(kind.name());
        let card = ModelCard {
            model: kind.name().to_string(),
            labels: ds.encoder.labels(),
            feature_names: config.features.feature_names(),
            scaler,
            speaker_population: ds.speaker_population.clone(),
            n_train,
            n_augmented,
            config: config.for_model(kind),
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        persist::save_model(&dir, &card, &model)?;
        log::info!("train: saved {}", dir.display());
    }
    save_ensemble(paths, datasets, config)
}

/// `models/ensemble/model.json` ([`EnsembleCard`](crate::models::EnsembleCard)) when
/// `models.ensemble` has trained members, so that `predict` and `serve` can use the ensemble
/// the reports evaluate. Without one, a stale ensemble folder is removed.
fn save_ensemble(paths: &Paths, datasets: &Datasets, config: &Config) -> Result<()> {
    let members = config.models.ensemble_members();
    if members.is_empty() {
        if let Some(dir) = persist::remove_ensemble(&paths.models_dir())? {
            log::info!("train: removed {} (no ensemble configured)", dir.display());
        }
        return Ok(());
    }
    let names: Vec<&str> = members.iter().map(|m| m.name()).collect();
    let dir = persist::save_ensemble(
        &paths.models_dir(),
        &names,
        datasets.sets[0].encoder.labels(),
    )?;
    log::info!("train: saved {}", dir.display());
    Ok(())
}
