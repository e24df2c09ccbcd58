//! Classifiers behind one small trait. Hyperparameters are plain structs checked before fitting
//! (`Params::check`), and fitting returns a separate fitted model, so an unfitted model cannot
//! predict. Inputs are standardised feature rows (`preprocess::Scaler`), labels class ids
//! `0..n_classes` (`preprocess::LabelEncoder`).

pub mod mlp;
pub mod smart;
pub mod svm;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// A fitted classifier.
pub trait Classifier: Send + Sync {
    /// Class probabilities, `(n_rows, n_classes)`, each row summing to 1.
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64>;

    /// The most probable class of each row (the first on ties, as `numpy.argmax`).
    fn predict(&self, x: ArrayView2<'_, f64>) -> Vec<usize> {
        argmax_rows(self.predict_proba(x).view())
    }
}

/// Share of rows of `x` a model predicts as `y` (for the models' unit tests).
#[cfg(test)]
pub(crate) fn accuracy(model: &dyn Classifier, x: ArrayView2<'_, f64>, y: &[usize]) -> f64 {
    let p = model.predict(x);
    p.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64
}

/// `numpy.argmax(p, axis=1)`: the first maximum of each row.
pub fn argmax_rows(p: ArrayView2<'_, f64>) -> Vec<usize> {
    p.rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

/// safetensors writes its `__metadata__` map (a `HashMap`) in a different order on every call;
/// this rewrites the header with every object's keys sorted, so the same model is always the
/// same bytes (reproducible runs, comparable files). The data and offsets are untouched, and
/// the header keeps its length (the same JSON, reordered).
pub(crate) fn canonical_safetensors(mut bytes: Vec<u8>) -> Vec<u8> {
    let Some(n) = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .and_then(|b| usize::try_from(u64::from_le_bytes(b)).ok())
    else {
        return bytes;
    };
    let Some(Ok(mut header)) = bytes
        .get(8..8 + n)
        .map(serde_json::from_slice::<serde_json::Value>)
    else {
        return bytes;
    };
    header.sort_all_objects();
    if let Ok(mut text) = serde_json::to_vec(&header) {
        if text.len() <= n {
            // safetensors pads its header with spaces (to 8-byte alignment) the same way.
            text.resize(n, b' ');
            bytes[8..8 + n].copy_from_slice(&text);
        }
    }
    bytes
}

/// One epoch of an iterative fit: the training curve written to reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epoch {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch (cross-entropy plus the L2 penalty, as scikit-learn's
    /// `loss_curve_`).
    pub loss: f64,
    /// Accuracy on the held-out validation part when early stopping is on (scikit-learn's
    /// `validation_scores_`).
    pub validation_accuracy: Option<f64>,
}

/// A model's parameter check failed: the config key and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ParamError {
    pub key: String,
    pub message: String,
}

impl ParamError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> ParamError {
        ParamError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Every class id must occur in training, so that class ids and smartcore's sorted classes
/// agree (and every pair of the SVM's one-vs-one has rows on both sides).
pub(crate) fn check_targets(y: &[usize], n_classes: usize, model: &str) -> Result<(), ParamError> {
    for c in 0..n_classes {
        if !y.contains(&c) {
            return Err(ParamError::new(
                model,
                format!("class id {c} has no training rows"),
            ));
        }
    }
    Ok(())
}
