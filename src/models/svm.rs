//! An RBF-kernel support vector classifier with scikit-learn `SVC(kernel="rbf")` semantics
//! (libsvm's C-SVC), written here: one binary SVM per pair of classes (one-vs-one, as libsvm
//! and scikit-learn), each solved exactly by SMO with libsvm's second-order working-set
//! selection (WSS3, Fan, Chen & Lin 2005) over the pair's precomputed kernel matrix.
//!
//! Why not smartcore's `svm::svc::SVC`: it is an online LaSVM-style solver (a fixed number of
//! passes, not run to a KKT tolerance) with a `HashMap` kernel cache, and its prediction
//! allocates per support vector. On 1000 synthetic standardised rows x 360 features, 8 classes
//! (`speed_probe_against_smartcore`, ignored test), smartcore's one-vs-one `MultiClassSVC` took
//! 22.5 s to fit and 15.3 s to predict its training rows; this solver fits in 0.03 s. Ours
//! follows libsvm's iterations, so its decision values match scikit-learn's to about 1e-7
//! (`tests/svm_parity.rs`). Each pair's kernel matrix is computed whole, so there is no kernel
//! cache policy and no shrinking. The cost is memory quadratic in the largest pair's rows
//! (8 l^2 bytes, twice that with probabilities): 11.5 MB at l = 1,200, about a pair of RAVDESS
//! classes' training rows in 1 s segments; tens of thousands of rows per pair would need a
//! real kernel cache.
//!
//! Decision and probabilities:
//! - [`Svm::decision_ovo`]: the pairwise decision values, `(n, k(k-1)/2)` in the order (0,1),
//!   (0,2), ..., (k-2,k-1); positive means the first class of the pair (scikit-learn's
//!   `decision_function_shape="ovo"`).
//! - [`Svm::decision_function`]: scikit-learn's `decision_function_shape="ovr"` shape: each
//!   class's one-vs-one votes plus its summed confidences squashed into (-1/3, 1/3), so the
//!   votes decide and the confidences only break vote ties.
//! - `predict_proba`: the softmax of that decision. It is **not** calibrated (no Platt scaling,
//!   no pairwise coupling), but its argmax is the decision's argmax, which is scikit-learn's
//!   `SVC.predict` except on vote ties, where scikit-learn takes the first tied class and this
//!   takes the more confident one (scikit-learn's `break_ties=True`).

use std::collections::HashMap;
use std::fmt;

use ndarray::{Array2, ArrayView2, Axis};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use super::{check_targets, Classifier, ParamError};

/// libsvm's `TAU`: the curvature used when a pair's is not positive.
const TAU: f64 = 1e-12;

/// The RBF kernel width, `K(a, b) = exp(-gamma * |a - b|^2)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gamma {
    /// `1 / (n_features * X.var())` of the training matrix (all entries pooled; 1 when the
    /// variance is 0), scikit-learn's default `gamma="scale"`.
    Scale,
    /// `1 / n_features`, scikit-learn's `gamma="auto"`.
    Auto,
    /// A fixed value > 0.
    Value(f64),
}

impl Gamma {
    /// The numeric gamma for a training matrix.
    pub fn resolve(self, x: ArrayView2<'_, f64>) -> f64 {
        let d = x.ncols().max(1) as f64;
        match self {
            Gamma::Value(g) => g,
            Gamma::Auto => 1.0 / d,
            Gamma::Scale => {
                // numpy's X.var(): the mean squared deviation from the mean of all entries.
                let n = x.len().max(1) as f64;
                let mean = x.iter().sum::<f64>() / n;
                let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                if var > 0.0 {
                    1.0 / (d * var)
                } else {
                    1.0
                }
            }
        }
    }
}

impl Serialize for Gamma {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Gamma::Scale => s.serialize_str("scale"),
            Gamma::Auto => s.serialize_str("auto"),
            Gamma::Value(v) => s.serialize_f64(*v),
        }
    }
}

