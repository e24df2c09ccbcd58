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

use std::collections::HashMap;

use ndarray::linalg::general_mat_mul;
use ndarray::LinalgScalar;
use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Axis, CowArray, Ix2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use super::{Classifier, Epoch, ParamError};

/// Prefix of the config keys named by [`MlpParams::check`].
const KEY: &str = "mlp";

/// Hyperparameters of [`Mlp`] (`[models.mlp]` in the config). Defaults follow the pipeline's
/// recipe; the optimiser's and early stopping's follow scikit-learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlpParams {
    /// Widths of the hidden layers. Default `[512, 256, 128]`; empty is a softmax regression.
    pub hidden_layers: Vec<usize>,
    /// Adam's step size (scikit-learn's `learning_rate_init`). Default 1e-3.
    pub learning_rate: f64,
    /// Adam's first-moment decay. Default 0.9.
    pub beta_1: f64,
    /// Adam's second-moment decay. Default 0.999.
    pub beta_2: f64,
    /// Adam's denominator term. Default 1e-8.
    pub epsilon: f64,
    /// L2 penalty on the weights (not the biases). Default 1e-4.
    pub alpha: f64,
    /// Rows per mini-batch, clipped to the training rows. Default 64.
    pub batch_size: usize,
    /// Maximum number of epochs. Default 1000.
    pub max_iter: usize,
    /// Hold out `validation_fraction` of the rows and stop on its accuracy. Default true.
    pub early_stopping: bool,
    /// Fraction of the rows held out for early stopping, in (0, 1). Default 0.1.
    pub validation_fraction: f64,
    /// Epochs without improvement by more than `tol` before stopping. Default 10.
    pub n_iter_no_change: usize,
    /// Minimum improvement of validation accuracy (or training loss). Default 1e-4.
    pub tol: f64,
    /// Reshuffle the training rows every epoch. Default true.
    pub shuffle: bool,
    /// Probability of zeroing each hidden activation during training (inverted dropout: kept
    /// units are scaled by `1 / (1 - dropout)`), in [0, 1). Default 0, scikit-learn's semantics.
    pub dropout: f64,
    /// Seed of initialisation, validation split, shuffling and dropout. Default 42.
    pub seed: u64,
    /// Float type of the training arithmetic (`"f32"` or `"f64"`). Default `"f32"`: about twice
    /// as fast, and as accurate on this task (`bench/results/train-latest.md`). The fitted model
    /// is stored and predicts in f64 either way.
    pub precision: Precision,
}

/// Float type in which [`MlpParams::fit`] trains (`[models.mlp] precision`). scikit-learn's
/// `MLPClassifier` does the same: it trains in float32 when given float32 input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision: sgemm, half the memory traffic of Adam's state.
    #[default]
    F32,
    /// Double precision, as scikit-learn with its default float64 input.
    F64,
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams {
            hidden_layers: vec![512, 256, 128],
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            alpha: 1e-4,
            batch_size: 64,
            max_iter: 1000,
            early_stopping: true,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-4,
            shuffle: true,
            dropout: 0.0,
            seed: 42,
            precision: Precision::default(),
        }
    }
}

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

/// A fitted multi-layer perceptron: ReLU hidden layers, softmax (or, for two classes, logistic)
/// output.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// `weights[i]`: `(in, out)` of layer `i`, applied as `x.dot(w) + b`.
    weights: Vec<Array2<f64>>,
    biases: Vec<Array1<f64>>,
}

fn check_positive_finite(key: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ParamError::new(
            format!("{KEY}.{key}"),
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}

fn check_unit_interval(key: &str, v: f64, lo_open: bool) -> Result<(), ParamError> {
    let ok = if lo_open {
        v > 0.0 && v < 1.0
    } else {
        (0.0..1.0).contains(&v)
    };
    if ok {
        Ok(())
    } else {
        let range = if lo_open { "(0, 1)" } else { "[0, 1)" };
        Err(ParamError::new(
            format!("{KEY}.{key}"),
            format!("must be in {range}, got {v}"),
        ))
    }
}

impl MlpParams {
    /// Checks every hyperparameter; the error names the offending key (`mlp.<field>`).
    pub fn check(&self) -> Result<(), ParamError> {
        if let Some(i) = self.hidden_layers.iter().position(|&w| w == 0) {
            return Err(ParamError::new(
                format!("{KEY}.hidden_layers"),
                format!("hidden layer {i} has width 0; every width must be >= 1"),
            ));
        }
        check_positive_finite("learning_rate", self.learning_rate)?;
        check_unit_interval("beta_1", self.beta_1, false)?;
        check_unit_interval("beta_2", self.beta_2, false)?;
        check_positive_finite("epsilon", self.epsilon)?;
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(ParamError::new(
                format!("{KEY}.alpha"),
                format!("must be a finite number >= 0, got {}", self.alpha),
            ));
        }
        if self.batch_size == 0 {
            return Err(ParamError::new(format!("{KEY}.batch_size"), "must be >= 1"));
        }
        if self.max_iter == 0 {
            return Err(ParamError::new(format!("{KEY}.max_iter"), "must be >= 1"));
        }
        check_unit_interval("validation_fraction", self.validation_fraction, true)?;
        if self.n_iter_no_change == 0 {
            return Err(ParamError::new(
                format!("{KEY}.n_iter_no_change"),
                "must be >= 1",
            ));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(ParamError::new(
                format!("{KEY}.tol"),
                format!("must be a finite number >= 0, got {}", self.tol),
            ));
        }
        check_unit_interval("dropout", self.dropout, false)?;
        Ok(())
    }

    /// Trains on standardised rows `x` with class ids `y` in `0..n_classes` (`n_classes >= 2`;
    /// a class may have no rows). Deterministic for a given `seed` and `precision`.
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[usize],
        n_classes: usize,
    ) -> Result<Fitted, MlpError> {
        self.fit_grouped(x, y, n_classes, None)
    }

    /// [`MlpParams::fit`], where `groups[i]` names the recording row `i` comes from (rows of
    /// one recording, e.g. its segments, share a class): early stopping then holds out whole
    /// recordings (stratified by class, as [`MlpParams::fit`] holds out rows), so no
    /// validation row has a sibling in training. With one row per group it is
    /// [`MlpParams::fit`], draw for draw.
    ///
    /// `x` may be a view or an owned matrix; an owned one is freed as soon as the training and
    /// validation rows are copied out of it in the training precision, so a fit does not hold
    /// the float64 rows beside the copy.
    pub fn fit_grouped<'a>(
        &self,
        x: impl Into<CowArray<'a, f64, Ix2>>,
        y: &[usize],
        n_classes: usize,
        groups: Option<&[usize]>,
    ) -> Result<Fitted, MlpError> {
        let x = x.into();
        self.check()?;
        check_data(x.view(), y, n_classes)?;
        if groups.is_some_and(|g| g.len() != y.len()) {
            return Err(MlpError::Data("one group per row is needed".into()));
        }
        match self.precision {
            Precision::F32 => self.fit_in::<f32>(x, y, n_classes, groups),
            Precision::F64 => self.fit_in::<f64>(x, y, n_classes, groups),
        }
    }

    /// [`MlpParams::fit_grouped`] with training arithmetic in `T`.
    fn fit_in<T: Real>(
        &self,
        x: CowArray<'_, f64, Ix2>,
        y: &[usize],
        n_classes: usize,
        groups: Option<&[usize]>,
    ) -> Result<Fitted, MlpError> {
        let mut sizes = Vec::with_capacity(self.hidden_layers.len() + 2);
        sizes.push(x.ncols());
        sizes.extend_from_slice(&self.hidden_layers);
        sizes.push(output_width(n_classes));

        // scikit-learn's order of draws: initialisation, validation split, then shuffles. The
        // draws are made in f64 whatever the precision, so f32 and f64 fits start from the same
        // weights (rounded) and see the same split and batches.
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let init = Net::<T>::from_mlp(&Mlp::glorot(&sizes, &mut rng));
        if self.early_stopping {
            let (train, val) = match groups {
                Some(groups) => {
                    grouped_split(y, groups, n_classes, self.validation_fraction, &mut rng)?
                }
                None => stratified_split(y, n_classes, self.validation_fraction, &mut rng)?,
            };
            let x_train = gather_rows::<T>(x.view(), &train);
            let y_train: Vec<usize> = train.iter().map(|&i| y[i]).collect();
            let x_val = gather_rows::<T>(x.view(), &val);
            let y_val: Vec<usize> = val.iter().map(|&i| y[i]).collect();
            drop(x);
            Ok(self.train(
                init,
                x_train.view(),
                &y_train,
                Some((x_val.view(), &y_val)),
                &mut rng,
            ))
        } else {
            let all: Vec<usize> = (0..x.nrows()).collect();
            let x = gather_rows::<T>(x.view(), &all);
            Ok(self.train(init, x.view(), y, None, &mut rng))
        }
    }

    /// The epoch loop from given initial weights; `val` enables early stopping on it.
    fn train<T: Real>(
        &self,
        mut net: Net<T>,
        x: ArrayView2<'_, T>,
        y: &[usize],
        val: Option<(ArrayView2<'_, T>, &[usize])>,
        rng: &mut ChaCha8Rng,
    ) -> Fitted {
        let n = x.nrows();
        let batch = self.batch_size.min(n);
        let mut ws = Workspace::new(&net, batch);
        let mut adam = Adam::new(&net);
        let mut scorer = val.map(|(xv, yv)| Scorer::new(&net, xv, yv));
        // Dropout draws from its own stream, so the split and shuffles do not depend on it.
        let mut drop_rng = ChaCha8Rng::seed_from_u64(self.seed);
        drop_rng.set_stream(1);

        let mut order: Vec<usize> = (0..n).collect();
        let mut yb = vec![0usize; batch];
        let mut sum_sq = net.sum_sq_weights();
        let mut history = Vec::new();
        let mut best: Option<Net<T>> = None;
        let mut best_epoch = 0;
        let mut best_score = f64::NEG_INFINITY;
        let mut best_loss = f64::INFINITY;
        let mut no_improvement = 0usize;
        let mut stopped_early = false;

        for epoch in 1..=self.max_iter {
            if self.shuffle {
                order.shuffle(rng);
            }
            let mut accumulated = 0.0;
            for start in (0..n).step_by(batch) {
                let end = (start + batch).min(n);
                let bn = end - start;
                for (r, &i) in order[start..end].iter().enumerate() {
                    ws.xb.row_mut(r).assign(&x.row(i));
                    yb[r] = y[i];
                }
                let drop = (self.dropout > 0.0).then_some((self.dropout, &mut drop_rng));
                let loss = ws.forward_backward(&net, bn, &yb[..bn], self.alpha, sum_sq, drop);
                sum_sq = adam.step(&mut net, &ws, bn, self);
                accumulated += loss * bn as f64;
            }
            let loss = accumulated / n as f64;

            let validation_accuracy = scorer.as_mut().map(|s| s.accuracy(&net));
            history.push(Epoch {
                epoch,
                loss,
                validation_accuracy,
            });
            match validation_accuracy {
                Some(score) => {
                    if score < best_score + self.tol {
                        no_improvement += 1;
                    } else {
                        no_improvement = 0;
                    }
                    if score > best_score {
                        best_score = score;
                        best_epoch = epoch;
                        match &mut best {
                            Some(b) => b.assign(&net),
                            None => best = Some(net.clone()),
                        }
                    }
                }
                None => {
                    if loss > best_loss - self.tol {
                        no_improvement += 1;
                    } else {
                        no_improvement = 0;
                    }
                    if loss < best_loss {
                        best_loss = loss;
                    }
                }
            }
            if no_improvement > self.n_iter_no_change {
                stopped_early = epoch < self.max_iter;
                break;
            }
        }

        let model = match best {
            Some(b) => b.to_mlp(),
            None => {
                // No early stopping (or a validation score that was NaN throughout).
                best_epoch = history.len();
                net.to_mlp()
            }
        };
        Fitted {
            model,
            history,
            best_epoch,
            stopped_early,
        }
    }
}

