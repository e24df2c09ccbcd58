//! `[models]`: which models to train, each one's hyperparameters (the parameter types live with
//! their models, in `crate::models`), the ensemble and per-model segment scales.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::SegmentScale;
use crate::models::mlp::MlpParams;
use crate::models::smart::KnnParams;
use crate::models::smart::{ForestParams, LogisticParams};
use crate::models::svm::SvmParams;
use crate::models::ParamError;

/// A model family the pipeline trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The hand-written ndarray MLP (scikit-learn `MLPClassifier` semantics).
    Mlp,
    /// smartcore's random forest.
    RandomForest,
    /// smartcore's multinomial logistic regression.
    LogisticRegression,
    /// The RBF-kernel SVM (scikit-learn `SVC` semantics, one-vs-one).
    Svm,
    /// smartcore's k nearest neighbours.
    Knn,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp",
            ModelKind::RandomForest => "random_forest",
            ModelKind::LogisticRegression => "logistic_regression",
            ModelKind::Svm => "svm",
            ModelKind::Knn => "knn",
        }
    }
}

/// `[models]`: which models to train, and each one's hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// Any of `"mlp"`, `"random_forest"`, `"logistic_regression"`, `"svm"`, `"knn"`. Default the
    /// first three (the original recipe; `svm` and `knn` are opt-in).
    pub train: Vec<ModelKind>,
    pub mlp: MlpParams,
    pub random_forest: ForestParams,
    pub logistic_regression: LogisticParams,
    pub svm: SvmParams,
    pub knn: KnnParams,
    /// Also report an `ensemble` model: the mean of these models' class probabilities on each
    /// split ([`ModelsConfig::ensemble_members`]: those of them that are trained; with fewer
    /// than two, no ensemble, and a warning). Default none.
    pub ensemble: Vec<ModelKind>,
    /// Segment rows of another scale for some models, e.g. `mlp = { seconds = 0.2,
    /// hop_seconds = 0.2 }`: the model trains, is tested and is saved on windows of that
    /// scale, extracted beside `[features]`' own rows from the same frames (its own tables,
    /// `segments_<tag>.parquet` and `augmented_segments_<tag>.parquet`); a test recording is
    /// still judged as a whole, so such a model joins `ensemble` like any other. A model not
    /// listed learns from `[features]`' rows.
    /// Default none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub segments: BTreeMap<ModelKind, SegmentScale>,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            train: vec![
                ModelKind::Mlp,
                ModelKind::RandomForest,
                ModelKind::LogisticRegression,
            ],
            mlp: MlpParams::default(),
            random_forest: ForestParams::default(),
            logistic_regression: LogisticParams::default(),
            svm: SvmParams::default(),
            knn: KnnParams::default(),
            ensemble: Vec::new(),
            segments: BTreeMap::new(),
        }
    }
}

impl ModelsConfig {
    /// The members of `ensemble` that are trained (`train`), in `ensemble` order, once each;
    /// none when fewer than two are.
    pub fn ensemble_members(&self) -> Vec<ModelKind> {
        let mut members: Vec<ModelKind> = Vec::new();
        for m in &self.ensemble {
            if self.train.contains(m) && !members.contains(m) {
                members.push(*m);
            }
        }
        if members.len() < 2 {
            members.clear();
        }
        members
    }

    pub fn check(&self) -> Result<(), ParamError> {
        if self.train.is_empty() {
            return Err(ParamError::new(
                "models.train",
                "must list at least one model",
            ));
        }
        if self.ensemble.len() == 1 {
            return Err(ParamError::new(
                "models.ensemble",
                "needs at least two members (or none)",
            ));
        }
        for (kind, scale) in &self.segments {
            scale.check().map_err(|(field, message)| {
                ParamError::new(format!("models.segments.{}.{field}", kind.name()), message)
            })?;
        }
        let prefix = |e: ParamError| ParamError::new(format!("models.{}", e.key), e.message);
        self.mlp.check().map_err(prefix)?;
        self.random_forest.check()?;
        self.logistic_regression.check()?;
        self.svm.check()?;
        self.knn.check()?;
        Ok(())
    }
}