impl<'de> Deserialize<'de> for Gamma {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Gamma, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Gamma;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("models.svm.gamma: \"scale\", \"auto\" or a number > 0")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Gamma, E> {
                match v {
                    "scale" => Ok(Gamma::Scale),
                    "auto" => Ok(Gamma::Auto),
                    other => Err(E::custom(format!(
                        "models.svm.gamma: expected \"scale\", \"auto\" or a number > 0, got {other:?}"
                    ))),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Gamma, E> {
                Ok(Gamma::Value(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Gamma, E> {
                Ok(Gamma::Value(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Gamma, E> {
                Ok(Gamma::Value(v as f64))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `[models.svm]`: scikit-learn `SVC(kernel="rbf", C=c, gamma=gamma, tol=tol,
/// max_iter=max_iter)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SvmParams {
    /// Penalty of margin violations (`C`). Default 10.0 (scikit-learn's default is 1.0; 10 is
    /// better on our features).
    pub c: f64,
    /// Kernel width: `"scale"` (default), `"auto"` or a number > 0.
    pub gamma: Gamma,
    /// Stopping tolerance on the KKT violation (libsvm's `eps`). Default 1e-3.
    pub tol: f64,
    /// Iteration cap of each pairwise solver; unset (default): libsvm's own,
    /// `max(10^7, 100 * rows)`. A solver that hits it logs a warning and keeps its solution.
    pub max_iter: Option<u64>,
    /// Calibrated probabilities, as scikit-learn's `probability=True` (libsvm `-b 1`): each
    /// pair's decision values are mapped through a sigmoid (Platt scaling) fitted on 5-fold
    /// cross-validated decision values of the training rows, and the pairwise probabilities
    /// are coupled into class probabilities (Wu, Lin & Weng's second method). Costs five more
    /// solves per pair. Default false: the softmax of the decision function.
    pub probability: bool,
    /// Seed of the folds of the probability cross-validation. Default 0.
    pub seed: u64,
}

impl Default for SvmParams {
    fn default() -> Self {
        SvmParams {
            c: 10.0,
            gamma: Gamma::Scale,
            tol: 1e-3,
            max_iter: None,
            probability: false,
            seed: 0,
        }
    }
}

/// The outcome of one binary solve.
struct Solution {
    /// `alpha_i` in `[0, C]`.
    alpha: Vec<f64>,
    rho: f64,
    iterations: u64,
    converged: bool,
}

impl SvmParams {
    pub fn check(&self) -> Result<(), ParamError> {
        if !(self.c > 0.0 && self.c.is_finite()) {
            return Err(ParamError::new(
                "models.svm.c",
                format!("must be a finite number > 0, got {}", self.c),
            ));
        }
        if let Gamma::Value(g) = self.gamma {
            if !(g > 0.0 && g.is_finite()) {
                return Err(ParamError::new(
                    "models.svm.gamma",
                    format!("must be \"scale\", \"auto\" or a finite number > 0, got {g}"),
                ));
            }
        }
        if !(self.tol > 0.0 && self.tol.is_finite()) {
            return Err(ParamError::new(
                "models.svm.tol",
                format!("must be a finite number > 0, got {}", self.tol),
            ));
        }
        if self.max_iter == Some(0) {
            return Err(ParamError::new("models.svm.max_iter", "must be >= 1"));
        }
        Ok(())
    }

    /// Fits one binary SVM per pair of classes on `x` (standardised rows) and `y` (class ids
    /// `0..n_classes`, each present).
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[usize],
        n_classes: usize,
    ) -> Result<Svm, ParamError> {
        self.check()?;
        check_targets(y, n_classes, "svm")?;
        if x.nrows() != y.len() {
            return Err(ParamError::new(
                "svm",
                format!("{} rows but {} labels", x.nrows(), y.len()),
            ));
        }
        let gamma = self.gamma.resolve(x);
        // Rows of each class in data order: libsvm's (stable) grouping by class.
        let by_class: Vec<Vec<usize>> = (0..n_classes)
            .map(|c| (0..y.len()).filter(|&i| y[i] == c).collect())
            .collect();
        let mut coef_of: Vec<HashMap<usize, f64>> = Vec::new();
        let mut rho = Vec::new();
        let (mut prob_a, mut prob_b) = (Vec::new(), Vec::new());
        let mut is_sv = vec![false; y.len()];
        for i in 0..n_classes {
            for j in i + 1..n_classes {
                let rows: Vec<usize> = by_class[i].iter().chain(&by_class[j]).copied().collect();
                let signs: Vec<f64> = rows
                    .iter()
                    .map(|&r| if y[r] == i { 1.0 } else { -1.0 })
                    .collect();
                let l = rows.len();
                let max_iter = self
                    .max_iter
                    .unwrap_or_else(|| 10_000_000u64.max(100 * l as u64));
                // The pair's kernel block, computed for this pair alone: memory stays at one
                // pair's square (the whole Gram matrix of thousands of segment rows would not),
                // for about 1.75 times the kernel evaluations of the whole matrix over all pairs.
                let xp = x.select(Axis(0), &rows);
                let k = rbf_kernel(xp.view(), xp.view(), gamma);
                debug_assert!(k.is_standard_layout());
                let (mut q, _) = k.into_raw_vec_and_offset();
                for (a, qa) in q.chunks_exact_mut(l).enumerate() {
                    for (v, &sb) in qa.iter_mut().zip(&signs) {
                        *v *= signs[a] * sb;
                    }
                }
                let sol = solve_c_svc(&q, &signs, self.c, self.tol, max_iter);
                if self.probability {
                    let seed = self.seed ^ (((i as u64) << 32) | j as u64);
                    let dec = self.cross_validated_decisions(&q, &signs, max_iter, seed);
                    let (a, b) = sigmoid_train(&dec, &signs);
                    prob_a.push(a);
                    prob_b.push(b);
                }
                if !sol.converged {
                    log::warn!(
                        "svm: classes {i} vs {j}: stopped at max_iter {} before reaching tol {} \
                         (as scikit-learn's ConvergenceWarning)",
                        sol.iterations,
                        self.tol
                    );
                }
                let mut coef = HashMap::new();
                for (a, &r) in rows.iter().enumerate() {
                    if sol.alpha[a] > 0.0 {
                        is_sv[r] = true;
                        coef.insert(r, sol.alpha[a] * signs[a]);
                    }
                }
                coef_of.push(coef);
                rho.push(sol.rho);
            }
        }
        // Support vectors grouped by class (class order, data order within), scikit-learn's
        // `support_` order, and its `dual_coef_` layout: for the pair (i, j), the coefficients
        // of class i's vectors are in row j-1, those of class j's in row i.
        let support: Vec<usize> = by_class
            .iter()
            .flat_map(|rows| rows.iter().copied().filter(|&r| is_sv[r]))
            .collect();
        let n_support: Vec<usize> = by_class
            .iter()
            .map(|rows| rows.iter().filter(|&&r| is_sv[r]).count())
            .collect();
        let position: HashMap<usize, usize> =
            support.iter().enumerate().map(|(p, &r)| (r, p)).collect();
        let mut dual_coef = Array2::zeros((n_classes - 1, support.len()));
        let mut p = 0;
        for i in 0..n_classes {
            for j in i + 1..n_classes {
                for (&r, &c) in &coef_of[p] {
                    let row = if y[r] == i { j - 1 } else { i };
                    dual_coef[[row, position[&r]]] = c;
                }
                p += 1;
            }
        }
        Ok(Svm {
            gamma,
            support_vectors: x.select(Axis(0), &support),
            n_support,
            dual_coef,
            intercept: rho.iter().map(|r| -r).collect(),
            prob_a,
            prob_b,
        })
    }

    /// libsvm's `svm_binary_svc_probability` decision values: the pair's rows (labels
    /// `signs`, signed kernel `q`, row-major `l x l`) shuffled and cut into 5 folds; each
    /// fold's decision values come from a solve on the other four (a fold whose training part
    /// has one label only gets +-1).
    fn cross_validated_decisions(
        &self,
        q: &[f64],
        signs: &[f64],
        max_iter: u64,
        seed: u64,
    ) -> Vec<f64> {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        const FOLDS: usize = 5;
        let l = signs.len();
        let mut perm: Vec<usize> = (0..l).collect();
        perm.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        let mut dec = vec![0.0; l];
        for f in 0..FOLDS {
            let (begin, end) = (f * l / FOLDS, (f + 1) * l / FOLDS);
            let train: Vec<usize> = perm[..begin].iter().chain(&perm[end..]).copied().collect();
            let held = &perm[begin..end];
            let ys: Vec<f64> = train.iter().map(|&a| signs[a]).collect();
            let positives = ys.iter().filter(|&&v| v > 0.0).count();
            if positives == 0 || positives == ys.len() {
                let v = if ys.is_empty() {
                    0.0
                } else if positives > 0 {
                    1.0
                } else {
                    -1.0
                };
                held.iter().for_each(|&h| dec[h] = v);
                continue;
            }
            let m = train.len();
            let mut sub = vec![0.0; m * m];
            for (a, &ra) in train.iter().enumerate() {
                let row = &q[ra * l..(ra + 1) * l];
                for (dst, &rb) in sub[a * m..(a + 1) * m].iter_mut().zip(&train) {
                    *dst = row[rb];
                }
            }
            let sol = solve_c_svc(&sub, &ys, self.c, self.tol, max_iter);
            // q[h][t] = s_h s_t K(h, t), so alpha_t s_t K(h, t) = s_h alpha_t q[h][t].
            let support: Vec<(usize, f64)> = train
                .iter()
                .zip(&sol.alpha)
                .filter(|(_, &a)| a > 0.0)
                .map(|(&t, &a)| (t, a))
                .collect();
            for &h in held {
                let row = &q[h * l..(h + 1) * l];
                let sum: f64 = support.iter().map(|&(t, a)| a * row[t]).sum();
                dec[h] = signs[h] * sum - sol.rho;
            }
        }
        dec
    }
}

/// libsvm's `sigmoid_train` (Platt scaling with Lin, Lin & Weng's Newton method): `A`, `B` of
/// `P(+1 | f) = 1 / (1 + exp(A f + B))` fitted to decision values `dec` with labels `signs`
/// (+1 / -1), using Platt's regularised targets.
fn sigmoid_train(dec: &[f64], signs: &[f64]) -> (f64, f64) {
    let prior1 = signs.iter().filter(|&&s| s > 0.0).count() as f64;
    let prior0 = signs.len() as f64 - prior1;
    let (max_iter, min_step, sigma, eps) = (100, 1e-10, 1e-12, 1e-5);
    let hi = (prior1 + 1.0) / (prior1 + 2.0);
    let lo = 1.0 / (prior0 + 2.0);
    let t: Vec<f64> = signs
        .iter()
        .map(|&s| if s > 0.0 { hi } else { lo })
        .collect();
    let objective = |a: f64, b: f64| -> f64 {
        dec.iter()
            .zip(&t)
            .map(|(&d, &ti)| {
                let f = d * a + b;
                if f >= 0.0 {
                    ti * f + (-f).exp().ln_1p()
                } else {
                    (ti - 1.0) * f + f.exp().ln_1p()
                }
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
    let mut fval = objective(a, b);
    for _ in 0..max_iter {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
        for (&d, &ti) in dec.iter().zip(&t) {
            let f = d * a + b;
            let (p, q) = if f >= 0.0 {
                let e = (-f).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = f.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += d * d * d2;
            h22 += d2;
            h21 += d * d2;
            let d1 = ti - p;
            g1 += d * d1;
            g2 += d1;
        }
        if g1.abs() < eps && g2.abs() < eps {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= min_step {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf < fval + 1e-4 * step * gd {
                (a, b, fval) = (na, nb, nf);
                break;
            }
            step /= 2.0;
        }
        if step < min_step {
            log::debug!("svm: line search failed in the probability sigmoid fit");
            break;
        }
    }
    (a, b)
}

/// libsvm's `sigmoid_predict`: `1 / (1 + exp(A f + B))`, evaluated without cancellation.
fn sigmoid_predict(f: f64, a: f64, b: f64) -> f64 {
    let z = f * a + b;
    if z >= 0.0 {
        let e = (-z).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + z.exp())
    }
}

/// libsvm's `multiclass_probability` (Wu, Lin & Weng 2004, method 2): class probabilities `p`
/// from pairwise ones, `r[i][j]` = P(i | i or j) (row-major `k x k`).
fn multiclass_probability(k: usize, r: &[f64]) -> Vec<f64> {
    let mut q = vec![0.0; k * k];
    for t in 0..k {
        for j in 0..k {
            if j != t {
                q[t * k + t] += r[j * k + t] * r[j * k + t];
                q[t * k + j] = -r[j * k + t] * r[t * k + j];
            }
        }
    }
    let mut p = vec![1.0 / k as f64; k];
    let mut qp = vec![0.0; k];
    let eps = 0.005 / k as f64;
    for _ in 0..100.max(k) {
        let mut pqp = 0.0;
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t * k + j] * p[j]).sum();
            pqp += p[t] * qp[t];
        }
        let max_error = qp.iter().map(|v| (v - pqp).abs()).fold(0.0, f64::max);
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}

/// `exp(-gamma * |a_i - b_j|^2)` for every row pair, `(a.nrows(), b.nrows())`.
fn rbf_kernel(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, gamma: f64) -> Array2<f64> {
    let sq =
        |m: ArrayView2<'_, f64>| -> Vec<f64> { m.rows().into_iter().map(|r| r.dot(&r)).collect() };
    let (sa, sb) = (sq(a), sq(b));
    let mut k = a.dot(&b.t());
    for ((i, j), v) in k.indexed_iter_mut() {
        // The expanded form can go slightly negative by rounding.
        let d2 = (sa[i] + sb[j] - 2.0 * *v).max(0.0);
        *v = (-gamma * d2).exp();
    }
    k
}

/// libsvm's `Solver::Solve` for C-SVC without shrinking: minimise
/// `0.5 a'Qa - sum(a)` subject to `y'a = 0`, `0 <= a <= C`, where `q` is the row-major
/// `y_i y_j K_ij`; stops when the maximal KKT violation is below `eps`.
fn solve_c_svc(q: &[f64], y: &[f64], c: f64, eps: f64, max_iter: u64) -> Solution {
    let l = y.len();
    let mut alpha = vec![0.0; l];
    // The gradient Q a - 1, at a = 0.
    let mut g = vec![-1.0; l];
    let qd: Vec<f64> = (0..l).map(|i| q[i * l + i]).collect();
    let upper = |a: f64| a >= c;
    let lower = |a: f64| a <= 0.0;
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        // Working set selection 3: i maximises the violation, j the second-order decrease.
        let mut gmax = f64::NEG_INFINITY;
        let mut gmax2 = f64::NEG_INFINITY;
        let mut gmax_idx = None;
        for t in 0..l {
            if y[t] > 0.0 {
                if !upper(alpha[t]) && -g[t] >= gmax {
                    gmax = -g[t];
                    gmax_idx = Some(t);
                }
            } else if !lower(alpha[t]) && g[t] >= gmax {
                gmax = g[t];
                gmax_idx = Some(t);
            }
        }
        let mut gmin_idx = None;
        let mut obj_diff_min = f64::INFINITY;
        if let Some(i) = gmax_idx {
            let q_i = &q[i * l..(i + 1) * l];
            for jj in 0..l {
                let (grad_diff, quad_coef) = if y[jj] > 0.0 {
                    if lower(alpha[jj]) {
                        continue;
                    }
                    gmax2 = gmax2.max(g[jj]);
                    (gmax + g[jj], qd[i] + qd[jj] - 2.0 * y[i] * q_i[jj])
                } else {
                    if upper(alpha[jj]) {
                        continue;
                    }
                    gmax2 = gmax2.max(-g[jj]);
                    (gmax - g[jj], qd[i] + qd[jj] + 2.0 * y[i] * q_i[jj])
                };
                if grad_diff > 0.0 {
                    let curvature = if quad_coef > 0.0 { quad_coef } else { TAU };
                    let obj_diff = -(grad_diff * grad_diff) / curvature;
                    if obj_diff <= obj_diff_min {
                        gmin_idx = Some(jj);
                        obj_diff_min = obj_diff;
                    }
                }
            }
        }
        let (i, j) = match (gmax_idx, gmin_idx) {
            (Some(i), Some(j)) if gmax + gmax2 >= eps => (i, j),
            _ => {
                converged = true;
                break;
            }
        };
        iterations += 1;

        // The analytic two-variable update, clipped to the box (libsvm's, verbatim).
        let q_i = &q[i * l..(i + 1) * l];
        let q_j = &q[j * l..(j + 1) * l];
        let (old_i, old_j) = (alpha[i], alpha[j]);
        if y[i] != y[j] {
            let raw = qd[i] + qd[j] + 2.0 * q_i[j];
            let quad = if raw <= 0.0 { TAU } else { raw };
            let delta = (-g[i] - g[j]) / quad;
            let diff = alpha[i] - alpha[j];
            alpha[i] += delta;
            alpha[j] += delta;
            if diff > 0.0 {
                if alpha[j] < 0.0 {
                    alpha[j] = 0.0;
                    alpha[i] = diff;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = -diff;
            }
            if diff > 0.0 {
                // C_i - C_j = 0: both bounds are C.
                if alpha[i] > c {
                    alpha[i] = c;
                    alpha[j] = c - diff;
                }
            } else if alpha[j] > c {
                alpha[j] = c;
                alpha[i] = c + diff;
            }
        } else {
            let raw = qd[i] + qd[j] - 2.0 * q_i[j];
            let quad = if raw <= 0.0 { TAU } else { raw };
            let delta = (g[i] - g[j]) / quad;
            let sum = alpha[i] + alpha[j];
            alpha[i] -= delta;
            alpha[j] += delta;
            if sum > c {
                if alpha[i] > c {
                    alpha[i] = c;
                    alpha[j] = sum - c;
                }
            } else if alpha[j] < 0.0 {
                alpha[j] = 0.0;
                alpha[i] = sum;
            }
            if sum > c {
                if alpha[j] > c {
                    alpha[j] = c;
                    alpha[i] = sum - c;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = sum;
            }
        }
        let (di, dj) = (alpha[i] - old_i, alpha[j] - old_j);
        for (k, gk) in g.iter_mut().enumerate() {
            *gk += q_i[k] * di + q_j[k] * dj;
        }
    }

    // rho: the mean of y_i G_i over free vectors, else the middle of the feasible interval.
    let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut n_free, mut sum_free) = (0usize, 0.0);
    for t in 0..l {
        let yg = y[t] * g[t];
        if upper(alpha[t]) {
            if y[t] < 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else if lower(alpha[t]) {
            if y[t] > 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else {
            n_free += 1;
            sum_free += yg;
        }
    }
    let rho = if n_free > 0 {
        sum_free / n_free as f64
    } else {
        (ub + lb) / 2.0
    };
    Solution {
        alpha,
        rho,
        iterations,
        converged,
    }
}

/// A fitted one-vs-one RBF SVM, in scikit-learn's `SVC` layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Svm {
    /// The kernel width used (`gamma="scale"` resolved on the training rows).
    pub gamma: f64,
    /// `(n_sv, n_features)`, grouped by class (`support_vectors_`).
    pub support_vectors: Array2<f64>,
    /// Support vectors per class (`n_support_`).
    pub n_support: Vec<usize>,
    /// `(n_classes - 1, n_sv)`: `alpha_i * y_i` (`dual_coef_`; see [`SvmParams::fit`]).
    pub dual_coef: Array2<f64>,
    /// One per pair (0,1), (0,2), ...: `-rho` (`intercept_`).
    pub intercept: Vec<f64>,
    /// With `probability`: per pair, the sigmoid `A` and `B` of Platt scaling (`probA_`,
    /// `probB_`); empty otherwise.
    pub prob_a: Vec<f64>,
    pub prob_b: Vec<f64>,
}

impl Svm {
    pub fn n_classes(&self) -> usize {
        self.n_support.len()
    }

    /// Pairwise decision values `(n, k(k-1)/2)`; positive favours the pair's first class.
    pub fn decision_ovo(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let k = self.n_classes();
        let kx = rbf_kernel(x, self.support_vectors.view(), self.gamma);
        let mut start = vec![0; k + 1];
        for c in 0..k {
            start[c + 1] = start[c] + self.n_support[c];
        }
        let mut out = Array2::zeros((x.nrows(), k * (k - 1) / 2));
        let mut p = 0;
        for i in 0..k {
            for j in i + 1..k {
                for (r, kr) in kx.rows().into_iter().enumerate() {
                    let mut s = self.intercept[p];
                    for t in start[i]..start[i + 1] {
                        s += self.dual_coef[[j - 1, t]] * kr[t];
                    }
                    for t in start[j]..start[j + 1] {
                        s += self.dual_coef[[i, t]] * kr[t];
                    }
                    out[[r, p]] = s;
                }
                p += 1;
            }
        }
        out
    }

    /// scikit-learn's `decision_function` with `decision_function_shape="ovr"`
    /// (`sklearn.utils.multiclass._ovr_decision_function`): votes plus
    /// `s / (3 (|s| + 1))` of each class's summed pairwise confidence `s`.
    pub fn decision_function(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let k = self.n_classes();
        let ovo = self.decision_ovo(x);
        let mut votes = Array2::<f64>::zeros((x.nrows(), k));
        let mut conf = Array2::<f64>::zeros((x.nrows(), k));
        for r in 0..x.nrows() {
            let mut p = 0;
            for i in 0..k {
                for j in i + 1..k {
                    let d = ovo[[r, p]];
                    conf[[r, i]] += d;
                    conf[[r, j]] -= d;
                    if d < 0.0 {
                        votes[[r, j]] += 1.0;
                    } else {
                        votes[[r, i]] += 1.0;
                    }
                    p += 1;
                }
            }
        }
        conf.mapv_inplace(|s| s / (3.0 * (s.abs() + 1.0)));
        votes + conf
    }

    /// libsvm's `svm_predict_probability`: each pair's decision value through its sigmoid,
    /// clipped to `[1e-7, 1 - 1e-7]`, then coupled into class probabilities.
    fn calibrated_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        const MIN_PROB: f64 = 1e-7;
        let k = self.n_classes();
        let ovo = self.decision_ovo(x);
        let mut out = Array2::zeros((x.nrows(), k));
        let mut r = vec![0.0; k * k];
        for (row, mut o) in ovo.rows().into_iter().zip(out.rows_mut()) {
            let mut p = 0;
            for i in 0..k {
                for j in i + 1..k {
                    let v = sigmoid_predict(row[p], self.prob_a[p], self.prob_b[p])
                        .clamp(MIN_PROB, 1.0 - MIN_PROB);
                    r[i * k + j] = v;
                    r[j * k + i] = 1.0 - v;
                    p += 1;
                }
            }
            let probs = if k == 2 {
                vec![r[1], r[k]]
            } else {
                multiclass_probability(k, &r)
            };
            o.assign(&ndarray::ArrayView1::from(&probs));
        }
        out
    }

    /// Safetensors, float64 little-endian: `support_vectors` `(n_sv, n_features)`,
    /// `dual_coef` `(n_classes-1, n_sv)`, `intercept` `(n_pairs,)`, `n_support` `(n_classes,)`
    /// (int64), `gamma` `(1,)`; metadata names the kernel and the multi-class scheme.
    pub fn to_safetensors(&self) -> Vec<u8> {
        let f64s = |it: &mut dyn Iterator<Item = &f64>| -> Vec<u8> {
            it.flat_map(|v| v.to_le_bytes()).collect()
        };
        let sv = f64s(&mut self.support_vectors.iter());
        let dc = f64s(&mut self.dual_coef.iter());
        let ic = f64s(&mut self.intercept.iter());
        let gm = self.gamma.to_le_bytes().to_vec();
        let pa = f64s(&mut self.prob_a.iter());
        let pb = f64s(&mut self.prob_b.iter());
        let ns: Vec<u8> = self
            .n_support
            .iter()
            .flat_map(|&n| (n as i64).to_le_bytes())
            .collect();
        fn view(dtype: Dtype, shape: Vec<usize>, data: &[u8]) -> TensorView<'_> {
            TensorView::new(dtype, shape, data).expect("shape matches data")
        }
        let tensors = vec![
            (
                "support_vectors",
                view(Dtype::F64, self.support_vectors.shape().to_vec(), &sv),
            ),
            (
                "dual_coef",
                view(Dtype::F64, self.dual_coef.shape().to_vec(), &dc),
            ),
            (
                "intercept",
                view(Dtype::F64, vec![self.intercept.len()], &ic),
            ),
            (
                "n_support",
                view(Dtype::I64, vec![self.n_support.len()], &ns),
            ),
            ("gamma", view(Dtype::F64, vec![1], &gm)),
        ];
        let mut tensors = tensors;
        if !self.prob_a.is_empty() {
            tensors.push(("prob_a", view(Dtype::F64, vec![self.prob_a.len()], &pa)));
            tensors.push(("prob_b", view(Dtype::F64, vec![self.prob_b.len()], &pb)));
        }
        let metadata = HashMap::from([
            ("format".to_string(), "ser-pipeline.svm".to_string()),
            ("kernel".to_string(), "rbf".to_string()),
            ("multiclass".to_string(), "ovo".to_string()),
            (
                "probability".to_string(),
                if self.prob_a.is_empty() {
                    "softmax of the ovr-shaped decision function (uncalibrated)"
                } else {
                    "Platt-scaled pairwise probabilities (prob_a, prob_b), coupled (libsvm -b 1)"
                }
                .to_string(),
            ),
        ]);
        super::canonical_safetensors(
            safetensors::serialize(tensors, Some(metadata)).expect("in-memory serialisation"),
        )
    }

    /// Reads a model written by [`Svm::to_safetensors`], checking shapes against each other.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Svm, String> {
        let file = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
        let read = |name: &str, dtype: Dtype| -> Result<(Vec<usize>, Vec<[u8; 8]>), String> {
            let t = file.tensor(name).map_err(|e| format!("{name}: {e}"))?;
            if t.dtype() != dtype {
                return Err(format!("{name}: dtype {:?}, expected {dtype:?}", t.dtype()));
            }
            let words = t
                .data()
                .chunks_exact(8)
                .map(|c| c.try_into().expect("8 bytes"))
                .collect();
            Ok((t.shape().to_vec(), words))
        };
        let floats = |name: &str| -> Result<(Vec<usize>, Vec<f64>), String> {
            let (shape, words) = read(name, Dtype::F64)?;
            let v: Vec<f64> = words.into_iter().map(f64::from_le_bytes).collect();
            if let Some(x) = v.iter().find(|x| !x.is_finite()) {
                return Err(format!("{name}: non-finite value {x}"));
            }
            Ok((shape, v))
        };
        let (sv_shape, sv) = floats("support_vectors")?;
        let (dc_shape, dc) = floats("dual_coef")?;
        let (_, intercept) = floats("intercept")?;
        let (_, gamma) = floats("gamma")?;
        let (_, ns) = read("n_support", Dtype::I64)?;
        let n_support: Vec<usize> = ns
            .into_iter()
            .map(|w| usize::try_from(i64::from_le_bytes(w)).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let k = n_support.len();
        let n_sv: usize = n_support.iter().sum();
        if sv_shape.len() != 2 || sv_shape[0] != n_sv {
            return Err(format!(
                "support_vectors: shape {sv_shape:?}, expected ({n_sv}, n_features)"
            ));
        }
        if k < 2 || dc_shape != [k - 1, n_sv] {
            return Err(format!(
                "dual_coef: shape {dc_shape:?}, expected ({}, {n_sv})",
                k.saturating_sub(1)
            ));
        }
        if intercept.len() != k * (k - 1) / 2 {
            return Err(format!(
                "intercept: {} values, expected {}",
                intercept.len(),
                k * (k - 1) / 2
            ));
        }
        if gamma.len() != 1 || gamma[0] <= 0.0 {
            return Err(format!("gamma: expected one value > 0, got {gamma:?}"));
        }
        let (prob_a, prob_b) = if file.names().contains(&"prob_a") {
            let (_, a) = floats("prob_a")?;
            let (_, b) = floats("prob_b")?;
            if a.len() != intercept.len() || b.len() != intercept.len() {
                return Err(format!(
                    "prob_a, prob_b: {} and {} values, expected {}",
                    a.len(),
                    b.len(),
                    intercept.len()
                ));
            }
            (a, b)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Svm {
            gamma: gamma[0],
            support_vectors: Array2::from_shape_vec((sv_shape[0], sv_shape[1]), sv)
                .map_err(|e| e.to_string())?,
            n_support,
            dual_coef: Array2::from_shape_vec((dc_shape[0], dc_shape[1]), dc)
                .map_err(|e| e.to_string())?,
            intercept,
            prob_a,
            prob_b,
        })
    }
}

impl Classifier for Svm {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        if !self.prob_a.is_empty() {
            return self.calibrated_proba(x);
        }
        let mut z = self.decision_function(x);
        for mut row in z.rows_mut() {
            super::mlp::softmax_row(row.as_slice_mut().expect("fresh arrays are contiguous"));
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Three concentric rings (radii 1, 2, 3, noise +-0.25) in 2-D: no linear model separates
    /// them.
    fn rings(n_per: usize, seed: u64) -> (Array2<f64>, Vec<usize>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut x = Array2::zeros((3 * n_per, 2));
        let mut y = Vec::new();
        for i in 0..3 * n_per {
            let c = i % 3;
            let r = (c + 1) as f64 + rng.random_range(-0.25..0.25);
            let t = rng.random_range(0.0..std::f64::consts::TAU);
            x[[i, 0]] = r * t.cos();
            x[[i, 1]] = r * t.sin();
            y.push(c);
        }
        (x, y)
    }

    #[test]
    fn separates_concentric_rings_a_linear_model_cannot() {
        let (x, y) = rings(60, 1);
        let (xt, yt) = rings(40, 2);
        let svm = SvmParams::default().fit(x.view(), &y, 3).unwrap();
        let acc = crate::models::accuracy(&svm, xt.view(), &yt);
        assert!(acc >= 0.95, "svm accuracy {acc}");
        let linear = crate::models::smart::LogisticParams::default()
            .fit(x.view(), &y, 3)
            .unwrap();
        let lin = crate::models::accuracy(&linear, xt.view(), &yt);
        assert!(lin < 0.7, "logistic regression accuracy {lin}");
    }

    #[test]
    fn probabilities_sum_to_one_and_agree_with_the_decision() {
        let (x, y) = rings(30, 3);
        let svm = SvmParams::default().fit(x.view(), &y, 3).unwrap();
        let p = svm.predict_proba(x.view());
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        let d = svm.decision_function(x.view());
        assert_eq!(
            crate::models::argmax_rows(p.view()),
            crate::models::argmax_rows(d.view())
        );
        // Votes dominate: the decision's integer part is the vote count, which sums to k(k-1)/2.
        for row in d.rows() {
            let votes: f64 = row.iter().map(|v| v.round()).sum();
            assert_eq!(votes, 3.0);
        }
    }

    #[test]
    fn coupling_recovers_probabilities_that_are_consistent_pairwise() {
        // r_ij = p_i / (p_i + p_j) is exactly consistent: method 2 returns p (to its eps).
        let p = [0.5, 0.2, 0.15, 0.1, 0.05];
        let k = p.len();
        let mut r = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                if i != j {
                    r[i * k + j] = p[i] / (p[i] + p[j]);
                }
            }
        }
        let got = multiclass_probability(k, &r);
        assert!((got.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{got:?}");
        for (a, b) in got.iter().zip(p) {
            // libsvm stops when |Qp - pQp| < 0.005 / k: a few 1e-3 of the answer.
            assert!((a - b).abs() < 5e-3, "{got:?}");
        }
    }

    #[test]
    fn platt_scaling_recovers_a_known_sigmoid() {
        // Labels drawn with P(+1 | f) = 1 / (1 + exp(-2 f + 0.5)) over many decision values:
        // the fit lands near A = -2, B = 0.5 (Platt's targets shrink it slightly).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let n = 20_000;
        let dec: Vec<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
        let signs: Vec<f64> = dec
            .iter()
            .map(|&f| {
                if rng.random::<f64>() < sigmoid_predict(f, -2.0, 0.5) {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        let (a, b) = sigmoid_train(&dec, &signs);
        assert!(
            (a + 2.0).abs() < 0.1 && (b - 0.5).abs() < 0.1,
            "A {a}, B {b}"
        );
        // Separable values: Platt's targets (3/4 and 1/4 for two rows each) keep it finite.
        // By symmetry B = 0, and the optimal A zeroes the gradient
        // (3/4 - P(+1 | 1)) + 2 (3/4 - P(+1 | 2)), which P falls in: found by bisection.
        let (a, b) = sigmoid_train(&[-2.0, -1.0, 1.0, 2.0], &[-1.0, -1.0, 1.0, 1.0]);
        let gradient = |a: f64| {
            (0.75 - sigmoid_predict(1.0, a, 0.0)) + 2.0 * (0.75 - sigmoid_predict(2.0, a, 0.0))
        };
        let (mut lo, mut hi) = (-10.0, 0.0);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            // The gradient grows with A: negative at steep (very negative) A, positive at 0.
            if gradient(mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        assert!(b.abs() < 1e-9, "B {b}");
        assert!((a - lo).abs() < 1e-4, "A {a}, optimum {lo}");
    }

    #[test]
    fn calibrated_probabilities_sum_to_one_save_and_load() {
        let (x, y) = rings(30, 3);
        let params = SvmParams {
            probability: true,
            ..SvmParams::default()
        };
        let svm = params.fit(x.view(), &y, 3).unwrap();
        assert_eq!(svm.prob_a.len(), 3);
        assert!(svm.prob_a.iter().all(|&a| a < 0.0), "{:?}", svm.prob_a);
        let p = svm.predict_proba(x.view());
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-9, "{row}");
        }
        // The rings separate: the calibrated argmax is right on nearly every training row.
        let hits = crate::models::argmax_rows(p.view())
            .iter()
            .zip(&y)
            .filter(|(a, b)| a == b)
            .count();
        assert!(hits as f64 >= 0.9 * y.len() as f64, "{hits}");
        // Deterministic for a seed, and the sigmoids survive a save.
        assert_eq!(params.fit(x.view(), &y, 3).unwrap(), svm);
        let back = Svm::from_safetensors(&svm.to_safetensors()).unwrap();
        assert_eq!(back, svm);
        assert_eq!(back.predict_proba(x.view()), p);
    }

    #[test]
    fn the_dual_solution_is_feasible_and_optimal_to_tol() {
        let (x, y) = rings(25, 4);
        let params = SvmParams {
            c: 2.0,
            ..Default::default()
        };
        let svm = params.fit(x.view(), &y, 3).unwrap();
        // Each pair's coefficients a_i y_i sum to 0 and lie in [-C, C].
        let mut start = [0; 4];
        for c in 0..3 {
            start[c + 1] = start[c] + svm.n_support[c];
        }
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            let sum: f64 = (start[i]..start[i + 1])
                .map(|t| svm.dual_coef[[j - 1, t]])
                .chain((start[j]..start[j + 1]).map(|t| svm.dual_coef[[i, t]]))
                .sum();
            assert!(sum.abs() < 1e-9, "pair ({i},{j}): sum {sum}");
        }
        assert!(svm.dual_coef.iter().all(|v| v.abs() <= 2.0 + 1e-12));
        // Training rows of a pair lie on the right side of the margin up to tol, unless they
        // are bounded support vectors (a = C).
        let ovo = svm.decision_ovo(x.view());
        let mut violations = 0;
        for (r, &c) in y.iter().enumerate() {
            let mut p = 0;
            for i in 0..3 {
                for j in i + 1..3 {
                    if c == i && ovo[[r, p]] < 1.0 - 1e-2 || c == j && ovo[[r, p]] > -1.0 + 1e-2 {
                        violations += 1;
                    }
                    p += 1;
                }
            }
        }
        let bounded = svm.dual_coef.iter().filter(|v| v.abs() >= 2.0).count();
        assert!(violations <= bounded, "{violations} > {bounded}");
    }

    #[test]
    fn is_deterministic() {
        let (x, y) = rings(30, 5);
        let fit = || SvmParams::default().fit(x.view(), &y, 3).unwrap();
        assert_eq!(fit(), fit());
    }

    #[test]
    fn saves_and_loads_to_identical_predictions() {
        let (x, y) = rings(30, 6);
        let (xt, _) = rings(20, 7);
        let svm = SvmParams {
            gamma: Gamma::Value(0.7),
            ..Default::default()
        }
        .fit(x.view(), &y, 3)
        .unwrap();
        let bytes = svm.to_safetensors();
        assert_eq!(bytes, svm.to_safetensors(), "same model, same bytes");
        let back = Svm::from_safetensors(&bytes).unwrap();
        assert_eq!(back, svm);
        assert_eq!(back.predict_proba(xt.view()), svm.predict_proba(xt.view()));
        assert!(Svm::from_safetensors(&bytes[..bytes.len() - 8]).is_err());
    }

    #[test]
    fn bad_parameters_name_their_key() {
        let key = |p: SvmParams| p.check().unwrap_err().key;
        let d = SvmParams::default;
        assert_eq!(key(SvmParams { c: 0.0, ..d() }), "models.svm.c");
        assert_eq!(key(SvmParams { c: f64::NAN, ..d() }), "models.svm.c");
        let g = Gamma::Value(-1.0);
        assert_eq!(key(SvmParams { gamma: g, ..d() }), "models.svm.gamma");
        assert_eq!(key(SvmParams { tol: 0.0, ..d() }), "models.svm.tol");
        let m = Some(0);
        assert_eq!(key(SvmParams { max_iter: m, ..d() }), "models.svm.max_iter");
        let (x, y) = rings(5, 8);
        assert!(d().fit(x.view(), &y, 4).is_err(), "class 3 has no rows");
    }

    #[test]
    fn gamma_reads_scale_auto_and_numbers() {
        let parse = |t: &str| toml::from_str::<SvmParams>(t).map(|p| p.gamma);
        assert_eq!(parse("gamma = \"scale\"").unwrap(), Gamma::Scale);
        assert_eq!(parse("gamma = \"auto\"").unwrap(), Gamma::Auto);
        assert_eq!(parse("gamma = 0.25").unwrap(), Gamma::Value(0.25));
        assert_eq!(parse("gamma = 2").unwrap(), Gamma::Value(2.0));
        let err = parse("gamma = \"wide\"").unwrap_err().to_string();
        assert!(err.contains("models.svm.gamma"), "{err}");
        let p = SvmParams {
            gamma: Gamma::Value(0.125),
            ..Default::default()
        };
        assert_eq!(
            toml::from_str::<SvmParams>(&toml::to_string(&p).unwrap()).unwrap(),
            p
        );
        // scale: 1 / (n_features * X.var()).
        let x = ndarray::array![[0.0, 2.0], [2.0, 0.0]];
        assert_eq!(Gamma::Scale.resolve(x.view()), 0.5);
        assert_eq!(Gamma::Auto.resolve(x.view()), 0.5);
        assert_eq!(Gamma::Scale.resolve(Array2::zeros((3, 2)).view()), 1.0);
    }

    /// A timing probe against smartcore's `MultiClassSVC` (not part of the suite; run with
    /// `--ignored --nocapture`).
    #[test]
    #[ignore]
    fn speed_probe_against_smartcore() {
        use smartcore::linalg::basic::matrix::DenseMatrix;
        use smartcore::svm::svc::{MultiClassSVC, SVCParameters};
        use smartcore::svm::Kernels;
        let (n, d, k) = (1000, 360, 8);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let centres: Vec<Vec<f64>> = (0..k)
            .map(|_| (0..d).map(|_| rng.random_range(-0.3..0.3)).collect())
            .collect();
        let mut x = Array2::zeros((n, d));
        let y: Vec<usize> = (0..n).map(|i| i % k).collect();
        for i in 0..n {
            for j in 0..d {
                x[[i, j]] = centres[y[i]][j] + rng.random_range(-1.0..1.0);
            }
        }
        let x = crate::preprocess::Scaler::fit(x.view()).transform(x.view());
        let t = std::time::Instant::now();
        let ours = SvmParams::default().fit(x.view(), &y, k).unwrap();
        let ours_fit = t.elapsed().as_secs_f64();
        let ours_acc = crate::models::accuracy(&ours, x.view(), &y);
        let gamma = Gamma::Scale.resolve(x.view());
        let dm = DenseMatrix::new(n, d, x.iter().copied().collect(), false).unwrap();
        let yi: Vec<i32> = y.iter().map(|&c| c as i32).collect();
        let params = SVCParameters::default()
            .with_c(10.0)
            .with_kernel(Kernels::rbf().with_gamma(gamma));
        let t = std::time::Instant::now();
        let theirs = MultiClassSVC::fit(&dm, &yi, &params).unwrap();
        let fit = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let p = theirs.predict(&dm).unwrap();
        let pred = t.elapsed().as_secs_f64();
        let acc = p.iter().zip(&yi).filter(|(a, b)| **a as i32 == **b).count() as f64 / n as f64;
        eprintln!(
            "ours: fit {ours_fit:.2} s, train acc {ours_acc:.3}; smartcore: fit {fit:.2} s, \
             predict {pred:.2} s, train acc {acc:.3}"
        );
    }
}
