//! Fitting ([`SvmParams::fit`]): one binary C-SVC per pair of classes over the pair's kernel
//! matrix, solved by [`solve_c_svc`], then the support vectors, dual coefficients and intercepts
//! laid out as scikit-learn's `SVC` (and, with `probability`, each pair's Platt sigmoid).

use std::collections::HashMap;

use ndarray::{Array2, ArrayView2, Axis};

use super::kernel::rbf_kernel;
use super::model::Svm;
use super::params::SvmParams;
use super::probability::sigmoid_train;
use super::smo::solve_c_svc;
use crate::models::{check_targets, ParamError};

impl SvmParams {
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
}
