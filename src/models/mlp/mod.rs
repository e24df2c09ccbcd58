//! A multi-layer perceptron written by hand on ndarray, with the semantics of scikit-learn's
//! `MLPClassifier(solver="adam", activation="relu")` (scikit-learn 1.5 to 1.9):
//!
//! - Glorot-uniform initialisation: weights and biases of every layer drawn from
//!   `U(-b, b)`, `b = sqrt(6 / (fan_in + fan_out))`. scikit-learn's `_init_coef` uses the factor 2
//!   only when the *hidden* activation is `logistic`, so with ReLU the output layer uses 6 too.
//! - ReLU hidden layers; a softmax output for three or more classes, and for two classes a single
//!   logistic unit (scikit-learn's binary case), whose `predict_proba` is `[1 - p, p]`.
//! - Loss: mean cross-entropy, probabilities clipped to `[eps, 1 - eps]`, plus
//!   `alpha / (2 n_batch) * sum(W^2)` (weights only). The weight gradient is
//!   `(a^T delta + alpha W) / n_batch`, the bias gradient `sum(delta) / n_batch`.
//! - Adam as scikit-learn's `AdamOptimizer`: the step counter `t` counts batches,
//!   `lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`, `param -= lr_t * m / (sqrt(v) + eps)`.
//! - Mini-batches of `min(batch_size, n_train)` rows in order of a permutation drawn every epoch
//!   (when `shuffle`); the epoch loss is `sum(batch_loss * batch_len) / n_train`.
//! - Early stopping: a stratified `validation_fraction` (`ceil(fraction * n)` rows) is held out;
//!   after each epoch its accuracy is scored; an epoch counts as "no improvement" when its score is
//!   below `best + tol`; training stops once more than `n_iter_no_change` consecutive epochs did
//!   not improve, and the weights of the best-scoring epoch are returned. Without early stopping
//!   the same rule runs on the training loss (`loss > best_loss - tol`) and the last weights are
//!   returned. [`MlpParams::fit_grouped`] holds out whole groups of rows (a recording's
//!   segments) instead: `ceil(fraction * groups)` of them, stratified the same way.
//!
//! Differences from scikit-learn: the random streams (ChaCha8 seeded by `seed`, not numpy's
//! MT19937), so results match in distribution, not draw for draw; ties in the stratified
//! allocation are broken by class id rather than at random; and the optional inverted `dropout`
//! on hidden activations during training, which scikit-learn lacks (0 keeps its semantics).
//!
//! Training runs in `f32` (default) or `f64` (`precision`), as scikit-learn trains in the dtype of
//! its input: the initial weights are drawn in f64 and rounded, the rows converted once, and
//! products, activations, gradients, Adam's moments and the validation score are computed in the
//! chosen type; the loss is summed in f64. The fitted [`Mlp`] is f64 either way (f32 weights are
//! widened exactly), so saving, loading and prediction are one code path for both. The f64
//! path's arithmetic is scikit-learn's for float64 input (the trajectory test holds it to 1e-9).
//!
//! Training allocates nothing per batch (activation, delta and gradient buffers are allocated
//! once). On a rayon pool of several threads, large matrix products are split into column blocks
//! and large Adam updates into fixed chunks that run in parallel; neither changes any value's
//! arithmetic, so a fit is bit-for-bit reproducible for a seed on any number of threads. Run a
//! fit inside a one-thread pool (`rayon::ThreadPoolBuilder`) to keep it on one core.
//!
//! The files: `params.rs` ([`MlpParams`] and its checks), `fit.rs` (the epoch loop: mini-batches,
//! Adam steps, the early-stopping rule), `validation.rs` (the held-out split early stopping
//! scores), `network.rs` (the forward and backward passes in the training precision),
//! `optim.rs` (Adam), `model.rs` (the fitted [`Mlp`] and its prediction), `persist.rs`
//! (safetensors), and `tests.rs` (whole fits, against scikit-learn's fixtures too).

mod fit;
mod model;
mod network;
mod optim;
mod params;
mod persist;
#[cfg(test)]
mod tests;
mod validation;

use super::{Epoch, ParamError};

pub use self::model::Mlp;
pub(super) use self::network::softmax_row;
pub use self::params::{MlpParams, Precision};

/// Why a fit or a model file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MlpError {
    /// A hyperparameter is out of range.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The training rows or labels cannot be used.
    #[error("MLP training data: {0}")]
    Data(String),
    /// A safetensors file is not an MLP written by [`Mlp::to_safetensors`].
    #[error("MLP safetensors: {0}")]
    Format(String),
}

/// A fit's result: the model and its training curve.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub model: Mlp,
    /// One entry per epoch run.
    pub history: Vec<Epoch>,
    /// 1-based epoch whose weights `model` holds: the best validation accuracy with early
    /// stopping (the first such epoch), else the last epoch.
    pub best_epoch: usize,
    /// Training ended by the `n_iter_no_change` rule before `max_iter` epochs.
    pub stopped_early: bool,
}