/// Output units for `n_classes`: one logistic unit for two classes, else one softmax unit each.
fn output_width(n_classes: usize) -> usize {
    if n_classes == 2 {
        1
    } else {
        n_classes
    }
}

fn check_data(x: ArrayView2<'_, f64>, y: &[usize], n_classes: usize) -> Result<(), MlpError> {
    let err = |m: String| Err(MlpError::Data(m));
    if n_classes < 2 {
        return err(format!("n_classes must be >= 2, got {n_classes}"));
    }
    if x.nrows() == 0 || x.ncols() == 0 {
        return err(format!("x is empty ({} x {})", x.nrows(), x.ncols()));
    }
    if x.nrows() != y.len() {
        return err(format!(
            "x has {} rows but y has {} labels",
            x.nrows(),
            y.len()
        ));
    }
    if let Some(&c) = y.iter().find(|&&c| c >= n_classes) {
        return err(format!("label {c} is not below n_classes = {n_classes}"));
    }
    if let Some(((r, c), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return err(format!("x[{r}, {c}] is not finite"));
    }
    Ok(())
}

/// scikit-learn's `_approximate_mode`: split `n_draws` over classes in proportion to `counts`,
/// flooring, then giving the remaining draws to the largest remainders (ties: lower class id).
fn approximate_mode(counts: &[usize], n_draws: usize) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut drawn: Vec<usize> = continuous
        .iter()
        .zip(counts)
        .map(|(&v, &c)| (v.floor() as usize).min(c))
        .collect();
    let mut need = n_draws.saturating_sub(drawn.iter().sum());
    let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        let ra = continuous[a] - continuous[a].floor();
        let rb = continuous[b] - continuous[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    while need > 0 {
        let mut progressed = false;
        for &c in &by_remainder {
            if need > 0 && drawn[c] < counts[c] {
                drawn[c] += 1;
                need -= 1;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    drawn
}

/// [`stratified_split`] of whole groups: each group (in order of first appearance) is one unit
/// with its first row's class; the units are split, then expanded to their rows (in row order
/// within a group, the units in the split's order). With one row per group, the rows'
/// [`stratified_split`] itself.
fn grouped_split(
    y: &[usize],
    groups: &[usize],
    n_classes: usize,
    fraction: f64,
    rng: &mut ChaCha8Rng,
) -> Result<(Vec<usize>, Vec<usize>), MlpError> {
    let mut unit_of: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut units: Vec<Vec<usize>> = Vec::new();
    for (i, &g) in groups.iter().enumerate() {
        let u = *unit_of.entry(g).or_insert_with(|| {
            units.push(Vec::new());
            units.len() - 1
        });
        units[u].push(i);
    }
    if units.len() == y.len() {
        return stratified_split(y, n_classes, fraction, rng);
    }
    let unit_y: Vec<usize> = units.iter().map(|rows| y[rows[0]]).collect();
    let (train, val) = stratified_split(&unit_y, n_classes, fraction, rng)?;
    let expand =
        |us: Vec<usize>| -> Vec<usize> { us.into_iter().flat_map(|u| units[u].clone()).collect() };
    Ok((expand(train), expand(val)))
}

/// scikit-learn's `train_test_split(stratify=y, test_size=fraction)`: `ceil(fraction * n)`
/// validation rows, allocated to classes by [`approximate_mode`] of the training rows, each class's
/// rows permuted; returns (train, validation) row indices, each in random order.
fn stratified_split(
    y: &[usize],
    n_classes: usize,
    fraction: f64,
    rng: &mut ChaCha8Rng,
) -> Result<(Vec<usize>, Vec<usize>), MlpError> {
    let n = y.len();
    let n_val = (fraction * n as f64).ceil() as usize;
    if n_val < 2 || n_val >= n {
        return Err(MlpError::Data(format!(
            "the validation set of {n_val} of {n} rows is too small (or leaves no training rows); \
             increase validation_fraction or the data, or turn early_stopping off"
        )));
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &c) in y.iter().enumerate() {
        by_class[c].push(i);
    }
    let counts: Vec<usize> = by_class.iter().map(Vec::len).collect();
    let n_train_per_class = approximate_mode(&counts, n - n_val);
    let mut train = Vec::with_capacity(n - n_val);
    let mut val = Vec::with_capacity(n_val);
    for (rows, &k) in by_class.iter_mut().zip(&n_train_per_class) {
        rows.shuffle(rng);
        train.extend_from_slice(&rows[..k]);
        val.extend_from_slice(&rows[k..]);
    }
    train.shuffle(rng);
    val.shuffle(rng);
    Ok((train, val))
}

/// The float type training runs in: `f32` or `f64` ([`Precision`]).
pub(super) trait Real:
    LinalgScalar + num_traits::Float + num_traits::NumAssign + Send + Sync + std::fmt::Debug
{
    /// `v` rounded to this type.
    fn cast(v: f64) -> Self;
    /// This value as f64 (exact).
    fn widen(self) -> f64;
}

impl Real for f32 {
    fn cast(v: f64) -> f32 {
        v as f32
    }
    fn widen(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    fn cast(v: f64) -> f64 {
        v
    }
    fn widen(self) -> f64 {
        self
    }
}

/// Rows `rows` of `x`, in that order, converted to `T`.
fn gather_rows<T: Real>(x: ArrayView2<'_, f64>, rows: &[usize]) -> Array2<T> {
    let mut out = Array2::zeros((rows.len(), x.ncols()));
    for (mut dst, &i) in out.rows_mut().into_iter().zip(rows) {
        dst.zip_mut_with(&x.row(i), |d, &v| *d = T::cast(v));
    }
    out
}

/// The class an output row predicts: the first maximum of a softmax row, or for one logistic
/// unit `p` class 1 when `p > 1 - p` (as `argmax([1 - p, p])`).
fn predicted_class<T: Real>(row: &[T]) -> usize {
    if let [p] = row {
        return usize::from(*p > T::one() - *p);
    }
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// Softmax of one row in place (scikit-learn's `inplace_softmax`).
pub(super) fn softmax_row<T: Real>(row: &mut [T]) {
    let max = row.iter().copied().fold(T::neg_infinity(), T::max);
    let mut sum = T::zero();
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

fn logistic<T: Real>(z: T) -> T {
    T::one() / (T::one() + (-z).exp())
}

/// Products below this many multiply-adds are not split further.
const PAR_MIN_WORK: usize = 1 << 20;
/// Column blocks are not split below this width.
const PAR_MIN_COLS: usize = 64;

/// `c = a · b`. On a pool of more than one thread, large products are split into column blocks of
/// `b` and `c` (halving recursively while a block has at least `2 * PAR_MIN_COLS` columns and
/// `2 * PAR_MIN_WORK` multiply-adds) that run on rayon's pool. This changes no output element's
/// arithmetic: matrixmultiply blocks only the shared dimension `k` for each element's sum, so the
/// result is bit-identical to one `general_mat_mul` for any number of threads (tested).
fn matmul<T: Real>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>, c: ArrayViewMut2<'_, T>) {
    if rayon::current_num_threads() > 1 {
        matmul_blocks(a, b, c);
    } else {
        let mut c = c;
        general_mat_mul(T::one(), &a, &b, T::zero(), &mut c);
    }
}

fn matmul_blocks<T: Real>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>, mut c: ArrayViewMut2<'_, T>) {
    let n = c.ncols();
    if n < 2 * PAR_MIN_COLS || a.nrows() * a.ncols() * n < 2 * PAR_MIN_WORK {
        general_mat_mul(T::one(), &a, &b, T::zero(), &mut c);
        return;
    }
    // Split at a multiple of 8 columns (the micro-kernels' width) near the middle.
    let mid = (n / 2).div_ceil(8) * 8;
    let (b1, b2) = b.split_at(Axis(1), mid);
    let (c1, c2) = c.split_at(Axis(1), mid);
    rayon::join(|| matmul_blocks(a, b1, c1), || matmul_blocks(a, b2, c2));
}

/// Rows of a standard-layout 2-D view as slices.
fn rows_mut<'a, T>(a: &'a mut ArrayViewMut2<'_, T>) -> impl Iterator<Item = &'a mut [T]> {
    let w = a.ncols();
    a.as_slice_mut()
        .expect("standard layout")
        .chunks_exact_mut(w.max(1))
}

/// Forward pass of the rows of `x` through the layers `weights`, `biases` into `acts` (one
/// buffer per layer with at least `x.nrows()` rows; the first `x.nrows()` are written): ReLU
/// hidden layers, with inverted dropout when given, then softmax, or the logistic function for
/// a single output unit.
fn forward<T: Real>(
    weights: &[Array2<T>],
    biases: &[Array1<T>],
    x: ArrayView2<'_, T>,
    acts: &mut [Array2<T>],
    mut dropout: Option<(f64, &mut ChaCha8Rng)>,
) {
    let bn = x.nrows();
    let last = weights.len() - 1;
    let scale = T::cast(dropout.as_ref().map_or(1.0, |(p, _)| 1.0 / (1.0 - p)));
    for i in 0..weights.len() {
        let (done, rest) = acts.split_at_mut(i);
        let input = if i == 0 {
            x
        } else {
            done[i - 1].slice(s![..bn, ..])
        };
        let mut out = rest[0].slice_mut(s![..bn, ..]);
        matmul(input, weights[i].view(), out.view_mut());
        let bias = biases[i].as_slice().expect("contiguous");
        for row in rows_mut(&mut out) {
            if i < last {
                match dropout.as_mut() {
                    None => {
                        for (v, &b) in row.iter_mut().zip(bias) {
                            *v = (*v + b).max(T::zero());
                        }
                    }
                    Some((p, rng)) => {
                        for (v, &b) in row.iter_mut().zip(bias) {
                            let keep = rng.random::<f64>() >= *p;
                            *v = if keep {
                                (*v + b).max(T::zero()) * scale
                            } else {
                                T::zero()
                            };
                        }
                    }
                }
            } else {
                for (v, &b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
                if row.len() > 1 {
                    softmax_row(row);
                } else {
                    row[0] = logistic(row[0]);
                }
            }
        }
    }
}

/// Weights and biases in the training precision `T`, laid out as [`Mlp`]'s.
#[derive(Debug, Clone)]
struct Net<T> {
    weights: Vec<Array2<T>>,
    biases: Vec<Array1<T>>,
}

impl<T: Real> Net<T> {
    fn from_mlp(m: &Mlp) -> Net<T> {
        Net {
            weights: m.weights.iter().map(|w| w.mapv(T::cast)).collect(),
            biases: m.biases.iter().map(|b| b.mapv(T::cast)).collect(),
        }
    }

    /// The f64 model (exact: every `T` value is an f64 value).
    fn to_mlp(&self) -> Mlp {
        Mlp {
            weights: self.weights.iter().map(|w| w.mapv(T::widen)).collect(),
            biases: self.biases.iter().map(|b| b.mapv(T::widen)).collect(),
        }
    }

    fn n_features(&self) -> usize {
        self.weights[0].nrows()
    }

    fn sum_sq_weights(&self) -> f64 {
        self.weights
            .iter()
            .map(|w| sum_of_squares(w.as_slice().expect("contiguous")))
            .sum()
    }

    fn assign(&mut self, other: &Net<T>) {
        for (a, b) in self.weights.iter_mut().zip(&other.weights) {
            a.assign(b);
        }
        for (a, b) in self.biases.iter_mut().zip(&other.biases) {
            a.assign(b);
        }
    }
}

/// Validation accuracy in the training precision, with its buffers allocated once.
struct Scorer<'a, T> {
    x: ArrayView2<'a, T>,
    y: &'a [usize],
    acts: Vec<Array2<T>>,
}

impl<'a, T: Real> Scorer<'a, T> {
    fn new(net: &Net<T>, x: ArrayView2<'a, T>, y: &'a [usize]) -> Scorer<'a, T> {
        let acts = net
            .weights
            .iter()
            .map(|w| Array2::zeros((x.nrows(), w.ncols())))
            .collect();
        Scorer { x, y, acts }
    }

    fn accuracy(&mut self, net: &Net<T>) -> f64 {
        forward(&net.weights, &net.biases, self.x, &mut self.acts, None);
        let out = self.acts.last().expect("at least one layer");
        let width = out.ncols();
        let correct = out
            .as_slice()
            .expect("standard layout")
            .chunks_exact(width)
            .zip(self.y)
            .filter(|(row, &t)| predicted_class(row) == t)
            .count();
        correct as f64 / self.y.len() as f64
    }
}

impl Mlp {
    /// Glorot-uniform weights and biases for layer widths `sizes` (input first), drawn layer by
    /// layer, weights (row-major) before biases, as scikit-learn's `_init_coef`.
    fn glorot(sizes: &[usize], rng: &mut ChaCha8Rng) -> Mlp {
        let mut weights = Vec::with_capacity(sizes.len() - 1);
        let mut biases = Vec::with_capacity(sizes.len() - 1);
        for pair in sizes.windows(2) {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
            weights.push(Array2::from_shape_simple_fn((fan_in, fan_out), || {
                rng.random_range(-bound..bound)
            }));
            biases.push(Array1::from_shape_simple_fn(fan_out, || {
                rng.random_range(-bound..bound)
            }));
        }
        Mlp { weights, biases }
    }

    /// Widths of all layers: inputs, each hidden layer, outputs (1 for a two-class model).
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.weights[0].nrows()];
        sizes.extend(self.weights.iter().map(|w| w.ncols()));
        sizes
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.weights[0].nrows()
    }

    /// Number of classes (columns of `predict_proba`).
    pub fn n_classes(&self) -> usize {
        let out = self.weights.last().expect("at least one layer").ncols();
        if out == 1 {
            2
        } else {
            out
        }
    }

    /// Weight matrices, `(in, out)` per layer.
    pub fn weights(&self) -> &[Array2<f64>] {
        &self.weights
    }

    /// Bias vectors per layer.
    pub fn biases(&self) -> &[Array1<f64>] {
        &self.biases
    }

    /// Serialises as safetensors: `layers.{i}.weight` `(in, out)` and `layers.{i}.bias` `(out,)`,
    /// float64, little-endian; metadata names the activations.
    pub fn to_safetensors(&self) -> Vec<u8> {
        let mut buffers = Vec::with_capacity(2 * self.weights.len());
        for (i, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            let bytes = |it: &mut dyn Iterator<Item = &f64>| -> Vec<u8> {
                it.flat_map(|v| v.to_le_bytes()).collect()
            };
            buffers.push((
                format!("layers.{i}.weight"),
                vec![w.nrows(), w.ncols()],
                bytes(&mut w.iter()),
            ));
            buffers.push((
                format!("layers.{i}.bias"),
                vec![b.len()],
                bytes(&mut b.iter()),
            ));
        }
        let views: Vec<(String, TensorView<'_>)> = buffers
            .iter()
            .map(|(name, shape, data)| {
                let view =
                    TensorView::new(Dtype::F64, shape.clone(), data).expect("shape matches data");
                (name.clone(), view)
            })
            .collect();
        let output = if self.n_classes() == 2 {
            "logistic"
        } else {
            "softmax"
        };
        let metadata = HashMap::from([
            ("format".to_string(), "ser-pipeline.mlp".to_string()),
            ("hidden_activation".to_string(), "relu".to_string()),
            ("output_activation".to_string(), output.to_string()),
            ("n_layers".to_string(), self.weights.len().to_string()),
        ]);
        super::canonical_safetensors(
            safetensors::serialize(views, Some(metadata)).expect("in-memory serialisation"),
        )
    }

    /// Reads a model written by [`Mlp::to_safetensors`] (or any file with the same tensors).
    pub fn from_safetensors(bytes: &[u8]) -> Result<Mlp, MlpError> {
        let err = |m: String| MlpError::Format(m);
        let file = SafeTensors::deserialize(bytes).map_err(|e| err(e.to_string()))?;
        let read = |name: &str, ndim: usize| -> Result<(Vec<usize>, Vec<f64>), MlpError> {
            let t = file.tensor(name).map_err(|e| err(format!("{name}: {e}")))?;
            if t.dtype() != Dtype::F64 {
                return Err(err(format!("{name}: dtype {:?}, expected F64", t.dtype())));
            }
            if t.shape().len() != ndim {
                return Err(err(format!(
                    "{name}: shape {:?}, expected {ndim} dimensions",
                    t.shape()
                )));
            }
            let values: Vec<f64> = t
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(err(format!("{name}: non-finite value {v}")));
            }
            Ok((t.shape().to_vec(), values))
        };
        let names = file.names();
        let n_layers = (0..)
            .take_while(|i| names.contains(&format!("layers.{i}.weight").as_str()))
            .count();
        if n_layers == 0 {
            return Err(err("no tensor layers.0.weight".into()));
        }
        if file.len() != 2 * n_layers {
            return Err(err(format!(
                "{} tensors, expected {} (layers.{{0..{n_layers}}}.weight and .bias)",
                file.len(),
                2 * n_layers
            )));
        }
        let mut weights = Vec::with_capacity(n_layers);
        let mut biases = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let (shape, w) = read(&format!("layers.{i}.weight"), 2)?;
            let (bshape, b) = read(&format!("layers.{i}.bias"), 1)?;
            if shape.contains(&0) {
                return Err(err(format!("layers.{i}.weight: empty shape {shape:?}")));
            }
            if bshape[0] != shape[1] {
                return Err(err(format!(
                    "layers.{i}: bias length {} != weight columns {}",
                    bshape[0], shape[1]
                )));
            }
            if let Some(prev) = weights.last().map(|w: &Array2<f64>| w.ncols()) {
                if prev != shape[0] {
                    return Err(err(format!(
                        "layers.{i}: {} inputs, previous layer has {prev} outputs",
                        shape[0]
                    )));
                }
            }
            weights.push(Array2::from_shape_vec((shape[0], shape[1]), w).expect("shape checked"));
            biases.push(Array1::from_vec(b));
        }
        Ok(Mlp { weights, biases })
    }
}

impl Classifier for Mlp {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        assert_eq!(
            x.ncols(),
            self.n_features(),
            "the MLP was trained on {} features, got {}",
            self.n_features(),
            x.ncols()
        );
        let mut acts: Vec<Array2<f64>> = self
            .weights
            .iter()
            .map(|w| Array2::zeros((x.nrows(), w.ncols())))
            .collect();
        forward(&self.weights, &self.biases, x, &mut acts, None);
        let a = acts.pop().expect("at least one layer");
        if a.ncols() == 1 {
            let mut out = Array2::zeros((a.nrows(), 2));
            for (r, &v) in a.column(0).iter().enumerate() {
                out[[r, 0]] = 1.0 - v;
                out[[r, 1]] = v;
            }
            out
        } else {
            a
        }
    }
}

