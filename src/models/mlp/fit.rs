//! Fitting: [`MlpParams::fit`] and [`MlpParams::fit_grouped`] check the data, draw the initial
//! weights and the validation split, and run the epoch loop: shuffled mini-batches through the
//! forward and backward passes and an Adam step each, the epoch's mean loss, and the
//! early-stopping rule (more than `n_iter_no_change` epochs without an improvement by `tol`, on
//! the validation accuracy, else on the training loss).

use ndarray::{Array2, ArrayView2, CowArray, Ix2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::model::Mlp;
use super::network::{Net, Real, Workspace};
use super::optim::Adam;
use super::params::{MlpParams, Precision};
use super::validation::{grouped_split, stratified_split, Scorer};
use super::{Fitted, MlpError};
use crate::models::Epoch;

impl MlpParams {
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
    pub(super) fn train<T: Real>(
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
pub(super) fn output_width(n_classes: usize) -> usize {
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

/// Rows `rows` of `x`, in that order, converted to `T`.
pub(super) fn gather_rows<T: Real>(x: ArrayView2<'_, f64>, rows: &[usize]) -> Array2<T> {
    let mut out = Array2::zeros((rows.len(), x.ncols()));
    for (mut dst, &i) in out.rows_mut().into_iter().zip(rows) {
        dst.zip_mut_with(&x.row(i), |d, &v| *d = T::cast(v));
    }
    out
}
