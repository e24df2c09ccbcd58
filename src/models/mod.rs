//! Classifiers behind one small trait. Hyperparameters are plain structs checked before fitting
//! (`Params::check`), and fitting returns a separate fitted model, so an unfitted model cannot
//! predict. Inputs are standardised feature rows (`preprocess::Scaler`), labels class ids
//! `0..n_classes` (`preprocess::LabelEncoder`).
//!
//! One file per model (`mlp.rs`, `svm.rs`, and smartcore's forest and logistic regression in
//! `smart.rs`); a saved model's cards in `card.rs`, and saving and loading a model folder in
//! `persist.rs`, shared by `train`, `predict` and `serve`.

pub mod card;
pub mod mlp;
pub mod persist;
pub mod smart;
pub mod svm;

pub use self::card::{EnsembleCard, ModelCard};
pub use self::persist::{load_model, Fitted};

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

/// Probabilities of recordings from those of their segments: for each range of rows, the
/// softmax of the mean log-probability (the normalised geometric mean of the rows; each
/// probability floored at 1e-12 first, so one confident zero cannot veto a class). A range of
/// one row keeps that row as it is.
pub fn pool_log_proba(p: ArrayView2<'_, f64>, groups: &[std::ops::Range<usize>]) -> Array2<f64> {
    let k = p.ncols();
    let mut out = Array2::zeros((groups.len(), k));
    for (g, range) in groups.iter().enumerate() {
        assert!(!range.is_empty(), "a recording has at least one row");
        if range.len() == 1 {
            out.row_mut(g).assign(&p.row(range.start));
            continue;
        }
        let mut row = vec![0.0; k];
        for r in range.clone() {
            for (acc, &v) in row.iter_mut().zip(p.row(r)) {
                *acc += v.max(1e-12).ln();
            }
        }
        let n = range.len() as f64;
        row.iter_mut().for_each(|v| *v /= n);
        mlp::softmax_row(&mut row);
        out.row_mut(g).assign(&ndarray::ArrayView1::from(&row));
    }
    out
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

#[cfg(test)]
mod pool_tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn pooling_is_the_normalised_geometric_mean_per_group() {
        let p = array![[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.25, 0.75]];
        let out = pool_log_proba(p.view(), &[0..1, 1..3, 3..4]);
        // One-row groups are left as they are.
        assert_eq!(out.row(0), p.row(0));
        assert_eq!(out.row(2), p.row(3));
        // sqrt(0.9 * 0.2) : sqrt(0.1 * 0.8), normalised.
        let (a, b) = ((0.9f64 * 0.2).sqrt(), (0.1f64 * 0.8).sqrt());
        assert!((out[[1, 0]] - a / (a + b)).abs() < 1e-15);
        assert!((out[[1, 1]] - b / (a + b)).abs() < 1e-15);
        // A zero is floored at 1e-12, not a veto: it costs ln(1e-12) against the other rows.
        let q = array![[0.0, 1.0], [1.0 - 1e-7, 1e-7], [1.0 - 1e-7, 1e-7]];
        let out = pool_log_proba(q.view(), std::slice::from_ref(&(0..3)));
        assert!(out.iter().all(|v| v.is_finite()), "{out}");
        // Mean log-probabilities: class 0 (ln(1e-12) + 2 ln(1 - 1e-7)) / 3, class 1 2 ln(1e-7) / 3.
        let (l0, l1) = (
            (1e-12f64.ln() + 2.0 * (1.0 - 1e-7f64).ln()) / 3.0,
            2.0 * 1e-7f64.ln() / 3.0,
        );
        let p0 = 1.0 / (1.0 + (l1 - l0).exp());
        assert!(p0 > 0.8 && (out[[0, 0]] - p0).abs() < 1e-12, "{out}");
    }
}