/// Per-batch buffers, allocated once for the largest batch.
struct Workspace<T> {
    /// The batch's input rows.
    xb: Array2<T>,
    /// `acts[i]`: output of layer `i` (after its activation).
    acts: Vec<Array2<T>>,
    /// `deltas[i]`: gradient of the summed loss with respect to layer `i`'s pre-activation.
    deltas: Vec<Array2<T>>,
    /// `grad_w[i] = input_i^T deltas[i]` (unscaled: no L2 term, no division by the batch).
    grad_w: Vec<Array2<T>>,
    /// `grad_b[i] = sum over rows of deltas[i]` (unscaled).
    grad_b: Vec<Array1<T>>,
}

impl<T: Real> Workspace<T> {
    fn new(net: &Net<T>, batch: usize) -> Workspace<T> {
        let outs: Vec<usize> = net.weights.iter().map(|w| w.ncols()).collect();
        Workspace {
            xb: Array2::zeros((batch, net.n_features())),
            acts: outs.iter().map(|&o| Array2::zeros((batch, o))).collect(),
            deltas: outs.iter().map(|&o| Array2::zeros((batch, o))).collect(),
            grad_w: net
                .weights
                .iter()
                .map(|w| Array2::zeros(w.raw_dim()))
                .collect(),
            grad_b: net
                .biases
                .iter()
                .map(|b| Array1::zeros(b.raw_dim()))
                .collect(),
        }
    }

