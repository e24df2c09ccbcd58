//! `[models.svm]`: the SVM's hyperparameters ([`SvmParams`]) with their defaults, and
//! [`SvmParams::check`], whose error names the offending key.

use serde::{Deserialize, Serialize};

use super::kernel::Gamma;
use crate::models::ParamError;

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::svm::tests::rings;
    use crate::models::svm::Gamma;

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
}
