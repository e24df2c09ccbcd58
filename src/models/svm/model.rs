//! The fitted [`Svm`]: its one-vs-one layout, its decision functions and `predict_proba`.

use ndarray::{Array2, ArrayView2};

use super::kernel::rbf_kernel;
use crate::models::Classifier;

/// A fitted one-vs-one RBF SVM, in scikit-learn's `SVC` layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Svm {
    /// The kernel width used (`gamma="scale"` resolved on the training rows).
    pub gamma: f64,
    /// `(n_sv, n_features)`, grouped by class (`support_vectors_`).
    pub support_vectors: Array2<f64>,
    /// Support vectors per class (`n_support_`).
    pub n_support: Vec<usize>,
    /// `(n_classes - 1, n_sv)`: `alpha_i * y_i` (`dual_coef_`; see
    /// [`SvmParams::fit`](super::SvmParams::fit)).
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
}

impl Classifier for Svm {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        if !self.prob_a.is_empty() {
            return self.calibrated_proba(x);
        }
        let mut z = self.decision_function(x);
        for mut row in z.rows_mut() {
            crate::models::mlp::softmax_row(
                row.as_slice_mut().expect("fresh arrays are contiguous"),
            );
        }
        z
    }
}