    /// Forward and backward pass over the first `bn` rows of `xb`; fills `grad_w`, `grad_b` and
    /// returns the batch loss (mean cross-entropy plus `alpha / (2 bn) * sum_sq`), summed in f64.
    fn forward_backward(
        &mut self,
        net: &Net<T>,
        bn: usize,
        y: &[usize],
        alpha: f64,
        sum_sq: f64,
        dropout: Option<(f64, &mut ChaCha8Rng)>,
    ) -> f64 {
        let n_layers = net.weights.len();
        let last = n_layers - 1;
        let scale = T::cast(dropout.as_ref().map_or(1.0, |(p, _)| 1.0 / (1.0 - p)));
        forward(
            &net.weights,
            &net.biases,
            self.xb.slice(s![..bn, ..]),
            &mut self.acts,
            dropout,
        );

        // Loss and output delta (probability minus one-hot target). Probabilities are clipped to
        // `[eps, 1 - eps]` with the machine epsilon of `T`, as scikit-learn's `log_loss` does.
        let eps = T::epsilon();
        let mut data_loss = 0.0;
        {
            let probs = self.acts[last].slice(s![..bn, ..]);
            let mut delta = self.deltas[last].slice_mut(s![..bn, ..]);
            delta.assign(&probs);
            for (row, &t) in rows_mut(&mut delta).zip(y) {
                if row.len() == 1 {
                    let p = row[0].max(eps).min(T::one() - eps);
                    let target = t as f64;
                    let (log_p, log_q) = (p.ln().widen(), (T::one() - p).ln().widen());
                    data_loss -= target * log_p + (1.0 - target) * log_q;
                    row[0] -= T::cast(target);
                } else {
                    data_loss -= row[t].max(eps).min(T::one() - eps).ln().widen();
                    row[t] -= T::one();
                }
            }
        }
        let loss = data_loss / bn as f64 + 0.5 * alpha * sum_sq / bn as f64;

        // Backward.
        for i in (0..n_layers).rev() {
            let input = if i == 0 {
                self.xb.slice(s![..bn, ..])
            } else {
                self.acts[i - 1].slice(s![..bn, ..])
            };
            let (lower, upper) = self.deltas.split_at_mut(i);
            let delta = upper[0].slice(s![..bn, ..]);
            matmul(input.t(), delta, self.grad_w[i].view_mut());
            let gb = self.grad_b[i].as_slice_mut().expect("contiguous");
            gb.fill(T::zero());
            for row in delta
                .as_slice()
                .expect("standard layout")
                .chunks_exact(gb.len())
            {
                for (g, &d) in gb.iter_mut().zip(row) {
                    *g += d;
                }
            }
            if i > 0 {
                let mut below = lower[i - 1].slice_mut(s![..bn, ..]);
                matmul(delta, net.weights[i].t(), below.view_mut());
                let acts = self.acts[i - 1].slice(s![..bn, ..]);
                let acts = acts.as_slice().expect("standard layout");
                let below = below.as_slice_mut().expect("standard layout");
                // Unconditional stores (a select, not a branch), so the loops vectorise.
                if scale == T::one() {
                    for (d, &a) in below.iter_mut().zip(acts) {
                        *d = if a <= T::zero() { T::zero() } else { *d };
                    }
                } else {
                    for (d, &a) in below.iter_mut().zip(acts) {
                        *d = if a > T::zero() { *d * scale } else { T::zero() };
                    }
                }
            }
        }
        loss
    }
}

/// Weight matrices of at least twice this many elements are updated in parallel chunks.
const ADAM_CHUNK: usize = 1 << 15;

/// Matching chunks of parameters, their gradient and Adam's two moments.
type AdamChunk<'a, T> = ((&'a mut [T], &'a [T]), (&'a mut [T], &'a mut [T]));

/// The coefficients of one Adam update.
struct AdamStep<T> {
    beta_1: T,
    beta_2: T,
    epsilon: T,
    /// The bias-corrected step size of this update.
    lr: T,
    /// Rows in the batch.
    n: T,
}

