//! smartcore classifiers behind [`Classifier`]: a random forest, a multinomial logistic
//! regression and k nearest neighbours, trained on the same splits and scaled features as the
//! MLP.
//!
//! smartcore 0.4's `RandomForestClassifier` exposes no class probabilities, so its
//! probability columns are the forest's hard decision (1 for the predicted class, 0 elsewhere);
//! the logistic regression's are the softmax of its decision function; k nearest neighbours'
//! are its (weighted) neighbour votes, as smartcore's `KNNClassifier::predict_proba` gives them
//! (scikit-learn's `KNeighborsClassifier.predict_proba`).

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::metrics::distance::euclidian::Euclidian;
use smartcore::neighbors::knn_classifier::{KNNClassifier, KNNClassifierParameters};
use smartcore::neighbors::KNNWeightFunction;

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

/// How [`KnnParams`] weighs the k neighbours' votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnnWeights {
    /// Every neighbour one vote (scikit-learn's `weights="uniform"`).
    Uniform,
    /// Each neighbour `1 / distance` (scikit-learn's `weights="distance"`; a neighbour at
    /// distance 0 takes the whole vote).
    Distance,
}

/// `[models.knn]`: smartcore's `KNNClassifier`, Euclidean distance on the scaled rows, found by
/// brute force (smartcore's `LinearSearch`: exact, and faster than its cover tree in the
/// hundreds of dimensions here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KnnParams {
    /// Neighbours that vote, at least 2 (smartcore's minimum). Default 20.
    pub k: usize,
    /// `"uniform"` or `"distance"` (default).
    pub weights: KnnWeights,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams {
            k: 20,
            weights: KnnWeights::Distance,
        }
    }
}

type KnnModel = KNNClassifier<f64, i32, Matrix, Vec<i32>, Euclidian<f64>>;

impl KnnParams {
    pub fn check(&self) -> Result<(), ParamError> {
        if self.k < 2 {
            return Err(ParamError::new(
                "models.knn.k",
                format!("must be >= 2, got {}", self.k),
            ));
        }
        Ok(())
    }

    /// "Fitting" keeps the rows: a prediction votes among the `k` nearest of them.
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[usize],
        n_classes: usize,
    ) -> Result<Knn, ParamError> {
        self.check()?;
        check_targets(y, n_classes, "knn")?;
        if self.k > y.len() {
            return Err(ParamError::new(
                "models.knn.k",
                format!("{} neighbours, but only {} training rows", self.k, y.len()),
            ));
        }
        let params = KNNClassifierParameters::default()
            .with_k(self.k)
            .with_algorithm(smartcore::algorithm::neighbour::KNNAlgorithmName::LinearSearch)
            .with_weight(match self.weights {
                KnnWeights::Uniform => KNNWeightFunction::Uniform,
                KnnWeights::Distance => KNNWeightFunction::Distance,
            });
        let model = KnnModel::fit(&to_dense(x), &to_targets(y), params)
            .map_err(|e| ParamError::new("knn", e.to_string()))?;
        Ok(Knn {
            model,
            rows: x.to_owned(),
            y: y.to_vec(),
            params: self.clone(),
            n_classes,
        })
    }
}

/// Fitted k nearest neighbours: smartcore's model and the rows it votes among (kept for saving).
pub struct Knn {
    model: KnnModel,
    rows: Array2<f64>,
    y: Vec<usize>,
    params: KnnParams,
    n_classes: usize,
}

impl Knn {
    /// Safetensors, little-endian: `rows` `(n_rows, n_features)` float64 and `labels`
    /// `(n_rows,)` int64 class ids. `k` and the weighting are in the model card's config.
    pub fn to_safetensors(&self) -> Vec<u8> {
        use safetensors::tensor::{Dtype, TensorView};
        let rows: Vec<u8> = self.rows.iter().flat_map(|v| v.to_le_bytes()).collect();
        let labels: Vec<u8> = self
            .y
            .iter()
            .flat_map(|&c| (c as i64).to_le_bytes())
            .collect();
        let tensors = vec![
            (
                "rows",
                TensorView::new(Dtype::F64, self.rows.shape().to_vec(), &rows)
                    .expect("shape matches data"),
            ),
            (
                "labels",
                TensorView::new(Dtype::I64, vec![self.y.len()], &labels)
                    .expect("shape matches data"),
            ),
        ];
        super::canonical_safetensors(
            safetensors::serialize(tensors, None).expect("in-memory serialisation"),
        )
    }

