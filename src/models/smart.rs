//! smartcore classifiers behind [`Classifier`]: a random forest and a multinomial logistic
//! regression, trained on the same splits and scaled features as the MLP.
//!
//! smartcore 0.4's `RandomForestClassifier` exposes no class probabilities, so its
//! probability columns are the forest's hard decision (1 for the predicted class, 0 elsewhere);
//! the logistic regression's are the softmax of its decision function.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

use super::{check_targets, Classifier, ParamError};

type Matrix = DenseMatrix<f64>;

fn to_dense(x: ArrayView2<'_, f64>) -> Matrix {
    let values: Vec<f64> = x.iter().copied().collect();
    DenseMatrix::new(x.nrows(), x.ncols(), values, false).expect("shape matches the data")
}

fn to_targets(y: &[usize]) -> Vec<i32> {
    y.iter().map(|&c| c as i32).collect()
}

/// `[models.random_forest]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForestParams {
    /// Trees in the forest. Default 300.
    pub n_trees: u16,
    /// Maximum tree depth; unset (default) grows until leaves are pure.
    pub max_depth: Option<u16>,
    /// Features tried per split; unset (default) is `floor(sqrt(n_features))`.
    pub max_features: Option<usize>,
    /// Default 1.
    pub min_samples_leaf: usize,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_trees: 300,
            max_depth: None,
            max_features: None,
            min_samples_leaf: 1,
            seed: 42,
        }
    }
}

impl ForestParams {
    pub fn check(&self) -> Result<(), ParamError> {
        if self.n_trees == 0 {
            return Err(ParamError::new(
                "models.random_forest.n_trees",
                "must be >= 1",
            ));
        }
        if self.min_samples_leaf == 0 {
            return Err(ParamError::new(
                "models.random_forest.min_samples_leaf",
                "must be >= 1",
            ));
        }
        if self.max_features == Some(0) {
            return Err(ParamError::new(
                "models.random_forest.max_features",
                "must be >= 1",
            ));
        }
        Ok(())
    }

    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[usize],
        n_classes: usize,
    ) -> Result<Forest, ParamError> {
        self.check()?;
        check_targets(y, n_classes, "random_forest")?;
        let params = RandomForestClassifierParameters {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            n_trees: self.n_trees,
            m: self.max_features,
            seed: self.seed,
            ..Default::default()
        };
        let model = RandomForestClassifier::fit(&to_dense(x), &to_targets(y), params)
            .map_err(|e| ParamError::new("random_forest", e.to_string()))?;
        Ok(Forest { model, n_classes })
    }
}

#[derive(Serialize, Deserialize)]
pub struct Forest {
    model: RandomForestClassifier<f64, i32, Matrix, Vec<i32>>,
    n_classes: usize,
}

impl Forest {
    /// The fitted forest as JSON (smartcore's own serde layout of its trees: every node's
    /// split feature, threshold and children, and each leaf's class), for `model.forest.json`.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }

    pub fn from_json(text: &str) -> serde_json::Result<Forest> {
        serde_json::from_str(text)
    }
}

impl Classifier for Forest {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let predicted = self
            .model
            .predict(&to_dense(x))
            .expect("input has the training width");
        let mut p = Array2::zeros((x.nrows(), self.n_classes));
        for (i, c) in predicted.into_iter().enumerate() {
            p[[i, c as usize]] = 1.0;
        }
        p
    }
}

/// `[models.logistic_regression]`: multinomial, L-BFGS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogisticParams {
    /// L2 regularisation strength (smartcore's `alpha`; 0 is none). Default 1.0.
    pub alpha: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { alpha: 1.0 }
    }
}

impl LogisticParams {
    pub fn check(&self) -> Result<(), ParamError> {
        if !(self.alpha >= 0.0 && self.alpha.is_finite()) {
            return Err(ParamError::new(
                "models.logistic_regression.alpha",
                format!("must be a finite number >= 0, got {}", self.alpha),
            ));
        }
        Ok(())
    }

    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[usize],
        n_classes: usize,
    ) -> Result<Logistic, ParamError> {
        self.check()?;
        check_targets(y, n_classes, "logistic_regression")?;
        let params = LogisticRegressionParameters::default().with_alpha(self.alpha);
        let model = LogisticRegression::fit(&to_dense(x), &to_targets(y), params)
            .map_err(|e| ParamError::new("logistic_regression", e.to_string()))?;
        let coef = model.coefficients();
        let intercept = model.intercept();
        let (k, p) = coef.shape();
        let (weights, bias) = if n_classes == 2 {
            // Binary: one decision function for class 1; class 0 has zero logit.
            let w = Array2::from_shape_fn(
                (p, 2),
                |(j, c)| if c == 1 { *coef.get((0, j)) } else { 0.0 },
            );
            (w, vec![0.0, *intercept.get((0, 0))])
        } else {
            let w = Array2::from_shape_fn((p, k), |(j, c)| *coef.get((c, j)));
            (w, (0..k).map(|c| *intercept.get((c, 0))).collect())
        };
        Ok(Logistic { weights, bias })
    }
}