impl<T: Real> AdamStep<T> {
    /// Updates `params` from the unscaled batch gradient `raw`: `g = (raw + alpha * param) / n`,
    /// then scikit-learn's moment updates and `param += -lr * m / (sqrt(v) + eps)`.
    ///
    /// Element-wise with no reduction, so the loop vectorises; on x86-64 CPUs with AVX it runs
    /// twice as wide (the default target has only SSE2, and the two divisions and the square
    /// root per element bound this loop). Additions, multiplications, divisions and square roots
    /// are correctly rounded at any width and are never fused, so both paths give bit-identical
    /// results (tested).
    fn apply(&self, params: &mut [T], raw: &[T], m: &mut [T], v: &mut [T], alpha: T) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX, checked just above.
            unsafe { self.apply_avx(params, raw, m, v, alpha) };
            return;
        }
        self.apply_portable(params, raw, m, v, alpha);
    }

    /// [`AdamStep::apply_portable`] compiled for AVX.
    ///
    /// # Safety
    /// The CPU must support AVX.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn apply_avx(&self, params: &mut [T], raw: &[T], m: &mut [T], v: &mut [T], alpha: T) {
        self.apply_portable(params, raw, m, v, alpha);
    }

    #[inline(always)]
    fn apply_portable(&self, params: &mut [T], raw: &[T], m: &mut [T], v: &mut [T], alpha: T) {
        let len = params.len();
        let (raw, m, v) = (&raw[..len], &mut m[..len], &mut v[..len]);
        let (b1, b2, eps, lr, n) = (self.beta_1, self.beta_2, self.epsilon, self.lr, self.n);
        for i in 0..len {
            let g = (raw[i] + alpha * params[i]) / n;
            m[i] = b1 * m[i] + (T::one() - b1) * g;
            v[i] = b2 * v[i] + (T::one() - b2) * (g * g);
            params[i] += -lr * m[i] / (v[i].sqrt() + eps);
        }
    }

    /// [`AdamStep::apply`] then the sum of squares of the updated `params`: over the whole slice
    /// when it is small, else over fixed chunks of [`ADAM_CHUNK`] (updated in parallel on a pool
    /// of several threads) whose sums are added in order, so the result does not depend on the
    /// thread count.
    fn apply_sum_sq(&self, params: &mut [T], raw: &[T], m: &mut [T], v: &mut [T], alpha: T) -> f64 {
        if params.len() < 2 * ADAM_CHUNK {
            self.apply(params, raw, m, v, alpha);
            return sum_of_squares(params);
        }
        let chunk = |((w, g), (m, v)): AdamChunk<'_, T>| {
            self.apply(w, g, m, v, alpha);
            sum_of_squares(w)
        };
        if rayon::current_num_threads() > 1 {
            let sums: Vec<f64> = params
                .par_chunks_mut(ADAM_CHUNK)
                .zip(raw.par_chunks(ADAM_CHUNK))
                .zip(
                    m.par_chunks_mut(ADAM_CHUNK)
                        .zip(v.par_chunks_mut(ADAM_CHUNK)),
                )
                .map(chunk)
                .collect();
            sums.iter().sum()
        } else {
            params
                .chunks_mut(ADAM_CHUNK)
                .zip(raw.chunks(ADAM_CHUNK))
                .zip(m.chunks_mut(ADAM_CHUNK).zip(v.chunks_mut(ADAM_CHUNK)))
                .map(chunk)
                .sum()
        }
    }
}