    /// Reads a model written by [`Knn::to_safetensors`] and rebuilds its search with `params`
    /// (the card's `[models.knn]`).
    pub fn from_safetensors(
        bytes: &[u8],
        params: &KnnParams,
        n_classes: usize,
    ) -> Result<Knn, String> {
        let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
        let rows = file.tensor("rows").map_err(|e| format!("rows: {e}"))?;
        let labels = file.tensor("labels").map_err(|e| format!("labels: {e}"))?;
        let shape = rows.shape().to_vec();
        if rows.dtype() != safetensors::Dtype::F64 || shape.len() != 2 {
            return Err(format!(
                "rows: {:?} {shape:?}, expected F64 (n_rows, n_features)",
                rows.dtype()
            ));
        }
        if labels.dtype() != safetensors::Dtype::I64 || labels.shape() != [shape[0]] {
            return Err(format!(
                "labels: {:?} {:?}, expected I64 ({},)",
                labels.dtype(),
                labels.shape(),
                shape[0]
            ));
        }
        let words = |d: &[u8]| -> Vec<[u8; 8]> {
            d.chunks_exact(8)
                .map(|c| c.try_into().expect("8 bytes"))
                .collect()
        };
        let x: Vec<f64> = words(rows.data())
            .into_iter()
            .map(f64::from_le_bytes)
            .collect();
        if x.iter().any(|v| !v.is_finite()) {
            return Err("rows: a non-finite value".into());
        }
        let y: Vec<usize> = words(labels.data())
            .into_iter()
            .map(|w| {
                usize::try_from(i64::from_le_bytes(w))
                    .ok()
                    .filter(|&c| c < n_classes)
                    .ok_or_else(|| format!("labels: a class id outside 0..{n_classes}"))
            })
            .collect::<Result<_, _>>()?;
        let x = Array2::from_shape_vec((shape[0], shape[1]), x).map_err(|e| e.to_string())?;
        params
            .fit(x.view(), &y, n_classes)
            .map_err(|e| e.to_string())
    }
}

impl Classifier for Knn {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let votes = self
            .model
            .predict_proba(&to_dense(x))
            .expect("input has the training width");
        let mut p = Array2::zeros((x.nrows(), self.n_classes));
        for (i, row) in votes.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                p[[i, j]] = v;
            }
        }
        p
    }
}

impl std::fmt::Debug for Knn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knn")
            .field("rows", &self.rows.dim())
            .field("params", &self.params)
            .finish()
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
    fn knn_votes_are_probabilities_and_a_saved_knn_predicts_the_same() {
        let (x, y) = blobs(30, 7);
        let (xt, yt) = blobs(20, 8);
        let knn = KnnParams::default().fit(x.view(), &y, 3).unwrap();
        assert!(crate::models::accuracy(&knn, xt.view(), &yt) >= 0.95);
        let p = knn.predict_proba(xt.view());
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12, "{row}");
        }
        // Uniform weights: each probability is a count of the k = 4 neighbours.
        let uniform = KnnParams {
            k: 4,
            weights: KnnWeights::Uniform,
        };
        let votes = uniform
            .fit(x.view(), &y, 3)
            .unwrap()
            .predict_proba(xt.view());
        assert!(votes
            .iter()
            .all(|v| (v * 4.0 - (v * 4.0).round()).abs() < 1e-12));
        // A training row is its own nearest neighbour at distance 0: it takes the whole vote.
        let own = knn.predict_proba(x.slice(ndarray::s![..5, ..]));
        for (i, row) in own.rows().into_iter().enumerate() {
            assert_eq!(row[y[i]], 1.0, "{row}");
        }
        let bytes = knn.to_safetensors();
        let loaded = Knn::from_safetensors(&bytes, &KnnParams::default(), 3).unwrap();
        assert_eq!(loaded.predict_proba(xt.view()), p);
        assert_eq!(loaded.to_safetensors(), bytes);
        assert!(Knn::from_safetensors(&bytes, &KnnParams::default(), 2).is_err());
        assert!(Knn::from_safetensors(b"nonsense", &KnnParams::default(), 3).is_err());
    }

    #[test]
    fn knn_parameters_are_checked() {
        let (x, y) = blobs(3, 9);
        let err = |p: KnnParams| p.fit(x.view(), &y, 3).unwrap_err().key;
        assert_eq!(
            err(KnnParams {
                k: 1,
                ..Default::default()
            }),
            "models.knn.k"
        );
        // 9 rows: 20 neighbours cannot be found.
        assert_eq!(err(KnnParams::default()), "models.knn.k");
    }

    #[test]
    fn a_class_without_training_rows_is_an_error() {
        let (x, y) = blobs(5, 4);
        assert!(LogisticParams::default().fit(x.view(), &y, 4).is_err());
    }
}
