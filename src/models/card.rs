//! A saved model's cards, written by `train` and read by `predict` and `serve`: [`ModelCard`]
//! (`models/<model>/model.json`, beside the weights) and [`EnsembleCard`]
//! (`models/ensemble/model.json`).

use serde::{Deserialize, Serialize};

use crate::preprocess::Scaler;

/// The saved form of a final model: everything `predict` needs besides the weights.
///
/// `C` is the run's configuration (`config::Config`). The configuration gathers the models'
/// hyperparameters (`[models]`), so it depends on this module; the card names it only as a
/// parameter, and this module depends on no configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCard<C> {
    /// `mlp`, `logistic_regression`, `svm` or `random_forest`.
    pub model: String,
    /// Class names in output order.
    pub labels: Vec<String>,
    /// Input columns in order (`features.parquet` names).
    pub feature_names: Vec<String>,
    pub scaler: Scaler,
    /// With `train.speaker_normalization`: the per-feature statistics that standardise a
    /// speaker whose own are unknown (a lone clip, or fewer than `predict`'s
    /// `MIN_SPEAKER_RECORDINGS` recordings): the mean of the training speakers' means and the
    /// root mean square of their standard deviations. Absent from models saved before it
    /// existed, which then refuse such clips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_population: Option<Scaler>,
    /// Rows trained on (original, augmented).
    pub n_train: usize,
    pub n_augmented: usize,
    /// The whole configuration the model was made with (features section included, so
    /// `predict` extracts the same features), its `[features]` segment keys set to the rows
    /// this model learned from (`Config::for_model`).
    pub config: C,
    pub version: String,
}

/// `models/ensemble/model.json`: which saved models, in folders beside it, an ensemble
/// averages. Saved by `train` with `models.ensemble`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnsembleCard {
    /// Always `ensemble`.
    pub model: String,
    /// The members' folder names (`mlp`, `svm`, ...), beside this one.
    pub members: Vec<String>,
    /// SHA-256 of each member's `model.json` as saved with this card: a member retrained
    /// without the ensemble no longer belongs to it.
    pub member_cards_sha256: Vec<String>,
    pub labels: Vec<String>,
    pub version: String,
}