/// A fitted multinomial logistic regression: `softmax(x W + b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Logistic {
    /// `(n_features, n_classes)`.
    pub weights: Array2<f64>,
    pub bias: Vec<f64>,
}

impl Classifier for Logistic {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut z = x.dot(&self.weights);
        for mut row in z.rows_mut() {
            for (v, b) in row.iter_mut().zip(&self.bias) {
                *v += b;
            }
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            row.mapv_inplace(|v| (v - max).exp());
            let sum = row.sum();
            row.mapv_inplace(|v| v / sum);
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Three well-separated Gaussian blobs in 4 dimensions.
    fn blobs(n_per: usize, seed: u64) -> (Array2<f64>, Vec<usize>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let centres = [
            [3.0, 0.0, 0.0, 0.0],
            [0.0, 3.0, 0.0, 0.0],
            [0.0, 0.0, 3.0, 0.0],
        ];
        let mut x = Array2::zeros((3 * n_per, 4));
        let mut y = Vec::new();
        for (c, centre) in centres.iter().enumerate() {
            for i in 0..n_per {
                for j in 0..4 {
                    x[[c * n_per + i, j]] = centre[j] + rng.random_range(-1.0..1.0);
                }
                y.push(c);
            }
        }
        (x, y)
    }

    #[test]
    fn both_models_learn_separable_blobs() {
        let (x, y) = blobs(40, 1);
        let (xt, yt) = blobs(20, 2);
        let forest = ForestParams {
            n_trees: 30,
            ..Default::default()
        }
        .fit(x.view(), &y, 3)
        .unwrap();
        assert!(crate::models::accuracy(&forest, xt.view(), &yt) >= 0.95);
        let logistic = LogisticParams::default().fit(x.view(), &y, 3).unwrap();
        assert!(crate::models::accuracy(&logistic, xt.view(), &yt) >= 0.95);
        let p = logistic.predict_proba(xt.view());
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        // The softmax argmax agrees with smartcore's own prediction.
        let own = LogisticRegression::fit(
            &to_dense(x.view()),
            &to_targets(&y),
            LogisticRegressionParameters::default().with_alpha(1.0),
        )
        .unwrap()
        .predict(&to_dense(xt.view()))
        .unwrap();
        let ours: Vec<i32> = logistic
            .predict(xt.view())
            .iter()
            .map(|&c| c as i32)
            .collect();
        assert_eq!(ours, own);
    }

    #[test]
    fn forest_is_deterministic_for_a_seed() {
        let (x, y) = blobs(30, 3);
        let fit = || {
            ForestParams {
                n_trees: 10,
                ..Default::default()
            }
            .fit(x.view(), &y, 3)
            .unwrap()
            .predict_proba(x.view())
        };
        assert_eq!(fit(), fit());
    }

    #[test]
    fn a_saved_forest_loads_back_with_the_same_predictions() {
        let (x, y) = blobs(30, 5);
        let (xt, _) = blobs(20, 6);
        let forest = ForestParams {
            n_trees: 10,
            ..Default::default()
        }
        .fit(x.view(), &y, 3)
        .unwrap();
        let json = forest.to_json().unwrap();
        let loaded = Forest::from_json(&json).unwrap();
        assert_eq!(
            loaded.predict_proba(xt.view()),
            forest.predict_proba(xt.view())
        );
        // The same forest is the same bytes (no map with a random order inside).
        assert_eq!(loaded.to_json().unwrap(), json);
        assert!(Forest::from_json("{\"model\": 1}").is_err());
    }

    #[test]
    fn a_class_without_training_rows_is_an_error() {
        let (x, y) = blobs(5, 4);
        assert!(LogisticParams::default().fit(x.view(), &y, 4).is_err());
    }
}