/// Sum of squares in f64 with eight independent partial sums (vectorisable, fixed order).
fn sum_of_squares<T: Real>(values: &[T]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let tail: f64 = chunks
        .remainder()
        .iter()
        .map(|v| v.widen() * v.widen())
        .sum();
    for chunk in chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            let v = v.widen();
            *l += v * v;
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// scikit-learn's `AdamOptimizer` state.
struct Adam<T> {
    t: u64,
    m_w: Vec<Array2<T>>,
    v_w: Vec<Array2<T>>,
    m_b: Vec<Array1<T>>,
    v_b: Vec<Array1<T>>,
}

impl<T: Real> Adam<T> {
    fn new(net: &Net<T>) -> Adam<T> {
        let zeros_w = || -> Vec<Array2<T>> {
            net.weights
                .iter()
                .map(|w| Array2::zeros(w.raw_dim()))
                .collect()
        };
        let zeros_b = || -> Vec<Array1<T>> {
            net.biases
                .iter()
                .map(|b| Array1::zeros(b.raw_dim()))
                .collect()
        };
        Adam {
            t: 0,
            m_w: zeros_w(),
            v_w: zeros_w(),
            m_b: zeros_b(),
            v_b: zeros_b(),
        }
    }

    /// One update from the workspace's unscaled gradients of a batch of `bn` rows; returns the
    /// sum of squared weights after the update (the next batch's L2 term).
    fn step(&mut self, net: &mut Net<T>, ws: &Workspace<T>, bn: usize, p: &MlpParams) -> f64 {
        self.t += 1;
        let t = self.t as f64;
        let lr = p.learning_rate * (1.0 - p.beta_2.powf(t)).sqrt() / (1.0 - p.beta_1.powf(t));
        let c = AdamStep {
            beta_1: T::cast(p.beta_1),
            beta_2: T::cast(p.beta_2),
            epsilon: T::cast(p.epsilon),
            lr: T::cast(lr),
            n: T::cast(bn as f64),
        };
        let alpha = T::cast(p.alpha);
        let mut sum_sq = 0.0;
        for i in 0..net.weights.len() {
            sum_sq += c.apply_sum_sq(
                net.weights[i].as_slice_mut().expect("contiguous"),
                ws.grad_w[i].as_slice().expect("contiguous"),
                self.m_w[i].as_slice_mut().expect("contiguous"),
                self.v_w[i].as_slice_mut().expect("contiguous"),
                alpha,
            );
            c.apply(
                net.biases[i].as_slice_mut().expect("contiguous"),
                ws.grad_b[i].as_slice().expect("contiguous"),
                self.m_b[i].as_slice_mut().expect("contiguous"),
                self.v_b[i].as_slice_mut().expect("contiguous"),
                T::zero(),
            );
        }
        sum_sq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;
    use serde::Deserialize;
    use std::collections::BTreeSet;

    /// Standard normal draws (Box-Muller), deterministic for a seed.
    fn normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let u1: f64 = 1.0 - rng.random::<f64>();
                let u2: f64 = rng.random();
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect()
    }

    /// `n` rows around `k` centres drawn from `N(0, spread^2)` in `d` dimensions, unit noise.
    fn blobs(
        n: usize,
        d: usize,
        k: usize,
        spread: f64,
        seed: u64,
    ) -> (Array2<f64>, Vec<usize>, Array2<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres = Array2::from_shape_vec((k, d), normals(&mut rng, k * d)).unwrap() * spread;
        let (x, y) = sample_blobs(&centres, n, &mut rng);
        (x, y, centres)
    }

    fn sample_blobs(
        centres: &Array2<f64>,
        n: usize,
        rng: &mut ChaCha8Rng,
    ) -> (Array2<f64>, Vec<usize>) {
        let (k, d) = centres.dim();
        let y: Vec<usize> = (0..n).map(|i| i % k).collect();
        let noise = Array2::from_shape_vec((n, d), normals(rng, n * d)).unwrap();
        let x = Array2::from_shape_fn((n, d), |(r, c)| centres[[y[r], c]] + noise[[r, c]]);
        (x, y)
    }

    fn small_params() -> MlpParams {
        MlpParams {
            hidden_layers: vec![32, 16],
            ..MlpParams::default()
        }
    }

    use crate::models::accuracy as accuracy_of;

    /// Loss and gradients (with the L2 term, divided by the batch) at `net`.
    fn loss_and_grad(
        net: &Mlp,
        x: ArrayView2<'_, f64>,
        y: &[usize],
        alpha: f64,
        dropout: Option<(f64, u64)>,
    ) -> (f64, Vec<Array2<f64>>, Vec<Array1<f64>>) {
        let n = x.nrows();
        let net64 = Net::<f64>::from_mlp(net);
        let mut ws = Workspace::new(&net64, n);
        ws.xb.assign(&x);
        let mut rng = dropout.map(|(_, seed)| ChaCha8Rng::seed_from_u64(seed));
        let drop = dropout.map(|(p, _)| (p, rng.as_mut().unwrap()));
        let loss = ws.forward_backward(&net64, n, y, alpha, net64.sum_sq_weights(), drop);
        let gw = ws
            .grad_w
            .iter()
            .zip(&net.weights)
            .map(|(g, w)| (g + &(w * alpha)) / n as f64)
            .collect();
        let gb = ws.grad_b.iter().map(|g| g / n as f64).collect();
        (loss, gw, gb)
    }

    fn gradient_check(n_classes: usize, dropout: Option<(f64, u64)>) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (n, d) = (9, 5);
        let x = Array2::from_shape_vec((n, d), normals(&mut rng, n * d)).unwrap();
        let y: Vec<usize> = (0..n).map(|i| i % n_classes).collect();
        let net = Mlp::glorot(&[d, 4, 3, output_width(n_classes)], &mut rng);
        let alpha = 0.3;
        let (_, gw, gb) = loss_and_grad(&net, x.view(), &y, alpha, dropout);
        let h = 1e-5;
        let mut worst: f64 = 0.0;
        let mut compare = |analytic: f64, perturbed: &dyn Fn(f64) -> Mlp| {
            let plus = loss_and_grad(&perturbed(h), x.view(), &y, alpha, dropout).0;
            let minus = loss_and_grad(&perturbed(-h), x.view(), &y, alpha, dropout).0;
            let numeric = (plus - minus) / (2.0 * h);
            let rel = (analytic - numeric).abs() / (analytic.abs() + numeric.abs()).max(1e-6);
            worst = worst.max(rel);
        };
        for l in 0..net.weights.len() {
            for ((r, c), &g) in gw[l].indexed_iter() {
                compare(g, &|dh| {
                    let mut m = net.clone();
                    m.weights[l][[r, c]] += dh;
                    m
                });
            }
            for (j, &g) in gb[l].indexed_iter() {
                compare(g, &|dh| {
                    let mut m = net.clone();
                    m.biases[l][j] += dh;
                    m
                });
            }
        }
        worst
    }

    #[test]
    fn gradients_match_central_differences() {
        for (n_classes, dropout) in [(3, None), (2, None), (4, Some((0.3, 11)))] {
            let worst = gradient_check(n_classes, dropout);
            assert!(
                worst < 1e-6,
                "{n_classes} classes, dropout {dropout:?}: max relative error {worst:e}"
            );
        }
    }

    #[test]
    fn separates_gaussian_blobs() {
        // Well separated centres: with only 40 validation rows, early stopping (as scikit-learn's)
        // can stop a harder problem while the model is still underfit.
        let (x, y, centres) = blobs(400, 10, 4, 3.0, 0);
        let mut rng = ChaCha8Rng::seed_from_u64(1000);
        let (x_test, y_test) = sample_blobs(&centres, 400, &mut rng);
        let fitted = small_params().fit(x.view(), &y, 4).unwrap();
        let acc = accuracy_of(&fitted.model, x_test.view(), &y_test);
        assert!(acc >= 0.95, "held-out accuracy {acc}");
        let proba = fitted.model.predict_proba(x_test.view());
        for row in proba.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
    }

    /// f32 training follows f64 training from the same (rounded) weights, split and batches:
    /// the first epochs' losses agree to float32 rounding, and over seeds both reach the same
    /// held-out accuracy on a problem that is not trivially separable.
    #[test]
    fn f32_and_f64_fits_reach_the_same_accuracy() {
        let (x, y, centres) = blobs(600, 12, 4, 0.8, 21);
        let mut rng = ChaCha8Rng::seed_from_u64(2100);
        let (x_test, y_test) = sample_blobs(&centres, 2000, &mut rng);
        let mut mean = [0.0; 2];
        let seeds = [1, 2, 3, 4, 5];
        for seed in seeds {
            let fit = |precision| {
                MlpParams {
                    seed,
                    precision,
                    ..small_params()
                }
                .fit(x.view(), &y, 4)
                .unwrap()
            };
            let (single, double) = (fit(Precision::F32), fit(Precision::F64));
            for (a, b) in single.history.iter().zip(&double.history).take(3) {
                let rel = (a.loss - b.loss).abs() / b.loss;
                assert!(
                    rel < 1e-4,
                    "seed {seed} epoch {}: rel diff {rel:e}",
                    a.epoch
                );
            }
            mean[0] += accuracy_of(&single.model, x_test.view(), &y_test) / seeds.len() as f64;
            mean[1] += accuracy_of(&double.model, x_test.view(), &y_test) / seeds.len() as f64;
        }
        eprintln!(
            "held-out accuracy over seeds: f32 {:.4}, f64 {:.4}",
            mean[0], mean[1]
        );
        assert!(
            mean[1] > 0.7 && mean[1] < 0.99,
            "problem too easy or too hard: {mean:?}"
        );
        assert!(
            (mean[0] - mean[1]).abs() <= 0.01,
            "f32 {:.4} vs f64 {:.4}",
            mean[0],
            mean[1]
        );
    }

    #[test]
    fn two_classes_use_one_logistic_unit() {
        let (x, y, centres) = blobs(200, 6, 2, 1.5, 5);
        let fitted = small_params().fit(x.view(), &y, 2).unwrap();
        assert_eq!(fitted.model.layer_sizes(), vec![6, 32, 16, 1]);
        assert_eq!(fitted.model.n_classes(), 2);
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let (x_test, y_test) = sample_blobs(&centres, 200, &mut rng);
        let proba = fitted.model.predict_proba(x_test.view());
        assert_eq!(proba.ncols(), 2);
        for row in proba.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        assert!(accuracy_of(&fitted.model, x_test.view(), &y_test) >= 0.9);
    }

    #[test]
    fn fits_are_deterministic_per_seed() {
        let (x, y, _) = blobs(300, 8, 3, 1.0, 2);
        let mut models = Vec::new();
        for precision in [Precision::F32, Precision::F64] {
            let params = MlpParams {
                max_iter: 15,
                dropout: 0.2,
                precision,
                ..small_params()
            };
            let a = params.fit(x.view(), &y, 3).unwrap();
            // An owned matrix (freed by the fit once copied) fits the same model as a view.
            let b = params.fit_grouped(x.clone(), &y, 3, None).unwrap();
            let pa = a.model.predict_proba(x.view());
            let pb = b.model.predict_proba(x.view());
            assert!(pa
                .iter()
                .zip(pb.iter())
                .all(|(u, v)| u.to_bits() == v.to_bits()));
            assert_eq!(a.history, b.history);
            assert_eq!(a.model, b.model);

            let c = MlpParams { seed: 43, ..params }
                .fit(x.view(), &y, 3)
                .unwrap();
            assert_ne!(a.model.weights()[0], c.model.weights()[0]);
            models.push(a.model);
        }
        // f32 weights are f32 values stored as f64; the f64 fit's are not.
        assert!(models[0].weights()[0]
            .iter()
            .all(|&w| f64::from(w as f32) == w));
        assert_ne!(models[0], models[1]);
    }

    #[test]
    fn adam_update_is_the_same_at_every_vector_width() {
        fn check<T: Real>() {
            let mut rng = ChaCha8Rng::seed_from_u64(17);
            // Not a multiple of any vector width, so the scalar tail runs too.
            let len = 1003;
            let mut random = |scale: f64| -> Vec<T> {
                normals(&mut rng, len)
                    .into_iter()
                    .map(|v| T::cast(v * scale))
                    .collect()
            };
            let (params, raw, m) = (random(0.1), random(1.0), random(0.01));
            let v: Vec<T> = random(1e-3).into_iter().map(|x| x * x).collect();
            let step = AdamStep {
                beta_1: T::cast(0.9),
                beta_2: T::cast(0.999),
                epsilon: T::cast(1e-8),
                lr: T::cast(1e-3),
                n: T::cast(64.0),
            };
            let alpha = T::cast(1e-4);
            let (mut p1, mut m1, mut v1) = (params.clone(), m.clone(), v.clone());
            step.apply(&mut p1, &raw, &mut m1, &mut v1, alpha);
            let (mut p2, mut m2, mut v2) = (params, m, v);
            step.apply_portable(&mut p2, &raw, &mut m2, &mut v2, alpha);
            let bits = |x: &[T]| x.iter().map(|v| v.widen().to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&p1), bits(&p2));
            assert_eq!(bits(&m1), bits(&m2));
            assert_eq!(bits(&v1), bits(&v2));
        }
        check::<f32>();
        check::<f64>();
    }

    #[test]
    fn split_products_are_bit_identical() {
        fn check<T: Real>() {
            let mut rng = ChaCha8Rng::seed_from_u64(13);
            let (m, k, n) = (64, 300, 520);
            let mut random = |r, c| {
                Array2::from_shape_vec((r, c), normals(&mut rng, r * c))
                    .unwrap()
                    .mapv(T::cast)
            };
            let (a, b, d) = (random(m, k), random(k, n), random(m, n));
            let same = |u: &Array2<T>, v: &Array2<T>| {
                u.iter()
                    .zip(v.iter())
                    .all(|(p, q)| p.widen().to_bits() == q.widen().to_bits())
            };
            let mut whole = Array2::zeros((m, n));
            general_mat_mul(T::one(), &a, &b, T::zero(), &mut whole);
            let mut blocks = Array2::from_elem((m, n), T::nan());
            matmul_blocks(a.view(), b.view(), blocks.view_mut());
            assert!(same(&whole, &blocks));
            // A transposed operand, as in the backward pass: (k, m) x (m, n).
            let mut whole = Array2::zeros((k, n));
            general_mat_mul(T::one(), &a.t(), &d, T::zero(), &mut whole);
            let mut blocks = Array2::from_elem((k, n), T::nan());
            matmul_blocks(a.t(), d.view(), blocks.view_mut());
            assert!(same(&whole, &blocks));
        }
        check::<f32>();
        check::<f64>();
    }

    #[test]
    fn fits_do_not_depend_on_the_thread_count() {
        // Large enough that products and Adam updates are split into parallel blocks.
        let (x, y, _) = blobs(200, 256, 3, 0.3, 12);
        for precision in [Precision::F32, Precision::F64] {
            let params = MlpParams {
                hidden_layers: vec![256, 192],
                max_iter: 3,
                precision,
                ..MlpParams::default()
            };
            let fit_with = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| params.fit(x.view(), &y, 3).unwrap())
            };
            let (one, three) = (fit_with(1), fit_with(3));
            assert_eq!(one.model, three.model, "{precision:?}");
            assert_eq!(one.history, three.history, "{precision:?}");
        }
    }

    #[test]
    fn early_stopping_restores_the_best_weights() {
        let (x, y, _) = blobs(400, 10, 4, 0.6, 4);
        for precision in [Precision::F32, Precision::F64] {
            let params = MlpParams {
                max_iter: 500,
                precision,
                ..small_params()
            };
            let fitted = params.fit(x.view(), &y, 4).unwrap();
            let h = &fitted.history;
            assert!(fitted.stopped_early);
            assert!(h.len() < params.max_iter);
            assert!(h.len() <= fitted.best_epoch + params.n_iter_no_change + 1);
            assert!(h
                .iter()
                .enumerate()
                .all(|(i, e)| e.epoch == i + 1 && e.validation_accuracy.is_some()));
            let best = h
                .iter()
                .map(|e| e.validation_accuracy.unwrap())
                .fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(h[fitted.best_epoch - 1].validation_accuracy, Some(best));
            assert!(
                fitted.best_epoch < h.len(),
                "{precision:?}: the last epoch should not be the best on this problem"
            );

            // Recompute the validation split as `fit` draws it and score the returned model on
            // it, in the training precision.
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            let mut sizes = vec![10];
            sizes.extend(&params.hidden_layers);
            sizes.push(4);
            let _ = Mlp::glorot(&sizes, &mut rng);
            let (train, val) =
                stratified_split(&y, 4, params.validation_fraction, &mut rng).unwrap();
            assert_eq!((train.len(), val.len()), (360, 40));
            let y_val: Vec<usize> = val.iter().map(|&i| y[i]).collect();
            let score = match precision {
                Precision::F32 => validation_score::<f32>(&fitted.model, x.view(), &val, &y_val),
                Precision::F64 => {
                    let x_val = x.select(Axis(0), &val);
                    assert_eq!(accuracy_of(&fitted.model, x_val.view(), &y_val), best);
                    validation_score::<f64>(&fitted.model, x.view(), &val, &y_val)
                }
            };
            assert_eq!(score, best, "{precision:?}");
        }
    }

    /// Accuracy of `model` on rows `rows` of `x` as training scores it, in precision `T`.
    fn validation_score<T: Real>(
        model: &Mlp,
        x: ArrayView2<'_, f64>,
        rows: &[usize],
        y: &[usize],
    ) -> f64 {
        let net = Net::<T>::from_mlp(model);
        let x = gather_rows::<T>(x, rows);
        Scorer::new(&net, x.view(), y).accuracy(&net)
    }

    #[test]
    fn without_early_stopping_stops_on_training_loss() {
        let (x, y, _) = blobs(200, 6, 3, 2.0, 8);
        let params = MlpParams {
            early_stopping: false,
            max_iter: 400,
            ..small_params()
        };
        let fitted = params.fit(x.view(), &y, 3).unwrap();
        let h = &fitted.history;
        assert!(h.iter().all(|e| e.validation_accuracy.is_none()));
        assert_eq!(fitted.best_epoch, h.len());
        assert!(fitted.stopped_early, "ran all {} epochs", h.len());
        // Each of the last n_iter_no_change + 1 losses did not beat the best before it by tol.
        for j in h.len() - params.n_iter_no_change - 1..h.len() {
            let best_before = h[..j].iter().map(|e| e.loss).fold(f64::INFINITY, f64::min);
            assert!(h[j].loss > best_before - params.tol, "epoch {}", j + 1);
        }
    }

    #[test]
    fn grouped_split_holds_out_whole_groups_and_is_the_plain_split_for_singletons() {
        // 40 recordings of 4 classes, 1-5 rows each.
        let mut y = Vec::new();
        let mut groups = Vec::new();
        for g in 0..40usize {
            for _ in 0..1 + g % 5 {
                y.push(g % 4);
                groups.push(g);
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (train, val) = grouped_split(&y, &groups, 4, 0.1, &mut rng).unwrap();
        assert_eq!(train.len() + val.len(), y.len());
        let val_groups: BTreeSet<usize> = val.iter().map(|&i| groups[i]).collect();
        let train_groups: BTreeSet<usize> = train.iter().map(|&i| groups[i]).collect();
        assert!(val_groups.is_disjoint(&train_groups));
        // ceil(0.1 * 40) = 4 recordings held out, one per class.
        assert_eq!(val_groups.len(), 4);
        let classes: BTreeSet<usize> = val_groups.iter().map(|g| g % 4).collect();
        assert_eq!(classes.len(), 4);
        // One row per group: the rows' own split, draw for draw.
        let singletons: Vec<usize> = (0..y.len()).collect();
        let (a, b) = (
            grouped_split(&y, &singletons, 4, 0.1, &mut ChaCha8Rng::seed_from_u64(9)).unwrap(),
            stratified_split(&y, 4, 0.1, &mut ChaCha8Rng::seed_from_u64(9)).unwrap(),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn stratified_split_keeps_class_proportions() {
        let y: Vec<usize> = (0..1000)
            .map(|i| {
                if i % 10 < 5 {
                    0
                } else if i % 10 < 8 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (train, val) = stratified_split(&y, 4, 0.1, &mut rng).unwrap();
        assert_eq!((train.len(), val.len()), (900, 100));
        let count = |rows: &[usize], c| rows.iter().filter(|&&i| y[i] == c).count();
        assert_eq!(
            [
                count(&val, 0),
                count(&val, 1),
                count(&val, 2),
                count(&val, 3)
            ],
            [50, 30, 20, 0]
        );
        let mut all: Vec<usize> = train.iter().chain(&val).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(approximate_mode(&[3, 3, 3], 5), vec![2, 2, 1]);
        assert!(stratified_split(&y[..10], 4, 0.1, &mut rng).is_err());
    }

    #[test]
    fn safetensors_round_trip() {
        let (x, y, _) = blobs(120, 7, 3, 1.0, 9);
        let params = MlpParams {
            max_iter: 5,
            ..small_params()
        };
        let model = params.fit(x.view(), &y, 3).unwrap().model;
        let bytes = model.to_safetensors();
        // The same model is the same bytes, whatever order the metadata map iterates in.
        for _ in 0..20 {
            assert!(model.to_safetensors() == bytes);
        }
        let back = Mlp::from_safetensors(&bytes).unwrap();
        assert_eq!(back, model);
        assert_eq!(back.layer_sizes(), vec![7, 32, 16, 3]);
        let (p, q) = (model.predict_proba(x.view()), back.predict_proba(x.view()));
        assert!(p
            .iter()
            .zip(q.iter())
            .all(|(u, v)| u.to_bits() == v.to_bits()));

        let file = SafeTensors::deserialize(&bytes).unwrap();
        let mut names = file.names();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "layers.0.bias",
                "layers.0.weight",
                "layers.1.bias",
                "layers.1.weight",
                "layers.2.bias",
                "layers.2.weight"
            ]
        );
        let w1 = file.tensor("layers.1.weight").unwrap();
        assert_eq!((w1.dtype(), w1.shape()), (Dtype::F64, &[32usize, 16][..]));

        assert!(matches!(
            Mlp::from_safetensors(b"not a file"),
            Err(MlpError::Format(_))
        ));
        // A missing bias or an inconsistent chain of shapes is refused.
        let w = TensorView::new(Dtype::F64, vec![2, 3], &[0u8; 48]).unwrap();
        let only_weight = safetensors::serialize([("layers.0.weight", w.clone())], None).unwrap();
        assert!(matches!(
            Mlp::from_safetensors(&only_weight),
            Err(MlpError::Format(_))
        ));
        let b = TensorView::new(Dtype::F64, vec![3], &[0u8; 24]).unwrap();
        let chain = safetensors::serialize(
            [
                ("layers.0.weight", w.clone()),
                ("layers.0.bias", b.clone()),
                ("layers.1.weight", w),
                ("layers.1.bias", b),
            ],
            None,
        )
        .unwrap();
        assert!(matches!(
            Mlp::from_safetensors(&chain),
            Err(MlpError::Format(_))
        ));
    }

    #[test]
    fn check_names_the_bad_key() {
        let bad = |f: fn(&mut MlpParams)| {
            let mut p = MlpParams::default();
            f(&mut p);
            p.check().unwrap_err().key
        };
        assert!(MlpParams::default().check().is_ok());
        assert!(MlpParams {
            hidden_layers: vec![],
            ..MlpParams::default()
        }
        .check()
        .is_ok());
        assert_eq!(bad(|p| p.hidden_layers = vec![8, 0]), "mlp.hidden_layers");
        assert_eq!(
            bad(|p| p.validation_fraction = 0.0),
            "mlp.validation_fraction"
        );
        assert_eq!(
            bad(|p| p.validation_fraction = 1.0),
            "mlp.validation_fraction"
        );
        assert_eq!(bad(|p| p.batch_size = 0), "mlp.batch_size");
        assert_eq!(bad(|p| p.learning_rate = 0.0), "mlp.learning_rate");
        assert_eq!(bad(|p| p.learning_rate = -1e-3), "mlp.learning_rate");
        assert_eq!(bad(|p| p.learning_rate = f64::NAN), "mlp.learning_rate");
        assert_eq!(bad(|p| p.dropout = 1.0), "mlp.dropout");
        assert_eq!(bad(|p| p.dropout = -0.1), "mlp.dropout");
        assert_eq!(bad(|p| p.beta_2 = 1.0), "mlp.beta_2");
        assert_eq!(bad(|p| p.alpha = -1.0), "mlp.alpha");
        assert_eq!(bad(|p| p.max_iter = 0), "mlp.max_iter");
        assert_eq!(bad(|p| p.n_iter_no_change = 0), "mlp.n_iter_no_change");
        assert_eq!(bad(|p| p.epsilon = 0.0), "mlp.epsilon");
        assert_eq!(bad(|p| p.tol = -1.0), "mlp.tol");

        // fit checks too, and refuses unusable data.
        let x = Array2::<f64>::zeros((20, 3));
        let y = vec![0usize; 20];
        let p = MlpParams {
            batch_size: 0,
            ..MlpParams::default()
        };
        assert!(
            matches!(p.fit(x.view(), &y, 2), Err(MlpError::Param(e)) if e.key == "mlp.batch_size")
        );
        let p = MlpParams::default();
        assert!(matches!(
            p.fit(x.view(), &y[..19], 2),
            Err(MlpError::Data(_))
        ));
        assert!(matches!(p.fit(x.view(), &y, 1), Err(MlpError::Data(_))));
        assert!(matches!(
            p.fit(x.view(), &[5; 20], 3),
            Err(MlpError::Data(_))
        ));
        let mut nan = x.clone();
        nan[[3, 1]] = f64::NAN;
        assert!(matches!(p.fit(nan.view(), &y, 2), Err(MlpError::Data(_))));
    }

    #[test]
    fn params_deserialize_with_defaults_and_refuse_unknown_keys() {
        let p: MlpParams =
            serde_json::from_str(r#"{"hidden_layers": [64], "dropout": 0.25}"#).unwrap();
        assert_eq!(
            p,
            MlpParams {
                hidden_layers: vec![64],
                dropout: 0.25,
                ..MlpParams::default()
            }
        );
        assert!(serde_json::from_str::<MlpParams>(r#"{"hidden_layer_sizes": [64]}"#).is_err());
    }

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/sklearn_mlp/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (see tools/reference/sklearn_mlp.py)"))
    }

    fn to_array(rows: &[Vec<f64>]) -> Array2<f64> {
        let (n, d) = (rows.len(), rows[0].len());
        Array2::from_shape_vec((n, d), rows.concat()).unwrap()
    }

    #[derive(Deserialize)]
    struct TrajectoryCase {
        name: String,
        n_classes: usize,
        hidden_layers: Vec<usize>,
        alpha: f64,
        batch_size: usize,
        epochs: usize,
        x: Vec<Vec<f64>>,
        y: Vec<usize>,
        init_weights: Vec<Vec<Vec<f64>>>,
        init_biases: Vec<Vec<f64>>,
        loss_curve: Vec<f64>,
        final_proba: Vec<Vec<f64>>,
    }

    /// From scikit-learn's own initial weights, without shuffling or early stopping (so no
    /// random draw is involved), training follows scikit-learn's path: same loss every epoch and
    /// the same final probabilities, up to floating-point summation order.
    #[test]
    fn follows_sklearn_trajectory_from_the_same_weights() {
        #[derive(Deserialize)]
        struct File {
            cases: Vec<TrajectoryCase>,
        }
        let file: File = serde_json::from_str(&fixture("trajectory.json")).unwrap();
        assert_eq!(file.cases.len(), 2);
        for case in file.cases {
            let x = to_array(&case.x);
            let init = Mlp {
                weights: case.init_weights.iter().map(|w| to_array(w)).collect(),
                biases: case
                    .init_biases
                    .iter()
                    .map(|b| Array1::from_vec(b.clone()))
                    .collect(),
            };
            let params = MlpParams {
                hidden_layers: case.hidden_layers.clone(),
                alpha: case.alpha,
                batch_size: case.batch_size,
                max_iter: case.epochs,
                n_iter_no_change: case.epochs + 1,
                shuffle: false,
                early_stopping: false,
                precision: Precision::F64,
                ..MlpParams::default()
            };
            let mut sizes = vec![x.ncols()];
            sizes.extend(&case.hidden_layers);
            sizes.push(output_width(case.n_classes));
            assert_eq!(init.layer_sizes(), sizes, "{}", case.name);
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let fitted = params.train(
                Net::<f64>::from_mlp(&init),
                x.view(),
                &case.y,
                None,
                &mut rng,
            );
            assert_eq!(fitted.history.len(), case.epochs);
            let mut worst_loss: f64 = 0.0;
            for (ours, theirs) in fitted.history.iter().zip(&case.loss_curve) {
                worst_loss = worst_loss.max((ours.loss - theirs).abs() / theirs.abs());
            }
            let proba = fitted.model.predict_proba(x.view());
            let expected = to_array(&case.final_proba);
            let worst_proba = (&proba - &expected)
                .mapv(f64::abs)
                .fold(0.0f64, |a, &b| a.max(b));
            eprintln!(
                "{}: loss rel err {worst_loss:e}, proba abs err {worst_proba:e}",
                case.name
            );
            assert!(
                worst_loss < 1e-9,
                "{}: loss curve differs by {worst_loss:e}",
                case.name
            );
            assert!(
                worst_proba < 1e-9,
                "{}: probabilities differ by {worst_proba:e}",
                case.name
            );
        }
    }

    /// On a fixed 8-class problem, the default recipe (adam, early stopping) reaches
    /// scikit-learn's test accuracy: mean over the same 20 seeds within 3 points.
    #[test]
    fn matches_sklearn_accuracy_on_a_fixed_problem() {
        #[derive(Deserialize)]
        struct File {
            n_classes: usize,
            hidden_layers: Vec<usize>,
            seeds: Vec<u64>,
            x_train: Vec<Vec<f64>>,
            y_train: Vec<usize>,
            x_test: Vec<Vec<f64>>,
            y_test: Vec<usize>,
            sklearn_mean_accuracy: f64,
        }
        let f: File = serde_json::from_str(&fixture("accuracy.json")).unwrap();
        let (x, x_test) = (to_array(&f.x_train), to_array(&f.x_test));
        // scikit-learn trained in float64 (the fixture's input); both our precisions are held to
        // the same 3-point bound.
        for precision in [Precision::F32, Precision::F64] {
            let accuracies: Vec<f64> = f
                .seeds
                .iter()
                .map(|&seed| {
                    let params = MlpParams {
                        hidden_layers: f.hidden_layers.clone(),
                        seed,
                        precision,
                        ..MlpParams::default()
                    };
                    let fitted = params.fit(x.view(), &f.y_train, f.n_classes).unwrap();
                    accuracy_of(&fitted.model, x_test.view(), &f.y_test)
                })
                .collect();
            let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
            eprintln!(
                "ours ({precision:?}) {mean:.4} {accuracies:?}, scikit-learn {:.4}",
                f.sklearn_mean_accuracy
            );
            assert!(
                (mean - f.sklearn_mean_accuracy).abs() <= 0.03,
                "{precision:?}: mean accuracy {mean:.4} vs scikit-learn {:.4}",
                f.sklearn_mean_accuracy
            );
        }
    }

    /// Prints the time of one fit of the pipeline's size (not a pass/fail check):
    /// `cargo test --release --lib models::mlp::tests::timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timing_1000x180_512_256_128() {
        let (x, y, _) = blobs(1000, 180, 8, 0.3, 10);
        for precision in [Precision::F32, Precision::F64] {
            for early_stopping in [false, true] {
                let params = MlpParams {
                    max_iter: 50,
                    n_iter_no_change: 1000,
                    early_stopping,
                    precision,
                    ..MlpParams::default()
                };
                let start = std::time::Instant::now();
                let fitted = params.fit(x.view(), &y, 8).unwrap();
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "MLP fit 1000x180, hidden [512, 256, 128], {precision:?}, early_stopping {early_stopping}: {} epochs in {secs:.3} s ({:.1} ms/epoch), final loss {:.4}",
                    fitted.history.len(),
                    secs * 1e3 / fitted.history.len() as f64,
                    fitted.history.last().unwrap().loss
                );
            }
        }
    }
}
