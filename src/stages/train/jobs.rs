//! Running the jobs: one model fitted on one split's training part (scaled on its own rows) and
//! judged on its test recordings; the ensemble's mean of its members' probabilities.

use anyhow::{Context, Result};
use ndarray::{Array2, Axis};

use super::dataset::Dataset;
use crate::config::{Config, ModelKind, ModelsConfig};
use crate::models::{Epoch, Fitted};
use crate::preprocess::Scaler;
use crate::split::Split;

/// The outcome of one (split, model) job.
pub(super) struct JobResult {
    pub(super) split: usize,
    /// A [`ModelKind`] name, or `ensemble`.
    pub(super) model: &'static str,
    pub(super) predicted: Vec<usize>,
    pub(super) proba: Array2<f64>,
    /// The same test recordings judged as lone clips ([`Dataset::lone_rows`]): predictions and
    /// probabilities. Only for a model with per-speaker normalisation on a split whose test
    /// speakers are not in training.
    pub(super) lone: Option<(Vec<usize>, Array2<f64>)>,
    pub(super) history: Vec<Epoch>,
    pub(super) n_train: usize,
    pub(super) n_augmented: usize,
    pub(super) fit_seconds: f64,
}

/// Fits one model on scaled rows; the MLP also returns its training curve.
/// `groups` (one per row, rows of a recording sharing one): the MLP's early stopping then holds
/// out whole recordings. `x` may be a view or owned: the MLP frees an owned `x` once it has
/// copied the rows in its training precision.
pub fn fit_model<'a>(
    kind: ModelKind,
    models: &ModelsConfig,
    x: impl Into<ndarray::CowArray<'a, f64, ndarray::Ix2>>,
    y: &[usize],
    n_classes: usize,
    groups: Option<&[usize]>,
) -> Result<(Fitted, Vec<Epoch>)> {
    let x = x.into();
    Ok(match kind {
        ModelKind::Mlp => {
            let fitted = models.mlp.fit_grouped(x, y, n_classes, groups)?;
            (Fitted::Mlp(fitted.model), fitted.history)
        }
        ModelKind::RandomForest => (
            Fitted::Forest(models.random_forest.fit(x.view(), y, n_classes)?),
            Vec::new(),
        ),
        ModelKind::LogisticRegression => (
            Fitted::Logistic(models.logistic_regression.fit(x.view(), y, n_classes)?),
            Vec::new(),
        ),
        ModelKind::Svm => (
            Fitted::Svm(models.svm.fit(x.view(), y, n_classes)?),
            Vec::new(),
        ),
        ModelKind::Knn => (
            Fitted::Knn(models.knn.fit(x.view(), y, n_classes)?),
            Vec::new(),
        ),
    })
}

pub(super) fn run_job(
    ds: &Dataset,
    split: &Split,
    extra: &[usize],
    index: usize,
    kind: ModelKind,
    config: &Config,
) -> Result<JobResult> {
    let (x_train, y_train) = ds.training_set(&split.train, extra);
    // A cross-corpus split learns the classes both sides share only: its classes are numbered
    // 0..k for the fit, and its probabilities put back in the run's columns (0 elsewhere).
    let classes: Vec<usize> = match &split.shared_classes {
        Some(shared) => shared.clone(),
        None => (0..ds.encoder.len()).collect(),
    };
    let compact = |c: usize| {
        classes
            .binary_search(&c)
            .expect("a split's rows are of its classes")
    };
    let y_train: Vec<usize> = y_train.into_iter().map(compact).collect();
    let groups = ds.training_groups(&split.train, extra);
    let scaler = Scaler::fit(x_train.view());
    let mut x_train = x_train;
    scaler.transform_in_place(&mut x_train);
    let mut x_test = ds.table.x.select(Axis(0), &ds.files.rows_of(&split.test));
    scaler.transform_in_place(&mut x_test);
    let started = std::time::Instant::now();
    let (model, history) = fit_model(
        kind,
        &config.models,
        x_train,
        &y_train,
        classes.len(),
        groups.as_deref(),
    )
    .with_context(|| {
        format!(
            "train: {} on {} {}",
            kind.name(),
            split.protocol,
            split.fold
        )
    })?;
    let fit_seconds = started.elapsed().as_secs_f64();
    // One row per test recording: its segments' probabilities pooled, or its own row.
    let judge = |x: &Array2<f64>| {
        let pooled = crate::models::pool_log_proba(
            model.classifier().predict_proba(x.view()).view(),
            &ds.files.groups_of(&split.test),
        );
        if classes.len() == ds.encoder.len() {
            pooled
        } else {
            let mut full = Array2::zeros((pooled.nrows(), ds.encoder.len()));
            for (k, &c) in classes.iter().enumerate() {
                full.column_mut(c).assign(&pooled.column(k));
            }
            full
        }
    };
    let proba = judge(&x_test);
    drop(x_test);
    let predicted = crate::models::argmax_rows(proba.view());
    let lone = ds.lone_rows(&split.train, &split.test).map(|mut x| {
        scaler.transform_in_place(&mut x);
        let proba = judge(&x);
        (crate::models::argmax_rows(proba.view()), proba)
    });
    log::info!(
        "train: {} {} {}: {} train rows (+{} augmented), {} test recordings, {:.1} s",
        split.protocol,
        split.fold,
        kind.name(),
        y_train.len() - extra.len(),
        extra.len(),
        split.test.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(JobResult {
        split: index,
        model: kind.name(),
        predicted,
        proba,
        lone,
        history,
        n_train: y_train.len() - extra.len(),
        n_augmented: extra.len(),
        fit_seconds,
    })
}

/// The mean of the members' class probabilities on split `split`.
pub(super) fn ensemble(results: &[JobResult], split: usize, members: &[ModelKind]) -> JobResult {
    let parts: Vec<&JobResult> = results
        .iter()
        .filter(|r| r.split == split && members.iter().any(|m| m.name() == r.model))
        .collect();
    let mean = |of: &dyn Fn(&JobResult) -> Option<&Array2<f64>>| {
        let mut sum = of(parts[0])?.clone();
        for p in &parts[1..] {
            sum += of(p)?;
        }
        sum /= parts.len() as f64;
        Some(sum)
    };
    let proba = mean(&|r| Some(&r.proba)).expect("every member has probabilities");
    let lone = mean(&|r| r.lone.as_ref().map(|(_, p)| p))
        .map(|p| (crate::models::argmax_rows(p.view()), p));
    JobResult {
        split,
        model: "ensemble",
        predicted: crate::models::argmax_rows(proba.view()),
        proba,
        lone,
        history: Vec::new(),
        n_train: parts[0].n_train,
        n_augmented: parts[0].n_augmented,
        fit_seconds: parts.iter().map(|p| p.fit_seconds).sum(),
    }
}
